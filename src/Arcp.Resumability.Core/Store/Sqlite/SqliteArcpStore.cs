using Microsoft.Data.Sqlite;
using static Arcp.Resumability.Store.Sqlite.SqliteValues;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Writers take the database lock up front
/// (<c>BEGIN IMMEDIATE</c>) and wait out other processes' locks via the busy timeout, so callers
/// never see "database is locked"; a process killed at any instant leaves the last committed state.
/// </summary>
public sealed class SqliteArcpStore : IArcpStore
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(60);
    private readonly SqliteConnection connection;
    private readonly SqliteStatementCache statements;
    private readonly SemaphoreSlim gate = new(1, 1);
    private CommitDurability currentDurability = CommitDurability.Durable;

    private SqliteArcpStore(SqliteConnection connection, string location)
    {
        this.connection = connection;
        statements = new SqliteStatementCache(connection);
        Location = location;
    }

    public string Location { get; }

    /// <summary>Opens (creating if needed) the store at <paramref name="path"/> and brings its schema up to date.</summary>
    public static Task<SqliteArcpStore> OpenAsync(string path, CancellationToken cancellationToken) =>
        OpenAsync(path, StoreOpenMode.CreateIfMissing, cancellationToken);

    /// <summary>Opens the store at <paramref name="path"/>; <paramref name="mode"/> says whether a missing file may be created.</summary>
    public static Task<SqliteArcpStore> OpenAsync(string path, StoreOpenMode mode, CancellationToken cancellationToken) =>
        OpenAsync(path, BusyTimeout, [], mode, cancellationToken);

    /// <summary>
    /// Opens the store with a chosen lock wait and extra per-connection pragmas applied once the schema is current;
    /// the failure tests use them to make SQLite itself refuse (a held lock, <c>query_only</c>, <c>max_page_count</c>).
    /// </summary>
    internal static Task<SqliteArcpStore> OpenAsync(string path, TimeSpan busyTimeout, IReadOnlyList<string> connectionPragmas, CancellationToken cancellationToken) =>
        OpenAsync(path, busyTimeout, connectionPragmas, StoreOpenMode.CreateIfMissing, cancellationToken);

    private static Task<SqliteArcpStore> OpenAsync(string path, TimeSpan busyTimeout, IReadOnlyList<string> connectionPragmas, StoreOpenMode mode, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        cancellationToken.ThrowIfCancellationRequested();
        SqliteNativeLibrary.EnsureResolvable();
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
        {
            throw new StoreException(StoreErrorKind.Unavailable, $"The store path '{fullPath}' is a folder; give the path of a database file (for example '{Path.Combine(fullPath, "arcp.db")}').");
        }

        var mustExist = mode == StoreOpenMode.MustExist;
        if (mustExist && !File.Exists(fullPath))
        {
            throw new StoreException(StoreErrorKind.NotFound, $"There is no store at '{fullPath}'; check the -Store path (only Start-ArcpJob creates a store).");
        }

        var folder = Path.GetDirectoryName(fullPath);
        SqliteConnection? connection = null;
        try
        {
            if (!mustExist)
            {
                if (!string.IsNullOrEmpty(folder))
                {
                    StoreFileModes.CreateFolder(folder);
                }

                StoreFileModes.CreateDatabaseFile(fullPath);
            }

            connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = fullPath,
                // ReadWrite alone: a file deleted between the check and the open is an error, not a new empty store.
                Mode = mustExist ? SqliteOpenMode.ReadWrite : SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
                // The driver retries a busy statement until this many seconds pass (0 would mean forever).
                DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
            }.ToString());
            connection.Open();
            Pragma(connection, $"PRAGMA busy_timeout = {(int)busyTimeout.TotalMilliseconds};");
            SqliteSchema.EnsureNotTooNew(connection, fullPath);
            if (new FileInfo(fullPath).Length == 0)
            {
                // A new file: its auto-vacuum mode is fixed by the first write (the switch to WAL below).
                SqliteSpace.EnableIncrementalVacuum(connection);
            }

            Pragma(connection, "PRAGMA journal_mode = WAL;");
            Pragma(connection, "PRAGMA synchronous = FULL;");
            Pragma(connection, "PRAGMA foreign_keys = ON;");
            SqliteSchema.Migrate(connection, fullPath);
            foreach (var pragma in connectionPragmas)
            {
                Pragma(connection, pragma);
            }

            return Task.FromResult(new SqliteArcpStore(connection, fullPath));
        }
        catch (SqliteException ex)
        {
            connection?.Dispose();
            throw SqliteStoreErrors.Translate($"Cannot open the store '{fullPath}'", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            connection?.Dispose();
            throw new StoreException(StoreErrorKind.Unavailable, $"Cannot open the store '{fullPath}': {ex.Message}", ex);
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Applies a pragma to the open connection between transactions: the fault tests turn <c>query_only</c> on in the
    /// middle of a job, which makes SQLite refuse every write as it does for a read-only file (a file mode cannot
    /// do that to a connection already open, nor to root).
    /// </summary>
    internal async Task ApplyPragmaAsync(string pragma, CancellationToken cancellationToken) =>
        await ReadAsync(
            () =>
            {
                Pragma(connection, pragma);
                return true;
            },
            cancellationToken).ConfigureAwait(false);

    public async ValueTask<IStoreTransaction> BeginAsync(CommitDurability durability, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return SqliteStoreErrors.Guard(Location, () =>
            {
                if (durability != currentDurability)
                {
                    // Only the commits that must survive power loss pay for an fsync; WAL keeps commit order, so a
                    // durable commit also makes every earlier process-safe one durable.
                    Pragma(connection, durability == CommitDurability.Durable ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
                    currentDurability = durability;
                }

                return new SqliteStoreTransaction(statements, connection.BeginTransaction(deferred: false), gate, Location);
            });
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    public Task<StoreSpace> ReclaimSpaceAsync(bool compact, CancellationToken cancellationToken) =>
        ReadAsync(() => SqliteSpace.Reclaim(connection, compact), cancellationToken);

    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken) =>
        ReadAsync(() => SqliteStoreTransaction.QueryJob(statements, null, jobId), cancellationToken);

    public async Task<JobDefinitionRecord?> GetJobDefinitionAsync(string jobId, CancellationToken cancellationToken) =>
        (await QueryAsync(StoreRows.DefinitionOfItsJob + "$job_id;", c => Add(c, "$job_id", jobId), r => StoreRows.ReadDefinition(r, (reader, i) => ParseTime(reader.GetString(i))), cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public async Task<IReadOnlyList<JobRecord>> ListJobsAsync(string principal, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {JobReadColumns} FROM jobs WHERE principal = $principal ORDER BY created_at, job_id;", c => Add(c, "$principal", principal), ReadJob, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<CheckpointRecord>> ListCheckpointsAsync(string jobId, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = $job_id ORDER BY rowid;", c => Add(c, "$job_id", jobId), ReadCheckpoint, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<CheckpointRecord>> ListCheckpointsAfterAsync(string jobId, string? afterCheckpointId, int limit, CancellationToken cancellationToken) =>
        await QueryAsync(
            afterCheckpointId is null
                ? $"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = $job_id ORDER BY rowid LIMIT $limit;"
                : $"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = $job_id AND rowid > (SELECT rowid FROM checkpoints WHERE job_id = $job_id AND checkpoint_id = $after) ORDER BY rowid LIMIT $limit;",
            c =>
            {
                Add(c, "$job_id", jobId);
                Add(c, "$limit", limit);
                if (afterCheckpointId is not null)
                {
                    Add(c, "$after", afterCheckpointId);
                }
            },
            ReadCheckpoint,
            cancellationToken).ConfigureAwait(false);

    public async Task<CheckpointRecord?> FindLatestCheckpointAsync(string jobId, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = $job_id ORDER BY rowid DESC LIMIT 1;", c => Add(c, "$job_id", jobId), ReadCheckpoint, cancellationToken).ConfigureAwait(false))
        .FirstOrDefault();

    public async Task<IReadOnlyList<CheckpointRecord>> ListLastCheckpointsAsync(string jobId, int count, CancellationToken cancellationToken) =>
        await QueryAsync(
            $"SELECT {CheckpointColumns} FROM checkpoints WHERE rowid IN (SELECT rowid FROM checkpoints WHERE job_id = $job_id ORDER BY rowid DESC LIMIT $count) ORDER BY rowid;",
            c =>
            {
                Add(c, "$job_id", jobId);
                Add(c, "$count", count);
            },
            ReadCheckpoint,
            cancellationToken).ConfigureAwait(false);

    public async Task<CheckpointRecord?> FindCheckpointAsync(string jobId, string checkpointId, CancellationToken cancellationToken) =>
        (await QueryAsync(
            $"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = $job_id AND checkpoint_id = $checkpoint_id;",
            c =>
            {
                Add(c, "$job_id", jobId);
                Add(c, "$checkpoint_id", checkpointId);
            },
            ReadCheckpoint,
            cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken) =>
        ReadAsync(() => SqliteStoreTransaction.QueryCheckpointByKey(statements, null, jobId, idempotencyKey), cancellationToken);

    public async Task<StoredEvent?> FindEventAsync(string messageId, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {EventColumns} FROM {EventSource} WHERE e.message_id = $message_id;", c => Add(c, "$message_id", messageId), ReadEvent, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    // In process, reads cost no round trip: the single ones in turn.
    public Task<ResumeSources> ReadResumeSourcesAsync(string jobId, bool afterLatestCheckpoint, CancellationToken cancellationToken) =>
        ResumeSourcesInTurn.ReadAsync(this, jobId, afterLatestCheckpoint, cancellationToken);

    public async Task<IReadOnlyList<StoredEvent>> ReadJobStreamAsync(string jobId, long afterSequence, CancellationToken cancellationToken) =>
        await QueryAsync(
            $"SELECT {EventColumns} FROM {EventSource} WHERE e.job_id = $job_id AND e.sequence > $after ORDER BY e.sequence;",
            c =>
            {
                Add(c, "$job_id", jobId);
                Add(c, "$after", afterSequence);
            },
            ReadEvent,
            cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<StoredEvent>> ReadJobEventsAfterAsync(long afterSequence, int limit, CancellationToken cancellationToken) =>
        await QueryAsync(
            $"SELECT {EventColumns} FROM {EventSource} WHERE e.sequence > $after AND e.job_id IS NOT NULL ORDER BY e.sequence LIMIT $limit;",
            c =>
            {
                Add(c, "$after", afterSequence);
                Add(c, "$limit", limit);
            },
            ReadEvent,
            cancellationToken).ConfigureAwait(false);

    public async Task<long> GetLastSequenceAsync(CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT COALESCE(MAX(sequence), 0) FROM events;", _ => { }, r => r.GetInt64(0), cancellationToken).ConfigureAwait(false))[0];

    public async Task<IReadOnlyList<StoredEvent>> ReadResponsesAsync(string correlationId, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {EventColumns} FROM {EventSource} WHERE e.correlation_id = $correlation_id AND e.direction = 'out' ORDER BY e.sequence;", c => Add(c, "$correlation_id", correlationId), ReadEvent, cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            statements.Dispose();
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
            gate.Dispose();
        }
    }

    internal static List<T> ReadAll<T>(SqliteCommand command, Func<SqliteDataReader, T> read)
    {
        using var reader = command.ExecuteReader();
        var items = new List<T>();
        while (reader.Read())
        {
            items.Add(read(reader));
        }

        return items;
    }

    private static void Pragma(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private async Task<T> ReadAsync<T>(Func<T> read, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return SqliteStoreErrors.Guard(Location, read);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Runs a prepared query outside any transaction (WAL readers see the last committed state).</summary>
    private Task<List<T>> QueryAsync<T>(string sql, Action<SqliteCommand> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken) =>
        ReadAsync(
            () =>
            {
                var command = statements.Get(sql, null);
                bind(command);
                return ReadAll(command, read);
            },
            cancellationToken);
}
