using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>Column conversions shared by the SQLite store's commands and readers.</summary>
internal static class SqliteValues
{
    // Fixed-width UTC text sorts in time order, which the ORDER BY and expiry comparisons rely on.
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static object OrNull(object? value) => value ?? DBNull.Value;

    public static string? String(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static void Add(SqliteCommand command, string name, object? value) => command.Parameters.AddWithValue(name, OrNull(value));

    public const string JobColumns =
        "job_id, principal, workflow, name, state, inputs, idempotency_key, result, error, last_checkpoint_id, last_message_id, created_at, updated_at, " +
        "lease_session_id, lease_host, lease_process_id, lease_process_started, lease_expires_at";

    /// <summary>What reads select: the written columns plus the retention watermark, which only purges change.</summary>
    public const string JobReadColumns = JobColumns + ", purged_through_sequence";

    public static JobRecord ReadJob(SqliteDataReader r) => new()
    {
        JobId = r.GetString(0),
        Principal = r.GetString(1),
        Workflow = r.GetString(2),
        Name = String(r, 3),
        State = r.GetString(4),
        Inputs = r.GetString(5),
        IdempotencyKey = String(r, 6),
        Result = String(r, 7),
        Error = String(r, 8),
        LastCheckpointId = String(r, 9),
        LastMessageId = String(r, 10),
        CreatedAt = ParseTime(r.GetString(11)),
        UpdatedAt = ParseTime(r.GetString(12)),
        Lease = r.IsDBNull(13)
            ? null
            : new JobLease(r.GetString(13), r.GetString(14), r.GetInt32(15), ParseTime(r.GetString(16)), ParseTime(r.GetString(17))),
        PurgedThroughSequence = r.GetInt64(18),
    };

    public static void BindJob(SqliteCommand c, JobRecord job)
    {
        Add(c, "$job_id", job.JobId);
        Add(c, "$principal", job.Principal);
        Add(c, "$workflow", job.Workflow);
        Add(c, "$name", job.Name);
        Add(c, "$state", job.State);
        Add(c, "$inputs", job.Inputs);
        Add(c, "$idempotency_key", job.IdempotencyKey);
        Add(c, "$result", job.Result);
        Add(c, "$error", job.Error);
        Add(c, "$last_checkpoint_id", job.LastCheckpointId);
        Add(c, "$last_message_id", job.LastMessageId);
        Add(c, "$created_at", Time(job.CreatedAt));
        Add(c, "$updated_at", Time(job.UpdatedAt));
        Add(c, "$lease_session_id", job.Lease?.SessionId);
        Add(c, "$lease_host", job.Lease?.Host);
        Add(c, "$lease_process_id", job.Lease?.ProcessId);
        Add(c, "$lease_process_started", job.Lease is null ? null : Time(job.Lease.ProcessStartedAt));
        Add(c, "$lease_expires_at", job.Lease is null ? null : Time(job.Lease.ExpiresAt));
    }

    public const string CheckpointColumns = "checkpoint_id, job_id, step_index, step, message_id, idempotency_key, created_at, output, definition_version";

    public static CheckpointRecord ReadCheckpoint(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), ParseTime(r.GetString(6)), r.GetString(7))
        {
            DefinitionVersion = r.IsDBNull(8) ? null : r.GetString(8),
        };

    public const string EventColumns = "sequence, message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope";

    public static StoredEvent ReadEvent(SqliteDataReader r) => new(
        r.GetInt64(0),
        r.GetString(1),
        r.GetString(2),
        r.GetString(3) == "in" ? EventDirection.Inbound : EventDirection.Outbound,
        String(r, 4),
        String(r, 5),
        String(r, 6),
        ParseTime(r.GetString(7)),
        r.GetString(8));
}
