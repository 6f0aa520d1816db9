using System.Globalization;
using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Tests.Core;

public sealed class SqliteStoreTests : IDisposable
{
    private readonly TestStore files = new();

    [Fact]
    public async Task A_fresh_store_records_every_migration_up_to_the_latest_version()
    {
        await (await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None)).DisposeAsync();

        var versions = Query(files.Path, "SELECT version FROM schema_version ORDER BY version;", r => r.GetInt32(0));

        Assert.Equal(SqliteSchema.Migrations.Select(m => m.Version), versions);
        Assert.Equal(SqliteSchema.LatestVersion, versions[^1]);
        Assert.Equal(["checkpoints", "events", "idempotency_ledger", "job_definitions", "job_queue_entries", "jobs", "queues", "schedules", "schema_version", "sessions"], Tables(files.Path));
    }

    [Fact]
    public async Task Reopening_a_store_does_not_run_its_migrations_again_and_keeps_its_data()
    {
        await using (var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None))
        {
            await AppendAsync(store, "msg_kept");
        }

        var before = Query(files.Path, "SELECT version || '@' || applied_at FROM schema_version ORDER BY version;", r => r.GetString(0));
        await using (var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None))
        {
            Assert.NotNull(await store.FindEventAsync("msg_kept", CancellationToken.None));
        }

        Assert.Equal(before, Query(files.Path, "SELECT version || '@' || applied_at FROM schema_version ORDER BY version;", r => r.GetString(0)));
    }

    [Theory]
    [InlineData("wal")]
    [InlineData("delete")]
    public async Task A_store_from_a_newer_schema_is_refused_and_left_byte_identical(string journalMode)
    {
        await (await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None)).DisposeAsync();
        var newer = SqliteSchema.LatestVersion + 1;
        Execute(
            files.Path,
            $"PRAGMA journal_mode = {journalMode};",
            $"INSERT INTO schema_version (version, description, applied_at) VALUES ({newer.ToString(CultureInfo.InvariantCulture)}, '{newer}_from_the_future', '2030-01-01T00:00:00.0000000Z');");
        var bytes = await File.ReadAllBytesAsync(files.Path);

        var ex = await Assert.ThrowsAsync<StoreException>(() => SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None));

        Assert.Equal(StoreErrorKind.SchemaTooNew, ex.Kind);
        Assert.Contains($"schema version {newer}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(files.Path));
    }

    [Fact]
    public async Task A_file_that_is_not_sqlite_is_refused_and_left_unchanged()
    {
        var content = "# notes\nThis is a markdown file someone passed as -Store by mistake.\n" + new string('x', 5000);
        await File.WriteAllTextAsync(files.Path, content);
        var bytes = await File.ReadAllBytesAsync(files.Path);

        var ex = await Assert.ThrowsAsync<StoreException>(() => SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None));

        // A wrong path is not damaged history: operators see UNAVAILABLE, not DATA_LOSS.
        Assert.Equal(StoreErrorKind.Unavailable, ex.Kind);
        Assert.Contains(files.Path, ex.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(files.Path));
        Assert.False(File.Exists(files.Path + "-wal"));
    }

    [Fact]
    public async Task A_folder_is_refused_as_a_store_path()
    {
        var ex = await Assert.ThrowsAsync<StoreException>(() => SqliteArcpStore.OpenAsync(files.Folder, CancellationToken.None));

        Assert.Equal(StoreErrorKind.Unavailable, ex.Kind);
        Assert.Contains("is a folder", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(files.Folder));
    }

    [Fact]
    public async Task The_store_runs_in_wal_mode()
    {
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None);

        Assert.Equal(["wal"], Query(files.Path, "PRAGMA journal_mode;", r => r.GetString(0)));
    }

    [Fact]
    public async Task Appending_an_event_whose_message_id_is_logged_returns_false_and_keeps_the_first()
    {
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None);
        await using (var tx = await store.BeginAsync(CommitDurability.ProcessSafe, CancellationToken.None))
        {
            Assert.True(await tx.TryAppendEventAsync(Draft("msg_dup", "first"), CancellationToken.None));
            Assert.False(await tx.TryAppendEventAsync(Draft("msg_dup", "second, same transaction"), CancellationToken.None));
            await tx.CommitAsync(CancellationToken.None);
        }

        await using (var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None))
        {
            Assert.False(await tx.TryAppendEventAsync(Draft("msg_dup", "third, later transaction"), CancellationToken.None));
            await tx.CommitAsync(CancellationToken.None);
        }

        Assert.Equal("first", (await store.FindEventAsync("msg_dup", CancellationToken.None))!.Envelope);
        Assert.Equal([1L], Query(files.Path, "SELECT COUNT(*) FROM events;", r => r.GetInt64(0)));
    }

    [Fact]
    public async Task A_transaction_disposed_without_commit_leaves_nothing_behind()
    {
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None);
        var job = Job("job_rolled_back");
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None))
        {
            await tx.InsertJobAsync(job, CancellationToken.None);
            await tx.TryAppendEventAsync(Draft("msg_rolled_back", "{}") with { JobId = job.JobId }, CancellationToken.None);
            await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_rolled_back", job.JobId, 0, "plan", "msg_rolled_back", "k", DateTimeOffset.UtcNow, "1"), CancellationToken.None);
            await tx.InsertLedgerEntryAsync(new LedgerEntry("p", "key", "hash", job.JobId, DateTimeOffset.UtcNow, null), CancellationToken.None);
            Assert.NotNull(await tx.GetJobAsync(job.JobId, CancellationToken.None));
        }

        Assert.Null(await store.GetJobAsync(job.JobId, CancellationToken.None));
        Assert.Null(await store.FindEventAsync("msg_rolled_back", CancellationToken.None));
        Assert.Empty(await store.ListCheckpointsAsync(job.JobId, CancellationToken.None));
        await using (var tx = await store.BeginAsync(CommitDurability.ProcessSafe, CancellationToken.None))
        {
            // The store is usable again (the disposed transaction released it) and the ledger is empty.
            Assert.Null(await tx.GetLedgerEntryAsync("p", "key", CancellationToken.None));
            await tx.CommitAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_schema_1_store_created_by_the_0001_script_opens_and_is_brought_to_the_latest_version()
    {
        var (version, name, sql) = SqliteSchema.Migrations[0];
        Assert.Equal(1, version);
        Execute(
            files.Path,
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);",
            sql,
            $"INSERT INTO schema_version (version, description, applied_at) VALUES (1, '{name}', '2026-01-01T00:00:00.0000000Z');",
            "INSERT INTO events (message_id, type, direction, created_at, envelope) VALUES ('msg_old', 'ping', 'in', '2026-01-01T00:00:00.0000000Z', '{}');");

        await using (var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None))
        {
            Assert.Equal("{}", (await store.FindEventAsync("msg_old", CancellationToken.None))!.Envelope);
            await AppendAsync(store, "msg_new");
        }

        var applied = Query(files.Path, "SELECT version, applied_at FROM schema_version ORDER BY version;", r => (r.GetInt32(0), r.GetString(1)));
        Assert.Equal(SqliteSchema.Migrations.Select(m => m.Version), applied.Select(a => a.Item1));
        Assert.Equal("2026-01-01T00:00:00.0000000Z", applied[0].Item2);
    }

    [Fact]
    public async Task Two_store_instances_on_one_file_write_interleaved_transactions_without_locking_errors_or_lost_updates()
    {
        const int WorkersPerStore = 2;
        const int TransactionsPerWorker = 100;
        await using var first = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None);
        await using var second = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None);
        var counter = Job("job_counter") with { Name = "0" };
        await using (var tx = await first.BeginAsync(CommitDurability.Durable, CancellationToken.None))
        {
            await tx.InsertJobAsync(counter, CancellationToken.None);
            await tx.CommitAsync(CancellationToken.None);
        }

        var workers = new[] { first, second }
            .SelectMany((store, s) => Enumerable.Range(0, WorkersPerStore).Select(w => Task.Run(async () =>
            {
                for (var i = 0; i < TransactionsPerWorker; i++)
                {
                    // Read-decide-write inside one transaction: a lost update would leave the counter short.
                    await using var tx = await store.BeginAsync(i % 10 == 0 ? CommitDurability.Durable : CommitDurability.ProcessSafe, CancellationToken.None);
                    var job = (await tx.GetJobAsync(counter.JobId, CancellationToken.None))!;
                    var next = int.Parse(job.Name!, CultureInfo.InvariantCulture) + 1;

                    // Hold the write lock across a real wait so the other store's writers must wait their turn.
                    await Task.Delay(1);
                    Assert.True(await tx.TryAppendEventAsync(Draft($"msg_s{s}_w{w}_{i}", next.ToString(CultureInfo.InvariantCulture)), CancellationToken.None));
                    await tx.UpdateJobAsync(job with { Name = next.ToString(CultureInfo.InvariantCulture), UpdatedAt = DateTimeOffset.UtcNow }, CancellationToken.None);
                    await tx.CommitAsync(CancellationToken.None);
                    await Task.Delay(1);
                }
            })))
            .ToArray();
        await Task.WhenAll(workers);

        const int Total = 2 * WorkersPerStore * TransactionsPerWorker;
        Assert.Equal([(long)Total], Query(files.Path, "SELECT COUNT(*) FROM events;", r => r.GetInt64(0)));
        Assert.Equal(Total.ToString(CultureInfo.InvariantCulture), (await second.GetJobAsync(counter.JobId, CancellationToken.None))!.Name);

        // Every counter value was written exactly once, so no two transactions saw the same state.
        var values = Query(files.Path, "SELECT envelope FROM events;", r => int.Parse(r.GetString(0), CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(1, Total), values.Order());
    }

    [Fact]
    public async Task The_wal_stays_bounded_while_one_job_writes_many_times_what_it_holds()
    {
        // Memory that does not grow with a job (issue 12) needs the WAL file, and the -shm index SQLite maps beside
        // it, to stop growing: the automatic checkpoint (every 1,000 pages) must keep moving the log back into the
        // database, which any read left open on the store's connection (a cached statement not reset) would prevent.
        const int Steps = 1_000;
        const long Bound = 8L * 1024 * 1024;
        var envelope = new string('x', 8 * 1024);
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None);
        var job = Job("job_long");
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None))
        {
            await tx.InsertJobAsync(job, CancellationToken.None);
            await tx.CommitAsync(CancellationToken.None);
        }

        long largestWal = 0;
        long lastSequence = 0;
        for (var step = 0; step < Steps; step++)
        {
            await using (var tx = await store.BeginAsync(step % 10 == 0 ? CommitDurability.Durable : CommitDurability.ProcessSafe, CancellationToken.None))
            {
                Assert.True(await tx.TryAppendEventAsync(Draft($"msg_{step}", envelope) with { JobId = job.JobId }, CancellationToken.None));
                await tx.UpdateJobAsync(job with { Name = step.ToString(CultureInfo.InvariantCulture), UpdatedAt = DateTimeOffset.UtcNow }, CancellationToken.None);
                // The cancel scan a step makes inside its own transaction.
                lastSequence = (await tx.ReadJobCancelsAsync(job.JobId, lastSequence, CancellationToken.None)).LastSequence;
                await tx.CommitAsync(CancellationToken.None);
            }

            // The reads a running job makes between its steps, through the statement cache and without it.
            Assert.NotNull(await store.GetJobAsync(job.JobId, CancellationToken.None));
            Assert.Null(await store.FindCheckpointByKeyAsync(job.JobId, "no_such_key", CancellationToken.None));
            largestWal = Math.Max(largestWal, new FileInfo(files.Path + "-wal").Length);
        }

        Assert.True(largestWal > 0, "the store wrote no WAL");
        Assert.True(largestWal < Bound, $"the WAL grew to {largestWal:N0} B over {Steps:N0} steps of {envelope.Length:N0} B; bound {Bound:N0} B");
        Assert.True(new FileInfo(files.Path + "-shm").Length <= 64 * 1024, "the WAL index grew with the log");
    }

    [Fact]
    public async Task A_running_jobs_step_update_writes_only_the_page_of_its_row()
    {
        // Each page a commit changes is one WAL frame written and synced (issue 12). A step renews the job's lease and
        // moves its updated_at, last checkpoint and last message: no index holding a running job has any of those in its
        // key, so the step's update must write the row's page and nothing else (it wrote three, with ix_jobs_state_updated
        // and ix_jobs_lease_session). The state change that ends the job still updates every column and index.
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, TimeSpan.FromSeconds(10), ["PRAGMA wal_autocheckpoint = 0;"], CancellationToken.None);
        var started = DateTimeOffset.UtcNow;
        var job = Job("job_step") with { Lease = new JobLease("sess_owner", "host", 42, started, started.AddMinutes(1)) };
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None))
        {
            await tx.InsertJobAsync(job, CancellationToken.None);
            await tx.CommitAsync(CancellationToken.None);
        }

        for (var step = 1; step <= 3; step++)
        {
            var now = started.AddSeconds(step);
            job = job with { LastCheckpointId = $"chk_{step}", LastMessageId = $"msg_{step}", UpdatedAt = now, Lease = job.Lease! with { ExpiresAt = now.AddMinutes(1) } };
            Assert.Equal(1, await WalFramesOfAsync(store, tx => tx.UpdateJobAsync(job, CancellationToken.None)));
        }

        var ended = job with { State = "completed", Result = "{}", Lease = null, UpdatedAt = started.AddSeconds(10) };
        Assert.True(await WalFramesOfAsync(store, tx => tx.UpdateJobAsync(ended, CancellationToken.None)) > 1, "ending the job wrote no index page");

        Assert.Equal(ended, await store.GetJobAsync(job.JobId, CancellationToken.None));
        Assert.Equal(["job_step"], Query(files.Path, "SELECT job_id FROM jobs INDEXED BY ix_jobs_finished_updated WHERE state IN ('completed', 'failed', 'cancelled');", r => r.GetString(0)));
        Assert.Empty(Query(files.Path, "SELECT job_id FROM jobs INDEXED BY ix_jobs_lease_session WHERE lease_session_id IS NOT NULL;", r => r.GetString(0)));
    }

    [Theory]
    [InlineData("SELECT job_id FROM jobs WHERE state IN ('completed', 'failed', 'cancelled') AND updated_at < $before ORDER BY updated_at;", "ix_jobs_finished_updated")]
    [InlineData("SELECT job_id FROM jobs WHERE state IN ('running', 'blocked') ORDER BY created_at, job_id;", "ix_jobs_state")]
    [InlineData("SELECT job_id FROM jobs WHERE state = 'running' AND job_id IN (SELECT q.job_id FROM job_queue_entries q WHERE q.queue = $queue) ORDER BY job_id;", "ix_jobs_state")]
    public async Task The_job_lists_by_state_are_served_by_the_index_kept_for_them(string sql, string index)
    {
        // Retention's finished jobs and the queues' running jobs read the indexes of schema 10, not the whole table.
        await (await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None)).DisposeAsync();

        var plan = Query(files.Path, "EXPLAIN QUERY PLAN " + sql.Replace("$before", "'2026-01-01'", StringComparison.Ordinal).Replace("$queue", "'q'", StringComparison.Ordinal), r => r.GetString(3));

        Assert.Contains(plan, step => step.StartsWith("SEARCH jobs USING INDEX " + index + " ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_cancel_scan_reads_two_index_entries_not_the_jobs_events()
    {
        // Schema 11: a session's first cancel scan of a job starts at the stream's beginning; on a long job a pass over
        // its events was a resume cost that grew with the history (issue 12).
        await (await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None)).DisposeAsync();

        var plan = Query(files.Path, "EXPLAIN QUERY PLAN " + SqliteStoreTransaction.ScanCancelsSql.Replace("$job_id", "'job_x'", StringComparison.Ordinal).Replace("$after", "0", StringComparison.Ordinal), r => r.GetString(3));

        Assert.Contains(plan, step => step.StartsWith("SEARCH events USING COVERING INDEX ix_events_job_cancels ", StringComparison.Ordinal));
        Assert.Contains(plan, step => step.StartsWith("SEARCH events USING COVERING INDEX ix_events_job ", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN events", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(2)]
    public async Task A_claim_reads_the_queue_in_claim_order_from_the_index_without_sorting_the_backlog(int? workflows)
    {
        // Schema 12: the claim index of schema 8 lacks the job id that ends the claim order, so each claim sorted the
        // queue's unclaimed entries (issue 12).
        await (await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None)).DisposeAsync();
        var sql = SqliteStoreTransaction.ListClaimableSql(workflows).Replace("$queue", "'q'", StringComparison.Ordinal).Replace("$principal", "NULL", StringComparison.Ordinal)
            .Replace("$limit", "1", StringComparison.Ordinal).Replace("$w0", "'a'", StringComparison.Ordinal).Replace("$w1", "'b'", StringComparison.Ordinal);

        var plan = Query(files.Path, "EXPLAIN QUERY PLAN " + sql, r => r.GetString(3));

        Assert.Contains(plan, step => step.StartsWith("SEARCH q USING INDEX ix_job_queue_entries_unclaimed ", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.Contains("TEMP B-TREE", StringComparison.Ordinal));
    }

    public void Dispose() => files.Dispose();

    /// <summary>How many WAL frames (one per page changed) the commit of <paramref name="work"/> wrote; opened without automatic checkpoints, the log only grows.</summary>
    private async Task<long> WalFramesOfAsync(SqliteArcpStore store, Func<IStoreTransaction, Task> work)
    {
        const int FrameBytes = 24 + 4096; // frame header and page (SQLite's default page size, which the store keeps)
        var before = new FileInfo(files.Path + "-wal").Length;
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None))
        {
            await work(tx);
            await tx.CommitAsync(CancellationToken.None);
        }

        return (new FileInfo(files.Path + "-wal").Length - before) / FrameBytes;
    }

    private static async Task AppendAsync(SqliteArcpStore store, string messageId)
    {
        await using var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None);
        Assert.True(await tx.TryAppendEventAsync(Draft(messageId, "{}"), CancellationToken.None));
        await tx.CommitAsync(CancellationToken.None);
    }

    private static EventDraft Draft(string messageId, string envelope) =>
        new(messageId, "ping", EventDirection.Inbound, "sess_test", null, null, DateTimeOffset.UtcNow, envelope);

    private static JobRecord Job(string jobId) => new()
    {
        JobId = jobId,
        Principal = "p",
        Workflow = "w",
        State = "running",
        Inputs = "null",
        CreatedAt = DateTimeOffset.UtcNow,
        UpdatedAt = DateTimeOffset.UtcNow,
    };

    private static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static void Execute(string path, params string[] statements)
    {
        using var connection = Connect(path);
        foreach (var sql in statements)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    private static List<T> Query<T>(string path, string sql, Func<SqliteDataReader, T> read)
    {
        using var connection = Connect(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static List<string> Tables(string path) =>
        Query(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name;", r => r.GetString(0));
}
