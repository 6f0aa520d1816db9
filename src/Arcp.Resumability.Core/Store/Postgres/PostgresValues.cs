using Npgsql;
using NpgsqlTypes;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>Column lists, parameter binding and row readers shared by the PostgreSQL store's commands.</summary>
internal static class PostgresValues
{
    public const string JobColumns =
        "job_id, principal, workflow, name, state, inputs, idempotency_key, result, error, last_checkpoint_id, last_message_id, created_at, updated_at, " +
        "lease_session_id, lease_host, lease_process_id, lease_process_started, lease_expires_at";

    /// <summary>What reads select: the written columns plus the retention watermark, which only purges change.</summary>
    public const string JobReadColumns = JobColumns + ", purged_through_sequence";

    public const string CheckpointColumns = "checkpoint_id, job_id, step_index, step, message_id, idempotency_key, created_at, output, definition_version";

    public const string EventColumns = "sequence, message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope";

    public static void Text(NpgsqlCommand command, string name, string? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });

    public static void Integer(NpgsqlCommand command, string name, int? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Integer) { Value = (object?)value ?? DBNull.Value });

    public static void Bigint(NpgsqlCommand command, string name, long value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Bigint) { Value = value });

    // timestamptz only takes UTC offsets; microseconds are its resolution, so sub-microsecond ticks are dropped.
    public static void Time(NpgsqlCommand command, string name, DateTimeOffset? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = value is { } v ? v.ToUniversalTime() : DBNull.Value });

    public static string? String(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static DateTimeOffset ReadTime(NpgsqlDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static JobRecord ReadJob(NpgsqlDataReader r) => new()
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
        CreatedAt = ReadTime(r, 11),
        UpdatedAt = ReadTime(r, 12),
        Lease = r.IsDBNull(13) ? null : new JobLease(r.GetString(13), r.GetString(14), r.GetInt32(15), ReadTime(r, 16), ReadTime(r, 17)),
        PurgedThroughSequence = r.GetInt64(18),
    };

    public static void BindJob(NpgsqlCommand c, JobRecord job)
    {
        Text(c, "job_id", job.JobId);
        Text(c, "principal", job.Principal);
        Text(c, "workflow", job.Workflow);
        Text(c, "name", job.Name);
        Text(c, "state", job.State);
        Text(c, "inputs", job.Inputs);
        Text(c, "idempotency_key", job.IdempotencyKey);
        Text(c, "result", job.Result);
        Text(c, "error", job.Error);
        Text(c, "last_checkpoint_id", job.LastCheckpointId);
        Text(c, "last_message_id", job.LastMessageId);
        Time(c, "created_at", job.CreatedAt);
        Time(c, "updated_at", job.UpdatedAt);
        Text(c, "lease_session_id", job.Lease?.SessionId);
        Text(c, "lease_host", job.Lease?.Host);
        Integer(c, "lease_process_id", job.Lease?.ProcessId);
        Time(c, "lease_process_started", job.Lease?.ProcessStartedAt);
        Time(c, "lease_expires_at", job.Lease?.ExpiresAt);
    }

    public static CheckpointRecord ReadCheckpoint(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), ReadTime(r, 6), r.GetString(7))
        {
            DefinitionVersion = r.IsDBNull(8) ? null : r.GetString(8),
        };

    public static StoredEvent ReadEvent(NpgsqlDataReader r) => new(
        r.GetInt64(0),
        r.GetString(1),
        r.GetString(2),
        r.GetString(3) == "in" ? EventDirection.Inbound : EventDirection.Outbound,
        String(r, 4),
        String(r, 5),
        String(r, 6),
        ReadTime(r, 7),
        r.GetString(8));

    public static async Task<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var items = new List<T>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(read(reader));
            }

            return items;
        }
    }

    /// <summary>Driver and server failures become <see cref="StoreException"/>s, which the runtime and cmdlets report.</summary>
    public static async Task<T> GuardAsync<T>(string location, Func<Task<T>> work)
    {
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (ex.InnerException is not OperationCanceledException)
        {
            throw new StoreException(StoreErrorKind.Unavailable, $"The store '{location}' failed: {ex.Message}", ex);
        }
    }
}
