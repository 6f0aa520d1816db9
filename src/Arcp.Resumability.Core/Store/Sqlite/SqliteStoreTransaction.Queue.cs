using Microsoft.Data.Sqlite;
using static Arcp.Resumability.Store.Sqlite.SqliteValues;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>Queue and schedule rows. The transaction is the only writer of the file, so a read-then-claim is atomic as it stands.</summary>
internal sealed partial class SqliteStoreTransaction
{
    private const string QueueEntryColumns = "q.job_id, q.queue, q.priority, q.enqueued_at, q.claimed_at, q.claimed_by";

    private const string ScheduleColumns = "principal, name, cron, time_zone, workflow, inputs, queue, missed, next_fire_at, last_fire_at, created_at, script, script_hash, script_version";

    public Task InsertQueueEntryAsync(QueueEntry entry, CancellationToken cancellationToken)
    {
        var command = Command("INSERT INTO job_queue_entries (job_id, queue, priority, enqueued_at) VALUES ($job_id, $queue, $priority, $enqueued_at);");
        Add(command, "$job_id", entry.JobId);
        Add(command, "$queue", entry.Queue);
        Add(command, "$priority", entry.Priority);
        Add(command, "$enqueued_at", Time(entry.EnqueuedAt));
        return Run(command.ExecuteNonQuery);
    }

    public Task<IReadOnlyList<string>> ListQueuesWithWorkAsync(CancellationToken cancellationToken)
    {
        var command = Command("SELECT DISTINCT queue FROM job_queue_entries WHERE claimed_at IS NULL ORDER BY queue;");
        return Run<IReadOnlyList<string>>(() => SqliteArcpStore.ReadAll(command, r => r.GetString(0)));
    }

    public Task<int?> LockQueueAsync(string queue, CancellationToken cancellationToken)
    {
        var command = Command("SELECT concurrency FROM queues WHERE name = $name;");
        Add(command, "$name", queue);
        return Run(() => command.ExecuteScalar() is long limit ? (int?)checked((int)limit) : null);
    }

    public Task SetQueueConcurrencyAsync(string queue, int? concurrency, CancellationToken cancellationToken)
    {
        var command = Command("INSERT INTO queues (name, concurrency) VALUES ($name, $concurrency) ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency;");
        Add(command, "$name", queue);
        Add(command, "$concurrency", concurrency);
        return Run(command.ExecuteNonQuery);
    }

