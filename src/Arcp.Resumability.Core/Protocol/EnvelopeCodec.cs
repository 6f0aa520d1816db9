using System.Text.Json;
using System.Text.Json.Nodes;

namespace Arcp.Resumability.Protocol;

/// <summary>Turns frames into validated envelopes and back.</summary>
public static class EnvelopeCodec
{
    public static string Serialize(Envelope envelope) => JsonSerializer.Serialize(envelope, ArcpJson.Options);

    /// <summary>
    /// Parses and validates a frame against §6.1. A bad frame throws <see cref="EnvelopeFormatException"/>
    /// carrying the message id when one could be read, so the receiver can still address a <c>nack</c>.
    /// </summary>
    public static Envelope Parse(string frame)
    {
        if (FrameValidator.FindProblem(frame) is { } problem)
        {
            throw new EnvelopeFormatException(null, problem);
        }

        JsonNode? node;
        try
        {
            RefuseAmbiguousText(frame);
            node = ArcpJson.ParseNode(frame);
        }
        catch (JsonException ex)
        {
            throw new EnvelopeFormatException(null, $"Frame is not valid JSON{AtPath(ex)}.");
        }

        if (node is not JsonObject obj)
        {
            throw new EnvelopeFormatException(null, "Frame must be a JSON object.");
        }

        var id = ReadString(obj, "id", null);
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new EnvelopeFormatException(null, "Envelope field 'id' is required and must be a non-empty string.");
        }

        var version = ReadString(obj, "arcp", id);
        if (version is null)
        {
            throw new EnvelopeFormatException(id, "Envelope field 'arcp' is required.");
        }

        if (!version.StartsWith("1.", StringComparison.Ordinal))
        {
            throw new EnvelopeFormatException(id, $"Protocol version '{version}' is not supported; this runtime speaks ARCP {Envelope.ProtocolVersion}.");
        }

        if (string.IsNullOrWhiteSpace(ReadString(obj, "type", id)))
        {
            throw new EnvelopeFormatException(id, "Envelope field 'type' is required and must be a non-empty string.");
        }

        if (!ArcpJson.TryParseTimestamp(ReadString(obj, "timestamp", id), out _))
        {
            throw new EnvelopeFormatException(id, "Envelope field 'timestamp' is required and must be an RFC 3339 date-time.");
        }

        if (obj["payload"] is not JsonObject)
        {
            throw new EnvelopeFormatException(id, "Envelope field 'payload' is required and must be a JSON object.");
        }

        foreach (var optional in OptionalStringFields)
        {
            ReadString(obj, optional, id);
        }

        if (obj["priority"] is JsonValue && ReadString(obj, "priority", id) is not ("low" or "normal" or "high" or "critical"))
        {
            throw new EnvelopeFormatException(id, "Envelope field 'priority' must be one of low, normal, high, critical.");
        }

        if (obj["extensions"] is { } extensions && extensions is not JsonObject)
        {
            throw new EnvelopeFormatException(id, "Envelope field 'extensions' must be a JSON object.");
        }

        try
        {
            return obj.Deserialize<Envelope>(ArcpJson.Options) ?? throw new EnvelopeFormatException(id, "Envelope is empty.");
        }
        catch (JsonException ex)
        {
            throw new EnvelopeFormatException(id, $"Envelope does not match the schema{AtPath(ex)}.");
        }
    }

    /// <summary>
    /// Our own words for a <see cref="JsonException"/>: its message names .NET types (such as the record a payload
    /// maps to), which a peer has no business reading; the JSON path is what it needs to fix the frame.
    /// </summary>
    public static string AtPath(JsonException exception) =>
        exception.Path is { Length: > 0 } path ? $" at {FrameValidator.Printable(path)}" : string.Empty;

    private static readonly string[] OptionalStringFields =
    [
        "source", "target", "session_id", "job_id", "stream_id", "subscription_id", "trace_id", "span_id", "parent_span_id",
        "correlation_id", "causation_id", "idempotency_key",
    ];

    // JSON allows repeated keys and \uD800-style escapes that decode to no valid text; System.Text.Json (net8) reads both
    // lazily and then throws ArgumentException or InvalidOperationException from whichever member first touches
    // them, deep inside a handler. Walking the document once here turns both into a refusal of the frame itself.
    private static void RefuseAmbiguousText(string frame)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(frame, new JsonDocumentOptions { MaxDepth = ArcpJson.MaxDepth });
        }
        catch (ArgumentException)
        {
            throw new EnvelopeFormatException(null, "Frame is not valid Unicode text (an unpaired surrogate).");
        }

        using var _ = document;
        try
        {
            RefuseAmbiguousText(document.RootElement);
        }
        catch (InvalidOperationException)
        {
            throw new EnvelopeFormatException(null, "Frame holds a string that is not valid Unicode (an unpaired surrogate escape).");
        }
    }

    private static void RefuseAmbiguousText(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!names.Add(property.Name))
                    {
                        throw new EnvelopeFormatException(null, $"Frame repeats the key '{property.Name}' in one object.");
                    }

                    RefuseAmbiguousText(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    RefuseAmbiguousText(item);
                }

                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }

    private static string? ReadString(JsonObject obj, string name, string? id)
    {
        var value = obj[name];
        if (value is null)
        {
            return null;
        }

        if (value is JsonValue jsonValue && jsonValue.TryGetValue(out string? text))
        {
            return text;
        }

        throw new EnvelopeFormatException(id, $"Envelope field '{name}' must be a string.");
    }
}

/// <summary>A frame that is not a valid envelope; answered with <c>nack INVALID_ARGUMENT</c>.</summary>
public sealed class EnvelopeFormatException : Exception
{
    public EnvelopeFormatException(string? messageId, string message)
        : base(message)
    {
        MessageId = messageId;
    }

    public EnvelopeFormatException()
    {
    }

    public EnvelopeFormatException(string message)
        : base(message)
    {
    }

    public EnvelopeFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? MessageId { get; }
}
