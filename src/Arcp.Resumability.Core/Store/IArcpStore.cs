namespace Arcp.Resumability.Store;

/// <summary>
/// The runtime's persistence contract: an append-only event log, jobs, checkpoints and the
/// idempotency ledger. Writes happen in transactions that serialise against every other writer of
/// the same store, so read-decide-write sequences inside one transaction are atomic.
/// </summary>
public interface IArcpStore : IAsyncDisposable
{
    /// <summary>Where the data lives, for messages (a file path or a redacted connection string).</summary>
    string Location { get; }

    ValueTask<IStoreTransaction> BeginAsync(CommitDurability durability, CancellationToken cancellationToken);

    /// <summary>
    /// Gives the space of deleted rows back. Without <paramref name="compact"/> only what is cheap (SQLite's
    /// incremental vacuum, PostgreSQL's plain <c>VACUUM</c>); with it the store is rewritten (<c>VACUUM</c>,
    /// <c>VACUUM FULL</c>), which blocks other writers while it runs.
    /// </summary>
    Task<StoreSpace> ReclaimSpaceAsync(bool compact, CancellationToken cancellationToken);

    Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>
    /// Where the job's definition came from, or null; only a definition recorded under the job's own principal, so one
    /// that is read shows that the job exists and is that principal's. A plain read: a definition is written once, with
    /// its job or just after it, and only deleted with it, so a reader needs no transaction's lock.
    /// </summary>
    Task<JobDefinitionRecord?> GetJobDefinitionAsync(string jobId, CancellationToken cancellationToken);

    Task<IReadOnlyList<JobRecord>> ListJobsAsync(string principal, CancellationToken cancellationToken);

    /// <summary>A job's checkpoints in the order they were recorded.</summary>
    Task<IReadOnlyList<CheckpointRecord>> ListCheckpointsAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>
    /// At most <paramref name="limit"/> of the job's checkpoints in recording order, after the checkpoint
    /// <paramref name="afterCheckpointId"/> (from the first when null; none when that checkpoint is not the job's).
    /// </summary>
    Task<IReadOnlyList<CheckpointRecord>> ListCheckpointsAfterAsync(string jobId, string? afterCheckpointId, int limit, CancellationToken cancellationToken);

    Task<CheckpointRecord?> FindCheckpointAsync(string jobId, string checkpointId, CancellationToken cancellationToken);

    Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken);

    Task<StoredEvent?> FindEventAsync(string messageId, CancellationToken cancellationToken);

    /// <summary>The job's canonical stream after <paramref name="afterSequence"/>, in order.</summary>
    Task<IReadOnlyList<StoredEvent>> ReadJobStreamAsync(string jobId, long afterSequence, CancellationToken cancellationToken);

    /// <summary>
    /// Job-stream events of every job logged after <paramref name="afterSequence"/>, oldest first, at most
    /// <paramref name="limit"/> of them: the change feed that shows a runtime what other processes committed.
    /// </summary>
    Task<IReadOnlyList<StoredEvent>> ReadJobEventsAfterAsync(long afterSequence, int limit, CancellationToken cancellationToken);

    /// <summary>The highest sequence in the log (0 when it is empty): where a change feed starts.</summary>
    Task<long> GetLastSequenceAsync(CancellationToken cancellationToken);

    /// <summary>Outbound envelopes that answered <paramref name="correlationId"/>, in order (to re-answer a retransmitted id).</summary>
    Task<IReadOnlyList<StoredEvent>> ReadResponsesAsync(string correlationId, CancellationToken cancellationToken);

    /// <summary>The job's last recorded checkpoint, found by index (a resume's anchor: its cost does not grow with the job's history).</summary>
    Task<CheckpointRecord?> FindLatestCheckpointAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>
    /// A resume's reads when it names no message or checkpoint: the job, its latest checkpoint
    /// (<see cref="FindLatestCheckpointAsync"/>) and its stream (<see cref="ReadJobStreamAsync"/>) after that checkpoint's
    /// event when <paramref name="afterLatestCheckpoint"/> and the event is in the job's stream, else all of it. A store
    /// whose reads cost a round trip each sends them together.
    /// </summary>
    Task<ResumeSources> ReadResumeSourcesAsync(string jobId, bool afterLatestCheckpoint, CancellationToken cancellationToken);

    /// <summary>The job's last <paramref name="count"/> checkpoints in recording order, read by index.</summary>
    Task<IReadOnlyList<CheckpointRecord>> ListLastCheckpointsAsync(string jobId, int count, CancellationToken cancellationToken);
}

public interface IStoreTransaction : IAsyncDisposable, IQueueTransaction
{
    /// <summary>Appends an event; false when an event with that message id is already logged.</summary>
    Task<bool> TryAppendEventAsync(EventDraft draft, CancellationToken cancellationToken);

