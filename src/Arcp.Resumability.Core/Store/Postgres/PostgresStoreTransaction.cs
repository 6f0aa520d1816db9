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

    private const string LockJobSql = $"SELECT {JobReadColumns} FROM jobs WHERE job_id = @job_id FOR UPDATE";

    // Unlike the SQLite store, created_at is not part of the identity check: timestamptz keeps microseconds, so a
    // record still holding the 100 ns value it was created with would not match its stored self.
    private const string UpdateJobSql =
        "UPDATE jobs SET name = @name, state = @state, result = @result, error = @error, last_checkpoint_id = @last_checkpoint_id, " +
        "last_message_id = @last_message_id, updated_at = @updated_at, lease_session_id = @lease_session_id, lease_host = @lease_host, " +
        "lease_process_id = @lease_process_id, lease_process_started = @lease_process_started, lease_expires_at = @lease_expires_at " +
        "WHERE job_id = @job_id AND principal = @principal AND workflow = @workflow AND inputs = @inputs " +
        "AND idempotency_key IS NOT DISTINCT FROM @idempotency_key";

    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command(LockJobSql);
            Text(command, "job_id", jobId);
            return (await ReadAllAsync(command, ReadJob, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        }, cancellationToken);

    public Task InsertJobAsync(JobRecord job, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command(
                $"INSERT INTO jobs ({JobColumns}, retry_of) VALUES (@job_id, @principal, @workflow, @name, @state, @inputs, @idempotency_key, @result, @error, " +
                "@last_checkpoint_id, @last_message_id, @created_at, @updated_at, @lease_session_id, @lease_host, @lease_process_id, @lease_process_started, @lease_expires_at, @retry_of);");
            BindJob(command, job);
            Text(command, "retry_of", job.RetryOf);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task UpdateJobAsync(JobRecord job, CancellationToken cancellationToken)
    {
        // Held back (see HeldWrites). A row the update misses fails the statement with a division by zero, the one way
        // a plain SQL statement can fail on its own result, so a COMMIT riding with it does not run.
        var update = new NpgsqlBatchCommand($"WITH updated AS ({UpdateJobSql} RETURNING 1) SELECT 1 / COUNT(*)::integer FROM updated");
        BindJob(update.Parameters, job);
        Hold(update, ex => ex.SqlState == PostgresErrorCodes.DivisionByZero ? JobChanged(job.JobId) : null);
        return Task.CompletedTask;
    }

    public Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken) =>
        RunAsync(() => PostgresArcpStore.QueryCheckpointByKeyAsync(connection, transaction, jobId, idempotencyKey, cancellationToken), cancellationToken);

    public Task<LedgerEntry?> GetLedgerEntryAsync(string principal, string idempotencyKey, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            // A missing row cannot be locked; this lock makes "look up, then insert" atomic per key across processes.
            await using (var lockKey = Command("SELECT pg_advisory_xact_lock(hashtextextended(@principal || chr(31) || @key, 0));"))
            {
                Text(lockKey, "principal", principal);
                Text(lockKey, "key", idempotencyKey);
                await lockKey.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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
        }, cancellationToken);

    public Task InsertLedgerEntryAsync(LedgerEntry entry, CancellationToken cancellationToken) =>
        RunAsync(async () =>
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
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task InsertSessionAsync(SessionRecord session, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command(
                "INSERT INTO sessions (session_id, principal, client_kind, host, process_id, opened_at) VALUES (@id, @principal, @kind, @host, @pid, @opened);");
            Text(command, "id", session.SessionId);
            Text(command, "principal", session.Principal);
            Text(command, "kind", session.ClientKind);
            Text(command, "host", session.Host);
            Integer(command, "pid", session.ProcessId);
            Time(command, "opened", session.OpenedAt);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task CloseSessionAsync(string sessionId, DateTimeOffset closedAt, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command("UPDATE sessions SET closed_at = @closed WHERE session_id = @id;");
            Text(command, "id", sessionId);
            Time(command, "closed", closedAt);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> ReopenSessionAsync(SessionRecord session, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command(
                "UPDATE sessions SET closed_at = NULL, client_kind = @kind, host = @host, process_id = @pid " +
                "WHERE session_id = @id AND principal = @principal AND closed_at IS NOT NULL;");
            Text(command, "id", session.SessionId);
            Text(command, "principal", session.Principal);
            Text(command, "kind", session.ClientKind);
            Text(command, "host", session.Host);
            Integer(command, "pid", session.ProcessId);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task<IReadOnlyList<JobRecord>> ListJobsLeasedByAsync(string sessionId, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<JobRecord>>(async () =>
        {
            // Locks in job id order, like every multi-row lock here, so two such transactions cannot deadlock.
            await using var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE lease_session_id = @session ORDER BY job_id FOR UPDATE;");
            Text(command, "session", sessionId);
            return await ReadAllAsync(command, ReadJob, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<int> PurgeEventsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using (var watermark = Command(
                "WITH purged AS (SELECT job_id, MAX(sequence) AS through FROM events WHERE job_id IS NOT NULL AND created_at < @cutoff GROUP BY job_id), " +
                "locked AS (SELECT j.job_id, p.through FROM jobs j JOIN purged p ON p.job_id = j.job_id ORDER BY j.job_id FOR UPDATE OF j) " +
                "UPDATE jobs SET purged_through_sequence = GREATEST(jobs.purged_through_sequence, locked.through) FROM locked WHERE jobs.job_id = locked.job_id;"))
            {
                Time(watermark, "cutoff", cutoff);
                await watermark.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var purge = Command("DELETE FROM events WHERE created_at < @cutoff;");
            Time(purge, "cutoff", cutoff);
            return await purge.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<string>> ListFinishedJobsAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<string>>(async () =>
        {
            await using var command = Command("SELECT job_id FROM jobs WHERE state IN ('completed', 'failed', 'cancelled') AND updated_at < @before ORDER BY updated_at, job_id;");
            Time(command, "before", updatedBefore);
            return await ReadAllAsync(command, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<JobDeletion> DeleteJobAsync(string jobId, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var events = await DeleteAsync("DELETE FROM events WHERE job_id = @job_id OR correlation_id IN (SELECT message_id FROM events WHERE job_id = @job_id);", jobId, cancellationToken).ConfigureAwait(false);
            var checkpoints = await DeleteAsync("DELETE FROM checkpoints WHERE job_id = @job_id;", jobId, cancellationToken).ConfigureAwait(false);
            var ledger = await DeleteAsync("DELETE FROM idempotency_ledger WHERE outcome = @job_id;", jobId, cancellationToken).ConfigureAwait(false);
            await DeleteAsync("DELETE FROM job_definitions WHERE job_id = @job_id;", jobId, cancellationToken).ConfigureAwait(false);

            await DeleteAsync("DELETE FROM job_queue_entries WHERE job_id = @job_id;", jobId, cancellationToken).ConfigureAwait(false);
            await DeleteAsync("DELETE FROM jobs WHERE job_id = @job_id;", jobId, cancellationToken).ConfigureAwait(false);
            return new JobDeletion(events, checkpoints, ledger);
        }, cancellationToken);

    public Task<int> PurgeExpiredLedgerEntriesAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command("DELETE FROM idempotency_ledger WHERE expires_at IS NOT NULL AND expires_at < @now;");
            Time(command, "now", now);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> TryInsertJobDefinitionAsync(JobDefinitionRecord definition, CancellationToken cancellationToken) =>
        RunAsync(async () =>
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
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task<int> DeleteSessionsEndedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command(
                "DELETE FROM sessions WHERE closed_at < @cutoff " +
                "OR (closed_at IS NULL AND opened_at < @cutoff AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.lease_session_id = sessions.session_id));");
            Time(command, "cutoff", cutoff);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<JobRecord>> ListUnfinishedJobsAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<JobRecord>>(async () =>
        {
            // Locked (in job id order, like every multi-row lock here), so no session claims one while retention decides about it.
            await using var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE state NOT IN ('completed', 'failed', 'cancelled') AND updated_at < @before ORDER BY job_id FOR UPDATE;");
            Time(command, "before", updatedBefore);
            return await ReadAllAsync(command, ReadJob, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

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

    private async Task<int> DeleteAsync(string sql, string jobId, CancellationToken cancellationToken)
    {
        await using var command = Command(sql);
        Text(command, "job_id", jobId);
        return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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

    private static StoreException JobChanged(string jobId) => new(StoreErrorKind.Corrupt, $"Job '{jobId}' changed identity or vanished during an update.");
}
