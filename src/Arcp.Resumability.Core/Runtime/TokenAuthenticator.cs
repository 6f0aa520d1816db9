using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// The bearer tokens a runtime accepts, kept only as SHA-256 hashes: a memory dump or a debugger
/// shows no usable token. A presented token is hashed and compared with every known hash in constant
/// time (<see cref="CryptographicOperations.FixedTimeEquals"/>), so neither which token matched nor how
/// much of it matched shows in the time an answer takes.
/// </summary>
public sealed class TokenAuthenticator
{
    // Strict: a lone surrogate must not hash like U+FFFD and so match a different token.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly (byte[] Hash, string Principal)[] entries;

    private TokenAuthenticator((byte[] Hash, string Principal)[] entries) => this.entries = entries;

    /// <summary>No token is accepted.</summary>
    public static TokenAuthenticator None { get; } = new([]);

    /// <summary>How many tokens are accepted.</summary>
    public int Count => entries.Length;

    /// <summary>Hashes each <c>token → principal</c> pair; the plain-text tokens are not kept.</summary>
    /// <exception cref="ArgumentException">A token or principal is empty, or a token appears twice.</exception>
    public static TokenAuthenticator FromTokens(IEnumerable<KeyValuePair<string, string>> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var entries = new List<(byte[] Hash, string Principal)>();
        foreach (var (token, principal) in tokens)
        {
            ArgumentException.ThrowIfNullOrEmpty(token);
            ArgumentException.ThrowIfNullOrEmpty(principal);
            var hash = Hash(token) ?? throw new ArgumentException("A token is not valid Unicode text.", nameof(tokens));
            if (entries.Exists(e => e.Hash.AsSpan().SequenceEqual(hash)))
            {
                throw new ArgumentException("A token appears twice; each token must name exactly one principal.", nameof(tokens));
            }

            entries.Add((hash, principal));
        }

        return new TokenAuthenticator([.. entries]);
    }

    /// <summary>Lets options and tests give tokens as a plain <c>token → principal</c> dictionary; only hashes are kept.</summary>
    [SuppressMessage("Usage", "CA2225:Operator overloads have named alternates", Justification = "FromTokens is the named alternate.")]
    public static implicit operator TokenAuthenticator(Dictionary<string, string> tokens) => FromTokens(tokens);

    /// <summary>True (with its principal) when <paramref name="token"/> is one of the accepted tokens.</summary>
    public bool TryAuthenticate(string? token, [NotNullWhen(true)] out string? principal)
    {
        principal = null;
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }

        if (Hash(token) is not { } presented)
        {
            return false;
        }

        // Every entry is compared, whichever matches, so the time taken does not say which one did.
        foreach (var (hash, owner) in entries)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, presented))
            {
                principal = owner;
            }
        }

        return principal is not null;
    }

    private static byte[]? Hash(string token)
    {
        try
        {
            return SHA256.HashData(StrictUtf8.GetBytes(token));
        }
        catch (EncoderFallbackException)
        {
            return null;
        }
    }
}
