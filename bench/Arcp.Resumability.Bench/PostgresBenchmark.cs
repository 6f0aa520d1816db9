using System.Diagnostics;
using Npgsql;

namespace Arcp.Resumability.Bench;

/// <summary>
/// The PostgreSQL part: a checkpointed step on a PostgreSQL store, each followed by one bare commit of the same
/// bytes (both envelopes in one transaction, a prepared insert, synchronous_commit on) on the same server, so load
/// swings hit both. Everything lives in a schema of its own, dropped at the end.
/// </summary>
internal static class PostgresBenchmark
{
    public static async Task<(Summary Step, Summary Bare)> RunAsync(string connectionString, StepBytes bytes, BenchOptions options, CancellationToken cancellationToken)
    {
        var schema = "arcp_bench_" + Guid.NewGuid().ToString("N");
        await ExecuteAsync(connectionString, $"CREATE SCHEMA {schema}; CREATE TABLE {schema}.records (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL);", cancellationToken);
        try
        {
            var storeSpec = new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema }.ConnectionString;
            await using var steps = await StepBenchmark.OpenAsync(storeSpec, options.StepsPerJob, Math.Min(options.WarmupSteps, 300), cancellationToken);
            await using var bare = await BareCommit.OpenAsync(connectionString, schema, bytes, cancellationToken);
            var stepSamples = new List<double>();
            while (stepSamples.Count < options.Steps / 2)
            {
                var job = await steps.RunJobAsync(bare.MeasureOne, cancellationToken);
                stepSamples.AddRange(job.StepIntervals);
            }

            return (Summary.Of(stepSamples), Summary.Of(bare.Samples));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(connectionString, $"DROP SCHEMA {schema} CASCADE;", CancellationToken.None);
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>One open connection committing a step's two envelopes per transaction.</summary>
    private sealed class BareCommit(NpgsqlConnection connection, NpgsqlCommand insert, StepBytes bytes) : IAsyncDisposable
    {
        public List<double> Samples { get; } = [];

        public static async Task<BareCommit> OpenAsync(string connectionString, string schema, StepBytes bytes, CancellationToken cancellationToken)
        {
            var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            var insert = new NpgsqlCommand($"INSERT INTO {schema}.records (body) VALUES (@body);", connection);
            insert.Parameters.Add(new NpgsqlParameter("body", NpgsqlTypes.NpgsqlDbType.Text));
            await insert.PrepareAsync(cancellationToken);
            return new BareCommit(connection, insert, bytes);
        }

        /// <summary>Runs between two steps, on the step's thread: the synchronous API keeps it a plain commit.</summary>
        public void MeasureOne()
        {
            var started = Stopwatch.GetTimestamp();
            using var transaction = connection.BeginTransaction();
            insert.Transaction = transaction;
            foreach (var body in new[] { bytes.ProgressEnvelope, bytes.CheckpointEnvelope })
            {
                insert.Parameters[0].Value = body;
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
            Samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        public async ValueTask DisposeAsync()
        {
            await insert.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
