using System.Data.Common;

namespace Arcp.Resumability.Store;

/// <summary>
/// Column lists and row readers both stores share. The schemas differ only in how a timestamp is
/// stored (text in SQLite, timestamptz in PostgreSQL), so each store passes its own timestamp reader.
/// </summary>
internal static class StoreRows
{
    public const string JobColumns =
        "job_id, principal, workflow, name, state, inputs, idempotency_key, result, error, last_checkpoint_id, last_message_id, created_at, updated_at, " +
        "lease_session_id, lease_host, lease_process_id, lease_process_started, lease_expires_at";

    /// <summary>What reads select: the written columns plus the retention watermark, which only purges change.</summary>
    public const string JobReadColumns = JobColumns + ", purged_through_sequence, retry_of";

    public const string CheckpointColumns = "checkpoint_id, job_id, step_index, step, message_id, idempotency_key, created_at, output, definition_version, started_at, attempts, duration_ms";

    public const string DefinitionColumns = "job_id, principal, kind, reference, content_hash, version, script, recorded_at";

    /// <summary>
    /// A job's definition as its job holds it: a row whose principal is not the job's (planted by another writer of a
    /// shared store) is left out, so a definition read shows that the job exists and whose it is.
    /// </summary>
    public const string DefinitionOfItsJob =
        "SELECT d.job_id, d.principal, d.kind, d.reference, d.content_hash, d.version, d.script, d.recorded_at " +
        "FROM job_definitions d JOIN jobs j ON j.job_id = d.job_id AND j.principal = d.principal WHERE d.job_id = ";

    public const string EventColumns = "e.sequence, e.message_id, e.type, e.direction, e.session_id, e.job_id, e.correlation_id, e.created_at, e.envelope, e.output_at, c.output";

    /// <summary>Events with the output of the checkpoint a <c>job.checkpoint</c> event was cut from (see <see cref="CheckpointOutputs"/>).</summary>
    public const string EventSource = "events e LEFT JOIN checkpoints c ON e.output_at IS NOT NULL AND c.message_id = e.message_id";

    public static string? NullableString(DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    public static JobRecord ReadJob(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> readTime) => new()
    {
        JobId = r.GetString(0),
        Principal = r.GetString(1),
        Workflow = r.GetString(2),
        Name = NullableString(r, 3),
        State = r.GetString(4),
        Inputs = r.GetString(5),
        IdempotencyKey = NullableString(r, 6),
        Result = NullableString(r, 7),
        Error = NullableString(r, 8),
        LastCheckpointId = NullableString(r, 9),
        LastMessageId = NullableString(r, 10),
        CreatedAt = readTime(r, 11),
        UpdatedAt = readTime(r, 12),
        Lease = r.IsDBNull(13) ? null : new JobLease(r.GetString(13), r.GetString(14), r.GetInt32(15), readTime(r, 16), readTime(r, 17)),
        PurgedThroughSequence = r.GetInt64(18),
        RetryOf = NullableString(r, 19),
    };

    public static CheckpointRecord ReadCheckpoint(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> readTime) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), readTime(r, 6), r.GetString(7))
        {
            DefinitionVersion = NullableString(r, 8),
            StartedAt = r.IsDBNull(9) ? null : readTime(r, 9),
            Attempts = r.IsDBNull(10) ? null : Convert.ToInt32(r.GetValue(10), System.Globalization.CultureInfo.InvariantCulture),
            DurationMs = r.IsDBNull(11) ? null : Convert.ToInt64(r.GetValue(11), System.Globalization.CultureInfo.InvariantCulture),
        };

    public static StoredEvent ReadEvent(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> readTime) => new(
        r.GetInt64(0),
        r.GetString(1),
        r.GetString(2),
        r.GetString(3) == "in" ? EventDirection.Inbound : EventDirection.Outbound,
        NullableString(r, 4),
        NullableString(r, 5),
        NullableString(r, 6),
        readTime(r, 7),
        r.IsDBNull(9) ? r.GetString(8) : CheckpointOutputs.Splice(r.GetString(8), Convert.ToInt32(r.GetValue(9), System.Globalization.CultureInfo.InvariantCulture), NullableString(r, 10)));

    public static JobDefinitionRecord ReadDefinition(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> readTime) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), NullableString(r, 5), NullableString(r, 6), readTime(r, 7));
}
