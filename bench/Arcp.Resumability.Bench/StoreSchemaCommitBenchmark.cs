using System.Globalization;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Bench;

/// <summary>
/// A step's writes without the module's code: plain Microsoft.Data.Sqlite statements writing what one step stores
/// (its progress and checkpoint events, the checkpoints row with its output, the job row's update) into a file the
/// SQLite store created, so with the store's tables, indexes, <c>AUTOINCREMENT</c> and incremental auto-vacuum, in one
/// durable (FULL) transaction. Between the bare one-table commit and the step, it tells what the store's schema costs
/// a commit from what the runner, runtime and store code add.
/// </summary>
internal sealed class StoreSchemaCommitBenchmark : BareTransactionBenchmark
{
    private const string DefinitionVersion = "sha256:0000000000000000";

    private readonly SqliteConnection connection;
    private readonly SqliteCommand insertEvent;
    private readonly SqliteCommand insertCheckpoint;
    private readonly SqliteCommand updateJob;
    private readonly StepBytes bytes;
    private readonly string jobId = ArcpId.NewJobId();
    private readonly string sessionId = ArcpId.NewSessionId();
    private int stepIndex;

    private StoreSchemaCommitBenchmark(SqliteConnection connection, StepBytes bytes)
    {
        this.connection = connection;
        this.bytes = bytes;
        insertEvent = Prepare(
            "INSERT INTO events (message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope, output_at) " +
            "VALUES ($message_id, $type, 'in', $session_id, $job_id, NULL, $created_at, $envelope, $output_at);",
            "$message_id", "$type", "$session_id", "$job_id", "$created_at", "$envelope", "$output_at");
        insertCheckpoint = Prepare(
            "INSERT INTO checkpoints (checkpoint_id, job_id, step_index, step, message_id, idempotency_key, created_at, output, definition_version, started_at, attempts, duration_ms) " +
            "VALUES ($checkpoint_id, $job_id, $step_index, $step, $message_id, $idempotency_key, $created_at, $output, $definition_version, $created_at, 1, 0);",
            "$checkpoint_id", "$job_id", "$step_index", "$step", "$message_id", "$idempotency_key", "$created_at", "$output", "$definition_version");
        updateJob = Prepare(
            "UPDATE jobs SET last_checkpoint_id = $checkpoint_id, last_message_id = $message_id, updated_at = $updated_at, lease_expires_at = $lease_expires_at WHERE job_id = $job_id;",
            "$checkpoint_id", "$message_id", "$updated_at", "$lease_expires_at", "$job_id");
    }

    /// <summary>Creates the store file at <paramref name="path"/> with the store's own migrations, then one running job to write steps for.</summary>
    public static async Task<StoreSchemaCommitBenchmark> OpenAsync(string path, StepBytes bytes, CancellationToken cancellationToken)
    {
        await (await SqliteArcpStore.OpenAsync(path, cancellationToken)).DisposeAsync();
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        try
        {
            connection.Open();
            foreach (var pragma in new[] { "PRAGMA journal_mode = WAL;", "PRAGMA synchronous = FULL;", "PRAGMA foreign_keys = ON;" })
            {
                using var command = connection.CreateCommand();
                command.CommandText = pragma;
                command.ExecuteNonQuery();
            }

            var benchmark = new StoreSchemaCommitBenchmark(connection, bytes);
            benchmark.InsertJob();
            return benchmark;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public override void Dispose()
    {
        insertEvent.Dispose();
        insertCheckpoint.Dispose();
        updateJob.Dispose();
        connection.Dispose();
    }

    protected override void RunTransaction()
    {
        var now = Now();
        var progressId = ArcpId.NewMessageId();
        var checkpointMessageId = ArcpId.NewMessageId();
        var checkpointId = ArcpId.NewCheckpointId();
        var step = "step" + stepIndex.ToString(CultureInfo.InvariantCulture);
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(insertEvent, transaction, progressId, "job.progress", sessionId, jobId, now, bytes.ProgressEnvelope, DBNull.Value);
        Execute(insertEvent, transaction, checkpointMessageId, "job.checkpoint", sessionId, jobId, now, bytes.CheckpointEnvelope, bytes.OutputAt);
        Execute(insertCheckpoint, transaction, checkpointId, jobId, stepIndex, step, checkpointMessageId, $"inline:{jobId}:{step}", now, bytes.Output, DefinitionVersion);
        Execute(updateJob, transaction, checkpointId, checkpointMessageId, now, Now(TimeSpan.FromMinutes(1)), jobId);
        transaction.Commit();
        stepIndex++;
    }

    private static string Now(TimeSpan later = default) => (DateTime.UtcNow + later).ToString("O", CultureInfo.InvariantCulture);

    private static void Execute(SqliteCommand command, SqliteTransaction transaction, params object[] values)
    {
        command.Transaction = transaction;
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }

        command.ExecuteNonQuery();
    }

    private void InsertJob()
    {
        using var insert = connection.CreateCommand();
        insert.CommandText =
            "INSERT INTO jobs (job_id, principal, workflow, state, inputs, created_at, updated_at, lease_session_id, lease_host, lease_process_id, lease_process_started, lease_expires_at) " +
            "VALUES ($job_id, 'local:bench', 'bench-noop', 'running', 'null', $now, $now, $session_id, 'bench', $process_id, $now, $now);";
        insert.Parameters.AddWithValue("$job_id", jobId);
        insert.Parameters.AddWithValue("$now", Now());
        insert.Parameters.AddWithValue("$session_id", sessionId);
        insert.Parameters.AddWithValue("$process_id", Environment.ProcessId);
        insert.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }
}
