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
    /// <remarks>
    /// One check of the raw text (<see cref="FrameValidator"/>: JSON, repeated keys, lone surrogates), then one
    /// document whose fields are checked in place and read into the envelope; every frame of every step comes
    /// through here on both ends of a session, so it is parsed once, not once per check. The text's UTF-8 bytes and
    /// the document's tables are pooled and given back here: the envelope keeps its own copy of the payload only.
    /// </remarks>
    public static Envelope Parse(string frame)
    {
        var problem = FrameValidator.FindProblem(frame, out PooledUtf8 utf8);
        using (utf8)
        {
            if (problem is not null)
            {
                throw new EnvelopeFormatException(null, problem);
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(utf8.Memory, DocumentOptions);
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

        var type = ReadString(obj, "type", id);
        if (string.IsNullOrWhiteSpace(type))
        {
            throw new EnvelopeFormatException(id, "Envelope field 'type' is required and must be a non-empty string.");
        }

        var timestamp = ReadString(obj, "timestamp", id);
        if (timestamp is null || !ArcpJson.TryParseTimestamp(timestamp, out _))
        {
            throw new EnvelopeFormatException(id, "Envelope field 'timestamp' is required and must be an RFC 3339 date-time.");
        }

        if (!obj.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object)
        {
            throw new EnvelopeFormatException(id, "Envelope field 'payload' is required and must be a JSON object.");
        }

        var priority = ReadString(obj, "priority", id);
        if (priority is not (null or "low" or "normal" or "high" or "critical"))
        {
            throw new EnvelopeFormatException(id, "Envelope field 'priority' must be one of low, normal, high, critical.");
        }

        if (obj.TryGetProperty("extensions", out var extensions) && extensions.ValueKind is not (JsonValueKind.Null or JsonValueKind.Object))
        {
            throw new EnvelopeFormatException(id, "Envelope field 'extensions' must be a JSON object.");
        }

        // Read field by field from the checked document, not deserialized again: that would read the whole frame a
        // third time and parse the payload once more into a copy. Unknown fields are ignored, as §6.1 asks.
        return new Envelope
        {
            Arcp = version,
            Id = id,
            Type = type,
            Timestamp = timestamp,
            Source = ReadString(obj, "source", id),
            Target = ReadString(obj, "target", id),
            SessionId = ReadString(obj, "session_id", id),
            JobId = ReadString(obj, "job_id", id),
            StreamId = ReadString(obj, "stream_id", id),
            SubscriptionId = ReadString(obj, "subscription_id", id),
            TraceId = ReadString(obj, "trace_id", id),
            SpanId = ReadString(obj, "span_id", id),
            ParentSpanId = ReadString(obj, "parent_span_id", id),
            CorrelationId = ReadString(obj, "correlation_id", id),
            CausationId = ReadString(obj, "causation_id", id),
            IdempotencyKey = ReadString(obj, "idempotency_key", id),
            Priority = priority,
            Extensions = extensions.ValueKind == JsonValueKind.Object ? JsonObject.Create(extensions.Clone()) : null,
            Payload = payload.Clone(),
        };
    }

    /// <summary>
    /// Our own words for a <see cref="JsonException"/>: its message names .NET types (such as the record a payload
    /// maps to), which a peer has no business reading; the JSON path is what it needs to fix the frame.
    /// </summary>
    public static string AtPath(JsonException exception) =>
        exception.Path is { Length: > 0 } path ? $" at {FrameValidator.Printable(path)}" : string.Empty;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = ArcpJson.MaxDepth };

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
