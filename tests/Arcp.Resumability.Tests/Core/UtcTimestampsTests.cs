using System.Globalization;
using Arcp.Resumability.Protocol;
using CsCheck;

namespace Arcp.Resumability.Tests.Core;

/// <summary>
/// The digit-by-digit reading of this code's own timestamps accepts only what .NET's general parsers accept, with the
/// same value: envelopes (milliseconds, as <see cref="ArcpJson.FormatTimestamp"/> writes) and stored times (ticks, "O").
/// </summary>
public sealed class UtcTimestampsTests
{
    private static readonly Gen<DateTimeOffset> AnyTime =
        Gen.Long[DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks].Select(ticks => new DateTimeOffset(ticks, TimeSpan.Zero));

    [Fact]
    public void Written_envelope_and_store_times_read_back_as_the_general_parsers_read_them()
    {
        AnyTime.Sample(time =>
        {
            var envelope = ArcpJson.FormatTimestamp(time);
            Assert.True(UtcTimestamps.TryParseFixed(envelope, 3, out var fast));
            Assert.True(DateTimeOffset.TryParse(envelope, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var general));
            Assert.Equal(general, fast);
            Assert.Equal(general.Offset, fast.Offset);

            var stored = time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
            Assert.True(UtcTimestamps.TryParseFixed(stored, 7, out var fastStored));
            Assert.Equal(time, fastStored);
            Assert.Equal(TimeSpan.Zero, fastStored.Offset);
        });
    }

    [Theory]
    [InlineData("2024-02-30T00:00:00.000Z")]
    [InlineData("2023-02-29T00:00:00.000Z")]
    [InlineData("2024-13-01T00:00:00.000Z")]
    [InlineData("2024-00-01T00:00:00.000Z")]
    [InlineData("2024-01-01T24:00:00.000Z")]
    [InlineData("2024-01-01T23:60:00.000Z")]
    [InlineData("2024-01-01T23:59:60.000Z")]
    [InlineData("0000-01-01T00:00:00.000Z")]
    [InlineData("2024-01-01t00:00:00.000Z")]
    [InlineData("2024-01-01T00:00:00.000z")]
    [InlineData("2024-01-01T00:00:00.00Z")]
    [InlineData("2024-01-01T00:00:00.0000Z")]
    [InlineData("2024-01-01T00:00:00,000Z")]
    [InlineData("2024-01-01T00:00:00.000+00:00")]
    [InlineData("2024-01-01T00:00:0a.000Z")]
    [InlineData("+024-01-01T00:00:00.000Z")]
    [InlineData("2024-01-01T00:00:00.-00Z")]
    [InlineData("٢٠٢٤-01-01T00:00:00.000Z")]
    public void Anything_but_the_exact_shape_is_left_to_the_general_parser(string text)
    {
        Assert.False(UtcTimestamps.TryParseFixed(text, 3, out _));
    }

    [Fact]
    public void A_shape_like_text_is_accepted_only_when_the_general_parser_accepts_it_with_the_same_value()
    {
        var digit = Gen.Char['0', '9'];
        var text = Gen.Select(digit.Array[4], digit.Array[2], digit.Array[2], digit.Array[2], digit.Array[2], digit.Array[2], digit.Array[3])
            .Select((y, mo, d, h, mi, s, f) => $"{new string(y)}-{new string(mo)}-{new string(d)}T{new string(h)}:{new string(mi)}:{new string(s)}.{new string(f)}Z");
        var accepted = 0;
        text.Sample(candidate =>
        {
            if (UtcTimestamps.TryParseFixed(candidate, 3, out var fast))
            {
                Interlocked.Increment(ref accepted);
                Assert.True(DateTimeOffset.TryParse(candidate, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var general), candidate);
                Assert.Equal(general, fast);
            }
        }, iter: 20000);

        // Random digits make a valid date and time about once in 300 tries; some must have been read.
        Assert.InRange(accepted, 1, 20000);
    }
}
