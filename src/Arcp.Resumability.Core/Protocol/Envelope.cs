using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Arcp.Resumability.Protocol;

/// <summary>The canonical ARCP envelope (RFC 0001 §6.1). Unknown top-level fields are ignored on read.</summary>
public sealed record Envelope
{
    public const string ProtocolVersion = "1.0";

    [JsonPropertyName("arcp")]
    public string Arcp { get; init; } = ProtocolVersion;

    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("timestamp")]
    public required string Timestamp { get; init; }

    [JsonPropertyName("source")]
    public string? Source { get; init; }

    [JsonPropertyName("target")]
    public string? Target { get; init; }

    [JsonPropertyName("session_id")]
    public string? SessionId { get; init; }

    [JsonPropertyName("job_id")]
    public string? JobId { get; init; }

    [JsonPropertyName("stream_id")]
    public string? StreamId { get; init; }

    [JsonPropertyName("subscription_id")]
    public string? SubscriptionId { get; init; }

    [JsonPropertyName("trace_id")]
    public string? TraceId { get; init; }

    [JsonPropertyName("span_id")]
    public string? SpanId { get; init; }

    [JsonPropertyName("parent_span_id")]
    public string? ParentSpanId { get; init; }

    [JsonPropertyName("correlation_id")]
    public string? CorrelationId { get; init; }

    [JsonPropertyName("causation_id")]
    public string? CausationId { get; init; }

    [JsonPropertyName("idempotency_key")]
    public string? IdempotencyKey { get; init; }

    [JsonPropertyName("priority")]
    public string? Priority { get; init; }

    [JsonPropertyName("extensions")]
    public JsonObject? Extensions { get; init; }

    [JsonPropertyName("payload")]
    public JsonElement Payload { get; init; }

    /// <summary>A new envelope with a fresh message id and the current time.</summary>
    public static Envelope Create<TPayload>(string type, TPayload payload, string? sessionId = null, string? jobId = null, string? correlationId = null) =>
        Header(type, sessionId, jobId, correlationId) with { Payload = ArcpJson.ToElement(payload) };

    /// <summary>
    /// As <see cref="Create"/> without a payload: the envelope of a frame that <see cref="EnvelopeCodec.Serialize{TPayload}"/>
    /// writes with its payload. Its <see cref="Payload"/> is not set; it is not for <see cref="PayloadAs{T}"/>.
    /// </summary>
    public static Envelope Header(string type, string? sessionId = null, string? jobId = null, string? correlationId = null) => new()
    {
        Id = ArcpId.NewMessageId(),
        Type = type,
        Timestamp = ArcpJson.FormatTimestamp(DateTimeOffset.UtcNow),
        SessionId = sessionId,
        JobId = jobId,
        CorrelationId = correlationId,
    };

    public T PayloadAs<T>() => ArcpJson.Deserialize<T>(Payload);

    /// <summary>§21.3: a namespaced message the sender marked optional may be dropped silently.</summary>
    [JsonIgnore]
    public bool IsMarkedOptional =>
        Extensions?["optional"] is JsonValue value && value.TryGetValue(out bool optional) && optional;
}
