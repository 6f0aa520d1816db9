using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>A <c>workflow.start</c> as the job layer records it; ids chosen by the caller so its answers can name them.</summary>
/// <param name="ClientChosenId">True when <paramref name="JobId"/> came from the client: it must not be in use by anyone.</param>
public sealed record JobStart(string JobId, string Principal, string Workflow, string? Name, string Inputs, string? IdempotencyKey, string StartedMessageId, bool ClientChosenId = false)
{
    /// <summary>The failed or cancelled job of the same principal and workflow this one retries.</summary>
    public string? RetryOf { get; init; }
}

/// <summary>An owner's event to record against its job; at most one of checkpoint and terminal state is set.</summary>
public sealed record JobEvent(string MessageId, bool IsHeartbeat)
{
    public CheckpointDraft? Checkpoint { get; init; }

    public string? TerminalState { get; init; }

    public string? Result { get; init; }

    public string? Error { get; init; }
}

/// <summary>A step's outcome to record: the checkpoint row its <c>job.checkpoint</c> envelope describes.</summary>
public sealed record CheckpointDraft(string CheckpointId, int StepIndex, string Step, string IdempotencyKey, string Output, string? DefinitionVersion)
{
    public DateTimeOffset? StartedAt { get; init; }

    public int? Attempts { get; init; }

    public long? DurationMs { get; init; }
}

/// <summary>What <see cref="JobService.TryRecordAndCommitAsync"/> committed: the checkpoint recorded, if any, and its cancel scan's findings.</summary>
public sealed record OwnerEventsCommitted(CheckpointRecord? Checkpoint, IReadOnlyList<StoredEvent> Cancels, long LastSequence);

/// <summary>The same logical step again (§6.4): carries the recorded checkpoint out of a transaction that must be rolled back.</summary>
public sealed class DuplicateStepException(CheckpointRecord recorded) : Exception("The step outcome is already recorded.")
{
    public CheckpointRecord Recorded { get; } = recorded;
}

/// <summary>Job transitions: start, record, claim, cancel, block and release.</summary>
public sealed partial class JobService
{
    /// <summary>
    /// Creates the job (with a ledger entry for its idempotency key), or returns the job an earlier start with
    /// the same key and request created. <paramref name="holder"/> null leaves the job unleased for a driver to claim.
    /// </summary>
    /// <returns>The job and whether it already existed.</returns>
    public async Task<(JobRecord Job, bool Existing)> StartAsync(IStoreTransaction tx, JobStart start, JobHolder? holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(start);
        var now = Now;
        var requestHash = ArcpJson.Sha256Hex(start.Workflow, start.Inputs);
        if (start.IdempotencyKey is { } key && await tx.GetLedgerEntryAsync(start.Principal, key, cancellationToken).ConfigureAwait(false) is { } prior
            && (prior.ExpiresAt is null || prior.ExpiresAt > now))
        {
            if (prior.RequestHash != requestHash)
            {
                throw ArcpException.Of(
                    ErrorCodes.AlreadyExists,
                    $"Idempotency key '{key}' was already used for job '{prior.Outcome}' with a different workflow or input.",
                    new JsonObject { ["job_id"] = prior.Outcome, ["idempotency_key"] = key });
            }

            if (start.ClientChosenId && prior.Outcome != start.JobId)
            {
                // The caller's own ledger entry, so naming its job reveals nothing about anyone else.
                throw ArcpException.Of(
                    ErrorCodes.AlreadyExists,
                    $"Idempotency key '{key}' was already used for job '{prior.Outcome}', not '{start.JobId}'.",
                    new JsonObject { ["job_id"] = prior.Outcome, ["idempotency_key"] = key });
            }

            var existing = await tx.GetJobAsync(prior.Outcome, cancellationToken).ConfigureAwait(false)
                ?? throw ArcpException.Of(ErrorCodes.DataLoss, $"Idempotency key '{key}' points at job '{prior.Outcome}', which is no longer in the store.");
            return (existing, true);
        }

        if (start.RetryOf is { } original)
        {
            await CheckRetryableAsync(tx, start, original, cancellationToken).ConfigureAwait(false);
        }

        if (start.ClientChosenId && await tx.GetJobAsync(start.JobId, cancellationToken).ConfigureAwait(false) is not null)
        {
            // The same words whoever holds the id (this principal or another): nothing is revealed beyond "taken".
            throw ArcpException.Of(
                ErrorCodes.AlreadyExists,
                $"job_id '{start.JobId}' is already in use; choose another id, or leave job_id out and the runtime assigns one.",
                new JsonObject { ["job_id"] = start.JobId });
        }

        var job = new JobRecord
        {
            RetryOf = start.RetryOf,
            JobId = start.JobId,
            Principal = start.Principal,
            Workflow = start.Workflow,
            Name = start.Name,
            State = JobStates.Running,
            Inputs = start.Inputs,
            IdempotencyKey = start.IdempotencyKey,
            LastMessageId = start.StartedMessageId,
            CreatedAt = now,
            UpdatedAt = now,
            Lease = holder is null ? null : NewLease(holder, now),
        };
        await tx.InsertJobAsync(job, cancellationToken).ConfigureAwait(false);
        if (start.IdempotencyKey is { } newKey)
        {
            await tx.InsertLedgerEntryAsync(new LedgerEntry(start.Principal, newKey, requestHash, start.JobId, now, now + Options.IdempotencyHorizon), cancellationToken).ConfigureAwait(false);
        }

        return (job, false);
    }

