using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// Applies the numbered, immutable migration scripts embedded in this assembly. An older store is
/// upgraded in one transaction; a store written by a newer schema is refused, never downgraded.
/// </summary>
internal static class SqliteSchema
{
    private const string ResourcePrefix = "Arcp.Resumability.Store.Sqlite.Migrations.";

    public static IReadOnlyList<Migration> Migrations { get; } = MigrationScripts.Load(ResourcePrefix);

    public static int LatestVersion => Migrations[^1].Version;

    public static void Migrate(SqliteConnection connection, string location)
    {
        // Most opens find the schema current: check with a read, which never waits for writers in WAL mode,
        // instead of taking the write lock that every other process's writes would queue behind.
        if (RecordedVersion(connection) == LatestVersion)
        {
            return;
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);");
        var current = CurrentVersion(connection, transaction);
        ThrowIfTooNew(current, location);
        foreach (var (version, name, sql) in Migrations.Where(m => m.Version > current))
        {
            Execute(connection, transaction, sql);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES ($v, $d, $a);";
            record.Parameters.AddWithValue("$v", version);
            record.Parameters.AddWithValue("$d", name);
            record.Parameters.AddWithValue("$a", SqliteValues.Time(DateTimeOffset.UtcNow));
            record.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>
    /// Refuses a store written by a newer schema with a read only, before anything (not even the switch
    /// to WAL, which rewrites the file header) has touched the file.
    /// </summary>
    public static void EnsureNotTooNew(SqliteConnection connection, string location)
    {
        if (RecordedVersion(connection) is { } current)
        {
            ThrowIfTooNew(current, location);
        }
    }

    public static int CurrentVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>The schema version recorded in the file, or null for a file without a schema yet.</summary>
    private static int? RecordedVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) > 0 ? CurrentVersion(connection, null) : null;
    }

    private static void ThrowIfTooNew(int current, string location)
    {
        if (current > LatestVersion)
        {
            throw MigrationScripts.TooNew(location, current, LatestVersion);
        }
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
