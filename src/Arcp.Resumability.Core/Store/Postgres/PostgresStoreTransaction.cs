using Npgsql;
using static Arcp.Resumability.Store.Postgres.PostgresValues;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// One READ COMMITTED transaction on its own pooled connection. Job rows read here are locked
/// (<c>FOR UPDATE</c>) until commit, so read-decide-write sequences on a job (claims, fencing checks,
/// duplicate-step checks) are atomic against every other process using the database.
/// </summary>
internal sealed partial class PostgresStoreTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, string location) : IStoreTransaction
{
    private bool finished;

    // The job.checkpoint event this transaction just logged with its output already cut out (see CheckpointOutputs),
    // so recording its checkpoint takes the output from here instead of reading and rewriting the event (one statement
    // fewer per step, as on SQLite). A checkpoint event left without its checkpoint row gets its output back before the commit.
    private (string MessageId, string Envelope, string Output)? loggedCheckpointEvent;

    public Task<bool> TryAppendEventAsync(EventDraft draft, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            var cut = draft.Type == "job.checkpoint" && draft.Envelope is { } full ? CheckpointOutputs.Cut(full) : null;
            // ON CONFLICT instead of catching the violation: an error would abort the whole transaction.
            await using var command = Command(
                "INSERT INTO events (message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope, output_at) " +
                "VALUES (@message_id, @type, @direction, @session_id, @job_id, @correlation_id, @created_at, @envelope, @output_at) ON CONFLICT (message_id) DO NOTHING;");
            Text(command, "message_id", draft.MessageId);
            Text(command, "type", draft.Type);
            Text(command, "direction", draft.Direction == EventDirection.Inbound ? "in" : "out");
            Text(command, "session_id", draft.SessionId);
            Text(command, "job_id", draft.JobId);
            Text(command, "correlation_id", draft.CorrelationId);
            Time(command, "created_at", draft.CreatedAt);
            Text(command, "envelope", cut?.Remainder ?? draft.Envelope);
            Integer(command, "output_at", cut?.At);
            var appended = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            if (appended && cut is { } taken)
            {
                await RestoreUnrecordedOutputAsync(cancellationToken).ConfigureAwait(false);
                loggedCheckpointEvent = (draft.MessageId, draft.Envelope!, taken.Output);
            }

            return appended;
        });

    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await using var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE job_id = @job_id FOR UPDATE;");
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
            // Unlike the SQLite store, created_at is not part of the identity check: timestamptz keeps microseconds,
            // so a record still holding the 100 ns value it was created with would not match its stored self.
            await using var command = Command(
                "UPDATE jobs SET name = @name, state = @state, result = @result, error = @error, last_checkpoint_id = @last_checkpoint_id, " +
                "last_message_id = @last_message_id, updated_at = @updated_at, lease_session_id = @lease_session_id, lease_host = @lease_host, " +
                "lease_process_id = @lease_process_id, lease_process_started = @lease_process_started, lease_expires_at = @lease_expires_at " +
                "WHERE job_id = @job_id AND principal = @principal AND workflow = @workflow AND inputs = @inputs " +
                "AND idempotency_key IS NOT DISTINCT FROM @idempotency_key;");
            BindJob(command, job);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
            {
                throw new StoreException(StoreErrorKind.Corrupt, $"Job '{job.JobId}' changed identity or vanished during an update.");
            }

            return true;
        });

    public Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken) =>
        GuardAsync(location, () => PostgresArcpStore.QueryCheckpointByKeyAsync(connection, transaction, jobId, idempotencyKey, cancellationToken));

    public Task<bool> TryInsertCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            // Stored once: the output moves from the checkpoint's event into its row. The event logged just before, in
            // this transaction, was stored without it already; one logged earlier is read here and rewritten once the
            // row is in.
            var loggedHere = loggedCheckpointEvent is { } logged && logged.MessageId == checkpoint.MessageId;
            (string Remainder, int At, string Output)? cutLater = null;
            if (loggedHere)
            {
                checkpoint = checkpoint with { Output = loggedCheckpointEvent!.Value.Output };
            }
            else
            {
                await using var read = Command("SELECT envelope FROM events WHERE message_id = @message_id AND type = 'job.checkpoint' AND output_at IS NULL;");
                Text(read, "message_id", checkpoint.MessageId);
                if (await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string envelope && CheckpointOutputs.Cut(envelope) is { } cut)
                {
                    cutLater = cut;
                    checkpoint = checkpoint with { Output = cut.Output };
                }
            }

            // The unique keys (checkpoint_id; job_id with idempotency_key) refuse a taken id or a recorded step; ON
            // CONFLICT rather than a violation, which would abort the whole transaction.
            await using var command = Command(
                $"INSERT INTO checkpoints ({CheckpointColumns}) VALUES (@checkpoint_id, @job_id, @step_index, @step, @message_id, @idempotency_key, @created_at, @output, @definition_version, @started_at, @attempts, @duration_ms) " +
                "ON CONFLICT DO NOTHING;");
            Text(command, "checkpoint_id", checkpoint.CheckpointId);
            Text(command, "job_id", checkpoint.JobId);
            Integer(command, "step_index", checkpoint.StepIndex);
            Text(command, "step", checkpoint.Step);
            Text(command, "message_id", checkpoint.MessageId);
            Text(command, "idempotency_key", checkpoint.IdempotencyKey);
            Time(command, "created_at", checkpoint.CreatedAt);
            Text(command, "output", checkpoint.Output);
            Text(command, "definition_version", checkpoint.DefinitionVersion);
            Time(command, "started_at", checkpoint.StartedAt);
            Integer(command, "attempts", checkpoint.Attempts);
            command.Parameters.Add(new NpgsqlParameter("duration_ms", NpgsqlTypes.NpgsqlDbType.Bigint) { Value = (object?)checkpoint.DurationMs ?? DBNull.Value });
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
            {
                // Not recorded: an event logged here without its output gets it back before any commit.
                return false;
            }

            if (loggedHere)
            {
                loggedCheckpointEvent = null;
            }
            else if (cutLater is { } cut)
            {
                await using var update = Command("UPDATE events SET envelope = @envelope, output_at = @output_at WHERE message_id = @message_id;");
                Text(update, "envelope", cut.Remainder);
                Integer(update, "output_at", cut.At);
                Text(update, "message_id", checkpoint.MessageId);
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        });

    public Task<(IReadOnlyList<StoredEvent> Cancels, long LastSequence)> ReadJobCancelsAsync(string jobId, long afterSequence, CancellationToken cancellationToken) =>
        GuardAsync<(IReadOnlyList<StoredEvent>, long)>(location, async () =>
        {
            long last;
            long cancels;
            await using (var scan = Command("SELECT MAX(sequence), COUNT(*) FILTER (WHERE type = 'cancel' AND direction = 'in') FROM events WHERE job_id = @job_id AND sequence > @after;"))
            {
                Text(scan, "job_id", jobId);
                Bigint(scan, "after", afterSequence);
                (last, cancels) = (await ReadAllAsync(scan, r => (r.IsDBNull(0) ? afterSequence : r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false))[0];
            }

            if (cancels == 0)
            {
                return ([], last);
            }

            await using var read = Command($"SELECT {EventColumns} FROM {EventSource} WHERE e.job_id = @job_id AND e.sequence > @after AND e.sequence <= @last AND e.type = 'cancel' AND e.direction = 'in' ORDER BY e.sequence;");
            Text(read, "job_id", jobId);
            Bigint(read, "after", afterSequence);
            Bigint(read, "last", last);
            return (await ReadAllAsync(read, ReadEvent, cancellationToken).ConfigureAwait(false), last);
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

    private NpgsqlCommand Command(string sql) => new(sql, connection, transaction);
}