    /// <summary>
    /// Appends an event as <see cref="TryAppendEventAsync"/> does, for a caller that does not ask whether it went in
    /// (an answer the runtime logs). The PostgreSQL store sends it with the transaction's next statement or its commit.
    /// </summary>
    Task AppendEventAsync(EventDraft draft, CancellationToken cancellationToken);

    Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken);

    Task InsertJobAsync(JobRecord job, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the job row; a row that changed identity or vanished is <see cref="StoreErrorKind.Corrupt"/>, reported
    /// by this call or, on PostgreSQL, which sends the write with the transaction's next statement or its commit, by
    /// that call. Either way the transaction commits nothing.
    /// </summary>
    Task UpdateJobAsync(JobRecord job, CancellationToken cancellationToken);

    Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts the checkpoint; false, with nothing written, when its id is taken (by any job of any principal: ids are
    /// unique store-wide) or its job already has a checkpoint under its idempotency key. One statement either way, so a
    /// step does not pay two lookups for what the store's unique keys decide anyway.
    /// </summary>
    Task<bool> TryInsertCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken);

    /// <summary>
    /// What recording an owner's events of one job starts with: appends <paramref name="drafts"/> (all of that job),
    /// then, when every one was new, reads the job as <see cref="GetJobAsync"/> does (locked until the transaction
    /// ends) and, unless <paramref name="cancelsAfterSequence"/> is null, scans its stream for cancels after it as
    /// <see cref="ReadJobCancelsAsync"/> does. The PostgreSQL store sends it all in one round trip. Null when an event
    /// was already logged: the caller rolls back and takes the one-event-at-a-time path, which answers it.
    /// </summary>
    Task<JobEventsAppended?> TryAppendJobEventsAsync(IReadOnlyList<EventDraft> drafts, string jobId, long? cancelsAfterSequence, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts the checkpoint as <see cref="TryInsertCheckpointAsync"/> does and, only when it was, writes the job row
    /// as <see cref="UpdateJobAsync"/> does: a step's two writes, in one round trip on PostgreSQL. False, with nothing
    /// written, when the checkpoint was refused.
    /// </summary>
    Task<bool> TryInsertCheckpointAndUpdateJobAsync(CheckpointRecord checkpoint, JobRecord job, CancellationToken cancellationToken);

    /// <summary>
    /// A step's whole transaction: appends an owner's <paramref name="drafts"/> (all of one job), writes the job row as
    /// <paramref name="write"/> says (with its checkpoint) only while the job is the owner's
    /// (<see cref="OwnerJobWrite.IsHeldIn"/>), scans the job's stream for cancels after
    /// <paramref name="cancelsAfterSequence"/> unless it is null (as <see cref="ReadJobCancelsAsync"/> does), and
    /// commits. The PostgreSQL store sends it all in one round trip. Null, with nothing committed, when an event was
    /// logged already, the job is not the owner's, or the checkpoint is refused by a unique key: the caller disposes
    /// the transaction and takes the one-event-at-a-time path, which answers each of those.
    /// </summary>
    Task<OwnerEventsRecorded?> TryRecordOwnerEventsAndCommitAsync(IReadOnlyList<EventDraft> drafts, OwnerJobWrite write, long? cancelsAfterSequence, CancellationToken cancellationToken);

    /// <summary>
    /// The inbound <c>cancel</c> requests in the job's stream after <paramref name="afterSequence"/>, and the stream's
    /// last sequence (<paramref name="afterSequence"/> when nothing follows): what an owner's session scans for with
    /// each of its events (§10.4 relay), inside the transaction that records the event. Only the new events' sequence
    /// and kind are read, envelopes only when a cancel is among them.
    /// </summary>
    Task<(IReadOnlyList<StoredEvent> Cancels, long LastSequence)> ReadJobCancelsAsync(string jobId, long afterSequence, CancellationToken cancellationToken);

    Task<LedgerEntry?> GetLedgerEntryAsync(string principal, string idempotencyKey, CancellationToken cancellationToken);

    Task InsertLedgerEntryAsync(LedgerEntry entry, CancellationToken cancellationToken);

    Task InsertSessionAsync(SessionRecord session, CancellationToken cancellationToken);

    Task CloseSessionAsync(string sessionId, DateTimeOffset closedAt, CancellationToken cancellationToken);

    /// <summary>
    /// §9: opens an ended session of the same principal again (host, process and client kind as given).
    /// False when no ended session with that id belongs to <see cref="SessionRecord.Principal"/>.
    /// </summary>
    Task<bool> ReopenSessionAsync(SessionRecord session, CancellationToken cancellationToken);

    /// <summary>Jobs whose lease the session holds (to release them when it closes).</summary>
    Task<IReadOnlyList<JobRecord>> ListJobsLeasedByAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every event logged before <paramref name="cutoff"/>, first raising each affected job's
    /// <see cref="JobRecord.PurgedThroughSequence"/> to the last purged sequence of its stream.
    /// </summary>
    /// <returns>The number of events deleted.</returns>
    Task<int> PurgeEventsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>Ids of completed, failed and cancelled jobs last updated before <paramref name="updatedBefore"/>.</summary>
    Task<IReadOnlyList<string>> ListFinishedJobsAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes a job with its checkpoints, the ledger entries that point at it, its stream and the answers
    /// to its stream. Session traffic that only mentions the job (queries, heartbeats) ages out with retention.
    /// </summary>
    Task<JobDeletion> DeleteJobAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Deletes idempotency ledger entries that expired before <paramref name="now"/>.</summary>
    Task<int> PurgeExpiredLedgerEntriesAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records where a job's definition came from; false (and nothing changes) when the job already has one.</summary>
    Task<bool> TryInsertJobDefinitionAsync(JobDefinitionRecord definition, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the rows of sessions closed before <paramref name="cutoff"/>, and of sessions never closed (their
    /// process died) that were opened before it and hold no job's lease.
    /// </summary>
    Task<int> DeleteSessionsEndedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>Jobs not yet completed, failed or cancelled and last updated before <paramref name="updatedBefore"/>, oldest first.</summary>
    Task<IReadOnlyList<JobRecord>> ListUnfinishedJobsAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken);

    Task CommitAsync(CancellationToken cancellationToken);
}
