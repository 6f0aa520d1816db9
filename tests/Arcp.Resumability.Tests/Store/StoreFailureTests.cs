using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// Real driver failures, provoked in SQLite itself (a held lock, a read-only connection, a full database, a
/// damaged page) and in Npgsql (a host that does not resolve): each surfaces as a <see cref="StoreException"/>
/// with the documented ARCP code, naming the store without credentials or .NET type names, and leaves what was
/// recorded before intact.
/// </summary>
[Collection(PostgresTests.Name)]
public sealed class StoreFailureTests : IDisposable
{
    private static readonly TimeSpan ShortLockWait = TimeSpan.FromMilliseconds(200);
    private readonly TestStore files = new();

    [Fact]
    public async Task A_read_only_store_refuses_the_embedded_session_with_a_nack_UNAVAILABLE_naming_the_file_and_keeps_the_recorded_job()
    {
        var recorded = await RecordCompletedJobAsync();
        var store = await SqliteArcpStore.OpenAsync(files.Path, ShortLockWait, ["PRAGMA query_only = ON;"], default);

        // Opening the session writes its row, so the handshake fails; the runtime answers it with the store's own error.
        var refused = await Assert.ThrowsAsync<ArcpException>(async () => await (await EmbeddedArcp.OpenAsync(store, null, default)).DisposeAsync());
        await store.DisposeAsync();

        Assert.Equal(ErrorCodes.Unavailable, refused.Code);
        Assert.True(refused.Error.IsRetryable);
        AssertNamesTheStoreOnly(refused.Message, "readonly");
        await AssertStillRecordedAsync(recorded);
    }

    [Fact]
    public async Task A_write_to_a_read_only_store_is_a_StoreException_of_kind_Unavailable_and_nothing_is_half_written()
    {
        var recorded = await RecordCompletedJobAsync();
        await using (var store = await SqliteArcpStore.OpenAsync(files.Path, ShortLockWait, ["PRAGMA query_only = ON;"], default))
        {
            var failed = await Assert.ThrowsAsync<StoreException>(() => WriteJobAsync(store, "job_refused"));

            Assert.Equal(StoreErrorKind.Unavailable, failed.Kind);
            Assert.Equal(ErrorCodes.Unavailable, failed.ToArcpError().Code);
            AssertNamesTheStoreOnly(failed.Message, "readonly");
            Assert.IsType<SqliteException>(failed.InnerException);

            // The failed transaction released the store: reads still work on the same instance.
            Assert.Null(await store.GetJobAsync("job_refused", default));
        }

        await AssertStillRecordedAsync(recorded);
    }

    [Fact]
    public async Task A_store_locked_by_another_connection_past_the_busy_timeout_is_UNAVAILABLE_and_works_once_the_lock_is_gone()
    {
        var recorded = await RecordCompletedJobAsync();
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, ShortLockWait, [], default);
        using (var holder = Connect(files.Path))
        {
            Execute(holder, "BEGIN EXCLUSIVE;");

            var failed = await Assert.ThrowsAsync<StoreException>(() => WriteJobAsync(store, "job_blocked"));

            Assert.Equal(StoreErrorKind.Unavailable, failed.Kind);
            Assert.Equal(ErrorCodes.Unavailable, failed.ToArcpError().Code);
            AssertNamesTheStoreOnly(failed.Message, "locked");
            Execute(holder, "ROLLBACK;");
        }

