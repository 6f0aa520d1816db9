using System.Security.Cryptography;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Tests.Store;
using Npgsql;

namespace Arcp.Resumability.Tests.Security;

/// <summary>
/// Issue 9, finding 13: a store filled with sessions that never end, jobs left unfinished and megabytes of events must
/// shrink back under retention. Run against every store kind.
/// </summary>
public abstract class DiskGrowthAttackTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly DateTimeOffset LongAgo = Now.AddDays(-60);

    protected abstract Task<IArcpStore> OpenAsync();

    protected abstract Task<long> CountAsync(string table);

    [Fact]
    [Trait("Category", "Security")]
    public async Task Sessions_that_never_end_and_abandoned_jobs_are_expired_and_their_space_given_back()
    {
        await using var store = await OpenAsync();
        await FloodAsync(store);
        var jobs = new JobService(store, new JobServiceOptions());
        var policy = new RetentionPolicy(TimeSpan.FromDays(30), TimeSpan.FromDays(30)) { AbandonedJobAge = TimeSpan.FromDays(30) };

        var planned = await jobs.ApplyRetentionAsync(policy, Now, apply: false, default);
        Assert.Equal(301, await CountAsync("sessions"));
        Assert.Equal(5, await CountAsync("jobs"));

        var applied = await jobs.ApplyRetentionAsync(policy, Now, apply: true, default);
        Assert.Equal(planned with { Applied = true }, applied);
        // A hundred closed sessions and two hundred whose process died; the one holding a live lease stays.
        Assert.Equal(300, applied.SessionsRemoved);
        Assert.Equal(1, await CountAsync("sessions"));
        Assert.Equal(1, applied.JobsRemoved);
        Assert.Equal(2, applied.AbandonedJobsRemoved);
        Assert.Equal(["job_live", "job_recent"], (await store.ListJobsAsync("mallory", default)).Select(j => j.JobId).Order(StringComparer.Ordinal));

        var cheap = await jobs.ReclaimSpaceAsync(compact: false, default);
        var compacted = await jobs.ReclaimSpaceAsync(compact: true, default);
        Assert.True(compacted.BytesAfter < cheap.BytesBefore / 4, $"the store still takes {compacted.BytesAfter} of {cheap.BytesBefore} bytes");
        await AssertCheapReclaimShrankAsync(cheap);
    }

    [Fact]
    [Trait("Category", "Security")]
    public async Task Without_an_abandoned_job_age_unfinished_jobs_stay_resumable()
    {
        await using var store = await OpenAsync();
        await FloodAsync(store);

        var applied = await new JobService(store, new JobServiceOptions()).ApplyRetentionAsync(new RetentionPolicy(TimeSpan.FromDays(30), TimeSpan.FromDays(30)), Now, apply: true, default);

        Assert.Equal(0, applied.AbandonedJobsRemoved);
        Assert.Null(applied.AbandonedJobCutoff);
        Assert.Equal(4, await CountAsync("jobs"));
    }

    /// <summary>What the cheap pass alone gave back: the whole freed space on a store kind that can do so without a rewrite.</summary>
    protected abstract Task AssertCheapReclaimShrankAsync(StoreSpace cheap);

    /// <summary>
    /// Three hundred sessions from sixty days ago (a hundred closed, two hundred never closed) plus one holding a live lease; a finished
    /// job, an abandoned one (lease lapsed), an orphan (no lease), a live one and a recent one; each old job has 2 MB of
    /// incompressible events.
    /// </summary>
    private static async Task FloodAsync(IArcpStore store)
    {
        await using var tx = await store.BeginAsync(CommitDurability.ProcessSafe, default);
        for (var i = 0; i < 200; i++)
        {
            await tx.InsertSessionAsync(new SessionRecord($"sess_{i}", "mallory", "raw", "attacker", 1, LongAgo), default);
            if (i % 2 == 0)
            {
                await tx.InsertSessionAsync(new SessionRecord($"sess_closed_{i}", "mallory", "raw", "attacker", 1, LongAgo), default);
                await tx.CloseSessionAsync($"sess_closed_{i}", LongAgo.AddMinutes(1), default);
            }
        }

        await tx.InsertSessionAsync(new SessionRecord("sess_live", "mallory", "raw", "attacker", 1, LongAgo), default);
        await tx.InsertJobAsync(Job("job_done", JobStates.Completed, LongAgo, null), default);
        await tx.InsertJobAsync(Job("job_abandoned", JobStates.Running, LongAgo, new JobLease("sess_gone", "h", 1, LongAgo, LongAgo.AddMinutes(1))), default);
        await tx.InsertJobAsync(Job("job_orphan", JobStates.Running, LongAgo, null), default);
        await tx.InsertJobAsync(Job("job_live", JobStates.Running, LongAgo, new JobLease("sess_live", "h", 1, LongAgo, Now.AddHours(1))), default);
        await tx.InsertJobAsync(Job("job_recent", JobStates.Running, Now.AddDays(-1), null), default);
        foreach (var jobId in (string[])["job_done", "job_abandoned", "job_orphan", "job_live"])
        {
            for (var i = 0; i < 250; i++)
            {
                var noise = Convert.ToBase64String(RandomNumberGenerator.GetBytes(6000));
                await tx.TryAppendEventAsync(new EventDraft($"msg_{jobId}_{i}", MessageTypes.Log, EventDirection.Inbound, "sess_0", jobId, null, LongAgo, $"{{\"noise\":\"{noise}\"}}"), default);
            }
        }

        await tx.CommitAsync(default);
    }

    private static JobRecord Job(string jobId, string state, DateTimeOffset updatedAt, JobLease? lease) => new()
    {
        JobId = jobId,
        Principal = "mallory",
        Workflow = "flood",
        State = state,
        Inputs = "null",
        CreatedAt = updatedAt,
        UpdatedAt = updatedAt,
        Lease = lease,
    };
}

