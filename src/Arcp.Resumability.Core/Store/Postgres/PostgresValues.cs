using Npgsql;
using NpgsqlTypes;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>Column lists, parameter binding and row readers shared by the PostgreSQL store's commands.</summary>
internal static class PostgresValues
{
    public const string JobColumns = StoreRows.JobColumns;

    public const string JobReadColumns = StoreRows.JobReadColumns;

    public const string CheckpointColumns = StoreRows.CheckpointColumns;

    public const string EventColumns = StoreRows.EventColumns;

    public const string EventSource = StoreRows.EventSource;

    public static void Text(NpgsqlCommand command, string name, string? value) => Text(command.Parameters, name, value);

    public static void Integer(NpgsqlCommand command, string name, int? value) => Integer(command.Parameters, name, value);

    public static void Bigint(NpgsqlCommand command, string name, long value) => Bigint(command.Parameters, name, value);

    public static void Time(NpgsqlCommand command, string name, DateTimeOffset? value) => Time(command.Parameters, name, value);

    public static void Text(NpgsqlParameterCollection parameters, string name, string? value) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });

    public static void Integer(NpgsqlParameterCollection parameters, string name, int? value) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Integer) { Value = (object?)value ?? DBNull.Value });

    public static void Bigint(NpgsqlParameterCollection parameters, string name, long value) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Bigint) { Value = value });

    // timestamptz only takes UTC offsets; microseconds are its resolution, so sub-microsecond ticks are dropped.
    public static void Time(NpgsqlParameterCollection parameters, string name, DateTimeOffset? value) =>
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = value is { } v ? v.ToUniversalTime() : DBNull.Value });

    public static DateTimeOffset ReadTime(System.Data.Common.DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static JobRecord ReadJob(NpgsqlDataReader r) => StoreRows.ReadJob(r, ReadTime);

    public static void BindJob(NpgsqlCommand command, JobRecord job) => BindJob(command.Parameters, job);

    public static void BindJob(NpgsqlParameterCollection c, JobRecord job)
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

    public static CheckpointRecord ReadCheckpoint(NpgsqlDataReader r) => StoreRows.ReadCheckpoint(r, ReadTime);

    public static StoredEvent ReadEvent(NpgsqlDataReader r) => StoreRows.ReadEvent(r, ReadTime);

    public static async Task<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var reader = await command.Positional().ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
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
            throw new StoreException(Kind(ex), $"The store '{location}' failed: {Describe(ex)}", ex);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            // Npgsql lets a failed host name lookup through unwrapped.
            throw new StoreException(StoreErrorKind.Unavailable, $"The store '{location}' failed: {ex.Message}", ex);
        }
    }

    // Npgsql words a cut connection as "Exception while reading from stream"; what the socket said is the useful part.
    private static string Describe(NpgsqlException exception) => exception is not PostgresException && exception.InnerException is { } cause
        ? $"the connection to the PostgreSQL server was lost ({cause.Message.TrimEnd('.')})."
        : exception.Message;

    // The SQLSTATE classes the SQLite store maps the same way (https://www.postgresql.org/docs/current/errcodes-appendix.html):
    // 53 insufficient resources (disk full, out of memory, too many connections), XX001/XX002 damaged data or index.
    private static StoreErrorKind Kind(NpgsqlException exception) => exception is PostgresException server
        ? server.SqlState switch
        {
            ['5', '3', _, _, _] => StoreErrorKind.Exhausted,
            "XX001" or "XX002" => StoreErrorKind.Corrupt,
            _ => StoreErrorKind.Unavailable,
        }
        : StoreErrorKind.Unavailable;
}