        await WriteJobAsync(store, "job_after_the_lock");
        Assert.NotNull(await store.GetJobAsync("job_after_the_lock", default));
        await AssertStillRecordedAsync(recorded);
    }

    [Fact]
    public async Task A_full_database_fails_the_start_as_RESOURCE_EXHAUSTED_naming_the_file_and_keeps_the_recorded_job()
    {
        var recorded = await RecordCompletedJobAsync();
        // SQLite clamps max_page_count to the file's current size, so any write needing a new page finds the database full.
        var store = await SqliteArcpStore.OpenAsync(files.Path, ShortLockWait, ["PRAGMA max_page_count = 1;"], default);
        var arcp = await EmbeddedArcp.OpenAsync(store, null, default);
        var bulky = JsonValue.Create(new string('x', 256 * 1024));

        var refused = await Assert.ThrowsAsync<ArcpException>(() => new StepRunner(arcp.Client).StartAsync(new CountingWorkflow("bulky", ["one"]).Definition, bulky, null, null, null, default));
        await arcp.DisposeAsync();

        Assert.Equal(ErrorCodes.ResourceExhausted, refused.Code);
        Assert.True(refused.Error.IsRetryable);
        AssertNamesTheStoreOnly(refused.Message, "full");
        await AssertStillRecordedAsync(recorded);
        await using var reopened = await SqliteArcpStore.OpenAsync(files.Path, default);
        var principal = (await reopened.GetJobAsync(recorded.JobId, default))!.Principal;
        Assert.Equal([recorded.JobId], (await reopened.ListJobsAsync(principal, default)).Select(job => job.JobId));
    }

    [Fact]
    public async Task A_damaged_page_found_after_opening_is_DATA_LOSS_naming_the_file_and_the_file_is_left_as_it_was()
    {
        var recorded = await RecordCompletedJobAsync();
        DamageRootPage(files.Path, "checkpoints");
        var damaged = await File.ReadAllBytesAsync(files.Path);

        await using (var store = await SqliteArcpStore.OpenAsync(files.Path, default))
        {
            Assert.NotNull(await store.GetJobAsync(recorded.JobId, default));

            var failed = await Assert.ThrowsAsync<StoreException>(() => store.ListCheckpointsAsync(recorded.JobId, default));

            Assert.Equal(StoreErrorKind.Corrupt, failed.Kind);
            Assert.Equal(ErrorCodes.DataLoss, failed.ToArcpError().Code);
            Assert.False(failed.ToArcpError().IsRetryable);
            AssertNamesTheStoreOnly(failed.Message, "malformed");
        }

        Assert.Equal(damaged, await File.ReadAllBytesAsync(files.Path));
    }

    [Fact]
    public async Task An_unresolvable_PostgreSQL_host_is_UNAVAILABLE_naming_the_redacted_location()
    {
        var refused = await Assert.ThrowsAsync<StoreException>(() => StoreFactory.OpenAsync("postgresql://ops:hunter2@no-such-host.invalid:5432/jobs?timeout=5", default));

        Assert.Equal(StoreErrorKind.Unavailable, refused.Kind);
        Assert.Equal(ErrorCodes.Unavailable, refused.ToArcpError().Code);
        Assert.Contains("postgresql://ops@no-such-host.invalid:5432/jobs", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => files.Dispose();

    private void AssertNamesTheStoreOnly(string message, string cause)
    {
        Assert.Contains($"The store '{files.Path}' failed: ", message, StringComparison.Ordinal);
        Assert.Contains(cause, message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Exception", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.Data", message, StringComparison.Ordinal);
    }

    private async Task<JobRunResult> RecordCompletedJobAsync()
    {
        await using var arcp = await EmbeddedArcp.OpenAsync(files.Path, null, default);
        var run = await new StepRunner(arcp.Client).StartAsync(new CountingWorkflow("one", "two").Definition, JsonValue.Create(1), null, null, null, default);
        Assert.Equal("completed", run.State);
        return run;
    }

    private async Task AssertStillRecordedAsync(JobRunResult recorded)
    {
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, default);
        var job = await store.GetJobAsync(recorded.JobId, default);
        Assert.NotNull(job);
        Assert.Equal("completed", job.State);
        Assert.Equal(["one", "two"], (await store.ListCheckpointsAsync(recorded.JobId, default)).Select(c => c.Step));
        Assert.NotEmpty(await store.ReadJobStreamAsync(recorded.JobId, 0, default));
    }

    private static async Task WriteJobAsync(SqliteArcpStore store, string jobId)
    {
        var now = DateTimeOffset.UtcNow;
        await using var transaction = await store.BeginAsync(CommitDurability.Durable, default);
        await transaction.InsertJobAsync(new JobRecord { JobId = jobId, Principal = "tester", Workflow = "counting", State = "running", Inputs = "1", CreatedAt = now, UpdatedAt = now }, default);
        await transaction.CommitAsync(default);
    }

    /// <summary>Overwrites the first b-tree page of <paramref name="table"/> with garbage, as a bad sector would.</summary>
    private static void DamageRootPage(string path, string table)
    {
        long pageSize;
        long rootPage;
        using (var connection = Connect(path))
        {
            pageSize = Scalar(connection, "PRAGMA page_size;");
            rootPage = Scalar(connection, $"SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = '{table}';");
        }

        Assert.True(rootPage > 1, $"table {table} has root page {rootPage}");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = (rootPage - 1) * pageSize;
        file.Write(Enumerable.Repeat((byte)0xA5, (int)pageSize).ToArray());
    }

    private static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
