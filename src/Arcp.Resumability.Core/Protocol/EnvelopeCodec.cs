using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Arcp.Resumability.Protocol;

/// <summary>Turns frames into validated envelopes and back.</summary>
public static class EnvelopeCodec
{
    public static string Serialize(Envelope envelope) => JsonSerializer.Serialize(envelope, ArcpJson.Options);

    /// <summary>
    /// Parses and validates a frame against §6.1. A bad frame throws <see cref="EnvelopeFormatException"/>
    /// carrying the message id when one could be read, so the receiver can still address a <c>nack</c>.
    /// </summary>
    /// <remarks>
    /// One check of the raw text (<see cref="FrameValidator"/>: JSON, repeated keys, lone surrogates), then one
    /// document whose fields are checked in place and read into the envelope; every frame of every step comes
    /// through here on both ends of a session, so it is parsed once, not once per check.
    /// </remarks>
    public static Envelope Parse(string frame)
    {
        if (!FrameValidator.IsWellFormed(frame))
        {
            throw new EnvelopeFormatException(null, FrameValidator.LoneSurrogateInText("Frame"));
        }

        // The frame's UTF-8 lives in a pooled buffer for as long as its document does: the envelope read from it owns
        // copies of everything it keeps (the payload is cloned out of the document), so nothing points into the buffer.
        var utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetByteCount(frame));
        try
        {
            var text = utf8.AsMemory(0, Encoding.UTF8.GetBytes(frame, utf8));
            if (FrameValidator.FindProblemInFrame(text) is { } problem)
            {
                throw new EnvelopeFormatException(null, problem);
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text, DocumentOptions);
            }
            catch (JsonException ex)
            {
                throw new EnvelopeFormatException(null, $"Frame is not valid JSON{AtPath(ex)}.");
            }

            using (document)
            {
                return Read(document.RootElement);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8);
        }
    }

    private static Envelope Read(JsonElement obj)
    {
        if (obj.ValueKind != JsonValueKind.Object)
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

        if (!obj.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object)
        {
            throw new EnvelopeFormatException(id, "Envelope field 'payload' is required and must be a JSON object.");
        }

        foreach (var optional in OptionalStringFields)
        {
            // Only the kind: the envelope reads the text itself, and a string made here would be thrown away.
            if (obj.TryGetProperty(optional, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                throw new EnvelopeFormatException(id, $"Envelope field '{optional}' must be a string.");
            }
        }

        if (obj.TryGetProperty("priority", out var priority) && priority.ValueKind is not (JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array)
            && ReadString(obj, "priority", id) is not ("low" or "normal" or "high" or "critical"))
        {
            throw new EnvelopeFormatException(id, "Envelope field 'priority' must be one of low, normal, high, critical.");
        }

        if (obj.TryGetProperty("extensions", out var extensions) && extensions.ValueKind is not (JsonValueKind.Null or JsonValueKind.Object))
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

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = ArcpJson.MaxDepth };

    private static readonly string[] OptionalStringFields =
    [
        "source", "target", "session_id", "job_id", "stream_id", "subscription_id", "trace_id", "span_id", "parent_span_id",
        "correlation_id", "causation_id", "idempotency_key",
    ];

    private static string? ReadString(JsonElement obj, string name, string? id)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new EnvelopeFormatException(id, $"Envelope field '{name}' must be a string.");
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
