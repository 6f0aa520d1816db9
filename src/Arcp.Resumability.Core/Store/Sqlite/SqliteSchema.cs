using System.Globalization;
using System.Reflection;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// Applies the numbered, immutable migration scripts embedded in this assembly. An older store is
/// upgraded in one transaction; a store written by a newer schema is refused, never downgraded.
/// </summary>
internal static class SqliteSchema
{
    private const string ResourcePrefix = "Arcp.Resumability.Store.Sqlite.Migrations.";

    public static IReadOnlyList<(int Version, string Name, string Sql)> Migrations { get; } = LoadMigrations();

    public static int LatestVersion => Migrations[^1].Version;

    public static void Migrate(SqliteConnection connection, string location)
    {
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
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';";
        if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
        {
            ThrowIfTooNew(CurrentVersion(connection, null), location);
        }
    }

    public static int CurrentVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void ThrowIfTooNew(int current, string location)
    {
        if (current > LatestVersion)
        {
            throw new StoreException(
                StoreErrorKind.SchemaTooNew,
                $"The store '{location}' has schema version {current}, newer than the {LatestVersion} this module understands. Use a newer Arcp.Resumability; the store was not changed.");
        }
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static List<(int Version, string Name, string Sql)> LoadMigrations()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var migrations = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..^".sql".Length];
            var version = int.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add((version, name, reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Item1 != i + 1)
            {
                throw new InvalidOperationException($"Migration scripts must be numbered 1..n without gaps; found {migrations[i].Item2}.");
            }
        }

        return migrations;
    }
}
