using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>
/// What a worker takes: jobs of <see cref="Principal"/> (every principal's when null: a runtime serving them all),
/// limited to some queues and workflows when those are given.
/// </summary>
public sealed record WorkFilter(string? Principal, IReadOnlyCollection<string>? Queues, IReadOnlyCollection<string>? Workflows);

/// <summary>
/// The durable queue. A queued job is recorded like any job (idempotency ledger included) but in state
/// <see cref="JobStates.Queued"/>, without a lease, with an entry naming its queue and priority. A worker's claim
/// moves it to running under a claim lease (session id = the worker's claimer id, this process) and records who
/// claimed it, so nobody sees it interrupted or takes it meanwhile; the worker then resumes it in this process, whose
/// resume may take over a claim lease of its own process (<see cref="IsHandOver"/>), and that resume's claim
/// (<see cref="JobService.ClaimAsync"/>) is the fence that lets exactly one session drive it.
/// </summary>
public sealed class QueuedJobs(JobService jobs)
{
    /// <summary>The queue jobs go to when none is named (schedules without -Queue).</summary>
    public const string DefaultQueue = "default";

    private const int MaxNameLength = 200;

    private const string ClaimerPrefix = "wrk_";

    public JobService Jobs { get; } = jobs ?? throw new ArgumentNullException(nameof(jobs));

    /// <summary>A new id for a claimer (a worker): what its claim leases carry as their session id.</summary>
    public static string NewClaimerId() => ClaimerPrefix + ArcpId.NewUlid();

    /// <summary>
    /// Whether <paramref name="lease"/> is a claim lease taken by a worker of this very process: the resume that worker
    /// starts next may take it over. A claim of another process stays fenced like any live lease.
    /// </summary>
    public static bool IsHandOver(JobLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var current = ProcessIdentity.Current;
        return lease.SessionId.StartsWith(ClaimerPrefix, StringComparison.Ordinal)
            && string.Equals(lease.Host, current.Host, StringComparison.OrdinalIgnoreCase)
            && lease.ProcessId == current.ProcessId
            // PostgreSQL keeps microseconds of the 100 ns start time: anything closer than a millisecond is this process.
            && (lease.ProcessStartedAt - current.StartedAt).Duration() < TimeSpan.FromMilliseconds(1);
    }

    /// <summary>
    /// How long a claimed job counts against its queue's limit before its runner has leased it: after that a claim
    /// that never turned into a lease (the worker died in between) stops holding a slot.
    /// </summary>
    public TimeSpan ClaimGrace => Jobs.Options.LeaseDuration;

    /// <summary>Records <paramref name="start"/> as queued on <paramref name="queue"/>, or returns the job an earlier start with its key created.</summary>
    public async Task<(JobRecord Job, bool Existing)> EnqueueAsync(IStoreTransaction tx, JobStart start, string queue, int priority, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(start);
        EnsureName(queue, "queue");
        var (job, existing) = await Jobs.StartAsync(tx, start, null, cancellationToken).ConfigureAwait(false);
        if (existing)
        {
            return (job, true);
        }

        var queued = job with { State = JobStates.Queued };
        await tx.UpdateJobAsync(queued, cancellationToken).ConfigureAwait(false);
        await tx.InsertQueueEntryAsync(new QueueEntry(job.JobId, queue, priority, job.CreatedAt), cancellationToken).ConfigureAwait(false);
        return (queued, false);
    }

    /// <summary><see cref="EnqueueAsync(IStoreTransaction, JobStart, string, int, CancellationToken)"/> in its own durable transaction.</summary>
    public async Task<(JobRecord Job, bool Existing)> EnqueueAsync(JobStart start, string queue, int priority, CancellationToken cancellationToken)
    {
        var transaction = await Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var result = await EnqueueAsync(transaction, start, queue, priority, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
    }

    /// <summary>Sets how many of the queue's jobs may run at once across every worker of the store (null: no limit).</summary>
    public async Task SetConcurrencyAsync(string queue, int? concurrency, CancellationToken cancellationToken)
    {
        EnsureName(queue, "queue");
        if (concurrency is < 1)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"A queue's concurrency must be at least 1 (got {concurrency}).", new JsonObject { ["queue"] = queue });
        }

