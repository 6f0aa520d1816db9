using System.Globalization;
using System.Management.Automation;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Purges old events, sessions and finished (optionally abandoned) jobs from a store and gives the space back; checkpoints stay as long as their job.</para>
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

    /// <summary>
    /// Unfinished jobs that nobody holds a live lease on and that were not updated for longer than this are deleted whole
    /// (a bare number means days). Without it they are kept, resumable, for ever.
    /// </summary>
    [Parameter]
    [DaysTransformation]
    public TimeSpan? AbandonedJobAge { get; set; }

    /// <summary>Rewrite the store to give all free space back (SQLite VACUUM, PostgreSQL VACUUM FULL); other writers wait meanwhile.</summary>
    [Parameter]
    public SwitchParameter Compact { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        try
        {
            var policy = new RetentionPolicy(EventAge, CompletedJobAge) { AbandonedJobAge = AbandonedJobAge };
            var now = DateTimeOffset.UtcNow;

            // Counted in a transaction that is rolled back, so -WhatIf and the confirmation name real numbers.
            var planned = RunOnStore(store, (jobs, ct) => jobs.ApplyRetentionAsync(policy, now, apply: false, ct));
            var action = string.Format(
                CultureInfo.InvariantCulture,
                "Delete {0} event(s) logged before {1:u}, {2} finished job(s) last updated before {3:u}{6} (with their {4} checkpoint(s)), {7} ended session(s) and {5} expired idempotency record(s){8}",
                planned.EventsPurged,
                planned.EventCutoff,
                planned.JobsRemoved,
                planned.JobCutoff,
                planned.CheckpointsRemoved,
                planned.LedgerEntriesRemoved,
                planned.AbandonedJobCutoff is { } abandonedCutoff ? string.Format(CultureInfo.InvariantCulture, " and {0} abandoned unfinished job(s) last updated before {1:u}", planned.AbandonedJobsRemoved, abandonedCutoff) : string.Empty,
                planned.SessionsRemoved,
                Compact ? ", then rewrite the store to give its free space back" : string.Empty);
            if (!ShouldProcess(StoreFactory.Redact(store), action))
            {
                WriteObject(new ArcpRetentionSummary(planned, StoreFactory.Redact(store)));
                return;
            }

            var applied = RunOnStore(store, (jobs, ct) => jobs.ApplyRetentionAsync(policy, now, apply: true, ct));
            var space = RunOnStore(store, (jobs, ct) => jobs.ReclaimSpaceAsync(Compact, ct));
            WriteObject(new ArcpRetentionSummary(applied, StoreFactory.Redact(store), space));
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, StoreFactory.Redact(store));
        }
    }
}
