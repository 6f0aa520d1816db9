using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Tests.Properties;
using CsCheck;

namespace Arcp.Resumability.Tests.Core;

/// <summary>
/// A frame written with its payload straight in (<see cref="EnvelopeCodec.Serialize{TPayload}"/>) is the frame the
/// envelope serializer writes for the same envelope carrying that payload as an element, byte for byte: a
/// retransmission's derived ack must match the first, and stored frames and step keys must not change with the path.
/// </summary>
public sealed class EnvelopeFrameTests
{
    [Fact]
    public void Every_envelope_field_is_written_as_the_serializer_writes_it()
    {
        var envelope = new Envelope { Id = "m-1", Type = "job.checkpoint", Timestamp = "2026-12-02T16:00:00.123Z" };
        var stringFields = typeof(Envelope).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.PropertyType == typeof(string) && property.GetCustomAttribute<JsonPropertyNameAttribute>() is not null)
            .ToList();
        foreach (var property in stringFields)
        {
            // Text the encoder escapes (quote, angle bracket, control character, non-ASCII), different in every field.
            property.SetValue(envelope, $"{property.Name} \"<\u0001é\u2028>");
        }

        envelope = envelope with
        {
            Extensions = new JsonObject { ["optional"] = true, ["x-note"] = "<b>" },
            Payload = ArcpJson.ToElement(new JsonObject { ["a"] = 1 }),
        };

        // A field added to the envelope without the frame writer would be missing from its frame.
        Assert.Equal(EnvelopeCodec.Serialize(envelope), EnvelopeCodec.Serialize(envelope, new JsonObject { ["a"] = 1 }));
        Assert.Equal(stringFields.Count + 2, JsonDocument.Parse(EnvelopeCodec.Serialize(envelope)).RootElement.EnumerateObject().Count());
    }

    [Fact]
    public void Left_out_fields_are_left_out_of_both_frames()
    {
        var header = Envelope.Header(MessageTypes.Ack);

        var frame = EnvelopeCodec.Serialize(header, new AckPayload("m-9"));

        Assert.Equal(EnvelopeCodec.Serialize(header with { Payload = ArcpJson.ToElement(new AckPayload("m-9")) }), frame);
        Assert.DoesNotContain("session_id", frame, StringComparison.Ordinal);
        Assert.Equal("m-9", EnvelopeCodec.Parse(frame).PayloadAs<AckPayload>().AckFor);
    }

    [Fact]
    public void A_step_checkpoint_with_its_output_is_the_frame_it_was()
    {
        var output = new JsonObject
        {
            ["status"] = "ok \"quoted\" <tag> & ünïcödé \U0001F600",
            ["items"] = new JsonArray(1, 2.5, -0.0, 1e300, null, true),
            ["nested"] = new JsonObject { ["deep"] = new JsonArray(new JsonObject { ["z"] = "\u0000\t\n" }) },
            ["score"] = 0.875,
        };
        var payload = new JobCheckpointPayload("ck-1", "step001", new CheckpointSnapshot("step001", 0, 3, output) { DefinitionVersion = "v1", Attempts = 2, DurationMs = 17 });
        var header = Envelope.Header(MessageTypes.JobCheckpoint, "sess-1", "job-1") with { IdempotencyKey = "key", TraceId = "trace" };

        Assert.Equal(EnvelopeCodec.Serialize(header with { Payload = ArcpJson.ToElement(payload) }), EnvelopeCodec.Serialize(header, payload));
    }

    [Fact]
    public void Any_valid_envelope_is_written_the_same_with_its_payload_straight_in()
    {
        JsonGenerators.ValidEnvelope.Sample(
            envelope => Assert.Equal(EnvelopeCodec.Serialize(envelope), EnvelopeCodec.Serialize(envelope with { Payload = default }, envelope.Payload)),
            iter: 2000,
            threads: 1);
    }
}