public sealed class SqliteDiskGrowthAttackTests : DiskGrowthAttackTests, IDisposable
{
    private readonly TestStore folder = new();

    [Fact]
    [Trait("Category", "Security")]
    public async Task A_new_store_is_created_with_incremental_auto_vacuum()
    {
        await using (await OpenAsync())
        {
        }

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={folder.Path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA auto_vacuum;";
        Assert.Equal(2L, await command.ExecuteScalarAsync()); // 2 = incremental
    }

    public void Dispose() => folder.Dispose();

    protected override async Task<IArcpStore> OpenAsync() => await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);

    protected override async Task<long> CountAsync(string table)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={folder.Path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table};";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    protected override Task AssertCheapReclaimShrankAsync(StoreSpace cheap)
    {
        // Incremental auto-vacuum: the file itself shrank without a rewrite.
        Assert.True(cheap.BytesAfter < cheap.BytesBefore / 4, $"incremental vacuum left {cheap.BytesAfter} of {cheap.BytesBefore} bytes");
        Assert.True(new FileInfo(folder.Path).Length < cheap.BytesBefore / 4, $"the file is still {new FileInfo(folder.Path).Length} bytes");
        return Task.CompletedTask;
    }
}

[Collection(PostgresTests.Name)]
public sealed class PostgresDiskGrowthAttackTests(PostgresServer server) : DiskGrowthAttackTests, IAsyncLifetime
{
    private string connectionString = string.Empty;

    public async Task InitializeAsync() => connectionString = await server.CreateSchemaAsync();

    public async Task DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA {new NpgsqlConnectionStringBuilder(connectionString).SearchPath} CASCADE;", connection);
        await command.ExecuteNonQueryAsync();
    }

    protected override Task<IArcpStore> OpenAsync() => StoreFactory.OpenAsync(connectionString, default);

    protected override async Task<long> CountAsync(string table)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT COUNT(*) FROM {table};", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    // A plain VACUUM makes the space reusable but keeps most of it in the files; VACUUM FULL (asserted above) returns it.
    protected override Task AssertCheapReclaimShrankAsync(StoreSpace cheap)
    {
        Assert.True(cheap.BytesBefore > 0);
        return Task.CompletedTask;
    }
}