    /// <summary>
    /// Records an owner's event: renews its lease and, for a checkpoint or a terminal event, the job's progress.
    /// Only the lease holder records (fencing); a repeated step key throws <see cref="DuplicateStepException"/>.
    /// </summary>
    /// <returns>The checkpoint recorded, if the event was one.</returns>
    public async Task<CheckpointRecord?> RecordAsync(IStoreTransaction tx, JobHolder holder, string jobId, JobEvent recorded, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var write = OwnerWrite(holder, jobId, recorded);
        var job = Owned(await tx.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false), holder, jobId);
        if (write.Checkpoint is not { } checkpoint)
        {
            await tx.UpdateJobAsync(write.ApplyTo(job), cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (!await tx.TryInsertCheckpointAndUpdateJobAsync(checkpoint, write.ApplyTo(job), cancellationToken).ConfigureAwait(false))
        {
            // Refused by a unique key; which one is looked up only now, off the path every step takes.
            if (await tx.FindCheckpointByKeyAsync(jobId, checkpoint.IdempotencyKey, cancellationToken).ConfigureAwait(false) is { } prior)
            {
                throw new DuplicateStepException(prior);
            }

            // Same words whoever holds the id (this job, another job, another principal's): nothing is revealed
            // beyond "not fresh", and ids carry 80 random bits, so nobody learns one by guessing.
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"checkpoint_id '{checkpoint.CheckpointId}' cannot be used; send each checkpoint with a fresh id.");
        }

        return checkpoint;
    }

    /// <summary>
    /// Logs an owner's <paramref name="drafts"/> (all of job <paramref name="jobId"/>, <paramref name="recorded"/> the
    /// last of them), records that event as <see cref="RecordAsync"/> does, and commits <paramref name="tx"/>, in one
    /// request where the store can (<see cref="IStoreTransaction.TryRecordOwnerEventsAndCommitAsync"/>). Null, with
    /// nothing committed, when an event was logged already, the session does not hold the job, or the checkpoint is
    /// refused: the caller records the events one at a time instead, which answers each of those.
    /// </summary>
    public async Task<OwnerEventsCommitted?> TryRecordAndCommitAsync(IStoreTransaction tx, JobHolder holder, string jobId, IReadOnlyList<EventDraft> drafts, JobEvent recorded, long? cancelsAfterSequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var write = OwnerWrite(holder, jobId, recorded);
        return await tx.TryRecordOwnerEventsAndCommitAsync(drafts, write, cancelsAfterSequence, cancellationToken).ConfigureAwait(false) is { } committed
            ? new OwnerEventsCommitted(write.Checkpoint, committed.Cancels, committed.LastSequence)
            : null;
    }

