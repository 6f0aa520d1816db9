using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Tests.Core;

/// <summary>
/// The hand-written converters of the first job's wire records (WireConverters) must write and read exactly what the
/// records' contracts do: every sample is written by both and compared byte for byte, and every read is checked on
/// mutations of each property (null, each JSON kind, out-of-range numbers, removed, repeated, unknown neighbours),
/// where both must fail alike or read the same record.
/// </summary>
public sealed class WireConvertersTests
{
    /// <summary>The same rules as ArcpJson.Options, every record described by reflection and no converter of ours.</summary>
    private static readonly JsonSerializerOptions Contract = CreateContract();

    private static readonly JsonNode[] Mutations =
    [
        JsonValue.Create("text"), JsonValue.Create(1), JsonValue.Create(-1.5), JsonValue.Create(2147483648L),
        JsonNode.Parse("9223372036854775808")!, JsonNode.Parse("1e400")!, JsonValue.Create(true), new JsonArray(1),
        new JsonObject { ["a"] = 1 }, JsonValue.Create("2026-12-02T00:00:00.000Z"),
    ];

    public static TheoryData<string, Type, string> Samples() => new()
    {
        { "envelope, full", typeof(Envelope), Serialize(FullEnvelope()) },
        { "envelope, least", typeof(Envelope), """{"id":"m1","type":"ack","timestamp":"2026-12-02T00:00:00.000Z","payload":{}}""" },
        { "error", typeof(ArcpError), Serialize(new ArcpError("X", "m \u00e9\"<") { Retryable = false, Details = new JsonObject { ["k"] = 1 }, Cause = new ArcpError("Y", "c") { Retryable = true }, TraceId = "t" }) },
        { "session.accepted", typeof(SessionAcceptedPayload), Serialize(new SessionAcceptedPayload("s", new RuntimeIdentity("k", "1", "f", "t"), new JsonObject { ["x"] = true }) { Resumed = true }) },
        { "ack", typeof(AckPayload), Serialize(new AckPayload("m") { Duplicate = false, MessageId = "m2", CheckpointId = "c", Checkpoint = FullSummary() }) },
        { "job.accepted", typeof(JobAcceptedPayload), Serialize(new JobAcceptedPayload("running", "w") { Name = "n", Existing = true }) },
        { "job.progress", typeof(JobProgressPayload), Serialize(new JobProgressPayload(33.33, "a done (1/3)") { Step = "a", StepIndex = 0, StepCount = 3, StepPercent = 0.1 + 0.2 }) },
        { "job.progress, least", typeof(JobProgressPayload), """{"percent":100,"message":""}""" },
        { "snapshot", typeof(CheckpointSnapshot), Serialize(new CheckpointSnapshot("a", 1, 2, new JsonArray(1, "x", null)) { DefinitionVersion = "v", StartedAt = "2026-12-02T00:00:00.000Z", Attempts = 2, DurationMs = long.MaxValue }) },
        { "checkpoint summary", typeof(CheckpointSummary), Serialize(FullSummary()) },
        { "job summary", typeof(JobSummary), Serialize(FullJob()) },
    };

    [Fact]
    public void Every_converter_is_of_a_wire_record_with_a_value_type_property()
    {
        foreach (var converter in WireConverters.All)
        {
            var type = converter.GetType().BaseType!.GetGenericArguments()[0];
            Assert.Same(converter, ArcpJson.Options.GetTypeInfo(type).Converter);
            Assert.Contains(type.GetProperties(), p => p.PropertyType.IsValueType && p.GetCustomAttributes(typeof(JsonIgnoreAttribute), true).Length == 0);
        }
    }

    // A property added to a record but to neither its converter nor its sample would pass the read and write checks
    // unseen; this makes the sample the place that must grow with the record.
    [Fact]
    public void The_samples_set_every_property_of_every_converted_record()
    {
        foreach (var converter in WireConverters.All)
        {
            var type = converter.GetType().BaseType!.GetGenericArguments()[0];
            var written = Samples()
                .Where(row => (Type)row[1] == type)
                .SelectMany(row => JsonNode.Parse((string)row[2])!.AsObject().Select(property => property.Key))
                .ToHashSet(StringComparer.Ordinal);
            foreach (var property in Contract.GetTypeInfo(type).Properties.Where(p => p.AttributeProvider?.IsDefined(typeof(JsonIgnoreAttribute), true) != true))
            {
                Assert.True(written.Contains(property.Name), $"No sample of {type.Name} sets '{property.Name}'.");
            }
        }
    }

