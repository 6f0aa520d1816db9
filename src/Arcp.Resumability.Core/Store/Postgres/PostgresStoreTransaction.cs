using Npgsql;
using static Arcp.Resumability.Store.Postgres.PostgresValues;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// One READ COMMITTED transaction on its own pooled connection. Job rows read here are locked
/// (<c>FOR UPDATE</c>) until commit, so read-decide-write sequences on a job (claims, fencing checks,
/// duplicate-step checks) are atomic against every other process using the database.
/// </summary>
/// <param name="localCommit">
/// Commit with <c>synchronous_commit = local</c> (a process-safe commit, see <see cref="PostgresArcpStore.BeginAsync"/>).
/// </param>
internal sealed partial class PostgresStoreTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, string location, bool localCommit) : IStoreTransaction
{
    private const string LocalCommitSql = "SET LOCAL synchronous_commit = local";

    private bool finished;

    // The setting rides with the transaction's first statement instead of a round trip of its own: the server reads
    // it at COMMIT, so any point before that is the same. A transaction that runs no statement writes nothing to flush.
    private bool localCommitPending = localCommit;

    // The job.checkpoint event this transaction just logged with its output already cut out (see CheckpointOutputs),
    // so recording its checkpoint takes the output from here instead of reading and rewriting the event (one statement
    // fewer per step, as on SQLite). A checkpoint event left without its checkpoint row gets its output back before the commit.
    private (string MessageId, string Envelope, string Output)? loggedCheckpointEvent;

    private const string InsertEventSql =
        "INSERT INTO events (message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope, output_at) " +
        "VALUES (@message_id, @type, @direction, @session_id, @job_id, @correlation_id, @created_at, @envelope, @output_at) ON CONFLICT (message_id) DO NOTHING";

    private const string LockJobSql = $"SELECT {JobReadColumns} FROM jobs WHERE job_id = @job_id FOR UPDATE";

    private const string ScanCancelsSql = "SELECT MAX(sequence), COUNT(*) FILTER (WHERE type = 'cancel' AND direction = 'in') FROM events WHERE job_id = @job_id AND sequence > @after";

    // Unlike the SQLite store, created_at is not part of the identity check: timestamptz keeps microseconds, so a
    // record still holding the 100 ns value it was created with would not match its stored self.
    private const string UpdateJobSql =
        "UPDATE jobs SET name = @name, state = @state, result = @result, error = @error, last_checkpoint_id = @last_checkpoint_id, " +
        "last_message_id = @last_message_id, updated_at = @updated_at, lease_session_id = @lease_session_id, lease_host = @lease_host, " +
        "lease_process_id = @lease_process_id, lease_process_started = @lease_process_started, lease_expires_at = @lease_expires_at " +
        "WHERE job_id = @job_id AND principal = @principal AND workflow = @workflow AND inputs = @inputs " +
        "AND idempotency_key IS NOT DISTINCT FROM @idempotency_key";

    // The checkpoint's parameters carry a prefix, so the statement that also updates the job can bind both.
    private const string InsertCheckpointSql =
        $"INSERT INTO checkpoints ({CheckpointColumns}) VALUES (@c_checkpoint_id, @c_job_id, @c_step_index, @c_step, @c_message_id, @c_idempotency_key, @c_created_at, @c_output, @c_definition_version, @c_started_at, @c_attempts, @c_duration_ms) " +
        "ON CONFLICT DO NOTHING";

