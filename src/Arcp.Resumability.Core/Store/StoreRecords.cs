using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Store;

/// <summary>
/// One envelope in the append-only event log. <see cref="JobId"/> is set only for envelopes that
/// belong to a job's canonical stream (what a resume replays); <see cref="Envelope"/> is the exact
/// text that was sent, so replays are byte-identical.
/// </summary>
public sealed record StoredEvent(long Sequence, string MessageId, string Type, EventDirection Direction, string? SessionId, string? JobId, string? CorrelationId, DateTimeOffset CreatedAt, string Envelope);

public enum EventDirection
{
    /// <summary>Received by the runtime.</summary>
    Inbound,

    /// <summary>Sent by the runtime.</summary>
    Outbound,
}

/// <summary>An event to append; the store assigns the sequence.</summary>
public sealed record EventDraft(string MessageId, string Type, EventDirection Direction, string? SessionId, string? JobId, string? CorrelationId, DateTimeOffset CreatedAt, string Envelope);

/// <summary>
/// What <see cref="IStoreTransaction.TryAppendJobEventsAsync"/> read after appending a job's events: the job (locked;
/// null when there is none) and the cancel requests in its stream with the stream's last sequence (none and 0 when
/// no scan was asked for).
/// </summary>
public sealed record JobEventsAppended(JobRecord? Job, IReadOnlyList<StoredEvent> Cancels, long LastSequence);

/// <summary>
/// How an owner's events change its job, for <see cref="IStoreTransaction.TryRecordOwnerEventsAndCommitAsync"/> to
/// apply only while the job is still the owner's: <see cref="Principal"/>'s, not ended, and leased to the session of
/// <see cref="Lease"/>. Every event renews the lease; <see cref="LastMessageId"/> null keeps the job's (a heartbeat);
/// a <see cref="Checkpoint"/> is recorded with the row; a <see cref="TerminalState"/> ends the job and drops its lease.
/// </summary>
public sealed record OwnerJobWrite(string JobId, string Principal, JobLease Lease, DateTimeOffset UpdatedAt)
{
    public string? LastMessageId { get; init; }

    public CheckpointRecord? Checkpoint { get; init; }

    public string? TerminalState { get; init; }

    public string? Result { get; init; }

    public string? Error { get; init; }

    /// <summary>Whether <paramref name="job"/>, as the transaction read it, is still the owner's to write.</summary>
    public bool IsHeldIn(JobRecord? job) =>
        job is not null && job.JobId == JobId && job.Principal == Principal && !JobStates.IsTerminal(job.State) && job.Lease?.SessionId == Lease.SessionId;

    /// <summary>The row <paramref name="job"/> becomes.</summary>
    public JobRecord ApplyTo(JobRecord job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var updated = job with
        {
            UpdatedAt = UpdatedAt,
            Lease = Lease,
            LastMessageId = LastMessageId ?? job.LastMessageId,
            LastCheckpointId = Checkpoint?.CheckpointId ?? job.LastCheckpointId,
        };
        return TerminalState is { } state ? updated with { State = state, Result = Result, Error = Error, Lease = null } : updated;
    }
}

/// <summary>
/// What <see cref="IStoreTransaction.TryRecordOwnerEventsAndCommitAsync"/> committed with the owner's events: the cancel
/// requests its scan found and the job stream's last sequence (none and 0 when no scan was asked for).
/// </summary>
public sealed record OwnerEventsRecorded(IReadOnlyList<StoredEvent> Cancels, long LastSequence);

/// <summary>
/// What a resume from the job's latest checkpoint reads (see <see cref="IArcpStore.ReadResumeSourcesAsync"/>): the job
/// (null when there is none), its latest checkpoint, and its stream after <see cref="AfterSequence"/>.
/// </summary>
public sealed record ResumeSources(JobRecord? Job, CheckpointRecord? Latest, long AfterSequence, IReadOnlyList<StoredEvent> Replay);

/// <summary>The durable state of a job. <see cref="State"/> holds an RFC 0001 §10.2 state name.</summary>
public sealed record JobRecord
{
    public required string JobId { get; init; }

