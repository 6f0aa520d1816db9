using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>Operator maintenance: retention and removing a job's history.</summary>
public sealed partial class JobService
{
    /// <summary>
    /// Removes completed, failed and cancelled jobs last updated before <c>now - CompletedJobAge</c> with all
    /// their history (and, with an <see cref="RetentionPolicy.AbandonedJobAge"/>, unfinished jobs nobody holds a live
    /// lease on, last updated before <c>now - AbandonedJobAge</c>), then every event older than <c>now - EventAge</c>
    /// (raising the purge watermarks that let a later resume report DATA_LOSS), the sessions that ended before that,
    /// then expired idempotency ledger entries. Everything happens in one transaction; with <paramref name="apply"/>
    /// false it is rolled back, which counts what would go. Space is given back by <see cref="ReclaimSpaceAsync"/>.
    /// </summary>
    public async Task<RetentionResult> ApplyRetentionAsync(RetentionPolicy policy, DateTimeOffset now, bool apply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.EventAge < TimeSpan.Zero || policy.CompletedJobAge < TimeSpan.Zero || policy.AbandonedJobAge < TimeSpan.Zero)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "Retention ages must not be negative.");
        }

        var eventCutoff = now - policy.EventAge;
        var jobCutoff = now - policy.CompletedJobAge;
        var transaction = await Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            int events = 0, checkpoints = 0, ledger = 0;
            var jobs = await transaction.ListFinishedJobsAsync(jobCutoff, cancellationToken).ConfigureAwait(false);
            var abandonedCutoff = now - policy.AbandonedJobAge;
            var abandoned = abandonedCutoff is { } before
                ? (await transaction.ListUnfinishedJobsAsync(before, cancellationToken).ConfigureAwait(false))
                    .Where(job => !LeaseLiveness.IsLive(job.Lease, now))
                    .Select(job => job.JobId)
                    .ToList()
                : [];
            foreach (var jobId in jobs.Concat(abandoned))
            {
                var removed = await transaction.DeleteJobAsync(jobId, cancellationToken).ConfigureAwait(false);
                events += removed.Events;
                checkpoints += removed.Checkpoints;
                ledger += removed.LedgerEntries;
            }

            events += await transaction.PurgeEventsAsync(eventCutoff, cancellationToken).ConfigureAwait(false);
            var sessions = await transaction.DeleteSessionsEndedBeforeAsync(eventCutoff, cancellationToken).ConfigureAwait(false);
            ledger += await transaction.PurgeExpiredLedgerEntriesAsync(now, cancellationToken).ConfigureAwait(false);
            if (apply)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            return new RetentionResult(eventCutoff, jobCutoff, events, jobs.Count, checkpoints, ledger, apply)
            {
                SessionsRemoved = sessions,
                AbandonedJobsRemoved = abandoned.Count,
                AbandonedJobCutoff = abandonedCutoff,
            };
        }
    }

    /// <summary>
    /// Gives the space of deleted rows back to the file system: cheaply (SQLite incremental vacuum, PostgreSQL plain
    /// VACUUM), or with <paramref name="compact"/> by rewriting the store, which makes other writers wait while it runs.
    /// </summary>
    public Task<StoreSpace> ReclaimSpaceAsync(bool compact, CancellationToken cancellationToken) => Store.ReclaimSpaceAsync(compact, cancellationToken);

    /// <summary>
    /// Deletes one job's history: events of its stream, checkpoints, ledger entries and the job. A job whose
    /// lease is live is refused with ABORTED (naming the owner) unless <paramref name="force"/> is set; the
    /// owner of a force-removed job is stopped by NOT_FOUND at its next event.
    /// </summary>
    public async Task<JobDeletion> RemoveJobAsync(string jobId, bool force, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        var transaction = await Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var job = await transaction.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false)
                ?? throw ArcpException.Of(ErrorCodes.NotFound, $"Job '{jobId}' does not exist in the store '{Store.Location}'.", new JsonObject { ["job_id"] = jobId });
            if (!force && !JobStates.IsTerminal(job.State) && job.Lease is { } lease && LeaseLiveness.IsLive(lease, now))
            {
                throw Owned(jobId, lease, " Use -Force to remove it anyway.");
            }

            var removed = await transaction.DeleteJobAsync(jobId, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return removed;
        }
    }
}
