using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// The one place SQLite's result codes become <see cref="StoreException"/>s, so a SQLite store fails the way a
/// PostgreSQL store does: the ARCP code the caller sees depends on what went wrong, never on the driver.
/// </summary>
internal static class SqliteStoreErrors
{
    // Primary result codes (https://sqlite.org/rescode.html); an extended code carries its primary one in the low byte.
    private const int NoMemory = 7;
    private const int Corrupt = 11;
    private const int Full = 13;

    /// <summary>Runs <paramref name="work"/>, turning a driver failure into a <see cref="StoreException"/> naming <paramref name="location"/>.</summary>
    public static T Guard<T>(string location, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (SqliteException ex)
        {
            throw Translate($"The store '{location}' failed", ex);
        }
    }

    public static void Guard(string location, Action work) =>
        Guard(
            location,
            () =>
            {
                work();
                return true;
            });

    /// <summary>
    /// <paramref name="context"/> names the store and what was being done. SQLITE_CORRUPT is lost history; a file that is not a database (SQLITE_NOTADB), read-only, locked, missing or
    /// failing I/O is a store that cannot be used now; a full disk or database (and SQLITE_NOMEM) is exhaustion.
    /// </summary>
    public static StoreException Translate(string context, SqliteException exception)
    {
        var kind = (exception.SqliteErrorCode & 0xFF) switch
        {
            Corrupt => StoreErrorKind.Corrupt,
            Full or NoMemory => StoreErrorKind.Exhausted,
            _ => StoreErrorKind.Unavailable,
        };
        return new StoreException(kind, $"{context}: {exception.Message}", exception);
    }
}
