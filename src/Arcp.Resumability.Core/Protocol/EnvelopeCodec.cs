using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Arcp.Resumability.Protocol;

/// <summary>Turns frames into validated envelopes and back.</summary>
public static class EnvelopeCodec
{
    public static string Serialize(Envelope envelope) => JsonSerializer.Serialize(envelope, ArcpJson.Options);

    /// <summary>
    /// The frame of <paramref name="header"/> carrying <paramref name="payload"/> (the header's own payload is not read):
    /// byte for byte what <see cref="Serialize(Envelope)"/> writes for <c>header with { Payload = ArcpJson.ToElement(payload) }</c>.
    /// </summary>
    /// <remarks>
    /// The payload is written straight into the frame instead of into an element first (written, parsed, copied, then
    /// written again): every step sends two such frames and is answered with two. The fields are the envelope's, in its
    /// order, with the serializer's rules (nulls left out, the same encoder); a test holds the two forms equal for every field.
    /// </remarks>
    public static string Serialize<TPayload>(Envelope header, TPayload payload)
    {
        ArgumentNullException.ThrowIfNull(header);
        var scratch = FrameScratch.Take();
        try
        {
            var writer = scratch.Writer;
            WriteHeader(writer, header);
            writer.WritePropertyName("payload");
            JsonSerializer.Serialize(writer, payload, ArcpJson.Options);
            writer.WriteEndObject();
            writer.Flush();
            return Encoding.UTF8.GetString(scratch.Written);
        }
        finally
        {
            scratch.Return();
        }
    }

    /// <summary>
    /// Opens a frame of <paramref name="header"/> and writes its fields up to the payload (the header's own payload is
    /// not read): the caller writes <c>"payload"</c> and ends the object. The fields are the envelope's, in its order,
    /// with the serializer's rules (nulls left out).
    /// </summary>
    internal static void WriteHeader(Utf8JsonWriter writer, Envelope header)
    {
        writer.WriteStartObject();
        WriteIfPresent(writer, "arcp", header.Arcp);
        WriteIfPresent(writer, "id", header.Id);
        WriteIfPresent(writer, "type", header.Type);
        WriteIfPresent(writer, "timestamp", header.Timestamp);
        WriteIfPresent(writer, "source", header.Source);
        WriteIfPresent(writer, "target", header.Target);
        WriteIfPresent(writer, "session_id", header.SessionId);
        WriteIfPresent(writer, "job_id", header.JobId);
        WriteIfPresent(writer, "stream_id", header.StreamId);
        WriteIfPresent(writer, "subscription_id", header.SubscriptionId);
        WriteIfPresent(writer, "trace_id", header.TraceId);
        WriteIfPresent(writer, "span_id", header.SpanId);
        WriteIfPresent(writer, "parent_span_id", header.ParentSpanId);
        WriteIfPresent(writer, "correlation_id", header.CorrelationId);
        WriteIfPresent(writer, "causation_id", header.CausationId);
        WriteIfPresent(writer, "idempotency_key", header.IdempotencyKey);
        WriteIfPresent(writer, "priority", header.Priority);
        if (header.Extensions is { } extensions)
        {
            writer.WritePropertyName("extensions");
            JsonSerializer.Serialize(writer, extensions, ArcpJson.Options);
        }
    }

    private static void WriteIfPresent(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

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
        using var utf8 = new PooledUtf8(frame);
        if (FrameValidator.FindProblemInFrame(utf8.Memory) is { } problem)
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

        var optional = ReadOptionalText(obj, id);
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
            Source = optional[0],
            Target = optional[1],
            SessionId = optional[2],
            JobId = optional[3],
            StreamId = optional[4],
            SubscriptionId = optional[5],
            TraceId = optional[6],
            SpanId = optional[7],
            ParentSpanId = optional[8],
            CorrelationId = optional[9],
            CausationId = optional[10],
            IdempotencyKey = optional[11],
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

    private static readonly string[] OptionalStringFields =
    [
        "source", "target", "session_id", "job_id", "stream_id", "subscription_id", "trace_id", "span_id", "parent_span_id",
        "correlation_id", "causation_id", "idempotency_key",
    ];

    /// <summary>The text of each of <see cref="OptionalStringFields"/>, in that order (null when absent or null).</summary>
    /// <remarks>
    /// One pass over the frame's fields instead of a lookup per optional field, each a walk over every field. A field
    /// present as neither text nor null is refused, the first in <see cref="OptionalStringFields"/>' order named.
    /// </remarks>
    private static string?[] ReadOptionalText(JsonElement obj, string id)
    {
        var values = new string?[OptionalStringFields.Length];
        var firstWrong = OptionalStringFields.Length;
        foreach (var field in obj.EnumerateObject())
        {
            for (var i = 0; i < OptionalStringFields.Length; i++)
            {
                if (!field.NameEquals(OptionalStringFields[i]))
                {
                    continue;
                }

                if (field.Value.ValueKind == JsonValueKind.String)
                {
                    values[i] = field.Value.GetString();
                }
                else if (field.Value.ValueKind != JsonValueKind.Null)
                {
                    firstWrong = Math.Min(firstWrong, i);
                }

                break;
            }
        }

        return firstWrong < OptionalStringFields.Length
            ? throw new EnvelopeFormatException(id, $"Envelope field '{OptionalStringFields[firstWrong]}' must be a string.")
            : values;
    }

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

/// <summary>One thread's buffer and writer for <see cref="EnvelopeCodec.Serialize{TPayload}"/>, reset between frames.</summary>
internal sealed class FrameScratch
{
    // A frame above this leaves its buffer to the collector rather than keeping it for the thread's next, small one.
    private const int KeptCapacity = 64 * 1024;

    [ThreadStatic]
    private static FrameScratch? cached;

    private readonly ArrayBufferWriter<byte> buffer = new(1024);

    private FrameScratch()
    {
        Writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ArcpJson.Options.Encoder, MaxDepth = ArcpJson.MaxDepth });
    }

    public Utf8JsonWriter Writer { get; }

    public ReadOnlySpan<byte> Written => buffer.WrittenSpan;

    /// <summary>This thread's scratch, or a new one when it is in use or the thread has none yet.</summary>
    public static FrameScratch Take()
    {
        var scratch = cached ?? new FrameScratch();
        cached = null;
        return scratch;
    }

    /// <summary>Empties the buffer and keeps the scratch for the thread's next frame, unless a large frame grew it.</summary>
    public void Return()
    {
        buffer.ResetWrittenCount();
        Writer.Reset(buffer);
        if (buffer.Capacity <= KeptCapacity)
        {
            cached = this;
        }
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
