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
    [Alias("Id")]
    public string[]? JobId { get; set; }

    /// <summary>Only jobs in these states; Interrupted means running with no live owner.</summary>
    [Parameter]
    public ArcpJobState[]? State { get; set; }

    /// <summary>Only jobs whose name matches one of these (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Only jobs of a workflow matching one of these (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Workflow { get; set; }

    protected override void ProcessRecord()
    {
        var states = State?.Select(s => s.ToString().ToLowerInvariant()).ToList();
        var names = Patterns(Name);
        var workflows = Patterns(Workflow);
        var stores = ResolvedStores;
        foreach (var jobId in JobId ?? new string?[] { null })
        {
            var found = false;
            var unreadable = false;
            foreach (var store in stores)
            {
                try
                {
                    var summaries = Run(store, (client, ct) => client.QueryJobsAsync(new JobQueryPayload { JobId = jobId, States = states }, ct));
                    found |= summaries.Count > 0;
                    foreach (var summary in summaries.Where(s => Matches(names, s.Name) && Matches(workflows, s.Workflow)))
                    {
                        WriteObject(new ArcpJob(summary, store));
                    }
                }
                catch (Exception ex) when (IsReportable(ex))
                {
                    unreadable = true;
                    WriteArcpError(ex, jobId);
                }
            }

            // A store that could not be read has already said so; "not found" would be a guess about it.
            if (jobId is not null && !found && !unreadable && State is null)
            {
                WriteArcpError(ArcpException.Of(ErrorCodes.NotFound, $"Job '{jobId}' does not exist in {StoreList(stores)}."), jobId);
            }
        }
    }

    private static string StoreList(IReadOnlyList<string> stores) => stores.Count == 1
        ? $"the store '{StoreFactory.Redact(stores[0])}'"
        : $"any of the stores {string.Join(", ", stores.Select(store => $"'{StoreFactory.Redact(store)}'"))}";

    private static List<WildcardPattern>? Patterns(string[]? values) =>
        values?.Select(value => WildcardPattern.Get(value, WildcardOptions.IgnoreCase)).ToList();

    private static bool Matches(List<WildcardPattern>? patterns, string? value) =>
        patterns is null || (value is not null && patterns.Exists(pattern => pattern.IsMatch(value)));
}
