namespace Arcp.Resumability.Store;

/// <summary>
/// The queue and schedule part of a store transaction. Reads that feed a claim lock what they return until commit
/// (PostgreSQL <c>FOR UPDATE SKIP LOCKED</c>, so concurrent claimers pass each other; SQLite has one writer at a time),
/// which makes "pick, then claim" atomic across processes.
/// </summary>
public interface IQueueTransaction
{
    Task InsertQueueEntryAsync(QueueEntry entry, CancellationToken cancellationToken);

    /// <summary>Queues with at least one unclaimed entry, by name.</summary>
    Task<IReadOnlyList<string>> ListQueuesWithWorkAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Returns the queue's limit, null for none, and when it has one locks its limit row until commit, so claims on a
    /// limited queue serialise and its fleet-wide limit cannot be overshot. A queue without a limit is not locked:
    /// its claims only need to take distinct entries, and a limit set meanwhile binds the claims that read it.
    /// </summary>
    Task<int?> LockQueueAsync(string queue, CancellationToken cancellationToken);

    Task SetQueueConcurrencyAsync(string queue, int? concurrency, CancellationToken cancellationToken);

    /// <summary>
    /// Entries of <paramref name="queue"/> whose job is running and either holds a lease that has not expired by
    /// <paramref name="now"/> or, unleased, was claimed after <paramref name="claimedSince"/> (taken, not yet leased).
    /// </summary>
    Task<int> CountActiveAsync(string queue, DateTimeOffset now, DateTimeOffset claimedSince, CancellationToken cancellationToken);

    /// <summary>
    /// The jobs <see cref="CountActiveAsync"/> counts, for a claimer that must tell the ones whose process is gone
    /// (their leases have not expired, but nobody drives them) from the ones still running.
    /// </summary>
    Task<IReadOnlyList<JobRecord>> ListActiveJobsAsync(string queue, DateTimeOffset now, DateTimeOffset claimedSince, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> unclaimed entries of <paramref name="queue"/> whose job belongs to
    /// <paramref name="principal"/> (anyone when null) and is still queued (and runs one of <paramref name="workflows"/> when given), in claim
    /// order, locked for this transaction; entries another transaction holds are skipped.
    /// </summary>
    Task<IReadOnlyList<QueueEntry>> ListClaimableAsync(string queue, string? principal, IReadOnlyCollection<string>? workflows, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// One claim, as the calls above make it: locks the queue's limit (<see cref="LockQueueAsync"/>), and unless
    /// <see cref="QueueClaim.SlotFree"/> counts its active jobs (<see cref="CountActiveAsync"/>) and stops there when
    /// they fill it; else takes the first entry <see cref="ListClaimableAsync"/> would return, moves its job to running
    /// under the claim's lease and marks the entry claimed (<see cref="MarkClaimedAsync"/>). The count runs after the
    /// lock is held, so it sees every claim committed before. A store whose statements cost a round trip each sends
    /// them together.
    /// </summary>
    Task<QueueClaimOutcome> TryClaimNextAsync(QueueClaim claim, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="TryClaimNextAsync"/>, then the commit, together (one round trip on PostgreSQL): the transaction has
    /// ended when it returns, whatever the outcome. A full queue's lock ends with it, so a caller that still wants to
    /// look at the queue's active jobs locks it again in a new transaction.
    /// </summary>
    Task<QueueClaimOutcome> TryClaimNextAndCommitAsync(QueueClaim claim, CancellationToken cancellationToken);

    Task MarkClaimedAsync(string jobId, string claimedBy, DateTimeOffset claimedAt, CancellationToken cancellationToken);

    /// <summary>Forgets <paramref name="claimedBy"/>'s claim on the job's entry (the job stays as it is); false when it held none.</summary>
    Task<bool> ClearClaimAsync(string jobId, string claimedBy, CancellationToken cancellationToken);

    Task<QueueEntry?> GetQueueEntryAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Jobs in a state someone may resume (running or blocked), whatever their lease says; the job layer decides.</summary>
    Task<IReadOnlyList<JobRecord>> ListUnfinishedJobsAsync(CancellationToken cancellationToken);

    /// <summary>Inserts a schedule; false when the principal already has one with that name.</summary>
    Task<bool> TryInsertScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken);

    Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(string principal, CancellationToken cancellationToken);

    /// <summary>Schedules of every principal due by <paramref name="now"/>, locked for this transaction; ones another transaction holds are skipped.</summary>
    Task<IReadOnlyList<ScheduleRecord>> ListDueSchedulesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    Task UpdateScheduleFireAsync(string principal, string name, DateTimeOffset nextFireAt, DateTimeOffset? lastFireAt, CancellationToken cancellationToken);

    /// <summary>Deletes a schedule; false when there was none.</summary>
    Task<bool> DeleteScheduleAsync(string principal, string name, CancellationToken cancellationToken);
}
