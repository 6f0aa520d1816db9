using System.Management.Automation;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Sets how many jobs of a queue may run at once across every worker sharing the store.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "ArcpQueue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(void))]
public sealed class SetArcpQueueCommand : ArcpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    /// <summary>At most this many of the queue's jobs run at once, fleet-wide; 0 removes the limit.</summary>
    [Parameter(Mandatory = true)]
    [ValidateRange(0, 100000)]
    public int Concurrency { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        var limit = Concurrency == 0 ? (int?)null : Concurrency;
        if (!ShouldProcess($"queue '{Name}' in '{StoreFactory.Redact(store)}'", limit is null ? "Remove the concurrency limit" : $"Limit to {limit} job(s) at once"))
        {
            return;
        }

        try
        {
            RunOnStore(store, async (jobs, ct) =>
            {
                await new QueuedJobs(jobs).SetConcurrencyAsync(Name, limit, ct).ConfigureAwait(false);
                return true;
            });
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, Name);
        }
    }
}
