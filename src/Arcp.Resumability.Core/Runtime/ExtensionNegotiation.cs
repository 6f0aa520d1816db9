using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// §7 and §21.2: what a client requires must be supported, and an extension field must be one the runtime knows.
/// Requirements are read from <c>capabilities.required</c> (names) and from <c>capabilities.extensions</c> entries
/// written as <c>{"name": …, "required": true}</c>; plain string entries are offers and never refused.
/// </summary>
internal static class ExtensionNegotiation
{
    /// <summary>Envelope extension fields this runtime reads (and the RFC's own <c>optional</c> flag).</summary>
    private static readonly HashSet<string> KnownFields = new(StringComparer.Ordinal)
    {
        "optional", MessageTypes.DriverExtension, MessageTypes.LegacyDriverExtension, MessageTypes.ProcessExtension, MessageTypes.SubscriptionExtension,
        MessageTypes.ReplayExtension,
    };

    /// <summary>The client's required features and extensions that <paramref name="offered"/> (the runtime's capabilities) lacks.</summary>
    public static IReadOnlyList<string> Unsupported(JsonObject? requested, JsonObject offered)
    {
        var required = new List<string>();
        if (requested?["required"] is JsonArray names)
        {
            required.AddRange(names.Select(Name).OfType<string>());
        }

        if (requested?["extensions"] is JsonArray extensions)
        {
            required.AddRange(extensions.OfType<JsonObject>().Where(e => e["required"] is JsonValue flag && flag.TryGetValue(out bool yes) && yes).Select(e => Name(e["name"])).OfType<string>());
        }

        var extensionsOffered = (offered["extensions"] as JsonArray ?? []).Select(Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        return required.Distinct(StringComparer.Ordinal).Where(name => !extensionsOffered.Contains(name) && !IsTrue(offered[name])).ToList();
    }

    /// <summary>
    /// Extension fields of <paramref name="envelope"/> this runtime does not know; none when the sender marked the
    /// message <c>extensions.optional: true</c> (then they are ignored) and never the transport-internal <c>x-</c> ones.
    /// </summary>
    public static IReadOnlyList<string> UnknownFields(Envelope envelope) =>
        envelope.Extensions is not { } fields || envelope.IsMarkedOptional
            ? []
            : fields.Select(pair => pair.Key).Where(key => !KnownFields.Contains(key) && !key.StartsWith("x-", StringComparison.Ordinal)).ToList();

    private static string? Name(JsonNode? node) => node is JsonValue value && value.TryGetValue(out string? name) ? name : null;

    private static bool IsTrue(JsonNode? node) => node is JsonValue value && value.TryGetValue(out bool yes) && yes;
}
