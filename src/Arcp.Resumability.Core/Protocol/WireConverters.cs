using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// Hand-written converters for the wire records every first job reads and writes that have value-type properties
/// (<c>bool</c>, <c>bool?</c>, <c>int?</c>, <c>long?</c>, <c>double</c>, <c>double?</c>, <c>JsonElement</c>).
/// </summary>
/// <remarks>
/// A compiled contract describes such a property with System.Text.Json's generic metadata over the value type
/// (<c>JsonPropertyInfoValues&lt;T&gt;</c>, <c>JsonPropertyInfo&lt;T&gt;</c>, <c>NullableConverter&lt;T&gt;</c>, ...), which
/// no ReadyToRun image holds: about 300 methods JIT-compiled in every new process, the largest share of the module's
/// own first-job JIT. These converters are the module's code (precompiled) and write and read exactly what those
/// contracts did: the same property order and names, nulls left out, the reader's own number and token rules, unknown
/// properties skipped, the last of repeated properties winning, <c>required</c> members enforced
/// (WireConvertersTests compares them with the reflection contract of the same records, bytes and errors).
/// </remarks>
internal static class WireConverters
{
    public static readonly JsonConverter[] All =
    [
        new EnvelopeConverter(),
        new ArcpErrorConverter(),
        new SessionAcceptedConverter(),
        new AckConverter(),
        new JobAcceptedConverter(),
        new JobProgressConverter(),
        new CheckpointSnapshotConverter(),
        new CheckpointSummaryConverter(),
        new JobSummaryConverter(),
    ];