    public Task<bool> TryAppendEventAsync(EventDraft draft, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            var cut = CutOutput(draft);
            // ON CONFLICT instead of catching the violation: an error would abort the whole transaction.
            await using var command = Command(InsertEventSql);
            BindEvent(command.Parameters, draft, cut);
            var appended = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            if (appended && cut is { } taken)
            {
                await RestoreUnrecordedOutputAsync(cancellationToken).ConfigureAwait(false);
                loggedCheckpointEvent = (draft.MessageId, draft.Envelope, taken.Output);
            }

            return appended;
        });

    public Task<JobEventsAppended?> TryAppendJobEventsAsync(IReadOnlyList<EventDraft> drafts, string jobId, long? cancelsAfterSequence, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            ArgumentNullException.ThrowIfNull(drafts);
            var cuts = drafts.Select(CutOutput).ToList();
            if (loggedCheckpointEvent is not null || cuts.Count(c => c is not null) > 1)
            {
                // Not what a step sends (its one checkpoint event comes last, after any progress): the single
                // statements keep the output bookkeeping of several checkpoint events right.
                return await JobEventsInTurn.AppendAsync(this, drafts, jobId, cancelsAfterSequence, cancellationToken).ConfigureAwait(false);
            }

            // One round trip: the appends, then the job's lock and the cancel scan, in this order as separate
            // statements would run (the scan, after the lock, sees every cancel committed before this transaction
            // holds the job: a cancel takes the job's lock to be recorded, so none can follow until the commit).
            await using var batch = new NpgsqlBatch(connection, transaction);
            for (var i = 0; i < drafts.Count; i++)
            {
                var insert = new NpgsqlBatchCommand(InsertEventSql);
                BindEvent(insert.Parameters, drafts[i], cuts[i]);
                batch.BatchCommands.Add(insert);
            }

            var lockJob = new NpgsqlBatchCommand(LockJobSql);
            Text(lockJob.Parameters, "job_id", jobId);
            batch.BatchCommands.Add(lockJob);
            if (cancelsAfterSequence is { } after)
            {
                var scan = new NpgsqlBatchCommand(ScanCancelsSql);
                Text(scan.Parameters, "job_id", jobId);
                Bigint(scan.Parameters, "after", after);
                batch.BatchCommands.Add(scan);
            }

            if (localCommitPending)
            {
                localCommitPending = false;
                batch.BatchCommands.Add(new NpgsqlBatchCommand(LocalCommitSql));
            }

            JobRecord? job = null;
            var last = cancelsAfterSequence ?? 0;
            long cancels = 0;
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                // The inserts return no rows: the first result is the job's, the second the scan's.
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    job = ReadJob(reader);
                }

                if (cancelsAfterSequence is { } scanned && await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    (last, cancels) = (reader.IsDBNull(0) ? scanned : reader.GetInt64(0), reader.GetInt64(1));
                }
            }

            for (var i = 0; i < drafts.Count; i++)
            {
                if (batch.BatchCommands[i].RecordsAffected != 1)
                {
                    return null;
                }

                if (cuts[i] is { } taken)
                {
                    loggedCheckpointEvent = (drafts[i].MessageId, drafts[i].Envelope, taken.Output);
                }
            }

            return new JobEventsAppended(job, cancels == 0 ? [] : await ReadCancelsAsync(jobId, cancelsAfterSequence ?? 0, last, cancellationToken).ConfigureAwait(false), last);
        });

    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command(LockJobSql);
            Text(command, "job_id", jobId);
            return (await ReadAllAsync(command, ReadJob, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        });

    public Task InsertJobAsync(JobRecord job, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command(
                $"INSERT INTO jobs ({JobColumns}, retry_of) VALUES (@job_id, @principal, @workflow, @name, @state, @inputs, @idempotency_key, @result, @error, " +
                "@last_checkpoint_id, @last_message_id, @created_at, @updated_at, @lease_session_id, @lease_host, @lease_process_id, @lease_process_started, @lease_expires_at, @retry_of);");
            BindJob(command, job);
            Text(command, "retry_of", job.RetryOf);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        });

    public Task UpdateJobAsync(JobRecord job, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command(UpdateJobSql + ";");
            BindJob(command, job);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
            {
                throw JobChanged(job.JobId);
            }

            return true;
        });

    public Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken) =>
        GuardAsync(location, () => PostgresArcpStore.QueryCheckpointByKeyAsync(connection, transaction, jobId, idempotencyKey, cancellationToken));

    public Task<bool> TryInsertCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            var (stored, cutLater) = await TakeOutputAsync(checkpoint, cancellationToken).ConfigureAwait(false);

            // The unique keys (checkpoint_id; job_id with idempotency_key) refuse a taken id or a recorded step; ON
            // CONFLICT rather than a violation, which would abort the whole transaction.
            await using var command = Command(InsertCheckpointSql + ";");
            BindCheckpoint(command.Parameters, stored);
            var inserted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            if (inserted)
            {
                await OutputRecordedAsync(stored, cutLater, cancellationToken).ConfigureAwait(false);
            }

            // Not recorded: an event logged here without its output gets it back before any commit.
            return inserted;
        });

    public Task<bool> TryInsertCheckpointAndUpdateJobAsync(CheckpointRecord checkpoint, JobRecord job, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            var (stored, cutLater) = await TakeOutputAsync(checkpoint, cancellationToken).ConfigureAwait(false);

            // One statement, one round trip: the job row is written only when the checkpoint went in, both under
            // the same snapshot (the job's row is locked by this transaction already).
            await using var command = Command(
                $"WITH inserted AS ({InsertCheckpointSql} RETURNING 1), updated AS ({UpdateJobSql} AND EXISTS (SELECT 1 FROM inserted) RETURNING 1) " +
                "SELECT (SELECT COUNT(*) FROM inserted), (SELECT COUNT(*) FROM updated);");
            BindCheckpoint(command.Parameters, stored);
            BindJob(command, job);
            var (inserted, updated) = (await ReadAllAsync(command, r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false))[0];
            if (inserted != 1)
            {
                return false;
            }

            if (updated != 1)
            {
                throw JobChanged(job.JobId);
            }

            await OutputRecordedAsync(stored, cutLater, cancellationToken).ConfigureAwait(false);
            return true;
        });

    public Task<(IReadOnlyList<StoredEvent> Cancels, long LastSequence)> ReadJobCancelsAsync(string jobId, long afterSequence, CancellationToken cancellationToken) =>
        GuardAsync<(IReadOnlyList<StoredEvent>, long)>(location, async () =>
        {
            long last;
            long cancels;
            await using (var scan = Command(ScanCancelsSql))
            {
                Text(scan, "job_id", jobId);
                Bigint(scan, "after", afterSequence);
                (last, cancels) = (await ReadAllAsync(scan, r => (r.IsDBNull(0) ? afterSequence : r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false))[0];
            }

            return (cancels == 0 ? [] : await ReadCancelsAsync(jobId, afterSequence, last, cancellationToken).ConfigureAwait(false), last);
        });

    public Task<LedgerEntry?> GetLedgerEntryAsync(string principal, string idempotencyKey, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            // A missing row cannot be locked; this lock makes "look up, then insert" atomic per key across processes.
            await using (var lockKey = Command("SELECT pg_advisory_xact_lock(hashtextextended(@principal || chr(31) || @key, 0));"))
            {
                Text(lockKey, "principal", principal);
                Text(lockKey, "key", idempotencyKey);
                await lockKey.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var command = Command(
                "SELECT principal, idempotency_key, request_hash, outcome, created_at, expires_at FROM idempotency_ledger WHERE principal = @principal AND idempotency_key = @key;");
            Text(command, "principal", principal);
            Text(command, "key", idempotencyKey);
            var entries = await ReadAllAsync(
                command,
                r => new LedgerEntry(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), ReadTime(r, 4), r.IsDBNull(5) ? null : ReadTime(r, 5)),
                cancellationToken).ConfigureAwait(false);
            return entries.FirstOrDefault();
        });

    public Task InsertLedgerEntryAsync(LedgerEntry entry, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command(
                "INSERT INTO idempotency_ledger (principal, idempotency_key, request_hash, outcome, created_at, expires_at) " +
                "VALUES (@principal, @key, @hash, @outcome, @created_at, @expires_at) " +
                // An expired entry for the key may still be there; the new outcome replaces it.
                "ON CONFLICT (principal, idempotency_key) DO UPDATE SET request_hash = EXCLUDED.request_hash, outcome = EXCLUDED.outcome, " +
                "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at;");
            Text(command, "principal", entry.Principal);
            Text(command, "key", entry.IdempotencyKey);
            Text(command, "hash", entry.RequestHash);
            Text(command, "outcome", entry.Outcome);
            Time(command, "created_at", entry.CreatedAt);
            Time(command, "expires_at", entry.ExpiresAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        });

    public Task InsertSessionAsync(SessionRecord session, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command(
                "INSERT INTO sessions (session_id, principal, client_kind, host, process_id, opened_at) VALUES (@id, @principal, @kind, @host, @pid, @opened);");
            Text(command, "id", session.SessionId);
            Text(command, "principal", session.Principal);
            Text(command, "kind", session.ClientKind);
            Text(command, "host", session.Host);
            Integer(command, "pid", session.ProcessId);
            Time(command, "opened", session.OpenedAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        });

    public Task CloseSessionAsync(string sessionId, DateTimeOffset closedAt, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command("UPDATE sessions SET closed_at = @closed WHERE session_id = @id;");
            Text(command, "id", sessionId);
            Time(command, "closed", closedAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        });

    public Task<bool> ReopenSessionAsync(SessionRecord session, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command(
                "UPDATE sessions SET closed_at = NULL, client_kind = @kind, host = @host, process_id = @pid " +
                "WHERE session_id = @id AND principal = @principal AND closed_at IS NOT NULL;");
            Text(command, "id", session.SessionId);
            Text(command, "principal", session.Principal);
            Text(command, "kind", session.ClientKind);
            Text(command, "host", session.Host);
            Integer(command, "pid", session.ProcessId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        });

    public Task<IReadOnlyList<JobRecord>> ListJobsLeasedByAsync(string sessionId, CancellationToken cancellationToken) =>
        GuardAsync<IReadOnlyList<JobRecord>>(location, async () =>
        {
            // Locks in job id order, like every multi-row lock here, so two such transactions cannot deadlock.
            await using var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE lease_session_id = @session ORDER BY job_id FOR UPDATE;");
            Text(command, "session", sessionId);
            return await ReadAllAsync(command, ReadJob, cancellationToken).ConfigureAwait(false);
        });

    public Task<int> PurgeEventsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using (var watermark = Command(
                "WITH purged AS (SELECT job_id, MAX(sequence) AS through FROM events WHERE job_id IS NOT NULL AND created_at < @cutoff GROUP BY job_id), " +
                "locked AS (SELECT j.job_id, p.through FROM jobs j JOIN purged p ON p.job_id = j.job_id ORDER BY j.job_id FOR UPDATE OF j) " +
                "UPDATE jobs SET purged_through_sequence = GREATEST(jobs.purged_through_sequence, locked.through) FROM locked WHERE jobs.job_id = locked.job_id;"))
            {
                Time(watermark, "cutoff", cutoff);
                await watermark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var purge = Command("DELETE FROM events WHERE created_at < @cutoff;");
            Time(purge, "cutoff", cutoff);
            return await purge.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        });

    public Task<IReadOnlyList<string>> ListFinishedJobsAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken) =>
        GuardAsync<IReadOnlyList<string>>(location, async () =>
        {
            await using var command = Command("SELECT job_id FROM jobs WHERE state IN ('completed', 'failed', 'cancelled') AND updated_at < @before ORDER BY updated_at, job_id;");
            Time(command, "before", updatedBefore);
            return await ReadAllAsync(command, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
        });

    public Task<JobDeletion> DeleteJobAsync(string jobId, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            var events = await DeleteAsync("DELETE FROM events WHERE job_id = @job_id OR correlation_id IN (SELECT message_id FROM events WHERE job_id = @job_id);", jobId, cancellationToken).ConfigureAwait(false);
            var checkpoints = await DeleteAsync("DELETE FROM checkpoints WHERE job_id = @job_id;", jobId, cancellationToken).ConfigureAwait(false);
            var ledger = await DeleteAsync("DELETE FROM idempotency_ledger WHERE outcome = @job_id;", jobId, cancellationToken).ConfigureAwait(false);
            await DeleteAsync("DELETE FROM job_definitions WHERE job_id = @job_id;", jobId, cancellationToken).ConfigureAwait(false);

            await DeleteAsync("DELETE FROM job_queue_entries WHERE job_id = @job_id;", jobId, cancellationToken).ConfigureAwait(false);
            await DeleteAsync("DELETE FROM jobs WHERE job_id = @job_id;", jobId, cancellationToken).ConfigureAwait(false);
            return new JobDeletion(events, checkpoints, ledger);
        });

    public Task<int> PurgeExpiredLedgerEntriesAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command("DELETE FROM idempotency_ledger WHERE expires_at IS NOT NULL AND expires_at < @now;");
            Time(command, "now", now);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        });

    public Task<bool> TryInsertJobDefinitionAsync(JobDefinitionRecord definition, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command(
                $"INSERT INTO job_definitions ({StoreRows.DefinitionColumns}) VALUES (@job_id, @principal, @kind, @reference, @content_hash, @version, @script, @recorded_at) " +
                "ON CONFLICT (job_id) DO NOTHING;");
            Text(command, "job_id", definition.JobId);
            Text(command, "principal", definition.Principal);
            Text(command, "kind", definition.Kind);
            Text(command, "reference", definition.Reference);
            Text(command, "content_hash", definition.ContentHash);
            Text(command, "version", definition.Version);
            Text(command, "script", definition.Script);
            Time(command, "recorded_at", definition.RecordedAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        });

    public Task<JobDefinitionRecord?> GetJobDefinitionAsync(string jobId, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command($"SELECT {StoreRows.DefinitionColumns} FROM job_definitions WHERE job_id = @job_id;");
            Text(command, "job_id", jobId);
            return (await ReadAllAsync(command, r => StoreRows.ReadDefinition(r, ReadTime), cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        });

    public Task<int> DeleteSessionsEndedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command(
                "DELETE FROM sessions WHERE closed_at < @cutoff " +
                "OR (closed_at IS NULL AND opened_at < @cutoff AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.lease_session_id = sessions.session_id));");
            Time(command, "cutoff", cutoff);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        });

    public Task<IReadOnlyList<JobRecord>> ListUnfinishedJobsAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken) =>
        GuardAsync<IReadOnlyList<JobRecord>>(location, async () =>
        {
            // Locked (in job id order, like every multi-row lock here), so no session claims one while retention decides about it.
            await using var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE state NOT IN ('completed', 'failed', 'cancelled') AND updated_at < @before ORDER BY job_id FOR UPDATE;");
            Time(command, "before", updatedBefore);
            return await ReadAllAsync(command, ReadJob, cancellationToken).ConfigureAwait(false);
        });

    public Task CommitAsync(CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await RestoreUnrecordedOutputAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            await FinishAsync().ConfigureAwait(false);
            return true;
        });

    public async ValueTask DisposeAsync()
    {
        if (!finished)
        {
            // Not committed: disposing the transaction rolls everything back; a broken connection is discarded by the pool.
            await FinishAsync().ConfigureAwait(false);
        }
    }

    private async Task FinishAsync()
    {
        finished = true;
        await transaction.DisposeAsync().ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Puts the output back into a checkpoint event logged without it whose checkpoint row was not recorded.</summary>
    private async Task RestoreUnrecordedOutputAsync(CancellationToken cancellationToken)
    {
        if (loggedCheckpointEvent is not { } unrecorded)
        {
            return;
        }

        loggedCheckpointEvent = null;
        await using var restore = Command("UPDATE events SET envelope = @envelope, output_at = NULL WHERE message_id = @message_id;");
        Text(restore, "envelope", unrecorded.Envelope);
        Text(restore, "message_id", unrecorded.MessageId);
        await restore.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> DeleteAsync(string sql, string jobId, CancellationToken cancellationToken)
    {
        await using var command = Command(sql);
        Text(command, "job_id", jobId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private NpgsqlCommand Command(string sql)
    {
        if (localCommitPending)
        {
            localCommitPending = false;
            return new(LocalCommitSql + ";" + sql, connection, transaction);
        }

        return new(sql, connection, transaction);
    }

    /// <summary>A <c>job.checkpoint</c> event's envelope without its output, which goes into the checkpoint row instead.</summary>
    private static (string Remainder, int At, string Output)? CutOutput(EventDraft draft) =>
        draft.Type == "job.checkpoint" && draft.Envelope is { } full ? CheckpointOutputs.Cut(full) : null;

    private static void BindEvent(NpgsqlParameterCollection parameters, EventDraft draft, (string Remainder, int At, string Output)? cut)
    {
        Text(parameters, "message_id", draft.MessageId);
        Text(parameters, "type", draft.Type);
        Text(parameters, "direction", draft.Direction == EventDirection.Inbound ? "in" : "out");
        Text(parameters, "session_id", draft.SessionId);
        Text(parameters, "job_id", draft.JobId);
        Text(parameters, "correlation_id", draft.CorrelationId);
        Time(parameters, "created_at", draft.CreatedAt);
        Text(parameters, "envelope", cut?.Remainder ?? draft.Envelope);
        Integer(parameters, "output_at", cut?.At);
    }

    private static void BindCheckpoint(NpgsqlParameterCollection parameters, CheckpointRecord checkpoint)
    {
        Text(parameters, "c_checkpoint_id", checkpoint.CheckpointId);
        Text(parameters, "c_job_id", checkpoint.JobId);
        Integer(parameters, "c_step_index", checkpoint.StepIndex);
        Text(parameters, "c_step", checkpoint.Step);
        Text(parameters, "c_message_id", checkpoint.MessageId);
        Text(parameters, "c_idempotency_key", checkpoint.IdempotencyKey);
        Time(parameters, "c_created_at", checkpoint.CreatedAt);
        Text(parameters, "c_output", checkpoint.Output);
        Text(parameters, "c_definition_version", checkpoint.DefinitionVersion);
        Time(parameters, "c_started_at", checkpoint.StartedAt);
        Integer(parameters, "c_attempts", checkpoint.Attempts);
        parameters.Add(new NpgsqlParameter("c_duration_ms", NpgsqlTypes.NpgsqlDbType.Bigint) { Value = (object?)checkpoint.DurationMs ?? DBNull.Value });
    }

    private static StoreException JobChanged(string jobId) => new(StoreErrorKind.Corrupt, $"Job '{jobId}' changed identity or vanished during an update.");

    /// <summary>
    /// Stored once: the output moves from the checkpoint's event into its row. The event logged just before, in this
    /// transaction, was stored without it already; one logged earlier is read here (and rewritten once the row is in).
    /// </summary>
    private async Task<(CheckpointRecord Stored, (string Remainder, int At, string Output)? CutLater)> TakeOutputAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken)
    {
        if (loggedCheckpointEvent is { } logged && logged.MessageId == checkpoint.MessageId)
        {
            return (checkpoint with { Output = logged.Output }, null);
        }

        await using var read = Command("SELECT envelope FROM events WHERE message_id = @message_id AND type = 'job.checkpoint' AND output_at IS NULL;");
        Text(read, "message_id", checkpoint.MessageId);
        return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string envelope && CheckpointOutputs.Cut(envelope) is { } cut
            ? (checkpoint with { Output = cut.Output }, cut)
            : (checkpoint, null);
    }

    /// <summary>The checkpoint row holds the output now: its event keeps it cut out.</summary>
    private async Task OutputRecordedAsync(CheckpointRecord stored, (string Remainder, int At, string Output)? cutLater, CancellationToken cancellationToken)
    {
        if (loggedCheckpointEvent is { } logged && logged.MessageId == stored.MessageId)
        {
            loggedCheckpointEvent = null;
        }
        else if (cutLater is { } cut)
        {
            await using var update = Command("UPDATE events SET envelope = @envelope, output_at = @output_at WHERE message_id = @message_id;");
            Text(update, "envelope", cut.Remainder);
            Integer(update, "output_at", cut.At);
            Text(update, "message_id", stored.MessageId);
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<StoredEvent>> ReadCancelsAsync(string jobId, long afterSequence, long last, CancellationToken cancellationToken)
    {
        await using var read = Command($"SELECT {EventColumns} FROM {EventSource} WHERE e.job_id = @job_id AND e.sequence > @after AND e.sequence <= @last AND e.type = 'cancel' AND e.direction = 'in' ORDER BY e.sequence;");
        Text(read, "job_id", jobId);
        Bigint(read, "after", afterSequence);
        Bigint(read, "last", last);
        return await ReadAllAsync(read, ReadEvent, cancellationToken).ConfigureAwait(false);
    }
}
