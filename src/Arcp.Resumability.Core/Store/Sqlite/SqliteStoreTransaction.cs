using Microsoft.Data.Sqlite;
using static Arcp.Resumability.Store.Sqlite.SqliteValues;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>A write transaction holding the store's connection until it is committed or disposed.</summary>
/// <remarks>Every driver failure leaves through <see cref="SqliteStoreErrors"/> as a <see cref="StoreException"/>.</remarks>
internal sealed partial class SqliteStoreTransaction(SqliteStatementCache statements, SqliteTransaction transaction, SemaphoreSlim gate, string location) : IStoreTransaction
{
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraintPrimaryKey = 1555;

    private const string UpdateJobStepSql =
        "UPDATE jobs SET last_checkpoint_id = ?1, last_message_id = ?2, updated_at = ?3, lease_expires_at = ?4 WHERE job_id = ?5;";

    private bool released;

    // The job row as this transaction last read or wrote it: the transaction holds the file's write lock, so it is the
    // stored row until this transaction changes it, and an update can see which columns it changes without reading it.
    private JobRecord? knownJob;

    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken) => Run(() => knownJob = QueryJob(statements, transaction, jobId));

    public Task InsertJobAsync(JobRecord job, CancellationToken cancellationToken)
    {
        var command = Command(
            $"INSERT INTO jobs ({JobColumns}, retry_of) VALUES ($job_id, $principal, $workflow, $name, $state, $inputs, $idempotency_key, $result, $error, " +
            "$last_checkpoint_id, $last_message_id, $created_at, $updated_at, $lease_session_id, $lease_host, $lease_process_id, $lease_process_started, $lease_expires_at, $retry_of);");
        BindJob(command, job);
        Add(command, "$retry_of", job.RetryOf);
        knownJob = null;
        return Run(command.ExecuteNonQuery);
    }

    public Task UpdateJobAsync(JobRecord job, CancellationToken cancellationToken)
    {
        // A step of a running job changes only the columns the step's statement sets, none of which is in an index that
        // holds a running job. SQLite rewrites an index's entry whenever an UPDATE sets one of its columns, even to the
        // value it had, so the full update below would write the pages of ix_jobs_state and ix_jobs_lease_session in
        // every step's commit. The stored row tells which of the two a change needs: a step's transaction has read it
        // already (TryAppendJobEventsAsync), any other caller has it read here.
        var changed = SqliteStoreErrors.Guard(
            location,
            () =>
            {
                var stored = knownJob is { } known && known.JobId == job.JobId ? known : QueryJob(statements, transaction, job.JobId);
                knownJob = null;
                return stored is not null && OnlyStepColumnsDiffer(stored, job) ? UpdateStepColumns(job) : UpdateAllColumns(job);
            });
        if (changed != 1)
        {
            throw new StoreException(StoreErrorKind.Corrupt, $"Job '{job.JobId}' changed identity or vanished during an update.");
        }

        knownJob = job;
        return Task.CompletedTask;
    }

    public Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken) =>
        Run(() => QueryCheckpointByKey(statements, transaction, jobId, idempotencyKey));

    public Task<LedgerEntry?> GetLedgerEntryAsync(string principal, string idempotencyKey, CancellationToken cancellationToken)
    {
        var command = Command(
            "SELECT principal, idempotency_key, request_hash, outcome, created_at, expires_at FROM idempotency_ledger " +
            "WHERE principal = $principal AND idempotency_key = $key;");
        Add(command, "$principal", principal);
        Add(command, "$key", idempotencyKey);
        return Run(() => SqliteArcpStore.ReadAll(
            command,
            r => new LedgerEntry(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), ParseTime(r.GetString(4)), r.IsDBNull(5) ? null : ParseTime(r.GetString(5))))
            .FirstOrDefault());
    }

    public Task InsertLedgerEntryAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        var command = Command(
            "INSERT INTO idempotency_ledger (principal, idempotency_key, request_hash, outcome, created_at, expires_at) " +
            "VALUES ($principal, $key, $hash, $outcome, $created_at, $expires_at) " +
            // An expired entry for the key may still be there; the new outcome replaces it.
            "ON CONFLICT (principal, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash, outcome = excluded.outcome, " +
            "created_at = excluded.created_at, expires_at = excluded.expires_at;");
        Add(command, "$principal", entry.Principal);
        Add(command, "$key", entry.IdempotencyKey);
        Add(command, "$hash", entry.RequestHash);
        Add(command, "$outcome", entry.Outcome);
        Add(command, "$created_at", Time(entry.CreatedAt));
        Add(command, "$expires_at", entry.ExpiresAt is null ? null : Time(entry.ExpiresAt.Value));
        return Run(command.ExecuteNonQuery);
    }

    public Task InsertSessionAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        var command = Command(
            "INSERT INTO sessions (session_id, principal, client_kind, host, process_id, opened_at) VALUES ($id, $principal, $kind, $host, $pid, $opened);");
        Add(command, "$id", session.SessionId);
        Add(command, "$principal", session.Principal);
        Add(command, "$kind", session.ClientKind);
        Add(command, "$host", session.Host);
        Add(command, "$pid", session.ProcessId);
        Add(command, "$opened", Time(session.OpenedAt));
        return Run(command.ExecuteNonQuery);
    }

    public Task CloseSessionAsync(string sessionId, DateTimeOffset closedAt, CancellationToken cancellationToken)
    {
        var command = Command("UPDATE sessions SET closed_at = $closed WHERE session_id = $id;");
        Add(command, "$id", sessionId);
        Add(command, "$closed", Time(closedAt));
        return Run(command.ExecuteNonQuery);
    }

    public Task<bool> ReopenSessionAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        var command = Command(
            "UPDATE sessions SET closed_at = NULL, client_kind = $kind, host = $host, process_id = $pid " +
            "WHERE session_id = $id AND principal = $principal AND closed_at IS NOT NULL;");
        Add(command, "$id", session.SessionId);
        Add(command, "$principal", session.Principal);
        Add(command, "$kind", session.ClientKind);
        Add(command, "$host", session.Host);
        Add(command, "$pid", session.ProcessId);
        return Run(() => command.ExecuteNonQuery() == 1);
    }

    public Task<IReadOnlyList<JobRecord>> ListJobsLeasedByAsync(string sessionId, CancellationToken cancellationToken)
    {
        var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE lease_session_id = $session;");
        Add(command, "$session", sessionId);
        return Run<IReadOnlyList<JobRecord>>(() => SqliteArcpStore.ReadAll(command, ReadJob));
    }

    public Task<int> PurgeEventsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var watermark = Command(
            "UPDATE jobs SET purged_through_sequence = MAX(purged_through_sequence, " +
            "(SELECT MAX(e.sequence) FROM events e WHERE e.job_id = jobs.job_id AND e.created_at < $cutoff)) " +
            "WHERE job_id IN (SELECT job_id FROM events WHERE job_id IS NOT NULL AND created_at < $cutoff);");
        Add(watermark, "$cutoff", Time(cutoff));
        knownJob = null;
        return Run(() =>
        {
            watermark.ExecuteNonQuery();
            var purge = Command("DELETE FROM events WHERE created_at < $cutoff;");
            Add(purge, "$cutoff", Time(cutoff));
            return purge.ExecuteNonQuery();
        });
    }

    public Task<IReadOnlyList<string>> ListFinishedJobsAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken)
    {
        var command = Command("SELECT job_id FROM jobs WHERE state IN ('completed', 'failed', 'cancelled') AND updated_at < $before ORDER BY updated_at;");
        Add(command, "$before", Time(updatedBefore));
        return Run<IReadOnlyList<string>>(() => SqliteArcpStore.ReadAll(command, r => r.GetString(0)));
    }

    public Task<JobDeletion> DeleteJobAsync(string jobId, CancellationToken cancellationToken)
    {
        knownJob = null;
        return Run(() =>
        {
            var events = Delete("DELETE FROM events WHERE job_id = $job_id OR correlation_id IN (SELECT message_id FROM events WHERE job_id = $job_id);", jobId);
            var checkpoints = Delete("DELETE FROM checkpoints WHERE job_id = $job_id;", jobId);
            var ledger = Delete("DELETE FROM idempotency_ledger WHERE outcome = $job_id;", jobId);
            Delete("DELETE FROM job_definitions WHERE job_id = $job_id;", jobId);

            Delete("DELETE FROM job_queue_entries WHERE job_id = $job_id;", jobId);
            Delete("DELETE FROM jobs WHERE job_id = $job_id;", jobId);
            return new JobDeletion(events, checkpoints, ledger);
        });
    }

    public Task<int> PurgeExpiredLedgerEntriesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var command = Command("DELETE FROM idempotency_ledger WHERE expires_at IS NOT NULL AND expires_at < $now;");
        Add(command, "$now", Time(now));
        return Run(command.ExecuteNonQuery);
    }

    public Task<bool> TryInsertJobDefinitionAsync(JobDefinitionRecord definition, CancellationToken cancellationToken)
    {
        var command = Command(
            $"INSERT INTO job_definitions ({StoreRows.DefinitionColumns}) VALUES ($job_id, $principal, $kind, $reference, $content_hash, $version, $script, $recorded_at) " +
            "ON CONFLICT (job_id) DO NOTHING;");
        Add(command, "$job_id", definition.JobId);
        Add(command, "$principal", definition.Principal);
        Add(command, "$kind", definition.Kind);
        Add(command, "$reference", definition.Reference);
        Add(command, "$content_hash", definition.ContentHash);
        Add(command, "$version", definition.Version);
        Add(command, "$script", definition.Script);
        Add(command, "$recorded_at", Time(definition.RecordedAt));
        return Run(() => command.ExecuteNonQuery() == 1);
    }

    public Task<int> DeleteSessionsEndedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var command = Command(
            "DELETE FROM sessions WHERE closed_at < $cutoff " +
            "OR (closed_at IS NULL AND opened_at < $cutoff AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.lease_session_id = sessions.session_id));");
        Add(command, "$cutoff", Time(cutoff));
        return Run(command.ExecuteNonQuery);
    }

    public Task<IReadOnlyList<JobRecord>> ListUnfinishedJobsAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken)
    {
        var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE state NOT IN ('completed', 'failed', 'cancelled') AND updated_at < $before ORDER BY updated_at;");
        Add(command, "$before", Time(updatedBefore));
        return Run<IReadOnlyList<JobRecord>>(() => SqliteArcpStore.ReadAll(command, ReadJob));
    }

    public Task CommitAsync(CancellationToken cancellationToken)
    {
        SqliteStoreErrors.Guard(location, RestoreUnrecordedOutput);
        SqliteStoreErrors.Guard(location, transaction.Commit);
        Release();
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (!released)
        {
            try
            {
                // Not committed: everything written in this transaction is discarded.
                SqliteStoreErrors.Guard(location, RollBack);
            }
            finally
            {
                // A failed rollback (the file went away) must not keep the store's gate shut for every later caller.
                Release();
            }
        }

        return ValueTask.CompletedTask;
    }

    internal static JobRecord? QueryJob(SqliteStatementCache statements, SqliteTransaction? transaction, string jobId)
    {
        var command = statements.Get($"SELECT {JobReadColumns} FROM jobs WHERE job_id = $job_id;", transaction);
        Add(command, "$job_id", jobId);
        return SqliteArcpStore.ReadAll(command, ReadJob).FirstOrDefault();
    }

    internal static CheckpointRecord? QueryCheckpointByKey(SqliteStatementCache statements, SqliteTransaction? transaction, string jobId, string key)
    {
        var command = statements.Get($"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = $job_id AND idempotency_key = $key;", transaction);
        Add(command, "$job_id", jobId);
        Add(command, "$key", key);
        return SqliteArcpStore.ReadAll(command, ReadCheckpoint).FirstOrDefault();
    }

    /// <summary>True when <paramref name="updated"/> differs from <paramref name="stored"/> at most in the columns <see cref="UpdateStepColumns"/> sets.</summary>
    private static bool OnlyStepColumnsDiffer(JobRecord stored, JobRecord updated) =>
        updated.JobId == stored.JobId && updated.Principal == stored.Principal && updated.Workflow == stored.Workflow && updated.Name == stored.Name &&
        updated.State == stored.State && updated.Inputs == stored.Inputs && updated.IdempotencyKey == stored.IdempotencyKey &&
        updated.Result == stored.Result && updated.Error == stored.Error && updated.CreatedAt == stored.CreatedAt &&
        (updated.Lease, stored.Lease) switch
        {
            (null, null) => true,
            ({ } next, { } held) => next.SessionId == held.SessionId && next.Host == held.Host && next.ProcessId == held.ProcessId && next.ProcessStartedAt == held.ProcessStartedAt,
            _ => false,
        };

    private int UpdateStepColumns(JobRecord job)
    {
        var update = statements.Positional(UpdateJobStepSql);
        update.Bind(1, job.LastCheckpointId);
        update.Bind(2, job.LastMessageId);
        update.Bind(3, job.UpdatedAt);
        update.Bind(4, job.Lease?.ExpiresAt);
        update.Bind(5, job.JobId);
        return update.Execute();
    }

    private int UpdateAllColumns(JobRecord job)
    {
        var command = Command(
            "UPDATE jobs SET name = $name, state = $state, result = $result, error = $error, last_checkpoint_id = $last_checkpoint_id, " +
            "last_message_id = $last_message_id, updated_at = $updated_at, lease_session_id = $lease_session_id, lease_host = $lease_host, " +
            "lease_process_id = $lease_process_id, lease_process_started = $lease_process_started, lease_expires_at = $lease_expires_at " +
            "WHERE job_id = $job_id AND principal = $principal AND workflow = $workflow AND inputs = $inputs AND created_at = $created_at " +
            "AND idempotency_key IS $idempotency_key;");
        BindJob(command, job);
        return command.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql) => statements.Get(sql, transaction);

    private Task<T> Run<T>(Func<T> work) => Task.FromResult(SqliteStoreErrors.Guard(location, work));

    private int Delete(string sql, string jobId)
    {
        var command = Command(sql);
        Add(command, "$job_id", jobId);
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// Rolls back, also when SQLite already did: after SQLITE_FULL, SQLITE_IOERR or SQLITE_NOMEM it may have rolled the
    /// transaction back on its own, and then the driver's ROLLBACK fails and leaves its transaction attached to the
    /// connection, so every later transaction on this store would fail. An empty transaction opened for it to roll
    /// back lets the driver finish cleanly; it discards nothing, because nothing is left to discard.
    /// </summary>
    private void RollBack()
    {
        var connection = transaction.Connection;
        if (connection is not null && SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0)
        {
            var begun = SQLitePCL.raw.sqlite3_exec(connection.Handle, "BEGIN;");
            if (begun != SQLitePCL.raw.SQLITE_OK)
            {
                throw new SqliteException($"SQLite Error {begun}: '{SQLitePCL.raw.sqlite3_errmsg(connection.Handle).utf8_to_string()}'.", begun);
            }
        }

        transaction.Rollback();
    }

    private void Release()
    {
        released = true;
        loggedCheckpointEvent?.Cut?.Dispose();
        loggedCheckpointEvent = null;
        try
        {
            transaction.Dispose();
        }
        finally
        {
            // Nothing may keep the store's gate shut: every later caller, the store's own disposal included, waits on it.
            gate.Release();
        }
    }
}