    public static void WriteString(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    public static void WriteNumber(Utf8JsonWriter writer, JsonEncodedText name, int? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    public static void WriteNumber(Utf8JsonWriter writer, JsonEncodedText name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    public static void WriteNumber(Utf8JsonWriter writer, JsonEncodedText name, double? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    public static void WriteBoolean(Utf8JsonWriter writer, JsonEncodedText name, bool? value)
    {
        if (value is { } flag)
        {
            writer.WriteBoolean(name, flag);
        }
    }

    /// <summary>A reference-typed property (a node or another record) through its own contract, as the serializer would.</summary>
    public static void WriteValue(Utf8JsonWriter writer, JsonEncodedText name, object? value, Type type, JsonSerializerOptions options)
    {
        if (value is not null)
        {
            writer.WritePropertyName(name);
            JsonSerializer.Serialize(writer, value, options.GetTypeInfo(type));
        }
    }

    /// <summary>A reference-typed property's value (the reader on its first token), through its own contract.</summary>
    public static T? ReadValue<T>(ref Utf8JsonReader reader, JsonSerializerOptions options)
        where T : class =>
        (T?)JsonSerializer.Deserialize(ref reader, options.GetTypeInfo(typeof(T)));

    public static int? ReadNullableInt32(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.Null ? null : reader.GetInt32();

    public static long? ReadNullableInt64(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.Null ? null : reader.GetInt64();

    public static double? ReadNullableDouble(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.Null ? null : reader.GetDouble();

    public static bool? ReadNullableBoolean(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.Null ? null : reader.GetBoolean();

    /// <summary>Checks the object's start; then <see cref="NextProperty"/> walks its properties.</summary>
    public static void StartObject(ref Utf8JsonReader reader, Type type)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"The JSON value could not be converted to {type.Name}.");
        }
    }

    /// <summary>Moves to the next property's name; false at the object's end.</summary>
    public static bool NextProperty(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.PropertyName;
    }

    /// <summary>Moves from a property's name to its value.</summary>
    public static void Value(ref Utf8JsonReader reader) => reader.Read();

    /// <summary>Skips the value of a property the record does not have.</summary>
    public static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    public static JsonException MissingRequired(Type type, string names) =>
        new($"JSON deserialization for type '{type.FullName}' was missing required properties including: {names}.");
}

internal sealed class EnvelopeConverter : JsonConverter<Envelope>
{
    private static readonly JsonEncodedText Arcp = JsonEncodedText.Encode("arcp");
    private static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText Target = JsonEncodedText.Encode("target");
    private static readonly JsonEncodedText SessionId = JsonEncodedText.Encode("session_id");
    private static readonly JsonEncodedText JobId = JsonEncodedText.Encode("job_id");
    private static readonly JsonEncodedText StreamId = JsonEncodedText.Encode("stream_id");
    private static readonly JsonEncodedText SubscriptionId = JsonEncodedText.Encode("subscription_id");
    private static readonly JsonEncodedText TraceId = JsonEncodedText.Encode("trace_id");
    private static readonly JsonEncodedText SpanId = JsonEncodedText.Encode("span_id");
    private static readonly JsonEncodedText ParentSpanId = JsonEncodedText.Encode("parent_span_id");
    private static readonly JsonEncodedText CorrelationId = JsonEncodedText.Encode("correlation_id");
    private static readonly JsonEncodedText CausationId = JsonEncodedText.Encode("causation_id");
    private static readonly JsonEncodedText IdempotencyKey = JsonEncodedText.Encode("idempotency_key");
    private static readonly JsonEncodedText Priority = JsonEncodedText.Encode("priority");
    private static readonly JsonEncodedText Extensions = JsonEncodedText.Encode("extensions");
    private static readonly JsonEncodedText Payload = JsonEncodedText.Encode("payload");

    public override Envelope Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        string? arcp = Envelope.ProtocolVersion, id = null, type = null, timestamp = null, source = null, target = null, sessionId = null, jobId = null;
        string? streamId = null, subscriptionId = null, traceId = null, spanId = null, parentSpanId = null, correlationId = null;
        string? causationId = null, idempotencyKey = null, priority = null;
        JsonObject? extensions = null;
        JsonElement payload = default;
        bool hasId = false, hasType = false, hasTimestamp = false;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(Id.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                id = reader.GetString();
                hasId = true;
            }
            else if (reader.ValueTextEquals(TypeName.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                type = reader.GetString();
                hasType = true;
            }
            else if (reader.ValueTextEquals(Timestamp.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                timestamp = reader.GetString();
                hasTimestamp = true;
            }
            else if (reader.ValueTextEquals(Payload.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                payload = JsonElement.ParseValue(ref reader);
            }
            else if (reader.ValueTextEquals(Arcp.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                arcp = reader.GetString();
            }
            else if (reader.ValueTextEquals(SessionId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                sessionId = reader.GetString();
            }
            else if (reader.ValueTextEquals(JobId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                jobId = reader.GetString();
            }
            else if (reader.ValueTextEquals(CorrelationId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                correlationId = reader.GetString();
            }
            else if (reader.ValueTextEquals(Source.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                source = reader.GetString();
            }
            else if (reader.ValueTextEquals(Target.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                target = reader.GetString();
            }
            else if (reader.ValueTextEquals(StreamId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                streamId = reader.GetString();
            }
            else if (reader.ValueTextEquals(SubscriptionId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                subscriptionId = reader.GetString();
            }
            else if (reader.ValueTextEquals(TraceId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                traceId = reader.GetString();
            }
            else if (reader.ValueTextEquals(SpanId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                spanId = reader.GetString();
            }
            else if (reader.ValueTextEquals(ParentSpanId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                parentSpanId = reader.GetString();
            }
            else if (reader.ValueTextEquals(CausationId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                causationId = reader.GetString();
            }
            else if (reader.ValueTextEquals(IdempotencyKey.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                idempotencyKey = reader.GetString();
            }
            else if (reader.ValueTextEquals(Priority.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                priority = reader.GetString();
            }
            else if (reader.ValueTextEquals(Extensions.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                extensions = WireConverters.ReadValue<JsonObject>(ref reader, options);
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        if (!(hasId && hasType && hasTimestamp))
        {
            throw WireConverters.MissingRequired(typeToConvert, string.Join(", ", new[] { hasId ? null : "'id'", hasType ? null : "'type'", hasTimestamp ? null : "'timestamp'" }.OfType<string>()));
        }

        return new Envelope
        {
            Arcp = arcp!,
            Id = id!,
            Type = type!,
            Timestamp = timestamp!,
            Source = source,
            Target = target,
            SessionId = sessionId,
            JobId = jobId,
            StreamId = streamId,
            SubscriptionId = subscriptionId,
            TraceId = traceId,
            SpanId = spanId,
            ParentSpanId = parentSpanId,
            CorrelationId = correlationId,
            CausationId = causationId,
            IdempotencyKey = idempotencyKey,
            Priority = priority,
            Extensions = extensions,
            Payload = payload,
        };
    }

    public override void Write(Utf8JsonWriter writer, Envelope value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WireConverters.WriteString(writer, Arcp, value.Arcp);
        WireConverters.WriteString(writer, Id, value.Id);
        WireConverters.WriteString(writer, TypeName, value.Type);
        WireConverters.WriteString(writer, Timestamp, value.Timestamp);
        WireConverters.WriteString(writer, Source, value.Source);
        WireConverters.WriteString(writer, Target, value.Target);
        WireConverters.WriteString(writer, SessionId, value.SessionId);
        WireConverters.WriteString(writer, JobId, value.JobId);
        WireConverters.WriteString(writer, StreamId, value.StreamId);
        WireConverters.WriteString(writer, SubscriptionId, value.SubscriptionId);
        WireConverters.WriteString(writer, TraceId, value.TraceId);
        WireConverters.WriteString(writer, SpanId, value.SpanId);
        WireConverters.WriteString(writer, ParentSpanId, value.ParentSpanId);
        WireConverters.WriteString(writer, CorrelationId, value.CorrelationId);
        WireConverters.WriteString(writer, CausationId, value.CausationId);
        WireConverters.WriteString(writer, IdempotencyKey, value.IdempotencyKey);
        WireConverters.WriteString(writer, Priority, value.Priority);
        WireConverters.WriteValue(writer, Extensions, value.Extensions, typeof(JsonObject), options);
        writer.WritePropertyName(Payload);
        value.Payload.WriteTo(writer);
        writer.WriteEndObject();
    }
}

internal sealed class ArcpErrorConverter : JsonConverter<ArcpError>
{
    private static readonly JsonEncodedText Code = JsonEncodedText.Encode("code");
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText Retryable = JsonEncodedText.Encode("retryable");
    private static readonly JsonEncodedText Details = JsonEncodedText.Encode("details");
    private static readonly JsonEncodedText Cause = JsonEncodedText.Encode("cause");
    private static readonly JsonEncodedText TraceId = JsonEncodedText.Encode("trace_id");

    public override ArcpError Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        string? code = null, message = null, traceId = null;
        bool? retryable = null;
        JsonObject? details = null;
        ArcpError? cause = null;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(Code.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                code = reader.GetString();
            }
            else if (reader.ValueTextEquals(Message.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                message = reader.GetString();
            }
            else if (reader.ValueTextEquals(Retryable.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                retryable = WireConverters.ReadNullableBoolean(ref reader);
            }
            else if (reader.ValueTextEquals(Details.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                details = WireConverters.ReadValue<JsonObject>(ref reader, options);
            }
            else if (reader.ValueTextEquals(Cause.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                cause = WireConverters.ReadValue<ArcpError>(ref reader, options);
            }
            else if (reader.ValueTextEquals(TraceId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                traceId = reader.GetString();
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        return new ArcpError(code!, message!) { Retryable = retryable, Details = details, Cause = cause, TraceId = traceId };
    }

    public override void Write(Utf8JsonWriter writer, ArcpError value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WireConverters.WriteString(writer, Code, value.Code);
        WireConverters.WriteString(writer, Message, value.Message);
        WireConverters.WriteBoolean(writer, Retryable, value.Retryable);
        WireConverters.WriteValue(writer, Details, value.Details, typeof(JsonObject), options);
        WireConverters.WriteValue(writer, Cause, value.Cause, typeof(ArcpError), options);
        WireConverters.WriteString(writer, TraceId, value.TraceId);
        writer.WriteEndObject();
    }
}

internal sealed class SessionAcceptedConverter : JsonConverter<SessionAcceptedPayload>
{
    private static readonly JsonEncodedText SessionId = JsonEncodedText.Encode("session_id");
    private static readonly JsonEncodedText Runtime = JsonEncodedText.Encode("runtime");
    private static readonly JsonEncodedText Capabilities = JsonEncodedText.Encode("capabilities");
    private static readonly JsonEncodedText Resumed = JsonEncodedText.Encode("resumed");

    public override SessionAcceptedPayload Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        string? sessionId = null;
        RuntimeIdentity? runtime = null;
        JsonObject? capabilities = null;
        bool? resumed = null;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(SessionId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                sessionId = reader.GetString();
            }
            else if (reader.ValueTextEquals(Runtime.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                runtime = WireConverters.ReadValue<RuntimeIdentity>(ref reader, options);
            }
            else if (reader.ValueTextEquals(Capabilities.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                capabilities = WireConverters.ReadValue<JsonObject>(ref reader, options);
            }
            else if (reader.ValueTextEquals(Resumed.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                resumed = WireConverters.ReadNullableBoolean(ref reader);
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        return new SessionAcceptedPayload(sessionId!, runtime!, capabilities!) { Resumed = resumed };
    }

    public override void Write(Utf8JsonWriter writer, SessionAcceptedPayload value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WireConverters.WriteString(writer, SessionId, value.SessionId);
        WireConverters.WriteValue(writer, Runtime, value.Runtime, typeof(RuntimeIdentity), options);
        WireConverters.WriteValue(writer, Capabilities, value.Capabilities, typeof(JsonObject), options);
        WireConverters.WriteBoolean(writer, Resumed, value.Resumed);
        writer.WriteEndObject();
    }
}

internal sealed class AckConverter : JsonConverter<AckPayload>
{
    private static readonly JsonEncodedText AckFor = JsonEncodedText.Encode("ack_for");
    private static readonly JsonEncodedText Duplicate = JsonEncodedText.Encode("duplicate");
    private static readonly JsonEncodedText MessageId = JsonEncodedText.Encode("message_id");
    private static readonly JsonEncodedText CheckpointId = JsonEncodedText.Encode("checkpoint_id");
    private static readonly JsonEncodedText Checkpoint = JsonEncodedText.Encode("checkpoint");

    public override AckPayload Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        string? ackFor = null, messageId = null, checkpointId = null;
        bool? duplicate = null;
        CheckpointSummary? checkpoint = null;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(AckFor.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                ackFor = reader.GetString();
            }
            else if (reader.ValueTextEquals(Duplicate.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                duplicate = WireConverters.ReadNullableBoolean(ref reader);
            }
            else if (reader.ValueTextEquals(MessageId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                messageId = reader.GetString();
            }
            else if (reader.ValueTextEquals(CheckpointId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                checkpointId = reader.GetString();
            }
            else if (reader.ValueTextEquals(Checkpoint.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                checkpoint = WireConverters.ReadValue<CheckpointSummary>(ref reader, options);
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        return new AckPayload(ackFor!) { Duplicate = duplicate, MessageId = messageId, CheckpointId = checkpointId, Checkpoint = checkpoint };
    }

    public override void Write(Utf8JsonWriter writer, AckPayload value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WireConverters.WriteString(writer, AckFor, value.AckFor);
        WireConverters.WriteBoolean(writer, Duplicate, value.Duplicate);
        WireConverters.WriteString(writer, MessageId, value.MessageId);
        WireConverters.WriteString(writer, CheckpointId, value.CheckpointId);
        WireConverters.WriteValue(writer, Checkpoint, value.Checkpoint, typeof(CheckpointSummary), options);
        writer.WriteEndObject();
    }
}

internal sealed class JobAcceptedConverter : JsonConverter<JobAcceptedPayload>
{
    private static readonly JsonEncodedText State = JsonEncodedText.Encode("state");
    private static readonly JsonEncodedText Workflow = JsonEncodedText.Encode("workflow");
    private static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText Existing = JsonEncodedText.Encode("existing");

    public override JobAcceptedPayload Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        string? state = null, workflow = null, name = null;
        bool? existing = null;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(State.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                state = reader.GetString();
            }
            else if (reader.ValueTextEquals(Workflow.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                workflow = reader.GetString();
            }
            else if (reader.ValueTextEquals(Name.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals(Existing.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                existing = WireConverters.ReadNullableBoolean(ref reader);
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        return new JobAcceptedPayload(state!, workflow!) { Name = name, Existing = existing };
    }

    public override void Write(Utf8JsonWriter writer, JobAcceptedPayload value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WireConverters.WriteString(writer, State, value.State);
        WireConverters.WriteString(writer, Workflow, value.Workflow);
        WireConverters.WriteString(writer, Name, value.Name);
        WireConverters.WriteBoolean(writer, Existing, value.Existing);
        writer.WriteEndObject();
    }
}

internal sealed class JobProgressConverter : JsonConverter<JobProgressPayload>
{
    private static readonly JsonEncodedText Percent = JsonEncodedText.Encode("percent");
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText Step = JsonEncodedText.Encode("step");
    private static readonly JsonEncodedText StepIndex = JsonEncodedText.Encode("step_index");
    private static readonly JsonEncodedText StepCount = JsonEncodedText.Encode("step_count");
    private static readonly JsonEncodedText StepPercent = JsonEncodedText.Encode("step_percent");

    public override JobProgressPayload Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        double percent = 0;
        string? message = null, step = null;
        int? stepIndex = null, stepCount = null;
        double? stepPercent = null;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(Percent.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                percent = reader.GetDouble();
            }
            else if (reader.ValueTextEquals(Message.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                message = reader.GetString();
            }
            else if (reader.ValueTextEquals(Step.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                step = reader.GetString();
            }
            else if (reader.ValueTextEquals(StepIndex.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                stepIndex = WireConverters.ReadNullableInt32(ref reader);
            }
            else if (reader.ValueTextEquals(StepCount.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                stepCount = WireConverters.ReadNullableInt32(ref reader);
            }
            else if (reader.ValueTextEquals(StepPercent.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                stepPercent = WireConverters.ReadNullableDouble(ref reader);
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        return new JobProgressPayload(percent, message!) { Step = step, StepIndex = stepIndex, StepCount = stepCount, StepPercent = stepPercent };
    }

    public override void Write(Utf8JsonWriter writer, JobProgressPayload value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber(Percent, value.Percent);
        WireConverters.WriteString(writer, Message, value.Message);
        WireConverters.WriteString(writer, Step, value.Step);
        WireConverters.WriteNumber(writer, StepIndex, value.StepIndex);
        WireConverters.WriteNumber(writer, StepCount, value.StepCount);
        WireConverters.WriteNumber(writer, StepPercent, value.StepPercent);
        writer.WriteEndObject();
    }
}

internal sealed class CheckpointSnapshotConverter : JsonConverter<CheckpointSnapshot>
{
    private static readonly JsonEncodedText Step = JsonEncodedText.Encode("step");
    private static readonly JsonEncodedText StepIndex = JsonEncodedText.Encode("step_index");
    private static readonly JsonEncodedText StepCount = JsonEncodedText.Encode("step_count");
    private static readonly JsonEncodedText Output = JsonEncodedText.Encode("output");
    private static readonly JsonEncodedText DefinitionVersion = JsonEncodedText.Encode("definition_version");
    private static readonly JsonEncodedText StartedAt = JsonEncodedText.Encode("started_at");
    private static readonly JsonEncodedText Attempts = JsonEncodedText.Encode("attempts");
    private static readonly JsonEncodedText DurationMs = JsonEncodedText.Encode("duration_ms");

    public override CheckpointSnapshot Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        string? step = null, definitionVersion = null, startedAt = null;
        int stepIndex = 0, stepCount = 0;
        JsonNode? output = null;
        int? attempts = null;
        long? durationMs = null;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(Step.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                step = reader.GetString();
            }
            else if (reader.ValueTextEquals(StepIndex.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                stepIndex = reader.GetInt32();
            }
            else if (reader.ValueTextEquals(StepCount.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                stepCount = reader.GetInt32();
            }
            else if (reader.ValueTextEquals(Output.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                output = WireConverters.ReadValue<JsonNode>(ref reader, options);
            }
            else if (reader.ValueTextEquals(DefinitionVersion.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                definitionVersion = reader.GetString();
            }
            else if (reader.ValueTextEquals(StartedAt.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                startedAt = reader.GetString();
            }
            else if (reader.ValueTextEquals(Attempts.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                attempts = WireConverters.ReadNullableInt32(ref reader);
            }
            else if (reader.ValueTextEquals(DurationMs.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                durationMs = WireConverters.ReadNullableInt64(ref reader);
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        return new CheckpointSnapshot(step!, stepIndex, stepCount, output) { DefinitionVersion = definitionVersion, StartedAt = startedAt, Attempts = attempts, DurationMs = durationMs };
    }

    public override void Write(Utf8JsonWriter writer, CheckpointSnapshot value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WireConverters.WriteString(writer, Step, value.Step);
        writer.WriteNumber(StepIndex, value.StepIndex);
        writer.WriteNumber(StepCount, value.StepCount);
        WireConverters.WriteValue(writer, Output, value.Output, typeof(JsonNode), options);
        WireConverters.WriteString(writer, DefinitionVersion, value.DefinitionVersion);
        WireConverters.WriteString(writer, StartedAt, value.StartedAt);
        WireConverters.WriteNumber(writer, Attempts, value.Attempts);
        WireConverters.WriteNumber(writer, DurationMs, value.DurationMs);
        writer.WriteEndObject();
    }
}

internal sealed class CheckpointSummaryConverter : JsonConverter<CheckpointSummary>
{
    private static readonly JsonEncodedText CheckpointId = JsonEncodedText.Encode("checkpoint_id");
    private static readonly JsonEncodedText JobId = JsonEncodedText.Encode("job_id");
    private static readonly JsonEncodedText Step = JsonEncodedText.Encode("step");
    private static readonly JsonEncodedText StepIndex = JsonEncodedText.Encode("step_index");
    private static readonly JsonEncodedText MessageId = JsonEncodedText.Encode("message_id");
    private static readonly JsonEncodedText IdempotencyKey = JsonEncodedText.Encode("idempotency_key");
    private static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("created_at");
    private static readonly JsonEncodedText Output = JsonEncodedText.Encode("output");
    private static readonly JsonEncodedText DefinitionVersion = JsonEncodedText.Encode("definition_version");
    private static readonly JsonEncodedText StartedAt = JsonEncodedText.Encode("started_at");
    private static readonly JsonEncodedText Attempts = JsonEncodedText.Encode("attempts");
    private static readonly JsonEncodedText DurationMs = JsonEncodedText.Encode("duration_ms");

    public override CheckpointSummary Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        string? checkpointId = null, jobId = null, step = null, messageId = null, idempotencyKey = null, createdAt = null, definitionVersion = null, startedAt = null;
        int stepIndex = 0;
        JsonNode? output = null;
        int? attempts = null;
        long? durationMs = null;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(CheckpointId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                checkpointId = reader.GetString();
            }
            else if (reader.ValueTextEquals(JobId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                jobId = reader.GetString();
            }
            else if (reader.ValueTextEquals(Step.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                step = reader.GetString();
            }
            else if (reader.ValueTextEquals(StepIndex.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                stepIndex = reader.GetInt32();
            }
            else if (reader.ValueTextEquals(MessageId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                messageId = reader.GetString();
            }
            else if (reader.ValueTextEquals(IdempotencyKey.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                idempotencyKey = reader.GetString();
            }
            else if (reader.ValueTextEquals(CreatedAt.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                createdAt = reader.GetString();
            }
            else if (reader.ValueTextEquals(Output.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                output = WireConverters.ReadValue<JsonNode>(ref reader, options);
            }
            else if (reader.ValueTextEquals(DefinitionVersion.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                definitionVersion = reader.GetString();
            }
            else if (reader.ValueTextEquals(StartedAt.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                startedAt = reader.GetString();
            }
            else if (reader.ValueTextEquals(Attempts.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                attempts = WireConverters.ReadNullableInt32(ref reader);
            }
            else if (reader.ValueTextEquals(DurationMs.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                durationMs = WireConverters.ReadNullableInt64(ref reader);
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        return new CheckpointSummary(checkpointId!, jobId!, step!, stepIndex, messageId!, idempotencyKey!, createdAt!)
        {
            Output = output,
            DefinitionVersion = definitionVersion,
            StartedAt = startedAt,
            Attempts = attempts,
            DurationMs = durationMs,
        };
    }

    public override void Write(Utf8JsonWriter writer, CheckpointSummary value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WireConverters.WriteString(writer, CheckpointId, value.CheckpointId);
        WireConverters.WriteString(writer, JobId, value.JobId);
        WireConverters.WriteString(writer, Step, value.Step);
        writer.WriteNumber(StepIndex, value.StepIndex);
        WireConverters.WriteString(writer, MessageId, value.MessageId);
        WireConverters.WriteString(writer, IdempotencyKey, value.IdempotencyKey);
        WireConverters.WriteString(writer, CreatedAt, value.CreatedAt);
        WireConverters.WriteValue(writer, Output, value.Output, typeof(JsonNode), options);
        WireConverters.WriteString(writer, DefinitionVersion, value.DefinitionVersion);
        WireConverters.WriteString(writer, StartedAt, value.StartedAt);
        WireConverters.WriteNumber(writer, Attempts, value.Attempts);
        WireConverters.WriteNumber(writer, DurationMs, value.DurationMs);
        writer.WriteEndObject();
    }
}

internal sealed class JobSummaryConverter : JsonConverter<JobSummary>
{
    private static readonly JsonEncodedText JobId = JsonEncodedText.Encode("job_id");
    private static readonly JsonEncodedText Workflow = JsonEncodedText.Encode("workflow");
    private static readonly JsonEncodedText State = JsonEncodedText.Encode("state");
    private static readonly JsonEncodedText Interrupted = JsonEncodedText.Encode("interrupted");
    private static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("created_at");
    private static readonly JsonEncodedText UpdatedAt = JsonEncodedText.Encode("updated_at");
    private static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText LastCheckpointId = JsonEncodedText.Encode("last_checkpoint_id");
    private static readonly JsonEncodedText LastCheckpointStep = JsonEncodedText.Encode("last_checkpoint_step");
    private static readonly JsonEncodedText LastMessageId = JsonEncodedText.Encode("last_message_id");
    private static readonly JsonEncodedText Result = JsonEncodedText.Encode("result");
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText IdempotencyKey = JsonEncodedText.Encode("idempotency_key");
    private static readonly JsonEncodedText Owner = JsonEncodedText.Encode("owner");
    private static readonly JsonEncodedText RetryOf = JsonEncodedText.Encode("retry_of");

    public override JobSummary Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        WireConverters.StartObject(ref reader, typeToConvert);
        string? jobId = null, workflow = null, state = null, createdAt = null, updatedAt = null, name = null, lastCheckpointId = null;
        string? lastCheckpointStep = null, lastMessageId = null, idempotencyKey = null, retryOf = null;
        var interrupted = false;
        JsonNode? result = null;
        ArcpError? error = null;
        JobOwner? owner = null;
        while (WireConverters.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals(JobId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                jobId = reader.GetString();
            }
            else if (reader.ValueTextEquals(Workflow.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                workflow = reader.GetString();
            }
            else if (reader.ValueTextEquals(State.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                state = reader.GetString();
            }
            else if (reader.ValueTextEquals(Interrupted.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                interrupted = reader.GetBoolean();
            }
            else if (reader.ValueTextEquals(CreatedAt.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                createdAt = reader.GetString();
            }
            else if (reader.ValueTextEquals(UpdatedAt.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                updatedAt = reader.GetString();
            }
            else if (reader.ValueTextEquals(Name.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals(LastCheckpointId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                lastCheckpointId = reader.GetString();
            }
            else if (reader.ValueTextEquals(LastCheckpointStep.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                lastCheckpointStep = reader.GetString();
            }
            else if (reader.ValueTextEquals(LastMessageId.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                lastMessageId = reader.GetString();
            }
            else if (reader.ValueTextEquals(Result.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                result = WireConverters.ReadValue<JsonNode>(ref reader, options);
            }
            else if (reader.ValueTextEquals(Error.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                error = WireConverters.ReadValue<ArcpError>(ref reader, options);
            }
            else if (reader.ValueTextEquals(IdempotencyKey.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                idempotencyKey = reader.GetString();
            }
            else if (reader.ValueTextEquals(Owner.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                owner = WireConverters.ReadValue<JobOwner>(ref reader, options);
            }
            else if (reader.ValueTextEquals(RetryOf.EncodedUtf8Bytes))
            {
                WireConverters.Value(ref reader);
                retryOf = reader.GetString();
            }
            else
            {
                WireConverters.SkipValue(ref reader);
            }
        }

        return new JobSummary(jobId!, workflow!, state!, interrupted, createdAt!, updatedAt!)
        {
            Name = name,
            LastCheckpointId = lastCheckpointId,
            LastCheckpointStep = lastCheckpointStep,
            LastMessageId = lastMessageId,
            Result = result,
            Error = error,
            IdempotencyKey = idempotencyKey,
            Owner = owner,
            RetryOf = retryOf,
        };
    }

    public override void Write(Utf8JsonWriter writer, JobSummary value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WireConverters.WriteString(writer, JobId, value.JobId);
        WireConverters.WriteString(writer, Workflow, value.Workflow);
        WireConverters.WriteString(writer, State, value.State);
        writer.WriteBoolean(Interrupted, value.Interrupted);
        WireConverters.WriteString(writer, CreatedAt, value.CreatedAt);
        WireConverters.WriteString(writer, UpdatedAt, value.UpdatedAt);
        WireConverters.WriteString(writer, Name, value.Name);
        WireConverters.WriteString(writer, LastCheckpointId, value.LastCheckpointId);
        WireConverters.WriteString(writer, LastCheckpointStep, value.LastCheckpointStep);
        WireConverters.WriteString(writer, LastMessageId, value.LastMessageId);
        WireConverters.WriteValue(writer, Result, value.Result, typeof(JsonNode), options);
        WireConverters.WriteValue(writer, Error, value.Error, typeof(ArcpError), options);
        WireConverters.WriteString(writer, IdempotencyKey, value.IdempotencyKey);
        WireConverters.WriteValue(writer, Owner, value.Owner, typeof(JobOwner), options);
        WireConverters.WriteString(writer, RetryOf, value.RetryOf);
        writer.WriteEndObject();
    }
}
