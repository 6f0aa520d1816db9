using System.Globalization;
using Arcp.Resumability.Protocol;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>Column conversions shared by the SQLite store's commands and readers.</summary>
internal static class SqliteValues
{
    // Fixed-width UTC text sorts in time order, which the ORDER BY and expiry comparisons rely on.
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <remarks>A UTC time's round-trip ("O") form is exactly <see cref="TimeFormat"/>, and .NET formats it on a fast path.</remarks>
    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <remarks>Read digit by digit when it has the shape <see cref="Time"/> writes, as nearly every stored time has.</remarks>
    public static DateTimeOffset ParseTime(string text) =>
        UtcTimestamps.TryParseFixed(text, 7, out var value)
            ? value
            : DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static object OrNull(object? value) => value ?? DBNull.Value;

    /// <summary>
    /// Sets a parameter of a cached command: its parameter from the last run gets the new value (a step runs about 50
    /// parameters, so new ones each time were 3 KB of garbage per step). Each SQL text is bound by one piece of code,
    /// which sets every parameter every time, so no value of an earlier run is ever left in place.
    /// </summary>
    public static void Add(SqliteCommand command, string name, object? value)
    {
        var parameters = command.Parameters;
        var index = parameters.IndexOf(name);
        if (index >= 0)
        {
            parameters[index].Value = OrNull(value);
        }
        else
        {
            parameters.AddWithValue(name, OrNull(value));
        }
    }

    public const string JobColumns = StoreRows.JobColumns;

    public const string JobReadColumns = StoreRows.JobReadColumns;

    public static JobRecord ReadJob(SqliteDataReader r) => StoreRows.ReadJob(r, ReadTimeColumn);

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

    public const string CheckpointColumns = StoreRows.CheckpointColumns;

    public static CheckpointRecord ReadCheckpoint(SqliteDataReader r) => StoreRows.ReadCheckpoint(r, ReadTimeColumn);

    public const string EventColumns = StoreRows.EventColumns;

    public const string EventSource = StoreRows.EventSource;

    public static StoredEvent ReadEvent(SqliteDataReader r) => StoreRows.ReadEvent(r, ReadTimeColumn);

    private static DateTimeOffset ReadTimeColumn(System.Data.Common.DbDataReader r, int ordinal) => ParseTime(r.GetString(ordinal));
}
