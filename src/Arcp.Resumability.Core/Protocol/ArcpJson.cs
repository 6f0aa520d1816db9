using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// The one set of JSON rules for everything that crosses the wire or lands in a store. Keeping a
/// single writer configuration is what makes stored JSON, step idempotency keys and replays
/// byte-for-byte stable across processes.
/// </summary>
public static class ArcpJson
{
    /// <summary>Deep enough for real step outputs; deeper documents are rejected rather than truncated.</summary>
    public const int MaxDepth = 128;

    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static JsonElement ToElement<T>(T value) => JsonSerializer.SerializeToElement(value, Options);

    public static T Deserialize<T>(JsonElement element) =>
        element.Deserialize<T>(Options) ?? throw new JsonException($"Expected a {typeof(T).Name}, found null.");

    /// <summary>Canonical text of a JSON value ("null" for a missing value).</summary>
    public static string ToText(JsonNode? node) => node is null ? "null" : node.ToJsonString(Options);

    /// <summary>Parses JSON text into a node; malformed or too-deep text throws <see cref="JsonException"/>.</summary>
    public static JsonNode? ParseNode(string text) => JsonNode.Parse(text, NodeOptions, DocumentOptions);

    /// <summary>Lower-case hex SHA-256 of the given UTF-8 parts, each followed by a zero byte so parts cannot run together.</summary>
    /// <remarks>One-shot over one buffer: every step key is one of these, and an incremental hash object costs a native context each.</remarks>
    public static string Sha256Hex(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var length = 0;
        foreach (var part in parts)
        {
            length += Encoding.UTF8.GetByteCount(part) + 1;
        }

        var buffer = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var written = 0;
        foreach (var part in parts)
        {
            written += Encoding.UTF8.GetBytes(part, buffer[written..]);
            buffer[written++] = 0;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer, hash);
        return Convert.ToHexString(hash).ToLowerInvariant();
    }

    /// <summary>RFC 3339 UTC timestamp with millisecond precision, as every envelope carries.</summary>
    /// <remarks>The round-trip ("O") form cut to milliseconds: the same text as a custom pattern, formatted on .NET's fast path.</remarks>
    public static string FormatTimestamp(DateTimeOffset value)
    {
        Span<char> roundTrip = stackalloc char[28];
        value.UtcDateTime.TryFormat(roundTrip, out _, "O", CultureInfo.InvariantCulture);
        return string.Concat(roundTrip[..23], "Z");
    }

    public static bool TryParseTimestamp(string? text, out DateTimeOffset value)
    {
        // RFC 3339 requires a date, a 'T' (any case) and a zone; DateTimeOffset.TryParse alone is far more lenient.
        value = default;
        if (text is null || text.Length < 20 || (text[10] != 'T' && text[10] != 't'))
        {
            return false;
        }

        // The shape every envelope of this code carries first; anything else, and any doubt, goes to the general parser.
        if (UtcTimestamps.TryParseFixed(text, 3, out value))
        {
            return true;
        }

        var last = text[^1];
        var hasZone = last is 'Z' or 'z' || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');
        return hasZone && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out value);
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            MaxDepth = MaxDepth,
            WriteIndented = false,
            // Wire types from compiled contracts; anything else (a step's own output types, say) by reflection, as before.
            TypeInfoResolver = JsonTypeInfoResolver.Combine(ArcpJsonContext.Default, new DefaultJsonTypeInfoResolver()),
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
