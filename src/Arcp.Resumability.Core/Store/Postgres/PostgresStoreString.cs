using Npgsql;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>Reads the operator's PostgreSQL store string (a libpq URI or a key=value connection string) with Npgsql's own parser.</summary>
internal static class PostgresStoreString
{
    // Query parameters of libpq URIs that Npgsql spells differently; any other name must be an Npgsql keyword.
    private static readonly Dictionary<string, string> UriParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["search_path"] = "Search Path",
        ["target_session_attrs"] = "Target Session Attributes",
    };

    /// <summary>The store string without its password (in the user part or a <c>password</c> parameter); the rest is kept as written.</summary>
    public static string Redact(string storeSpec) => IsUri(storeSpec) ? RedactUri(storeSpec) : RedactKeywords(storeSpec);

    /// <summary>
    /// The Npgsql connection string for a PostgreSQL store string, with credentials the string lacks taken
    /// from the environment: the user from <c>PGUSER</c>, the password from <c>ARCP_PG_PASSWORD</c> or <c>PGPASSWORD</c>.
    /// </summary>
    public static string ToConnectionString(string storeSpec)
    {
        var builder = Parse(storeSpec);
        if (string.IsNullOrEmpty(builder.Username) && Environment.GetEnvironmentVariable("PGUSER") is { Length: > 0 } user)
        {
            builder.Username = user;
        }

        if (builder.Password is null
            && (Environment.GetEnvironmentVariable(StoreFactory.PasswordVariable) ?? Environment.GetEnvironmentVariable("PGPASSWORD")) is { Length: > 0 } password)
        {
            builder.Password = password;
        }

        return builder.ConnectionString;
    }

    private static bool IsUri(string storeSpec) =>
        storeSpec.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || storeSpec.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    // postgresql://user:secret@host/db?password=secret&sslmode=… → postgresql://user@host/db?sslmode=…
    private static string RedactUri(string storeSpec)
    {
        Parse(storeSpec);
        var schemeEnd = storeSpec.IndexOf("://", StringComparison.Ordinal) + 3;
        var queryStart = storeSpec.IndexOf('?', schemeEnd);
        var beforeQuery = queryStart < 0 ? storeSpec : storeSpec[..queryStart];
        var authorityEnd = beforeQuery.IndexOf('/', schemeEnd) is var slash and >= 0 ? slash : beforeQuery.Length;
        var at = beforeQuery.LastIndexOf('@', authorityEnd - 1, authorityEnd - schemeEnd);
        if (at >= 0 && beforeQuery.IndexOf(':', schemeEnd, at - schemeEnd) is var colon and >= 0)
        {
            beforeQuery = beforeQuery[..colon] + beforeQuery[at..];
        }

        if (queryStart < 0)
        {
            return beforeQuery;
        }

        var kept = storeSpec[(queryStart + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(pair => !Uri.UnescapeDataString(pair.Split('=')[0]).Equals("password", StringComparison.OrdinalIgnoreCase))
            .ToList();
        return kept.Count == 0 ? beforeQuery : beforeQuery + "?" + string.Join('&', kept);
    }

    private static string RedactKeywords(string storeSpec)
    {
        var builder = Parse(storeSpec);
        if (builder.Password is null)
        {
            return storeSpec;
        }

        builder.Remove("Password");
        return builder.ConnectionString;
    }

    private static NpgsqlConnectionStringBuilder Parse(string storeSpec)
    {
        try
        {
            return IsUri(storeSpec)
                ? FromUri(storeSpec[(storeSpec.IndexOf("://", StringComparison.Ordinal) + 3)..])
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
            builder[UriParameters.GetValueOrDefault(name, name)] = name.Equals("sslmode", StringComparison.OrdinalIgnoreCase) ? SslMode(value) : value;
        }

        return builder;
    }

    // libpq spells the modes disable, allow, prefer, require, verify-ca, verify-full; Npgsql's names drop the hyphen.
    private static string SslMode(string libpqMode) =>
        libpqMode.ToLowerInvariant() switch
        {
            "disable" or "allow" or "prefer" or "require" => libpqMode,
            "verify-ca" or "verifyca" => "VerifyCA",
            "verify-full" or "verifyfull" => "VerifyFull",
            _ => throw new FormatException($"sslmode '{libpqMode}' is not one of disable, allow, prefer, require, verify-ca, verify-full (verify-full is the one that checks the server's certificate and name)."),
        };
}
