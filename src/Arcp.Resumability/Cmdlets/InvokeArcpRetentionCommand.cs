using System.Globalization;
using System.Management.Automation;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Purges old events and old finished jobs from a store; checkpoints stay as long as their job.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ArcpRetention", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ArcpRetentionSummary))]
public sealed class InvokeArcpRetentionCommand : ArcpCmdlet
{
    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    /// <summary>
    /// Events logged longer ago than this are deleted (default 30 days; a bare number means days). A later
    /// resume reports DATA_LOSS for them.
    /// </summary>
    [Parameter]
    [DaysTransformation]
    public TimeSpan EventAge { get; set; } = RetentionPolicy.DefaultEventAge;

    /// <summary>Completed, failed and cancelled jobs untouched for longer than this are deleted whole (default 90 days; a bare number means days).</summary>
    [Parameter]
    [DaysTransformation]
    public TimeSpan CompletedJobAge { get; set; } = RetentionPolicy.DefaultCompletedJobAge;

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        try
        {
            var policy = new RetentionPolicy(EventAge, CompletedJobAge);
            var now = DateTimeOffset.UtcNow;

            // Counted in a transaction that is rolled back, so -WhatIf and the confirmation name real numbers.
            var planned = RunOnStore(store, (jobs, ct) => jobs.ApplyRetentionAsync(policy, now, apply: false, ct));
            var action = string.Format(
                CultureInfo.InvariantCulture,
                "Delete {0} event(s) logged before {1:u} and {2} finished job(s) last updated before {3:u} (with their {4} checkpoint(s)), and {5} expired idempotency record(s)",
                planned.EventsPurged,
                planned.EventCutoff,
                planned.JobsRemoved,
                planned.JobCutoff,
                planned.CheckpointsRemoved,
                planned.LedgerEntriesRemoved);
            if (!ShouldProcess(StoreFactory.Redact(store), action))
            {
                WriteObject(new ArcpRetentionSummary(planned, StoreFactory.Redact(store)));
                return;
            }

            var applied = RunOnStore(store, (jobs, ct) => jobs.ApplyRetentionAsync(policy, now, apply: true, ct));
            WriteObject(new ArcpRetentionSummary(applied, StoreFactory.Redact(store)));
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, StoreFactory.Redact(store));
        }
    }
}
