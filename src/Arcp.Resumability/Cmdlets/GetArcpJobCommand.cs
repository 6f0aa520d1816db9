using System.Management.Automation;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets jobs from the store, optionally by id, state or name.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ArcpJob")]
[OutputType(typeof(ArcpJob))]
public sealed class GetArcpJobCommand : ArcpCmdlet
{
    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    public string? JobId { get; set; }

    /// <summary>Only jobs in these states; Interrupted means running with no live owner.</summary>
    [Parameter]
    public ArcpJobState[]? State { get; set; }

    /// <summary>Only jobs whose name matches (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        try
        {
            var states = State?.Select(s => s.ToString().ToLowerInvariant()).ToList();
            var summaries = Run(store, (client, ct) => client.QueryJobsAsync(new JobQueryPayload { JobId = JobId, States = states }, ct));
            if (JobId is not null && summaries.Count == 0 && State is null)
            {
                throw ArcpException.Of(ErrorCodes.NotFound, $"Job '{JobId}' does not exist in the store '{StoreFactory.Redact(store)}'.");
            }

            var pattern = Name is null ? null : WildcardPattern.Get(Name, WildcardOptions.IgnoreCase);
            foreach (var summary in summaries.Where(s => pattern is null || (s.Name is not null && pattern.IsMatch(s.Name))))
            {
                WriteObject(new ArcpJob(summary, store));
            }
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, JobId);
        }
    }
}