        var transaction = await Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await transaction.SetQueueConcurrencyAsync(queue, concurrency, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Claims the next queued job <paramref name="filter"/> allows, in queue-name order, honouring each queue's
    /// fleet-wide limit; null when there is none. Atomic: two claimers never take one job.
    /// </summary>
    /// <remarks>
    /// Each queue's claim commits with its request, so a claimed job costs one round trip on PostgreSQL. A queue its
    /// store counts as full is looked at again in a transaction of its own (<see cref="TryClaimInFullQueueAsync"/>).
    /// </remarks>
    public async Task<JobRecord?> ClaimNextAsync(string workerId, WorkFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        IStoreTransaction? transaction = await Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        try
        {
            var queues = filter.Queues ?? await transaction.ListQueuesWithWorkAsync(cancellationToken).ConfigureAwait(false);
            foreach (var queue in queues)
            {
                transaction ??= await Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
                var now = Jobs.Now;
                var process = ProcessIdentity.Current;
                var claim = new QueueClaim(queue, filter.Principal, filter.Workflows, workerId, new JobLease(workerId, process.Host, process.ProcessId, process.StartedAt, now + Jobs.Options.LeaseDuration), now, now - ClaimGrace);
                var outcome = await transaction.TryClaimNextAndCommitAsync(claim, cancellationToken).ConfigureAwait(false);
                await transaction.DisposeAsync().ConfigureAwait(false);
                transaction = null;
                if ((outcome.Claimed ?? (outcome.Full ? await TryClaimInFullQueueAsync(claim, cancellationToken).ConfigureAwait(false) : null)) is { } claimed)
                {
                    return claimed;
                }
            }

            return null;
        }
        finally
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The claim of a queue whose store count fills its limit: the store counts a lease until it expires, and whether
    /// its process is gone only the active jobs tell. Under the queue's lock, taken again.
    /// </summary>
    private async Task<JobRecord?> TryClaimInFullQueueAsync(QueueClaim claim, CancellationToken cancellationToken)
    {
        var transaction = await Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            if (await transaction.LockQueueAsync(claim.Queue, cancellationToken).ConfigureAwait(false) is { } limit
                && !await HasFreeSlotAmongActiveAsync(transaction, claim.Queue, limit, claim.Now, null, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            if ((await transaction.TryClaimNextAsync(claim with { SlotFree = true }, cancellationToken).ConfigureAwait(false)).Claimed is not { } claimed)
            {
                return null;
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return claimed;
        }
    }

    /// <summary>
    /// Takes a slot for resuming <paramref name="candidate"/>, a job <see cref="ListResumableAsync"/> found nobody
    /// drives. A job that came from a queue counts against its queue's fleet-wide limit like a fresh claim: under the
    /// queue's lock (its limit row locked on PostgreSQL; the single writer on SQLite) it is leased to
    /// <paramref name="workerId"/> as a claim, which the resume this process starts next takes over
    /// (<see cref="IsHandOver"/>). Null when the queue is full or someone took the job meanwhile; any other job is
    /// returned as it is, its resume's own claim being its fence.
    /// </summary>
    public async Task<JobRecord?> ClaimResumeAsync(string workerId, JobRecord candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var transaction = await Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            if (await transaction.GetQueueEntryAsync(candidate.JobId, cancellationToken).ConfigureAwait(false) is not { } entry)
            {
                return candidate;
            }

            var now = Jobs.Now;
            var limit = await transaction.LockQueueAsync(entry.Queue, cancellationToken).ConfigureAwait(false);
            var job = await transaction.GetJobAsync(candidate.JobId, cancellationToken).ConfigureAwait(false);
            if (job is null || JobStates.IsTerminal(job.State) || LeaseLiveness.IsLive(job.Lease, now) || ClaimedElsewhere(entry, job, workerId, now))
            {
                return null;
            }

            if (!await HasFreeSlotAsync(transaction, entry.Queue, limit, now, job.JobId, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var process = ProcessIdentity.Current;
            var claimed = job with { State = JobStates.Running, Lease = new JobLease(workerId, process.Host, process.ProcessId, process.StartedAt, now + Jobs.Options.LeaseDuration), UpdatedAt = now };
            await transaction.UpdateJobAsync(claimed, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return claimed;
        }
    }

    /// <summary>Whether any queued job <paramref name="filter"/> allows is waiting (possibly for a slot of its queue's limit).</summary>
    public async Task<bool> HasQueuedWorkAsync(WorkFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var transaction = await Jobs.Store.BeginAsync(CommitDurability.ProcessSafe, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            foreach (var queue in filter.Queues ?? await transaction.ListQueuesWithWorkAsync(cancellationToken).ConfigureAwait(false))
            {
                if ((await transaction.ListClaimableAsync(queue, filter.Principal, filter.Workflows, 1, cancellationToken).ConfigureAwait(false)).Count > 0)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Gives up <paramref name="workerId"/>'s claim on a job it is no longer driving (it stopped), so other workers
    /// resume it at once instead of waiting out <see cref="ClaimGrace"/>. A claimed job is never queued again: it
    /// may have run steps, so it continues by resume.
    /// </summary>
    public async Task ReleaseClaimAsync(string workerId, string jobId, CancellationToken cancellationToken)
    {
        var transaction = await Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var cleared = await transaction.ClearClaimAsync(jobId, workerId, cancellationToken).ConfigureAwait(false);
            if (await transaction.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) is { Lease: { } lease } job && lease.SessionId == workerId)
            {
                // Its runner never took the job over: the claim lease goes too, or the job would wait out its expiry.
                await transaction.UpdateJobAsync(job with { Lease = null, UpdatedAt = Jobs.Now }, cancellationToken).ConfigureAwait(false);
                cleared = true;
            }

            if (cleared)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Unfinished jobs of the filter's principal (and workflows) that nobody drives: interrupted, blocked, or claimed
    /// from a queue and not yet leased. A resume of one may still lose the race to another worker; its claim decides.
    /// </summary>
    public async Task<IReadOnlyList<JobRecord>> ListResumableAsync(string workerId, WorkFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var transaction = await Jobs.Store.BeginAsync(CommitDurability.ProcessSafe, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var now = Jobs.Now;
            var resumable = new List<JobRecord>();
            foreach (var job in await transaction.ListUnfinishedJobsAsync(cancellationToken).ConfigureAwait(false))
            {
                if ((filter.Principal is { } principal && job.Principal != principal) || LeaseLiveness.IsLive(job.Lease, now) || (filter.Workflows is { } workflows && !workflows.Contains(job.Workflow)))
                {
                    continue;
                }

                var entry = await transaction.GetQueueEntryAsync(job.JobId, cancellationToken).ConfigureAwait(false);
                if (entry is not null && ((filter.Queues is { } queues && !queues.Contains(entry.Queue)) || ClaimedElsewhere(entry, job, workerId, now)))
                {
                    continue;
                }

                resumable.Add(job);
            }

            // Read only: disposing without commit rolls back, which releases the write lock at once.
            return resumable;
        }
    }

    /// <summary>Another worker claimed the job moments ago and is about to lease it: leave it to that worker.</summary>
    private bool ClaimedElsewhere(QueueEntry entry, JobRecord job, string workerId, DateTimeOffset now) =>
        job.Lease is null && entry.ClaimedBy is { } by && by != workerId && entry.ClaimedAt > now - ClaimGrace;

    /// <summary>
    /// Whether <paramref name="queue"/> has a slot free under its <paramref name="limit"/>. The store's count comes
    /// first (one cheap query); only when it says full are the active jobs read, because the store counts a lease
    /// until it expires, while a job leased by a process that is gone (killed, say) holds no slot: nobody runs it.
    /// <paramref name="resuming"/>, the job being claimed, never counts against itself.
    /// </summary>
    private async Task<bool> HasFreeSlotAsync(IStoreTransaction transaction, string queue, int? limit, DateTimeOffset now, string? resuming, CancellationToken cancellationToken) =>
        limit is not { } max
        || await transaction.CountActiveAsync(queue, now, now - ClaimGrace, cancellationToken).ConfigureAwait(false) < max
        || await HasFreeSlotAmongActiveAsync(transaction, queue, max, now, resuming, cancellationToken).ConfigureAwait(false);

    /// <summary>Whether fewer than <paramref name="limit"/> of the jobs the store counts as active are driven by a live process.</summary>
    private async Task<bool> HasFreeSlotAmongActiveAsync(IStoreTransaction transaction, string queue, int limit, DateTimeOffset now, string? resuming, CancellationToken cancellationToken)
    {
        var active = await transaction.ListActiveJobsAsync(queue, now, now - ClaimGrace, cancellationToken).ConfigureAwait(false);
        return active.Count(j => j.JobId != resuming && (j.Lease is null || LeaseLiveness.IsLive(j.Lease, now))) < limit;
    }

    internal static void EnsureName(string value, string what)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > MaxNameLength || value.Any(char.IsControl))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"A {what} name must be 1 to {MaxNameLength} characters without control characters.", new JsonObject { [what] = value });
        }
    }
}