    public required string Principal { get; init; }

    public required string Workflow { get; init; }

    public string? Name { get; init; }

    public required string State { get; init; }

    /// <summary>Canonical JSON of the job's input.</summary>
    public required string Inputs { get; init; }

    public string? IdempotencyKey { get; init; }

    public string? Result { get; init; }

    public string? Error { get; init; }

    public string? LastCheckpointId { get; init; }

    public string? LastMessageId { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    public JobLease? Lease { get; init; }

    /// <summary>
    /// The highest sequence of this job's stream that retention purged (0: nothing purged). Only purges
    /// raise it; job inserts and updates leave it alone.
    /// </summary>
    public long PurgedThroughSequence { get; init; }

    /// <summary>For a retry (Resume-ArcpJob -Retry): the failed or cancelled job it continues; set once, at insert.</summary>
    public string? RetryOf { get; init; }
}

/// <summary>Ownership of a running job: the driving session, its process, and the lease's expiry.</summary>
public sealed record JobLease(string SessionId, string Host, int ProcessId, DateTimeOffset ProcessStartedAt, DateTimeOffset ExpiresAt);

public sealed record CheckpointRecord(string CheckpointId, string JobId, int StepIndex, string Step, string MessageId, string IdempotencyKey, DateTimeOffset CreatedAt, string Output)
{
    /// <summary>The workflow definition version that produced the checkpoint; null when it was not recorded.</summary>
    public string? DefinitionVersion { get; init; }

    /// <summary>When the step started in the run that recorded it; null when not recorded (before schema 6, carried by a retry).</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>How many attempts the step took; null when not recorded.</summary>
    public int? Attempts { get; init; }

    /// <summary>How long the step ran, in milliseconds; null when not recorded.</summary>
    public long? DurationMs { get; init; }
}

/// <summary>A logical command's recorded outcome under <c>(principal, idempotency_key)</c> (§6.4).</summary>
public sealed record LedgerEntry(string Principal, string IdempotencyKey, string RequestHash, string Outcome, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

public sealed record SessionRecord(string SessionId, string Principal, string? ClientKind, string Host, int ProcessId, DateTimeOffset OpenedAt);

/// <summary>How hard a commit must push data to disk.</summary>
public enum CommitDurability
{
    /// <summary>Survives process death at once and power loss from the next durable commit on (log order is kept).</summary>
    ProcessSafe,

    /// <summary>On stable storage before the commit returns; used for checkpoints, job creation and terminal events.</summary>
    Durable,
}

/// <summary>What deleting one job's history removed.</summary>
public sealed record JobDeletion(int Events, int Checkpoints, int LedgerEntries);

/// <summary>
/// Where a job's definition came from, so a resume needs nothing but the job. Recorded only by the in-process
/// (local cmdlet) path for its own principal, never from a wire frame; see docs/security.md.
/// </summary>
/// <param name="Kind">One of <see cref="JobDefinitionKinds"/>.</param>
/// <param name="Reference">The built-in or search-path name, the workflow file's absolute path, or <c>inline</c>.</param>
/// <param name="ContentHash"><c>sha256:</c> and the hex digest of the file's bytes or of <paramref name="Script"/>.</param>
/// <param name="Version">The definition's version as its checkpoints record it (declared Version or content hash).</param>
/// <param name="Script">Inline steps only: their script text, as JSON.</param>
public sealed record JobDefinitionRecord(string JobId, string Principal, string Kind, string Reference, string ContentHash, string? Version, string? Script, DateTimeOffset RecordedAt);

/// <summary>The kinds of <see cref="JobDefinitionRecord"/>.</summary>
public static class JobDefinitionKinds
{
    public const string BuiltIn = "builtin";

    public const string File = "file";

    public const string SearchPath = "search_path";

    public const string Inline = "inline";
}

/// <summary>The store's size in bytes before and after space was reclaimed (SQLite: the database file; PostgreSQL: its ARCP tables with their indexes).</summary>
public sealed record StoreSpace(long BytesBefore, long BytesAfter)
{
    public long BytesReclaimed => Math.Max(0, BytesBefore - BytesAfter);
}
