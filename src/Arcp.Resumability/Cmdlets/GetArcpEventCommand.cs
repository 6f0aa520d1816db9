using System.Management.Automation;
using Arcp.Resumability.Client;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets a job's recorded events: progress, logs, thoughts, checkpoints and the outcome.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ArcpEvent")]
[OutputType(typeof(ArcpEvent))]
public sealed class GetArcpEventCommand : ArcpCmdlet
{
    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [ValidateNotNullOrEmpty]
    [Alias("Id")]
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

    /// <summary>Keep writing new events as they are recorded until the job is finished (or Ctrl+C).</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        var patterns = Type?.Select(t => WildcardPattern.Get(t, WildcardOptions.IgnoreCase)).ToList();
        var after = After;
        ArcpSubscription? subscription = null;
        try
        {
            // -Follow subscribes before the first read, so whatever is recorded after that read is announced on it.
            subscription = Follow ? Run(store, (client, ct) => client.SubscribeAsync(new SubscribePayload { Filter = new SubscriptionFilter { JobId = [JobId] } }, ct)) : null;
            while (true)
            {
                // The state is read before the events, so the last batch read after a terminal state has everything.
                var terminal = subscription is not null && FetchJob(store, JobId).IsFinished;
                foreach (var summary in Run(store, (client, ct) => client.QueryEventsAsync(JobId, after, ct)))
                {
                    after = summary.MessageId;
                    if (patterns is null || patterns.Any(p => p.IsMatch(summary.Type)))
                    {
                        WriteObject(new ArcpEvent(JobId, summary, store));
                    }
                }

                if (subscription is null || terminal)
                {
                    return;
                }

                Run(store, async (_, ct) =>
                {
                    await subscription.WaitForEventsAsync(ct).ConfigureAwait(false);
                    return true;
                });
            }
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, JobId);
        }
        finally
        {
            if (subscription is not null && !Stopping)
            {
                Run(store, async (_, _) =>
                {
                    await subscription.DisposeAsync().ConfigureAwait(false);
                    return true;
                });
            }
        }
    }
}
