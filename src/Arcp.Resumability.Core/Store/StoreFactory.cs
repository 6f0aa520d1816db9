using System.Text.RegularExpressions;
using Arcp.Resumability.Store.Postgres;
using Arcp.Resumability.Store.Sqlite;

namespace Arcp.Resumability.Store;

/// <summary>
/// Opens a store from the operator's one-string description: a <c>postgres://</c> or
/// <c>postgresql://</c> URI, or a key=value connection string with <c>Host=</c>, selects
/// PostgreSQL; anything else is a SQLite file path.
/// </summary>
public static partial class StoreFactory
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Redacted = new(StringComparer.Ordinal);

    /// <summary>Password for PostgreSQL stores when the store string has none; checked before <c>PGPASSWORD</c>.</summary>
    public const string PasswordVariable = "ARCP_PG_PASSWORD";

    public static bool IsPostgres(string storeSpec)
    {
        ArgumentNullException.ThrowIfNull(storeSpec);
        return storeSpec.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || storeSpec.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || HostKey().IsMatch(storeSpec);
    }

    public static Task<IArcpStore> OpenAsync(string storeSpec, CancellationToken cancellationToken) =>
        OpenAsync(storeSpec, StoreOpenMode.CreateIfMissing, cancellationToken);

    /// <summary>Opens the store; with <see cref="StoreOpenMode.MustExist"/> a missing SQLite file is a NotFound error (a PostgreSQL database is never created here anyway).</summary>
    public static async Task<IArcpStore> OpenAsync(string storeSpec, StoreOpenMode mode, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storeSpec);
        return IsPostgres(storeSpec)
            // A process opens a store per command: all of them share one pool per connection string.
            ? await PostgresArcpStore.OpenAsync(ToConnectionString(storeSpec), sharePool: true, cancellationToken).ConfigureAwait(false)
            : await SqliteArcpStore.OpenAsync(storeSpec, mode, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The store string without its password, for every message, output object and log: the one redactor.
    /// Everything else (host, database, <c>sslmode</c>, search path) is kept, so the redacted string still
    /// names the same store; <see cref="Unredact"/> gives this process back the string it redacted.
    /// </summary>
    public static string Redact(string storeSpec)
    {
        ArgumentNullException.ThrowIfNull(storeSpec);
        if (!IsPostgres(storeSpec))
        {
            return storeSpec;
        }

        string redacted;
        try
        {
            redacted = PostgresStoreString.Redact(storeSpec);
        }
        catch (StoreException)
        {
            return "(unreadable PostgreSQL connection string)";
        }

        if (!string.Equals(redacted, storeSpec, StringComparison.Ordinal))
        {
            Redacted[redacted] = storeSpec;
        }

        return redacted;
    }

    /// <summary>
    /// The store string this process redacted to <paramref name="storeSpec"/> (so <c>Get-ArcpJob | Resume-ArcpJob</c>
    /// keeps working when the password was in the store string), else <paramref name="storeSpec"/> itself.
    /// Kept in this process's memory only, never written anywhere.
    /// </summary>
    public static string Unredact(string storeSpec)
    {
        ArgumentNullException.ThrowIfNull(storeSpec);
        return Redacted.TryGetValue(storeSpec, out var original) ? original : storeSpec;
    }

    /// <summary>
    /// The Npgsql connection string for a PostgreSQL store string, with credentials the string lacks taken
    /// from the environment: the user from <c>PGUSER</c>, the password from <c>ARCP_PG_PASSWORD</c> or <c>PGPASSWORD</c>.
    /// </summary>
    internal static string ToConnectionString(string storeSpec) => PostgresStoreString.ToConnectionString(storeSpec);

    [GeneratedRegex(@"(^|;)\s*(Host|Server)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HostKey();
}
