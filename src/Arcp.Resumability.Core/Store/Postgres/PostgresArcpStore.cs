using Npgsql;
using static Arcp.Resumability.Store.Postgres.PostgresValues;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// A store shared by many processes and machines: one PostgreSQL database, or one schema of it named
/// first in <c>Search Path</c> (created on first open). Every transaction has its own pooled connection; job rows are locked while a
/// transaction decides about them, which is what makes lease claims and fencing atomic across processes.
/// </summary>
public sealed partial class PostgresArcpStore : IArcpStore
{
    private readonly NpgsqlDataSource dataSource;

    // The key of the process's shared data source this store rents; null when the store owns its data source.
    private readonly string? sharedKey;
    private int disposed;

    private PostgresArcpStore(NpgsqlDataSource dataSource, string location, string? sharedKey)
    {
        this.dataSource = dataSource;
        this.sharedKey = sharedKey;
        Location = location;
    }

    /// <summary>The server, database and user, never the password.</summary>
    public string Location { get; }

    /// <summary>Connects with <paramref name="connectionString"/> (Npgsql key=value form) and brings the schema up to date.</summary>
    public static Task<PostgresArcpStore> OpenAsync(string connectionString, CancellationToken cancellationToken) =>
        OpenAsync(connectionString, sharePool: false, cancellationToken);

    /// <summary>As <see cref="OpenAsync(string, CancellationToken)"/>.</summary>
    /// <param name="sharePool">
    /// Use this process's one data source for the connection string (see <see cref="PostgresDataSources"/>), kept after
    /// the store is disposed, instead of a pool of the store's own: what a process opening a store per command wants.
    /// </param>
    public static async Task<PostgresArcpStore> OpenAsync(string connectionString, bool sharePool, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new StoreException(StoreErrorKind.Unavailable, $"The PostgreSQL connection string is not valid: {ex.Message}", ex);
        }

        var location = Describe(builder);
        var tuned = Tuned(builder).ConnectionString;
        var dataSource = sharePool ? PostgresDataSources.Rent(tuned) : NpgsqlDataSource.Create(tuned);
        try
        {
            try
            {
                await MigrateAsync(dataSource, location, builder, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreException ex) when (sharePool && ex.InnerException is NpgsqlException and not PostgresException)
            {
                // The shared pool may hold connections the server has since dropped (a restart): start it afresh, once.
                dataSource = PostgresDataSources.Renew(tuned, dataSource);
                await MigrateAsync(dataSource, location, builder, cancellationToken).ConfigureAwait(false);
            }

            return new PostgresArcpStore(dataSource, location, sharePool ? tuned : null);
        }
        catch
        {
            if (sharePool)
            {
                await PostgresDataSources.ReleaseAsync(tuned).ConfigureAwait(false);
            }
            else
            {
                await dataSource.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private static Task<bool> MigrateAsync(NpgsqlDataSource dataSource, string location, NpgsqlConnectionStringBuilder builder, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            await PostgresSchema.MigrateAsync(dataSource, location, HomeSchema(builder), cancellationToken).ConfigureAwait(false);
            return true;
        });

    /// <summary>
    /// The connection settings the store runs with. A pooled connection goes back to the pool without
    /// <c>DISCARD ALL</c> (a round trip per transaction): the store leaves no session state behind, since its
    /// settings and locks are all transaction-scoped. Commits are durable unless a transaction asks for less, whatever
    /// the role's default, so a durable commit needs no statement of its own. The store only uses built-in types, so
    /// Npgsql's type-loading query (172 rows per new data source) is skipped. The step's statements are prepared on the
    /// server after their first uses and stay prepared on the kept connections (every column list is explicit, so a
    /// migration by another process never changes a prepared statement's result type).
    /// </summary>
    private static NpgsqlConnectionStringBuilder Tuned(NpgsqlConnectionStringBuilder builder)
    {
        var tuned = new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            NoResetOnClose = true,
            ServerCompatibilityMode = ServerCompatibilityMode.NoTypeLoading,
            MaxAutoPrepare = builder.MaxAutoPrepare > 0 ? builder.MaxAutoPrepare : 32,
        };
        tuned.Options = string.IsNullOrWhiteSpace(tuned.Options) ? "-c synchronous_commit=on" : tuned.Options + " -c synchronous_commit=on";
        return tuned;
    }

    /// <summary><c>postgresql://user@host:port/database</c> (plus the search path when one is set), for messages.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var user = string.IsNullOrEmpty(builder.Username) ? string.Empty : Uri.EscapeDataString(builder.Username) + "@";
        var text = $"postgresql://{user}{builder.Host}:{builder.Port}/{Uri.EscapeDataString(builder.Database ?? string.Empty)}";
        return string.IsNullOrEmpty(builder.SearchPath) ? text : $"{text}?search_path={Uri.EscapeDataString(builder.SearchPath)}";
    }

