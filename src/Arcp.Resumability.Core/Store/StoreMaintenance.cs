using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;

namespace Arcp.Resumability.Store;

/// <summary>How long history is kept. Checkpoints are not subject to event retention: they go only with their job.</summary>
public sealed record RetentionPolicy(TimeSpan EventAge, TimeSpan CompletedJobAge)
{
    public static TimeSpan DefaultEventAge { get; } = TimeSpan.FromDays(30);

    public static TimeSpan DefaultCompletedJobAge { get; } = TimeSpan.FromDays(90);
}

/// <summary>What one retention pass removed (or, when not applied, would remove).</summary>
public sealed record RetentionResult(
    DateTimeOffset EventCutoff,
    DateTimeOffset JobCutoff,
    int EventsPurged,
    int JobsRemoved,
    int CheckpointsRemoved,
    int LedgerEntriesRemoved,
    bool Applied);

/// <summary>Operator maintenance straight on a store: retention and removing a job's history.</summary>
public static class StoreMaintenance
{
    /// <summary>
    /// Removes completed, failed and cancelled jobs last updated before <c>now - CompletedJobAge</c> with all
    /// their history, then every event older than <c>now - EventAge</c> (raising the purge watermarks that let
    /// a later resume report DATA_LOSS), then expired idempotency ledger entries. Everything happens in one
    /// transaction; with <paramref name="apply"/> false it is rolled back, which counts what would go.
    /// </summary>
    public static async Task<RetentionResult> ApplyRetentionAsync(IArcpStore store, RetentionPolicy policy, DateTimeOffset now, bool apply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.EventAge < TimeSpan.Zero || policy.CompletedJobAge < TimeSpan.Zero)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "Retention ages must not be negative.");
        }

        var eventCutoff = now - policy.EventAge;
        var jobCutoff = now - policy.CompletedJobAge;
        var transaction = await store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            int events = 0, checkpoints = 0, ledger = 0;
            var jobs = await transaction.ListFinishedJobsAsync(jobCutoff, cancellationToken).ConfigureAwait(false);
            foreach (var jobId in jobs)
            {
                var removed = await transaction.DeleteJobAsync(jobId, cancellationToken).ConfigureAwait(false);
                events += removed.Events;
                checkpoints += removed.Checkpoints;
                ledger += removed.LedgerEntries;
            }

            events += await transaction.PurgeEventsAsync(eventCutoff, cancellationToken).ConfigureAwait(false);
            ledger += await transaction.PurgeExpiredLedgerEntriesAsync(now, cancellationToken).ConfigureAwait(false);
            if (apply)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            return new RetentionResult(eventCutoff, jobCutoff, events, jobs.Count, checkpoints, ledger, apply);
        }
    }

    /// <summary>
    /// Deletes one job's history: events of its stream, checkpoints, ledger entries and the job. A job whose
    /// lease is live is refused with ABORTED (naming the owner) unless <paramref name="force"/> is set; the
    /// owner of a force-removed job is stopped by NOT_FOUND at its next event.
    /// </summary>
    public static async Task<JobDeletion> RemoveJobAsync(IArcpStore store, string jobId, bool force, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        var transaction = await store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var job = await transaction.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false)
                ?? throw ArcpException.Of(ErrorCodes.NotFound, $"Job '{jobId}' does not exist in the store '{store.Location}'.", new JsonObject { ["job_id"] = jobId });
            if (!force && !JobStates.IsTerminal(job.State) && job.Lease is { } lease && ArcpRuntime.IsLive(lease, now))
            {
                throw ArcpException.Of(
                    ErrorCodes.Aborted,
                    $"Job '{jobId}' is being driven by process {lease.ProcessId} on '{lease.Host}' (session {lease.SessionId}); its lease runs until {ArcpJson.FormatTimestamp(lease.ExpiresAt)}. Use -Force to remove it anyway.",
                    new JsonObject
                    {
                        ["job_id"] = jobId,
                        ["owner"] = new JsonObject { ["session_id"] = lease.SessionId, ["host"] = lease.Host, ["process_id"] = lease.ProcessId, ["lease_expires_at"] = ArcpJson.FormatTimestamp(lease.ExpiresAt) },
                    });
            }

            var removed = await transaction.DeleteJobAsync(jobId, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return removed;
        }
    }
}
