using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// Gives the pages of deleted rows back to the file system. New stores are created with incremental auto-vacuum, so a
/// cheap <c>incremental_vacuum</c> after retention shrinks the file; <c>VACUUM</c> rewrites it (and switches an older
/// store to incremental auto-vacuum on the way).
/// </summary>
internal static class SqliteSpace
{
    /// <summary>Only effective on an empty file: SQLite fixes the auto-vacuum mode with its first write (a VACUUM can change it later).</summary>
    public static void EnableIncrementalVacuum(SqliteConnection connection) => Execute(connection, "PRAGMA auto_vacuum = INCREMENTAL;");

    public static StoreSpace Reclaim(SqliteConnection connection, bool compact)
    {
        var before = Size(connection);
        if (compact)
        {
            EnableIncrementalVacuum(connection);
            Execute(connection, "VACUUM;");
        }
        else
        {
            // A no-op on a store without incremental auto-vacuum (created by an older version, until its first compaction).
            Execute(connection, "PRAGMA incremental_vacuum;");
        }

        // Moves the WAL's pages into the database file and truncates both, so the file system sees the space back.
        Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        return new StoreSpace(before, Size(connection));
    }

    private static long Size(SqliteConnection connection) => Scalar(connection, "PRAGMA page_count;") * Scalar(connection, "PRAGMA page_size;");

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            // Stepped to the end: incremental_vacuum frees one page per step.
        }
    }
}