    // Only a plain identifier is created: it reads the same in CREATE SCHEMA as in the search path (both fold case).
    private static string? HomeSchema(NpgsqlConnectionStringBuilder builder) =>
        builder.SearchPath?.Split(',')[0].Trim() is { Length: > 0 } first && PlainIdentifier().IsMatch(first) && first != "public" ? first : null;

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex PlainIdentifier();

    public async ValueTask<IStoreTransaction> BeginAsync(CommitDurability durability, CancellationToken cancellationToken) =>
        await GuardAsync<IStoreTransaction>(Location, async () =>
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);

                // Connections start with 'on' (see Tuned): COMMIT waits for the WAL flush and synchronous standbys, so
                // a durable commit, the one every step makes, needs no statement here. 'local' is used for process-safe
                // commits: still flushed on this server, so nothing acknowledged is lost, just without waiting for
                // standbys. Never 'off', which could lose acknowledged commits in a server crash. The transaction sends
                // it with its first statement.
                return new PostgresStoreTransaction(connection, transaction, Location, localCommit: durability != CommitDurability.Durable);
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }).ConfigureAwait(false);

    public Task<StoreSpace> ReclaimSpaceAsync(bool compact, CancellationToken cancellationToken) =>
        GuardAsync(Location, () => PostgresSpace.ReclaimAsync(dataSource, compact, cancellationToken));

    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {JobReadColumns} FROM jobs WHERE job_id = @job_id;", c => Text(c, "job_id", jobId), ReadJob, cancellationToken);

    public Task<JobDefinitionRecord?> GetJobDefinitionAsync(string jobId, CancellationToken cancellationToken) =>
        QueryAsync(StoreRows.DefinitionOfItsJob + "@job_id;", c => Text(c, "job_id", jobId), r => StoreRows.ReadDefinition(r, ReadTime), cancellationToken);

    public async Task<IReadOnlyList<JobRecord>> ListJobsAsync(string principal, CancellationToken cancellationToken) =>
        await QueryAllAsync($"SELECT {JobReadColumns} FROM jobs WHERE principal = @principal ORDER BY created_at, job_id;", c => Text(c, "principal", principal), ReadJob, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<CheckpointRecord>> ListCheckpointsAsync(string jobId, CancellationToken cancellationToken) =>
        await QueryAllAsync($"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = @job_id ORDER BY position;", c => Text(c, "job_id", jobId), ReadCheckpoint, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<CheckpointRecord>> ListCheckpointsAfterAsync(string jobId, string? afterCheckpointId, int limit, CancellationToken cancellationToken) =>
        await QueryAllAsync(
            afterCheckpointId is null
                ? $"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = @job_id ORDER BY position LIMIT @limit;"
                : $"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = @job_id AND position > (SELECT position FROM checkpoints WHERE job_id = @job_id AND checkpoint_id = @after) ORDER BY position LIMIT @limit;",
            c =>
            {
                Text(c, "job_id", jobId);
                Integer(c, "limit", limit);
                if (afterCheckpointId is not null)
                {
                    Text(c, "after", afterCheckpointId);
                }
            },
            ReadCheckpoint,
            cancellationToken).ConfigureAwait(false);

    public Task<CheckpointRecord?> FindLatestCheckpointAsync(string jobId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = @job_id ORDER BY position DESC LIMIT 1;", c => Text(c, "job_id", jobId), ReadCheckpoint, cancellationToken);

    public async Task<IReadOnlyList<CheckpointRecord>> ListLastCheckpointsAsync(string jobId, int count, CancellationToken cancellationToken) =>
        await QueryAllAsync(
            $"SELECT {CheckpointColumns} FROM (SELECT {CheckpointColumns}, position FROM checkpoints WHERE job_id = @job_id ORDER BY position DESC LIMIT @count) AS last ORDER BY position;",
            c =>
            {
                Text(c, "job_id", jobId);
                Integer(c, "count", count);
            },
            ReadCheckpoint,
            cancellationToken).ConfigureAwait(false);

    public Task<CheckpointRecord?> FindCheckpointAsync(string jobId, string checkpointId, CancellationToken cancellationToken) =>
        QueryAsync(
            $"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = @job_id AND checkpoint_id = @checkpoint_id;",
            c =>
            {
                Text(c, "job_id", jobId);
                Text(c, "checkpoint_id", checkpointId);
            },
            ReadCheckpoint,
            cancellationToken);

    public Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken) =>
        GuardAsync(Location, async () =>
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await QueryCheckpointByKeyAsync(connection, null, jobId, idempotencyKey, cancellationToken).ConfigureAwait(false);
            }
        });

    public Task<StoredEvent?> FindEventAsync(string messageId, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {EventColumns} FROM {EventSource} WHERE e.message_id = @message_id;", c => Text(c, "message_id", messageId), ReadEvent, cancellationToken);

    public async Task<IReadOnlyList<StoredEvent>> ReadJobStreamAsync(string jobId, long afterSequence, CancellationToken cancellationToken) =>
        await QueryAllAsync(
            $"SELECT {EventColumns} FROM {EventSource} WHERE e.job_id = @job_id AND e.sequence > @after ORDER BY e.sequence;",
            c =>
            {
                Text(c, "job_id", jobId);
                Bigint(c, "after", afterSequence);
            },
            ReadEvent,
            cancellationToken).ConfigureAwait(false);

    // The stream's statement finds the anchor again (the latest checkpoint's event, when it is the job's) and names the
    // checkpoint it took, so a checkpoint recorded between the two statements is noticed (its events being then read in turn).
    private const string ResumeStreamSql =
        "WITH latest AS (SELECT checkpoint_id, message_id FROM checkpoints WHERE job_id = @job_id ORDER BY position DESC LIMIT 1), " +
        "anchor AS (SELECT (SELECT checkpoint_id FROM latest) AS checkpoint_id, " +
        "COALESCE((SELECT a.sequence FROM events a JOIN latest ON a.message_id = latest.message_id WHERE @after_checkpoint AND a.job_id = @job_id), 0) AS sequence) " +
        $"SELECT {EventColumns}, anchor.checkpoint_id, anchor.sequence FROM anchor LEFT JOIN ({EventSource}) ON e.job_id = @job_id AND e.sequence > anchor.sequence ORDER BY e.sequence;";

    private const int ResumeAnchorColumn = 11;

    public Task<ResumeSources> ReadResumeSourcesAsync(string jobId, bool afterLatestCheckpoint, CancellationToken cancellationToken) =>
        GuardAsync(Location, async () =>
        {
            // One round trip for the three reads (each its own statement, as the single reads are).
            await using var batch = dataSource.CreateBatch();
            var readJob = new NpgsqlBatchCommand($"SELECT {JobReadColumns} FROM jobs WHERE job_id = @job_id;");
            Text(readJob.Parameters, "job_id", jobId);
            var readLatest = new NpgsqlBatchCommand($"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = @job_id ORDER BY position DESC LIMIT 1;");
            Text(readLatest.Parameters, "job_id", jobId);
            var readStream = new NpgsqlBatchCommand(ResumeStreamSql);
            Text(readStream.Parameters, "job_id", jobId);
            readStream.Parameters.Add(new NpgsqlParameter("after_checkpoint", NpgsqlTypes.NpgsqlDbType.Boolean) { Value = afterLatestCheckpoint });
            batch.BatchCommands.Add(readJob);
            batch.BatchCommands.Add(readLatest);
            batch.BatchCommands.Add(readStream);

            JobRecord? job = null;
            CheckpointRecord? latest = null;
            string? anchorCheckpoint = null;
            long afterSequence = 0;
            var replay = new List<StoredEvent>();
            var reader = await batch.Positional().ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    job = ReadJob(reader);
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    latest = ReadCheckpoint(reader);
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    anchorCheckpoint = reader.IsDBNull(ResumeAnchorColumn) ? null : reader.GetString(ResumeAnchorColumn);
                    afterSequence = reader.GetInt64(ResumeAnchorColumn + 1);
                    if (!reader.IsDBNull(0))
                    {
                        replay.Add(ReadEvent(reader));
                    }
                }
            }

            return anchorCheckpoint == latest?.CheckpointId
                ? new ResumeSources(job, latest, afterSequence, replay)
                : await ResumeSourcesInTurn.ReadAsync(this, jobId, afterLatestCheckpoint, cancellationToken).ConfigureAwait(false);
        });

    public async Task<IReadOnlyList<StoredEvent>> ReadJobEventsAfterAsync(long afterSequence, int limit, CancellationToken cancellationToken) =>
        await QueryAllAsync(
            $"SELECT {EventColumns} FROM {EventSource} WHERE e.sequence > @after AND e.job_id IS NOT NULL ORDER BY e.sequence LIMIT @limit;",
            c =>
            {
                Bigint(c, "after", afterSequence);
                Bigint(c, "limit", limit);
            },
            ReadEvent,
            cancellationToken).ConfigureAwait(false);

    public async Task<long> GetLastSequenceAsync(CancellationToken cancellationToken) =>
        (await QueryAllAsync("SELECT COALESCE(MAX(sequence), 0) FROM events;", _ => { }, r => r.GetInt64(0), cancellationToken).ConfigureAwait(false))[0];

    public async Task<IReadOnlyList<StoredEvent>> ReadResponsesAsync(string correlationId, CancellationToken cancellationToken) =>
        await QueryAllAsync(
            $"SELECT {EventColumns} FROM {EventSource} WHERE e.correlation_id = @correlation_id AND e.direction = 'out' ORDER BY e.sequence;",
            c => Text(c, "correlation_id", correlationId),
            ReadEvent,
            cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref disposed, 1) != 0 ? ValueTask.CompletedTask
        : sharedKey is not null ? PostgresDataSources.ReleaseAsync(sharedKey)
        : dataSource.DisposeAsync();

    internal static async Task<CheckpointRecord?> QueryCheckpointByKeyAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string jobId, string key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = @job_id AND idempotency_key = @key;", connection, transaction);
        Text(command, "job_id", jobId);
        Text(command, "key", key);
        return (await ReadAllAsync(command, ReadCheckpoint, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
    }

    private async Task<T?> QueryAsync<T>(string sql, Action<NpgsqlCommand> bind, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
        where T : class =>
        (await QueryAllAsync(sql, bind, read, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    private Task<List<T>> QueryAllAsync<T>(string sql, Action<NpgsqlCommand> bind, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken) =>
        GuardAsync(Location, async () =>
        {
            await using var command = dataSource.CreateCommand(sql);
            bind(command);
            return await ReadAllAsync(command, read, cancellationToken).ConfigureAwait(false);
        });
}
