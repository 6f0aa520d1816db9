using System.Data.Common;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Arcp.Resumability.Bench;

/// <summary>
/// The fleet workload with no module: a queued job is one row, a claim one transaction taking the oldest queued row,
/// each step one committed row of a small output, completion one update, with N connections draining the table at
/// once (SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE serializes writers anyway). Enqueueing is not timed.
/// </summary>
internal sealed class BareFleet : IAsyncDisposable
{
    private const string StepOutput = """{"status":"ok"}""";
    private readonly Kind kind;
    private readonly string spec;
    private readonly int stepsPerJob;
    private readonly string schema;

    private BareFleet(Kind kind, string spec, int stepsPerJob, string schema)
    {
        this.kind = kind;
        this.spec = spec;
        this.stepsPerJob = stepsPerJob;
        this.schema = schema;
    }

    public enum Kind
    {
        Sqlite,
        Postgres,
    }

    /// <param name="spec">A SQLite file to create, or a PostgreSQL connection string (a schema of its own is created and dropped).</param>
    public static async Task<BareFleet> OpenAsync(Kind kind, string spec, int stepsPerJob, CancellationToken cancellationToken)
    {
        var schema = kind == Kind.Postgres ? "arcp_bare_fleet_" + Guid.NewGuid().ToString("N") : "main";
        var fleet = new BareFleet(kind, spec, stepsPerJob, schema);
        await using var connection = await fleet.ConnectAsync(cancellationToken);
        var identity = kind == Kind.Postgres ? "bigint GENERATED ALWAYS AS IDENTITY" : "INTEGER";
        var create = kind == Kind.Postgres ? $"CREATE SCHEMA {schema};" : "PRAGMA journal_mode = WAL;";
        await ExecuteAsync(connection, null, create, cancellationToken);
        await ExecuteAsync(connection, null, $"CREATE TABLE {schema}.jobs (id {identity} PRIMARY KEY, state text NOT NULL, inputs text NOT NULL);", cancellationToken);
        await ExecuteAsync(connection, null, $"CREATE INDEX {(kind == Kind.Postgres ? string.Empty : schema + ".")}jobs_queued ON {(kind == Kind.Postgres ? schema + "." : string.Empty)}jobs (id) WHERE state = 'queued';", cancellationToken);
        await ExecuteAsync(connection, null, $"CREATE TABLE {schema}.steps (id {identity} PRIMARY KEY, job_id bigint NOT NULL, output text NOT NULL);", cancellationToken);
        return fleet;
    }

    /// <summary>Queues <paramref name="jobs"/> rows, then returns the seconds <paramref name="connections"/> connections take to run them all.</summary>
    public async Task<double> DrainAsync(int jobs, int connections, CancellationToken cancellationToken)
    {
        await using (var connection = await ConnectAsync(cancellationToken))
        {
            for (var i = 0; i < jobs; i++)
            {
                await InTransactionAsync(connection, tx => ExecuteAsync(connection, tx, $"INSERT INTO {schema}.jobs (state, inputs) VALUES ('queued', '{{}}');", cancellationToken), cancellationToken);
            }
        }

        var started = Stopwatch.GetTimestamp();
        var done = await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => RunConnectionAsync(cancellationToken)));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return done.Sum() == jobs ? seconds : throw new InvalidOperationException($"The bare fleet finished {done.Sum()} of {jobs} jobs.");
    }

    private async Task<int> RunConnectionAsync(CancellationToken cancellationToken)
    {
        var skipLocked = kind == Kind.Postgres ? " FOR UPDATE SKIP LOCKED" : string.Empty;
        var claim = $"UPDATE {schema}.jobs SET state = 'running' WHERE id = (SELECT id FROM {schema}.jobs WHERE state = 'queued' ORDER BY id LIMIT 1{skipLocked}) RETURNING id;";
        await using var connection = await ConnectAsync(cancellationToken);
        var done = 0;
        while (true)
        {
            long? jobId = null;
            await InTransactionAsync(connection, async tx => jobId = await ScalarAsync(connection, tx, claim, cancellationToken), cancellationToken);
            if (jobId is not { } id)
            {
                return done;
            }

            for (var step = 0; step < stepsPerJob; step++)
            {
                await InTransactionAsync(connection, tx => ExecuteAsync(connection, tx, $"INSERT INTO {schema}.steps (job_id, output) VALUES ({id}, '{StepOutput}');", cancellationToken), cancellationToken);
            }

            await InTransactionAsync(connection, tx => ExecuteAsync(connection, tx, $"UPDATE {schema}.jobs SET state = 'completed' WHERE id = {id};", cancellationToken), cancellationToken);
            done++;
        }
    }

    private async Task<DbConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        DbConnection connection = kind == Kind.Postgres
            ? new NpgsqlConnection(spec)
            : new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = spec, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false, DefaultTimeout = 60 }.ToString());
        await connection.OpenAsync(cancellationToken);
        if (kind == Kind.Sqlite)
        {
            // The store's durability: every commit reaches the disk.
            await ExecuteAsync(connection, null, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 60000;", cancellationToken);
        }

        return connection;
    }

    /// <summary>One committed transaction; on SQLite a writer's BEGIN IMMEDIATE, so two claims never race to upgrade a read lock.</summary>
    private static async Task InTransactionAsync(DbConnection connection, Func<DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        await using var transaction = connection is SqliteConnection sqlite ? sqlite.BeginTransaction(deferred: false) : await connection.BeginTransactionAsync(cancellationToken);
        await work(transaction);
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<long?> ScalarAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (kind == Kind.Postgres)
        {
            await using var connection = await ConnectAsync(CancellationToken.None);
            await ExecuteAsync(connection, null, $"DROP SCHEMA {schema} CASCADE;", CancellationToken.None);
        }
    }
}