    [Fact]
    public void Writes_what_the_contract_writes()
    {
        object[] values =
        [
            FullEnvelope(), FullEnvelope() with { Extensions = null, Source = null, Payload = JsonSerializer.Deserialize<JsonElement>("null") },
            new ArcpError("X", "m"), new ArcpError("X", "m") { Retryable = true, Cause = new ArcpError("Y", "z") { Details = new JsonObject() } },
            new SessionAcceptedPayload("s", new RuntimeIdentity("k", "1"), new JsonObject()),
            new AckPayload("m"), new AckPayload("m") { Duplicate = true, Checkpoint = FullSummary() with { Output = null, Attempts = null } },
            new JobAcceptedPayload("queued", "w"),
            new JobProgressPayload(0, "m"), new JobProgressPayload(1e-7, "\ud83d\ude00 \u0001") { StepPercent = 12345678.9, StepIndex = -1 },
            new JobProgressPayload(double.MaxValue, "m") { StepPercent = double.Epsilon, StepCount = int.MaxValue },
            new CheckpointSnapshot("a", 0, 1, null), new CheckpointSnapshot("a", 0, 1, JsonValue.Create("o")) { DurationMs = -1 },
            FullSummary(), FullSummary() with { Output = JsonNode.Parse("{\"deep\":[{\"x\":1.50}]}"), DurationMs = null },
            FullJob(), new JobSummary("j", "w", "completed", false, "c", "u"),
        ];
        foreach (var value in values)
        {
            Assert.Equal(JsonSerializer.Serialize(value, value.GetType(), Contract), JsonSerializer.Serialize(value, value.GetType(), ArcpJson.Options));
        }
    }

    [Fact]
    public void A_non_finite_number_is_refused_as_the_contract_refuses_it()
    {
        Assert.Throws<ArgumentException>(() => JsonSerializer.Serialize(new JobProgressPayload(double.NaN, "m"), Contract));
        Assert.Throws<ArgumentException>(() => JsonSerializer.Serialize(new JobProgressPayload(double.NaN, "m"), ArcpJson.Options));
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Reads_what_the_contract_reads(string sample, Type type, string json)
    {
        var texts = new List<string> { json, json.Replace("{", "{\"$id\":\"1\",\"unknown\":{\"a\":[1,{\"b\":null}]},", StringComparison.Ordinal), "null", "[]", "1", "\"x\"" };
        var obj = JsonNode.Parse(json)!.AsObject();
        foreach (var name in obj.Select(p => p.Key).ToList())
        {
            var without = obj.DeepClone().AsObject();
            without.Remove(name);
            texts.Add(without.ToJsonString());
            texts.Add(json[..^1] + $",\"{name}\":null}}");
            texts.Add(json[..^1] + $",\"{name.ToUpperInvariant()}\":null}}");
            foreach (JsonNode? mutation in (JsonNode?[])[null, .. Mutations])
            {
                var changed = obj.DeepClone().AsObject();
                changed[name] = mutation?.DeepClone();
                texts.Add(changed.ToJsonString());
            }
        }

        foreach (var text in texts)
        {
            Assert.True(Outcome(text, type, Contract) == Outcome(text, type, ArcpJson.Options), $"{sample}: {text}\ncontract:   {Outcome(text, type, Contract)}\nconverter: {Outcome(text, type, ArcpJson.Options)}");
        }
    }

    private static string Outcome(string text, Type type, JsonSerializerOptions options)
    {
        object? value;
        try
        {
            value = JsonSerializer.Deserialize(text, type, options);
        }
        catch (JsonException)
        {
            return "JsonException";
        }

        try
        {
            return JsonSerializer.Serialize(value, type, Contract);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // Read, but not writable again: an envelope without payload, a number too large for a double (1e400).
            return $"read, not writable ({ex.GetType().Name})";
        }
    }

    private static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Contract);

    private static Envelope FullEnvelope() => new()
    {
        Id = "msg_1",
        Type = "job.progress",
        Timestamp = "2026-12-02T00:00:00.000Z",
        Source = "s",
        Target = "t",
        SessionId = "sess",
        JobId = "job",
        StreamId = "st",
        SubscriptionId = "sub",
        TraceId = "tr",
        SpanId = "sp",
        ParentSpanId = "ps",
        CorrelationId = "co",
        CausationId = "ca",
        IdempotencyKey = "ik",
        Priority = "high",
        Extensions = new JsonObject { ["optional"] = true },
        Payload = JsonSerializer.Deserialize<JsonElement>("{\"percent\":50.5,\"message\":\"x\"}"),
    };

    private static CheckpointSummary FullSummary() => new("c", "j", "a", 3, "m", "k", "2026-12-02T00:00:00.000Z")
    {
        Output = new JsonObject { ["v"] = 1 },
        DefinitionVersion = "d",
        StartedAt = "s",
        Attempts = 1,
        DurationMs = 12,
    };

    private static JobSummary FullJob() => new("j", "w", "failed", true, "c", "u")
    {
        Name = "n",
        LastCheckpointId = "lc",
        LastCheckpointStep = "ls",
        LastMessageId = "lm",
        Result = JsonValue.Create(5),
        Error = new ArcpError("E", "m") { Retryable = false },
        IdempotencyKey = "k",
        Owner = new JobOwner("s", "h", 42, "l"),
        RetryOf = "r",
    };

    private static JsonSerializerOptions CreateContract()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            MaxDepth = ArcpJson.MaxDepth,
            WriteIndented = false,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.MakeReadOnly();
        return options;
    }
}