    public Task<int> CountActiveAsync(string queue, DateTimeOffset now, DateTimeOffset claimedSince, CancellationToken cancellationToken)
    {
        var command = Command(
            "SELECT COUNT(*) FROM job_queue_entries q JOIN jobs j ON j.job_id = q.job_id " +
            "WHERE q.queue = $queue AND j.state = 'running' " +
            "AND ((j.lease_expires_at IS NOT NULL AND j.lease_expires_at > $now) OR (j.lease_expires_at IS NULL AND q.claimed_at > $since));");
        Add(command, "$queue", queue);
        Add(command, "$now", Time(now));
        Add(command, "$since", Time(claimedSince));
        return Run(() => Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
    }

    public Task<IReadOnlyList<JobRecord>> ListActiveJobsAsync(string queue, DateTimeOffset now, DateTimeOffset claimedSince, CancellationToken cancellationToken)
    {
        var command = Command(
            $"SELECT {JobReadColumns} FROM jobs WHERE state = 'running' AND job_id IN (SELECT q.job_id FROM job_queue_entries q WHERE q.queue = $queue " +
            "AND ((jobs.lease_expires_at IS NOT NULL AND jobs.lease_expires_at > $now) OR (jobs.lease_expires_at IS NULL AND q.claimed_at > $since))) ORDER BY job_id;");
        Add(command, "$queue", queue);
        Add(command, "$now", Time(now));
        Add(command, "$since", Time(claimedSince));
        return Run<IReadOnlyList<JobRecord>>(() => SqliteArcpStore.ReadAll(command, ReadJob));
    }

    /// <summary>A queue's claimable entries in claim order; given a count, only jobs of the workflows bound as $w0, $w1, ...</summary>
    internal static string ListClaimableSql(int? workflows)
    {
        var workflowFilter = workflows is { } count ? $" AND j.workflow IN ({string.Join(", ", Enumerable.Range(0, count).Select(i => $"$w{i}"))})" : string.Empty;
        return $"SELECT {QueueEntryColumns} FROM job_queue_entries q JOIN jobs j ON j.job_id = q.job_id " +
            $"WHERE q.queue = $queue AND ($principal IS NULL OR j.principal = $principal) AND q.claimed_at IS NULL AND j.state = 'queued'{workflowFilter} " +
            "ORDER BY q.priority DESC, q.enqueued_at, q.job_id LIMIT $limit;";
    }

    public Task<IReadOnlyList<QueueEntry>> ListClaimableAsync(string queue, string? principal, IReadOnlyCollection<string>? workflows, int limit, CancellationToken cancellationToken)
    {
        // Workflow names are bound one parameter each; the count is the caller's filter, never a stored value.
        var names = workflows?.ToList() ?? [];
        if (workflows is { Count: 0 })
        {
            return Task.FromResult<IReadOnlyList<QueueEntry>>([]);
        }

        var command = Command(ListClaimableSql(workflows is null ? null : names.Count));
        Add(command, "$queue", queue);
        Add(command, "$principal", principal);
        Add(command, "$limit", limit);
        for (var i = 0; i < names.Count; i++)
        {
            Add(command, $"$w{i}", names[i]);
        }

        return Run<IReadOnlyList<QueueEntry>>(() => SqliteArcpStore.ReadAll(command, ReadQueueEntry));
    }

    public Task MarkClaimedAsync(string jobId, string claimedBy, DateTimeOffset claimedAt, CancellationToken cancellationToken)
    {
        var command = Command("UPDATE job_queue_entries SET claimed_at = $at, claimed_by = $by WHERE job_id = $job_id AND claimed_at IS NULL;");
        Add(command, "$job_id", jobId);
        Add(command, "$by", claimedBy);
        Add(command, "$at", Time(claimedAt));
        return Run(() => command.ExecuteNonQuery() == 1 ? 1 : throw new StoreException(StoreErrorKind.Corrupt, $"Queue entry of job '{jobId}' vanished or was claimed twice."));
    }

    // In process, statements cost no round trip: the single ones in turn.
    public Task<QueueClaimOutcome> TryClaimNextAsync(QueueClaim claim, CancellationToken cancellationToken) =>
        QueueClaimsInTurn.TryClaimNextAsync(this, claim, cancellationToken);

    public Task<QueueClaimOutcome> TryClaimNextAndCommitAsync(QueueClaim claim, CancellationToken cancellationToken) =>
        QueueClaimsInTurn.TryClaimNextAndCommitAsync(this, claim, cancellationToken);

    public Task<bool> ClearClaimAsync(string jobId, string claimedBy, CancellationToken cancellationToken)
    {
        var command = Command("UPDATE job_queue_entries SET claimed_at = NULL, claimed_by = NULL WHERE job_id = $job_id AND claimed_by = $by;");
        Add(command, "$job_id", jobId);
        Add(command, "$by", claimedBy);
        return Run(() => command.ExecuteNonQuery() == 1);
    }

    public Task<QueueEntry?> GetQueueEntryAsync(string jobId, CancellationToken cancellationToken)
    {
        var command = Command($"SELECT {QueueEntryColumns} FROM job_queue_entries q WHERE q.job_id = $job_id;");
        Add(command, "$job_id", jobId);
        return Run(() => SqliteArcpStore.ReadAll(command, ReadQueueEntry).FirstOrDefault());
    }

    public Task<IReadOnlyList<JobRecord>> ListUnfinishedJobsAsync(CancellationToken cancellationToken)
    {
        var command = Command($"SELECT {JobReadColumns} FROM jobs WHERE state IN ('running', 'blocked') ORDER BY created_at, job_id;");
        return Run<IReadOnlyList<JobRecord>>(() => SqliteArcpStore.ReadAll(command, ReadJob));
    }

    public Task<bool> TryInsertScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken)
    {
        var command = Command(
            $"INSERT INTO schedules ({ScheduleColumns}) VALUES ($principal, $name, $cron, $time_zone, $workflow, $inputs, $queue, $missed, $next, $last, $created, $script, $script_hash, $script_version) " +
            "ON CONFLICT (principal, name) DO NOTHING;");
        Add(command, "$principal", schedule.Principal);
        Add(command, "$name", schedule.Name);
        Add(command, "$cron", schedule.Cron);
        Add(command, "$time_zone", schedule.TimeZone);
        Add(command, "$workflow", schedule.Workflow);
        Add(command, "$inputs", schedule.Inputs);
        Add(command, "$queue", schedule.Queue);
        Add(command, "$missed", schedule.Missed);
        Add(command, "$next", Time(schedule.NextFireAt));
        Add(command, "$last", schedule.LastFireAt is { } last ? Time(last) : null);
        Add(command, "$created", Time(schedule.CreatedAt));
        Add(command, "$script", schedule.Steps?.Script);
        Add(command, "$script_hash", schedule.Steps?.ContentHash);
        Add(command, "$script_version", schedule.Steps?.Version);
        return Run(() => command.ExecuteNonQuery() == 1);
    }

    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(string principal, CancellationToken cancellationToken)
    {
        var command = Command($"SELECT {ScheduleColumns} FROM schedules WHERE principal = $principal ORDER BY name;");
        Add(command, "$principal", principal);
        return Run<IReadOnlyList<ScheduleRecord>>(() => SqliteArcpStore.ReadAll(command, ReadSchedule));
    }

