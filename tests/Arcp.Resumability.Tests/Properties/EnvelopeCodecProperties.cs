using System.Text.Json;
using Arcp.Resumability.Protocol;
using CsCheck;

namespace Arcp.Resumability.Tests.Properties;

/// <summary>
/// Any frame text either parses to an envelope that writes back to the same frame, or is refused with
/// <see cref="EnvelopeFormatException"/>; nothing else may escape the codec (a receiver answers that one with a nack).
/// </summary>
public sealed class EnvelopeCodecProperties
{
    // A few thousand frames run in well under a second on one core; CsCheck prints the seed of a failure.
    private const int Iterations = 3000;

    [Fact]
    public void Every_frame_parses_or_is_refused_with_EnvelopeFormatException()
    {
        var accepted = 0;
        JsonGenerators.Frame.Sample(frame =>
        {
            try
            {
                var envelope = EnvelopeCodec.Parse(frame);
                Interlocked.Increment(ref accepted);
                var written = EnvelopeCodec.Serialize(envelope);
                Assert.Equal(written, EnvelopeCodec.Serialize(EnvelopeCodec.Parse(written)));
            }
            catch (EnvelopeFormatException)
            {
                // The documented refusal.
            }
        }, iter: Iterations, threads: 1);

        // Most generated frames are hostile, but some must be valid envelopes, or this would test only refusals.
        // The share varies with the random seed (about 1 in 60 on average), so the bound is well below it.
        Assert.InRange(accepted, Iterations / 200, Iterations);
    }

    [Fact]
    public void Valid_envelopes_round_trip_field_for_field()
    {
        JsonGenerators.ValidEnvelope.Sample(envelope =>
        {
            var back = EnvelopeCodec.Parse(EnvelopeCodec.Serialize(envelope));

            Assert.Equal(envelope with { Payload = default, Extensions = null }, back with { Payload = default, Extensions = null });
            Assert.True(JsonElement.DeepEquals(envelope.Payload, back.Payload), back.Payload.GetRawText());
            Assert.Equal(EnvelopeCodec.Serialize(back), EnvelopeCodec.Serialize(EnvelopeCodec.Parse(EnvelopeCodec.Serialize(back))));
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void A_frame_with_a_duplicate_key_is_refused_with_EnvelopeFormatException()
    {
        const string frame = """{"arcp":"1.0","id":"m1","type":"ping","timestamp":"2024-01-01T00:00:00Z","payload":{},"payload":{}}""";

        var refused = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(frame));
        Assert.Contains("payload", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_key_inside_the_payload_is_refused_with_EnvelopeFormatException()
    {
        const string frame = """{"arcp":"1.0","id":"m1","type":"ping","timestamp":"2024-01-01T00:00:00Z","payload":{"a":1,"a":2}}""";

        Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(frame));
    }

    [Fact]
    public void A_lone_surrogate_escape_in_a_field_is_refused_with_EnvelopeFormatException()
    {
        // Shrunk from a CsCheck counterexample: this escaped InvalidOperationException from the codec.
        const string frame = """{"arcp":"\ud89f","id":"K","type":"t","timestamp":"2024-01-01T00:00:00Z","payload":{}}""";

        Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(frame));
    }

    [Fact]
    public void A_raw_lone_surrogate_in_the_frame_text_is_refused_with_EnvelopeFormatException()
    {
        Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse("\uDB45"));
    }

    [Fact]
    public void A_lone_surrogate_escape_deep_in_the_payload_is_refused_with_EnvelopeFormatException()
    {
        const string frame = """{"arcp":"1.0","id":"K","type":"t","timestamp":"2024-01-01T00:00:00Z","payload":{"a":["\udeaa"]}}""";

        Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(frame));
    }
}
