using System.Text.RegularExpressions;
using Arcp.Resumability.Store.Postgres;
using Arcp.Resumability.Store.Sqlite;
using Npgsql;

namespace Arcp.Resumability.Store;

/// <summary>
/// Opens a store from the operator's one-string description: a <c>postgres://</c> or
/// <c>postgresql://</c> URI, or an Npgsql key=value connection string with <c>Host=</c>, selects
/// PostgreSQL; anything else is a SQLite file path.
/// </summary>
public static partial class StoreFactory
{
    /// <summary>Password for PostgreSQL stores when the store string has none; checked before <c>PGPASSWORD</c>.</summary>
    public const string PasswordVariable = "ARCP_PG_PASSWORD";

    // Query parameters of libpq URIs that Npgsql spells differently; any other name must be an Npgsql keyword.
    private static readonly Dictionary<string, string> UriParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["search_path"] = "Search Path",
        ["target_session_attrs"] = "Target Session Attributes",
    };

    public static bool IsPostgres(string storeSpec)
    {
        ArgumentNullException.ThrowIfNull(storeSpec);
        return storeSpec.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || storeSpec.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || HostKey().IsMatch(storeSpec);
    }

    public static async Task<IArcpStore> OpenAsync(string storeSpec, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storeSpec);
        return IsPostgres(storeSpec)
            ? await PostgresArcpStore.OpenAsync(ToConnectionString(storeSpec), cancellationToken).ConfigureAwait(false)
            : await SqliteArcpStore.OpenAsync(storeSpec, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The store string without its password, for messages and logs.</summary>
    public static string Redact(string storeSpec)
    {
        ArgumentNullException.ThrowIfNull(storeSpec);
        if (!IsPostgres(storeSpec))
        {
            return storeSpec;
        }

        try
        {
            return PostgresArcpStore.Describe(Parse(storeSpec));
        }
        catch (StoreException)
        {
            return "(unreadable PostgreSQL connection string)";
        }
    }

    /// <summary>
    /// The Npgsql connection string for a PostgreSQL store string, with credentials the string lacks taken
    /// from the environment: the user from <c>PGUSER</c>, the password from <c>ARCP_PG_PASSWORD</c> or <c>PGPASSWORD</c>.
    /// </summary>
    internal static string ToConnectionString(string storeSpec)
    {
        var builder = Parse(storeSpec);
        if (string.IsNullOrEmpty(builder.Username) && Environment.GetEnvironmentVariable("PGUSER") is { Length: > 0 } user)
        {
            builder.Username = user;
        }

        if (builder.Password is null
            && (Environment.GetEnvironmentVariable(PasswordVariable) ?? Environment.GetEnvironmentVariable("PGPASSWORD")) is { Length: > 0 } password)
        {
            builder.Password = password;
        }

        return builder.ConnectionString;
    }

    private static NpgsqlConnectionStringBuilder Parse(string storeSpec)
    {
        try
        {
            var schemeEnd = storeSpec.IndexOf("://", StringComparison.Ordinal);
            return schemeEnd > 0 && storeSpec.StartsWith("postgres", StringComparison.OrdinalIgnoreCase)
                ? FromUri(storeSpec[(schemeEnd + 3)..])
                : new NpgsqlConnectionStringBuilder(storeSpec);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new StoreException(StoreErrorKind.Unavailable, $"The PostgreSQL store string is not valid: {ex.Message}", ex);
        }
    }

    // postgresql://[user[:password]@][host[:port][,host[:port]...]][/database][?name=value&...]
    private static NpgsqlConnectionStringBuilder FromUri(string rest)
    {
        var builder = new NpgsqlConnectionStringBuilder();
        var queryStart = rest.IndexOf('?', StringComparison.Ordinal);
        var query = queryStart < 0 ? string.Empty : rest[(queryStart + 1)..];
        var path = queryStart < 0 ? rest : rest[..queryStart];
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? path : path[..slash];
        if (slash >= 0 && path.Length > slash + 1)
        {
            builder.Database = Uri.UnescapeDataString(path[(slash + 1)..]);
        }

        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            }
        }

        if (authority.Length > 0)
        {
            var portColon = authority.LastIndexOf(':');
            if (!authority.Contains(',', StringComparison.Ordinal) && portColon > authority.LastIndexOf(']'))
            {
                builder.Host = authority[..portColon].Trim('[', ']');
                builder.Port = int.Parse(authority[(portColon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                // Several hosts keep their own ports; Npgsql reads "h1:5432,h2:5433" itself.
                builder.Host = authority.Trim('[', ']');
            }
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            builder[UriParameters.GetValueOrDefault(name, name)] = value;
        }

        return builder;
    }

    [GeneratedRegex(@"(^|;)\s*(Host|Server)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HostKey();
}
