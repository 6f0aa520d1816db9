using System.Text.Json;
using System.Text.Json.Nodes;

namespace Arcp.Resumability.Runtime.Hosting;

/// <summary>
/// The bearer tokens a hosted runtime accepts. Two formats:
/// <list type="bullet">
/// <item>text: one <c>token principal [admin]</c> per line, blank lines and <c>#</c> comments ignored;</item>
/// <item>JSON: an array of <c>{ "token": "…", "principal": "…", "admin": true }</c> objects.</item>
/// </list>
/// <c>admin</c> principals may shut the runtime down with <c>arcpx.resumability.shutdown.v1</c>.
/// Only the tokens' hashes are kept (<see cref="TokenAuthenticator"/>).
/// </summary>
public sealed record BearerTokenFile(TokenAuthenticator Tokens, IReadOnlySet<string> AdminPrincipals)
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Reads a token file, refusing on Unix one that any other user could read or change (as ssh refuses a private key).</summary>
    /// <exception cref="UnauthorizedAccessException">The file is open to its group or to others.</exception>
    public static BearerTokenFile Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsWindows() && File.GetUnixFileMode(path) is var mode && (mode & GroupOrOthers) != 0)
        {
            throw new UnauthorizedAccessException(
                $"The token file '{path}' is open to other users (mode {Convert.ToString((int)mode, 8)}); bearer tokens must be private to the runtime's user. Run: chmod 600 '{path}'");
        }

        return Parse(File.ReadAllText(path), path);
    }

    public static BearerTokenFile Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Plain text only while the file is read; the result keeps hashes.
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        var admins = new HashSet<string>(StringComparer.Ordinal);
        void Add(string token, string principal, bool admin, string where)
        {
            if (token.Length == 0 || principal.Length == 0)
            {
                throw new FormatException($"{source}: {where} needs a token and a principal.");
            }

            if (!tokens.TryAdd(token, principal))
            {
                throw new FormatException($"{source}: {where} repeats a token; each token must name exactly one principal.");
            }

            if (admin)
            {
                admins.Add(principal);
            }
        }

        if (text.TrimStart().StartsWith('['))
        {
            JsonArray entries;
            try
            {
                entries = JsonNode.Parse(text)?.AsArray() ?? [];
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                throw new FormatException($"{source}: not a JSON array of token entries: {ex.Message}", ex);
            }

            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i] as JsonObject ?? throw new FormatException($"{source}: entry {i} is not an object.");
                try
                {
                    Add(entry["token"]?.GetValue<string>() ?? string.Empty, entry["principal"]?.GetValue<string>() ?? string.Empty, entry["admin"]?.GetValue<bool>() ?? false, $"entry {i}");
                }
                catch (InvalidOperationException ex)
                {
                    throw new FormatException($"{source}: entry {i} has a field of the wrong type: {ex.Message}", ex);
                }
            }
        }
        else
        {
            var number = 0;
            foreach (var raw in text.Split('\n'))
            {
                number++;
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length is < 2 or > 3 || (parts.Length == 3 && parts[2] != "admin"))
                {
                    throw new FormatException($"{source}: line {number} must read 'token principal' or 'token principal admin'.");
                }

                Add(parts[0], parts[1], parts.Length == 3, $"line {number}");
            }
        }

        return new BearerTokenFile(TokenAuthenticator.FromTokens(tokens), admins);
    }
}
