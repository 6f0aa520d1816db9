using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Postgres;
using Npgsql;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// Stores opened one after another on the same connection string (a cmdlet per command) reuse the process's pooled
/// server connections instead of starting a server backend each (issue 12).
/// </summary>
[Collection(PostgresTests.Name)]
public sealed class PostgresPoolTests(PostgresServer server)
{
    [Fact]
    public async Task Five_stores_opened_in_turn_through_the_factory_use_one_server_connection_which_stays_for_the_next()
    {
        var application = "arcp-pool-" + Guid.NewGuid().ToString("N")[..12];
        var connectionString = new NpgsqlConnectionStringBuilder(await server.CreateSchemaAsync()) { ApplicationName = application }.ConnectionString;
        var backends = new HashSet<int>();
        for (var i = 0; i < 5; i++)
        {
            await using var store = await StoreFactory.OpenAsync(connectionString, CancellationToken.None);
            Assert.Empty(await store.ListJobsAsync("alice", CancellationToken.None));
            backends.UnionWith(await BackendsAsync(application));
        }

        Assert.Single(backends);
        Assert.Equal(backends, await BackendsAsync(application));
    }

    [Fact]
    public async Task A_store_opened_directly_owns_its_pool_and_closes_its_connections_when_disposed()
    {
        var application = "arcp-own-" + Guid.NewGuid().ToString("N")[..12];
        var connectionString = new NpgsqlConnectionStringBuilder(await server.CreateSchemaAsync()) { ApplicationName = application }.ConnectionString;
        await using (var store = await PostgresArcpStore.OpenAsync(connectionString, CancellationToken.None))
        {
            Assert.Empty(await store.ListJobsAsync("alice", CancellationToken.None));
            Assert.NotEmpty(await BackendsAsync(application));
        }

        // The server notices the closed sessions a moment later.
        for (var wait = 0; wait < 50 && (await BackendsAsync(application)).Count > 0; wait++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(await BackendsAsync(application));
    }

    [Fact]
    public async Task Only_the_last_few_released_pools_stay_open_however_many_schemas_a_process_goes_through()
    {
        var applications = new List<string>();
        for (var i = 0; i < PostgresDataSources.IdleKept + 3; i++)
        {
            var application = $"arcp-lru{i}-" + Guid.NewGuid().ToString("N")[..12];
            applications.Add(application);
            var connectionString = new NpgsqlConnectionStringBuilder(await server.CreateSchemaAsync()) { ApplicationName = application }.ConnectionString;
            await using var store = await StoreFactory.OpenAsync(connectionString, CancellationToken.None);
            Assert.Empty(await store.ListJobsAsync("alice", CancellationToken.None));
        }

        // The server notices the closed sessions a moment later.
        for (var wait = 0; wait < 50 && (await BackendsAsync(applications[2])).Count > 0; wait++)
        {
            await Task.Delay(100);
        }

        foreach (var evicted in applications[..3])
        {
            Assert.Empty(await BackendsAsync(evicted));
        }

        foreach (var kept in applications[3..])
        {
            Assert.Single(await BackendsAsync(kept));
        }
    }

    private async Task<HashSet<int>> BackendsAsync(string application)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = @application;", connection);
        command.Parameters.AddWithValue("application", application);
        var pids = new HashSet<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }
}
