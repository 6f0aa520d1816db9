using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Postgres;
using Npgsql;

namespace Arcp.Resumability.Tests.Store;

/// <summary>The store contract against a real PostgreSQL server; every test gets a schema of its own.</summary>
[Collection(PostgresTests.Name)]
public sealed class PostgresStoreContractTests(PostgresServer server) : StoreContractTests, IAsyncLifetime
{
    private string connectionString = string.Empty;

    protected override int LatestSchemaVersion => PostgresSchema.LatestVersion;

    protected override int MigrationCount => PostgresSchema.Migrations.Count;

    public async Task InitializeAsync() => connectionString = await server.CreateSchemaAsync();

    public async Task DisposeAsync() =>
        await ExecuteSqlAsync($"DROP SCHEMA {new NpgsqlConnectionStringBuilder(connectionString).SearchPath} CASCADE;");

    protected override Task<IArcpStore> OpenAsync() => StoreFactory.OpenAsync(connectionString, default);

    protected override async Task<object?> ExecuteSqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    protected override async Task CreateFirstSchemaAsync()
    {
        await ExecuteSqlAsync("CREATE TABLE schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL);");
        await ExecuteSqlAsync(PostgresSchema.Migrations[0].Sql);
        await ExecuteSqlAsync($"INSERT INTO schema_version (version, description, applied_at) VALUES (1, '{PostgresSchema.Migrations[0].Name}', '2026-01-01T00:00:00Z');");
    }
}
