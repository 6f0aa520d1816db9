using System.Management.Automation;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets a job's recorded events: progress, logs, thoughts, checkpoints and the outcome.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ArcpEvent")]
[OutputType(typeof(ArcpEvent))]
public sealed class GetArcpEventCommand : ArcpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string JobId { get; set; } = string.Empty;

    /// <summary>Only events after this message id.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? After { get; set; }

    /// <summary>Only events of these types (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(EventTypeCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Type { get; set; }

    /// <summary>Keep polling for new events until the job is finished (or Ctrl+C).</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    /// <summary>How often -Follow polls, in milliseconds.</summary>
    [Parameter]
    [ValidateRange(50, 60_000)]
    public int PollIntervalMilliseconds { get; set; } = 500;

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        var patterns = Type?.Select(t => WildcardPattern.Get(t, WildcardOptions.IgnoreCase)).ToList();
        var after = After;
        try
        {
            while (true)
            {
                // The state is read before the events, so the last batch read after a terminal state has everything.
                var terminal = Follow && FetchJob(store, JobId).State is not (ArcpJobState.Running or ArcpJobState.Interrupted);
                foreach (var summary in Run(store, (client, ct) => client.QueryEventsAsync(JobId, after, ct)))
                {
                    after = summary.MessageId;
                    if (patterns is null || patterns.Any(p => p.IsMatch(summary.Type)))
                    {
                        WriteObject(new ArcpEvent(JobId, summary, store));
                    }
                }

                if (!Follow || terminal)
                {
                    return;
                }

                Sleep(TimeSpan.FromMilliseconds(PollIntervalMilliseconds));
            }
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, JobId);
        }
    }
}
