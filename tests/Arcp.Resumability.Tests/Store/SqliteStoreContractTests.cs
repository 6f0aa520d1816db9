using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Tests.Store;

public sealed class SqliteStoreContractTests : StoreContractTests, IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "arcp-tests", Guid.NewGuid().ToString("N"));

    public SqliteStoreContractTests() => Directory.CreateDirectory(folder);

    private string StorePath => Path.Combine(folder, "arcp.db");

    protected override int LatestSchemaVersion => SqliteSchema.LatestVersion;

    protected override int MigrationCount => SqliteSchema.Migrations.Count;

    protected override async Task<IArcpStore> OpenAsync() => await StoreFactory.OpenAsync(StorePath, default);

    protected override async Task<object?> ExecuteSqlAsync(string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StorePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    protected override async Task CreateFirstSchemaAsync()
    {
        await ExecuteSqlAsync("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);");
        await ExecuteSqlAsync(SqliteSchema.Migrations[0].Sql);
        await ExecuteSqlAsync($"INSERT INTO schema_version (version, description, applied_at) VALUES (1, '{SqliteSchema.Migrations[0].Name}', '2026-01-01T00:00:00.0000000Z');");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A failed test may still hold the file; the temp folder is cleaned by the OS eventually.
        }
    }
}
