using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Tests.Core;

/// <summary>The vectorized check for lone surrogates answers as a walk over every character does.</summary>
public sealed class FrameValidatorTests
{
    private static readonly char[] Awkward = ['a', 'é', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD7FF', '\uE000', '"'];

    [Fact]
    public void Text_is_well_formed_exactly_when_no_surrogate_stands_alone_wherever_it_falls_in_the_text()
    {
        var random = new Random(20261203);
        for (var round = 0; round < 20_000; round++)
        {
            // Long plain stretches with a few awkward characters anywhere, so they fall on and across vector boundaries.
            var text = new char[random.Next(0, 300)];
            for (var i = 0; i < text.Length; i++)
            {
                text[i] = random.Next(40) == 0 ? Awkward[random.Next(Awkward.Length)] : (char)random.Next(0x20, 0x7F);
            }

            var value = new string(text);
            Assert.True(CharByChar(value) == FrameValidator.IsWellFormed(value), $"Disagreement on \"{FrameValidator.Printable(Escaped(value), 400)}\"");
        }
    }

    [Fact]
    public void A_surrogate_pair_is_well_formed_and_a_lone_surrogate_is_not()
    {
        // Cases in code, not [InlineData]: a theory's data is serialized, and a lone surrogate does not survive that.
        const string Plain = "plain text of a page, long enough to be searched a vector at a time ";
        (string Text, bool WellFormed)[] cases =
        [
            (string.Empty, true),
            ("\uD83D\uDE00", true),
            ("\uD83D", false),
            ("\uDE00", false),
            ("\uDE00\uD83D", false),
            ("\uD83D\uD83D\uDE00", false),
            (Plain + "\uD83D\uDE00 and then \uD83D", false),
            (Plain + "\uD83D\uDE00 and then \uD83D\uDE00", true),
            (Plain + Plain + "\uDFFF" + Plain, false),
        ];

        foreach (var (text, wellFormed) in cases)
        {
            Assert.True(wellFormed == FrameValidator.IsWellFormed(text), $"\"{Escaped(text)}\" should be {(wellFormed ? "well formed" : "refused")}");
        }
    }

    /// <summary>The check as it was written before the vectorized one: a loop over every character.</summary>
    private static bool CharByChar(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string Escaped(string text) =>
        string.Concat(text.Select(c => char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