    /// <summary>What an owner's event writes: every event renews the lease, a checkpoint also moves the job's last checkpoint.</summary>
    private OwnerJobWrite OwnerWrite(JobHolder holder, string jobId, JobEvent recorded)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(recorded);
        var now = Now;
        return new OwnerJobWrite(jobId, holder.Principal, NewLease(holder, now), now)
        {
            LastMessageId = recorded.IsHeartbeat ? null : recorded.MessageId,
            Checkpoint = recorded.Checkpoint is { } draft
                ? new CheckpointRecord(draft.CheckpointId, jobId, draft.StepIndex, draft.Step, recorded.MessageId, draft.IdempotencyKey, now, draft.Output)
                {
                    DefinitionVersion = draft.DefinitionVersion,
                    StartedAt = draft.StartedAt,
                    Attempts = draft.Attempts,
                    DurationMs = draft.DurationMs,
                }
                : null,
            TerminalState = recorded.TerminalState,
            Result = recorded.Result,
            Error = recorded.Error,
        };
    }

    /// <summary>
    /// Claims a job for a resume: refused with ABORTED while another session's lease is live. An unfinished job
    /// (including one blocked by lost heartbeats, §10.3) runs again, leased to <paramref name="holder"/>, or left
    /// unleased for a runtime driver to claim when <paramref name="leaseTo"/> is null.
    /// </summary>
    public async Task<JobRecord> ClaimAsync(IStoreTransaction tx, string jobId, string sessionId, JobHolder? leaseTo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var current = await tx.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw NotFound(jobId);
        return await ClaimAsync(tx, current, sessionId, leaseTo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="ClaimAsync(IStoreTransaction, string, string, JobHolder?, CancellationToken)"/> of a job
    /// <paramref name="tx"/> has read and locked already (<see cref="IStoreTransaction.GetJobAsync"/> or
    /// <see cref="IStoreTransaction.TryAppendJobEventsAsync"/>).
    /// </summary>
    public async Task<JobRecord> ClaimAsync(IStoreTransaction tx, JobRecord current, string sessionId, JobHolder? leaseTo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(current);
        var jobId = current.JobId;
        if (JobStates.IsTerminal(current.State))
        {
            return current;
        }

        var now = Now;
        if (current.Lease is { } lease && lease.SessionId != sessionId && LeaseLiveness.IsLive(lease, now) && !QueuedJobs.IsHandOver(lease))
        {
            throw Owned(jobId, lease, string.Empty);
        }

        current = current with { Lease = leaseTo is null ? null : NewLease(leaseTo, now), UpdatedAt = now, State = JobStates.Running };
        await tx.UpdateJobAsync(current, cancellationToken).ConfigureAwait(false);
        return current;
    }

    /// <summary>The job as a cancel finds it inside the transaction that decides it.</summary>
    public static async Task<JobRecord> GetForCancelAsync(IStoreTransaction tx, string jobId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        return await tx.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw NotFound(jobId);
    }

    public bool HasLiveOwner(JobRecord job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return LeaseLiveness.IsLive(job.Lease, Now);
    }

    /// <summary>Cancels a job nobody drives, here and now; <paramref name="cancelledMessageId"/> is the <c>job.cancelled</c> recorded for it.</summary>
    public async Task MarkCancelledAsync(IStoreTransaction tx, JobRecord job, ArcpError error, string cancelledMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(job);
        await tx.UpdateJobAsync(
            job with { State = JobStates.Cancelled, Error = ArcpJson.Serialize(error), Lease = null, UpdatedAt = Now, LastMessageId = cancelledMessageId },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// §10.3 with <c>heartbeat_recovery: "block"</c>: the unfinished jobs of a session that missed
    /// <paramref name="missedHeartbeats"/> heartbeat deadlines are marked <c>blocked</c>, lose their lease (so
    /// anyone may resume them) and get a <c>job.blocked</c> event in their stream.
    /// </summary>
    /// <returns>The blocked jobs with the stored frame of their <c>job.blocked</c> event.</returns>
    public async Task<IReadOnlyList<(JobRecord Job, Envelope Event, string Frame)>> BlockJobsOfAsync(string sessionId, int missedHeartbeats, CancellationToken cancellationToken)
    {
        var blocked = new List<(JobRecord, Envelope, string)>();
        var transaction = await Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var now = Now;
            foreach (var job in await transaction.ListJobsLeasedByAsync(sessionId, cancellationToken).ConfigureAwait(false))
            {
                if (JobStates.IsTerminal(job.State))
                {
                    continue;
                }

                var error = ArcpError.Create(ErrorCodes.HeartbeatLost, $"The job's owner (session {sessionId}) missed {missedHeartbeats} heartbeat deadlines; the job is blocked until someone resumes it.", new JsonObject { ["session_id"] = sessionId });
                var emitted = Envelope.Create(MessageTypes.EventEmit, new EventEmitPayload(MessageTypes.JobBlockedEvent, System.Text.Json.JsonSerializer.SerializeToNode(error, ArcpJson.Options)!.AsObject()), jobId: job.JobId);
                var text = EnvelopeCodec.Serialize(emitted);
                await transaction.TryAppendEventAsync(new EventDraft(emitted.Id, emitted.Type, EventDirection.Outbound, null, job.JobId, null, now, text), cancellationToken).ConfigureAwait(false);
                var updated = job with { State = JobStates.Blocked, Lease = null, UpdatedAt = now, LastMessageId = emitted.Id };
                await transaction.UpdateJobAsync(updated, cancellationToken).ConfigureAwait(false);
                blocked.Add((updated, emitted, text));
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        return blocked;
    }

    /// <summary>Records an accepted session and the process behind it.</summary>
    public Task RecordSessionAsync(IStoreTransaction tx, JobHolder holder, string? clientKind, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(holder);
        return tx.InsertSessionAsync(new SessionRecord(holder.SessionId, holder.Principal, clientKind, holder.Process.Host, holder.Process.ProcessId, Now), cancellationToken);
    }

    /// <summary>Releases every lease a closing session holds (its jobs become resumable at once) and closes its row.</summary>
    public async Task ReleaseLeasesAsync(string sessionId, CancellationToken cancellationToken)
    {
        var transaction = await Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            foreach (var job in await transaction.ListJobsLeasedByAsync(sessionId, cancellationToken).ConfigureAwait(false))
            {
                await transaction.UpdateJobAsync(job with { Lease = null, UpdatedAt = Now }, cancellationToken).ConfigureAwait(false);
            }

            await transaction.CloseSessionAsync(sessionId, Now, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static JobRecord Owned(JobRecord? current, JobHolder holder, string jobId)
    {
        var job = EnsureVisible(current, jobId, holder.Principal);
        if (JobStates.IsTerminal(job.State))
        {
            throw ArcpException.Of(ErrorCodes.FailedPrecondition, $"Job '{jobId}' is already {job.State}.", new JsonObject { ["job_id"] = jobId, ["state"] = job.State });
        }

        if (job.Lease?.SessionId != holder.SessionId)
        {
            // Fencing: a session that lost its lease (expired and claimed elsewhere, or released) records nothing more.
            var holderText = job.Lease is { } lease ? $"session {lease.SessionId} (process {lease.ProcessId} on '{lease.Host}')" : "no session (it is interrupted; resume it first)";
            throw ArcpException.Of(ErrorCodes.PermissionDenied, $"This session does not own job '{jobId}'; it is held by {holderText}.", new JsonObject { ["job_id"] = jobId });
        }

        return job;
    }
}
