using Arcp.Resumability.Protocol;
using Npgsql;
using NpgsqlTypes;
using static Arcp.Resumability.Store.Postgres.PostgresValues;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// Queue and schedule rows. Claim reads lock with <c>FOR UPDATE SKIP LOCKED</c>: concurrent workers each get rows
/// nobody else is deciding about, and the queue's limit row (locked first) serialises claims on one queue.
/// </summary>
internal sealed partial class PostgresStoreTransaction
{
    private const string QueueEntryColumns = "q.job_id, q.queue, q.priority, q.enqueued_at, q.claimed_at, q.claimed_by";

    private const string ScheduleColumns = "principal, name, cron, time_zone, workflow, inputs, queue, missed, next_fire_at, last_fire_at, created_at, script, script_hash, script_version";

    public Task InsertQueueEntryAsync(QueueEntry entry, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command("INSERT INTO job_queue_entries (job_id, queue, priority, enqueued_at) VALUES (@job_id, @queue, @priority, @enqueued_at);");
            Text(command, "job_id", entry.JobId);
            Text(command, "queue", entry.Queue);
            Integer(command, "priority", entry.Priority);
            Time(command, "enqueued_at", entry.EnqueuedAt);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<string>> ListQueuesWithWorkAsync(CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<string>>(async () =>
        {
            await using var command = Command("SELECT DISTINCT queue FROM job_queue_entries WHERE claimed_at IS NULL ORDER BY queue;");
            return await ReadAllAsync(command, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<int?> LockQueueAsync(string queue, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            // A queue without a limit has nothing to overshoot: its claims pass each other (SKIP LOCKED) instead of
            // queueing on one row lock held through each claim's commit.
            await using (var read = Command("SELECT concurrency FROM queues WHERE name = @name;"))
            {
                Text(read, "name", queue);
                if (await read.Positional().ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not int)
                {
                    return null;
                }
            }

            await using var command = Command("SELECT concurrency FROM queues WHERE name = @name FOR UPDATE;");
            Text(command, "name", queue);
            return await command.Positional().ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int limit ? (int?)limit : null;
        }, cancellationToken);

    public Task SetQueueConcurrencyAsync(string queue, int? concurrency, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command("INSERT INTO queues (name, concurrency) VALUES (@name, @concurrency) ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency;");
            Text(command, "name", queue);
            Integer(command, "concurrency", concurrency);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<int> CountActiveAsync(string queue, DateTimeOffset now, DateTimeOffset claimedSince, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command(
                "SELECT COUNT(*)::integer FROM job_queue_entries q JOIN jobs j ON j.job_id = q.job_id " +
                "WHERE q.queue = @queue AND j.state = 'running' " +
                "AND ((j.lease_expires_at IS NOT NULL AND j.lease_expires_at > @now) OR (j.lease_expires_at IS NULL AND q.claimed_at > @since));");
            Text(command, "queue", queue);
            Time(command, "now", now);
            Time(command, "since", claimedSince);
            return (int)(await command.Positional().ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken);

    public Task<IReadOnlyList<JobRecord>> ListActiveJobsAsync(string queue, DateTimeOffset now, DateTimeOffset claimedSince, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<JobRecord>>(async () =>
        {
            await using var command = Command(
                $"SELECT {JobReadColumns} FROM jobs WHERE state = 'running' AND job_id IN (SELECT q.job_id FROM job_queue_entries q WHERE q.queue = @queue " +
                "AND ((jobs.lease_expires_at IS NOT NULL AND jobs.lease_expires_at > @now) OR (jobs.lease_expires_at IS NULL AND q.claimed_at > @since))) ORDER BY job_id;");
            Text(command, "queue", queue);
            Time(command, "now", now);
            Time(command, "since", claimedSince);
            return await ReadAllAsync(command, ReadJob, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<QueueEntry>> ListClaimableAsync(string queue, string? principal, IReadOnlyCollection<string>? workflows, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<QueueEntry>>(async () =>
        {
            await using var command = Command(
                $"SELECT {QueueEntryColumns} FROM job_queue_entries q JOIN jobs j ON j.job_id = q.job_id " +
                "WHERE q.queue = @queue AND (@principal::text IS NULL OR j.principal = @principal) AND q.claimed_at IS NULL AND j.state = 'queued' AND (@any_workflow OR j.workflow = ANY(@workflows)) " +
                "ORDER BY q.priority DESC, q.enqueued_at, q.job_id LIMIT @limit FOR UPDATE OF q, j SKIP LOCKED;");
            Text(command, "queue", queue);
            Text(command, "principal", principal);
            command.Parameters.Add(new NpgsqlParameter("any_workflow", NpgsqlDbType.Boolean) { Value = workflows is null });
            command.Parameters.Add(new NpgsqlParameter("workflows", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = (workflows ?? []).ToArray() });
            Integer(command, "limit", limit);
            return await ReadAllAsync(command, ReadQueueEntry, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    // Locks a limited queue's row only (see LockQueueAsync); its own statement, so the claim after it reads under a
    // snapshot taken once the lock is held and counts every claim committed before.
    private const string LockLimitSql = "SELECT concurrency FROM queues WHERE name = @queue AND concurrency IS NOT NULL FOR UPDATE";

    // The job's columns first, where the job reader expects them; the claim's figures after.
    private static readonly string PickedColumns = string.Join(", ", JobReadColumns.Split(',').Select(c => "picked." + c.Trim()));

    private static readonly int ClaimFigures = JobReadColumns.Split(',').Length;

    // CountActiveAsync's count, ListClaimableAsync's pick, the job's move to running and MarkClaimedAsync's mark, in
    // one statement: the picked entry and job are locked (SKIP LOCKED, as ListClaimableAsync) before either is written,
    // and nothing is picked when the count fills the limit. The job's row is returned as the pick found it.
    internal static readonly string ClaimNextSql =
        "WITH lim AS (SELECT concurrency FROM queues WHERE name = @queue AND concurrency IS NOT NULL), " +
        "free AS (SELECT @slot_free OR NOT EXISTS (SELECT 1 FROM lim) OR (SELECT COUNT(*) FROM job_queue_entries q JOIN jobs j ON j.job_id = q.job_id " +
        "WHERE q.queue = @queue AND j.state = 'running' " +
        "AND ((j.lease_expires_at IS NOT NULL AND j.lease_expires_at > @now) OR (j.lease_expires_at IS NULL AND q.claimed_at > @since))) < (SELECT concurrency FROM lim) AS ok), " +
        "picked AS (SELECT j.* FROM job_queue_entries q JOIN jobs j ON j.job_id = q.job_id " +
        "WHERE (SELECT ok FROM free) AND q.queue = @queue AND (@principal::text IS NULL OR j.principal = @principal) AND q.claimed_at IS NULL AND j.state = 'queued' AND (@any_workflow OR j.workflow = ANY(@workflows)) " +
        "ORDER BY q.priority DESC, q.enqueued_at, q.job_id LIMIT 1 FOR UPDATE OF q, j SKIP LOCKED), " +
        "marked AS (UPDATE job_queue_entries SET claimed_at = @now, claimed_by = @by FROM picked WHERE job_queue_entries.job_id = picked.job_id AND job_queue_entries.claimed_at IS NULL RETURNING job_queue_entries.job_id), " +
        "moved AS (UPDATE jobs SET state = 'running', updated_at = @now, lease_session_id = @lease_session_id, lease_host = @lease_host, lease_process_id = @lease_process_id, " +
        "lease_process_started = @lease_process_started, lease_expires_at = @lease_expires_at FROM marked WHERE jobs.job_id = marked.job_id RETURNING jobs.job_id) " +
        $"SELECT {PickedColumns}, (SELECT concurrency FROM lim), (SELECT ok FROM free), " +
        // A pick whose entry was not marked or whose job was not moved fails the statement (division by zero), so a
        // COMMIT sent in the same batch never commits half a claim.
        "1 / (CASE WHEN (SELECT COUNT(*) FROM picked) = (SELECT COUNT(*) FROM marked) AND (SELECT COUNT(*) FROM marked) = (SELECT COUNT(*) FROM moved) THEN 1 ELSE 0 END) " +
        "FROM (SELECT 1) AS one LEFT JOIN picked ON true";

    private const string DivisionByZero = "22012";

    public Task<QueueClaimOutcome> TryClaimNextAsync(QueueClaim claim, CancellationToken cancellationToken) =>
        RunAsync(() => ClaimNextAsync(claim, commit: false, cancellationToken), cancellationToken);

    public Task<QueueClaimOutcome> TryClaimNextAndCommitAsync(QueueClaim claim, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var outcome = await ClaimNextAsync(claim, commit: true, cancellationToken).ConfigureAwait(false);
            await FinishAsync().ConfigureAwait(false);
            return outcome;
        }, cancellationToken);

    /// <summary>One round trip: the lock, the claim and, with <paramref name="commit"/>, the <c>COMMIT</c>.</summary>
    private async Task<QueueClaimOutcome> ClaimNextAsync(QueueClaim claim, bool commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (localCommitPending)
        {
            localCommitPending = false;
            batch.BatchCommands.Add(new NpgsqlBatchCommand(LocalCommitSql));
        }

        var lockLimit = new NpgsqlBatchCommand(LockLimitSql);
        Text(lockLimit.Parameters, "queue", claim.Queue);
        batch.BatchCommands.Add(lockLimit);
        var claimNext = new NpgsqlBatchCommand(ClaimNextSql);
        var parameters = claimNext.Parameters;
        Text(parameters, "queue", claim.Queue);
        parameters.Add(new NpgsqlParameter("slot_free", NpgsqlDbType.Boolean) { Value = claim.SlotFree });
        Time(parameters, "now", claim.Now);
        Time(parameters, "since", claim.ClaimedSince);
        Text(parameters, "principal", claim.Principal);
        parameters.Add(new NpgsqlParameter("any_workflow", NpgsqlDbType.Boolean) { Value = claim.Workflows is null });
        parameters.Add(new NpgsqlParameter("workflows", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = (claim.Workflows ?? []).ToArray() });
        Text(parameters, "by", claim.ClaimedBy);
        Text(parameters, "lease_session_id", claim.Lease.SessionId);
        Text(parameters, "lease_host", claim.Lease.Host);
        Integer(parameters, "lease_process_id", claim.Lease.ProcessId);
        Time(parameters, "lease_process_started", claim.Lease.ProcessStartedAt);
        Time(parameters, "lease_expires_at", claim.Lease.ExpiresAt);
        batch.BatchCommands.Add(claimNext);
        if (commit)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(CommitSql));
        }

        try
        {
            var reader = await batch.Positional().ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                // The lock's row (if any) comes first; the claim's one row second.
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                }

                if (!await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) || !await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new StoreException(StoreErrorKind.Corrupt, $"The claim on queue '{claim.Queue}' returned no row.");
                }

                int? limit = reader.IsDBNull(ClaimFigures) ? null : reader.GetInt32(ClaimFigures);
                var outcome = !reader.GetBoolean(ClaimFigures + 1)
                    ? new QueueClaimOutcome(limit, Full: true, null)
                    : reader.IsDBNull(0)
                        ? new QueueClaimOutcome(limit, Full: false, null)
                        : new QueueClaimOutcome(limit, Full: false, ReadJob(reader) with { State = JobStates.Running, Lease = claim.Lease, UpdatedAt = claim.Now });

                // Every result is read, so a failing COMMIT surfaces here.
                while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                {
                }

                return outcome;
            }
        }
        catch (PostgresException ex) when (ex.SqlState == DivisionByZero && ReferenceEquals(ex.BatchCommand, claimNext))
        {
            throw new StoreException(StoreErrorKind.Corrupt, $"A queue entry of '{claim.Queue}' vanished or was claimed twice during a claim.", ex);
        }
    }

    public Task MarkClaimedAsync(string jobId, string claimedBy, DateTimeOffset claimedAt, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command("UPDATE job_queue_entries SET claimed_at = @at, claimed_by = @by WHERE job_id = @job_id AND claimed_at IS NULL;");
            Text(command, "job_id", jobId);
            Text(command, "by", claimedBy);
            Time(command, "at", claimedAt);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1
                ? true
                : throw new StoreException(StoreErrorKind.Corrupt, $"Queue entry of job '{jobId}' vanished or was claimed twice.");
        }, cancellationToken);

    public Task<bool> ClearClaimAsync(string jobId, string claimedBy, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command("UPDATE job_queue_entries SET claimed_at = NULL, claimed_by = NULL WHERE job_id = @job_id AND claimed_by = @by;");
            Text(command, "job_id", jobId);
            Text(command, "by", claimedBy);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task<QueueEntry?> GetQueueEntryAsync(string jobId, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command($"SELECT {QueueEntryColumns} FROM job_queue_entries q WHERE q.job_id = @job_id;");
            Text(command, "job_id", jobId);
            return (await ReadAllAsync(command, ReadQueueEntry, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        }, cancellationToken);

    public Task<IReadOnlyList<JobRecord>> ListUnfinishedJobsAsync(CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<JobRecord>>(async () =>
        {
            await using var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE state IN ('running', 'blocked') ORDER BY created_at, job_id;");
            return await ReadAllAsync(command, ReadJob, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> TryInsertScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command(
                $"INSERT INTO schedules ({ScheduleColumns}) VALUES (@principal, @name, @cron, @time_zone, @workflow, @inputs, @queue, @missed, @next, @last, @created, @script, @script_hash, @script_version) " +
                "ON CONFLICT (principal, name) DO NOTHING;");
            Text(command, "principal", schedule.Principal);
            Text(command, "name", schedule.Name);
            Text(command, "cron", schedule.Cron);
            Text(command, "time_zone", schedule.TimeZone);
            Text(command, "workflow", schedule.Workflow);
            Text(command, "inputs", schedule.Inputs);
            Text(command, "queue", schedule.Queue);
            Text(command, "missed", schedule.Missed);
            Time(command, "next", schedule.NextFireAt);
            Time(command, "last", schedule.LastFireAt);
            Time(command, "created", schedule.CreatedAt);
            Text(command, "script", schedule.Steps?.Script);
            Text(command, "script_hash", schedule.Steps?.ContentHash);
            Text(command, "script_version", schedule.Steps?.Version);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(string principal, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<ScheduleRecord>>(async () =>
        {
            await using var command = Command($"SELECT {ScheduleColumns} FROM schedules WHERE principal = @principal ORDER BY name;");
            Text(command, "principal", principal);
            return await ReadAllAsync(command, ReadSchedule, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<ScheduleRecord>> ListDueSchedulesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<ScheduleRecord>>(async () =>
        {
            await using var command = Command($"SELECT {ScheduleColumns} FROM schedules WHERE next_fire_at <= @now ORDER BY next_fire_at, principal, name LIMIT @limit FOR UPDATE SKIP LOCKED;");
            Time(command, "now", now);
            Integer(command, "limit", limit);
            return await ReadAllAsync(command, ReadSchedule, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task UpdateScheduleFireAsync(string principal, string name, DateTimeOffset nextFireAt, DateTimeOffset? lastFireAt, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command("UPDATE schedules SET next_fire_at = @next, last_fire_at = COALESCE(@last, last_fire_at) WHERE principal = @principal AND name = @name;");
            Text(command, "principal", principal);
            Text(command, "name", name);
            Time(command, "next", nextFireAt);
            Time(command, "last", lastFireAt);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> DeleteScheduleAsync(string principal, string name, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await using var command = Command("DELETE FROM schedules WHERE principal = @principal AND name = @name;");
            Text(command, "principal", principal);
            Text(command, "name", name);
            return await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    private static QueueEntry ReadQueueEntry(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt32(2), ReadTime(r, 3))
    {
        ClaimedAt = r.IsDBNull(4) ? null : ReadTime(r, 4),
        ClaimedBy = r.IsDBNull(5) ? null : r.GetString(5),
    };

    private static ScheduleRecord ReadSchedule(NpgsqlDataReader r) => new()
    {
        Principal = r.GetString(0),
        Name = r.GetString(1),
        Cron = r.GetString(2),
        TimeZone = r.GetString(3),
        Workflow = r.GetString(4),
        Inputs = r.GetString(5),
        Queue = r.GetString(6),
        Missed = r.GetString(7),
        NextFireAt = ReadTime(r, 8),
        LastFireAt = r.IsDBNull(9) ? null : ReadTime(r, 9),
        CreatedAt = ReadTime(r, 10),
        Steps = r.IsDBNull(11) ? null : new(r.GetString(11), r.GetString(12), r.IsDBNull(13) ? null : r.GetString(13)),
    };
}