    public Task<IReadOnlyList<ScheduleRecord>> ListDueSchedulesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var command = Command($"SELECT {ScheduleColumns} FROM schedules WHERE next_fire_at <= $now ORDER BY next_fire_at, principal, name LIMIT $limit;");
        Add(command, "$now", Time(now));
        Add(command, "$limit", limit);
        return Run<IReadOnlyList<ScheduleRecord>>(() => SqliteArcpStore.ReadAll(command, ReadSchedule));
    }

    public Task UpdateScheduleFireAsync(string principal, string name, DateTimeOffset nextFireAt, DateTimeOffset? lastFireAt, CancellationToken cancellationToken)
    {
        var command = Command("UPDATE schedules SET next_fire_at = $next, last_fire_at = COALESCE($last, last_fire_at) WHERE principal = $principal AND name = $name;");
        Add(command, "$principal", principal);
        Add(command, "$name", name);
        Add(command, "$next", Time(nextFireAt));
        Add(command, "$last", lastFireAt is { } last ? Time(last) : null);
        return Run(command.ExecuteNonQuery);
    }

    public Task<bool> DeleteScheduleAsync(string principal, string name, CancellationToken cancellationToken)
    {
        var command = Command("DELETE FROM schedules WHERE principal = $principal AND name = $name;");
        Add(command, "$principal", principal);
        Add(command, "$name", name);
        return Run(() => command.ExecuteNonQuery() == 1);
    }

    private static QueueEntry ReadQueueEntry(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt32(2), ParseTime(r.GetString(3)))
    {
        ClaimedAt = r.IsDBNull(4) ? null : ParseTime(r.GetString(4)),
        ClaimedBy = r.IsDBNull(5) ? null : r.GetString(5),
    };

    private static ScheduleRecord ReadSchedule(SqliteDataReader r) => new()
    {
        Principal = r.GetString(0),
        Name = r.GetString(1),
        Cron = r.GetString(2),
        TimeZone = r.GetString(3),
        Workflow = r.GetString(4),
        Inputs = r.GetString(5),
        Queue = r.GetString(6),
        Missed = r.GetString(7),
        NextFireAt = ParseTime(r.GetString(8)),
        LastFireAt = r.IsDBNull(9) ? null : ParseTime(r.GetString(9)),
        CreatedAt = ParseTime(r.GetString(10)),
        Steps = r.IsDBNull(11) ? null : new(r.GetString(11), r.GetString(12), r.IsDBNull(13) ? null : r.GetString(13)),
    };
}
