namespace Arcp.Resumability.Protocol;

/// <summary>
/// Reads the one timestamp shape this code writes, <c>yyyy-MM-ddTHH:mm:ss.f…Z</c> in UTC, digit by digit. Every frame
/// carries one and every job row several, and .NET's general parsers tokenize the text first: a step read five of them.
/// </summary>
internal static class UtcTimestamps
{
    /// <summary>
    /// True, with its value, only for exactly that shape with <paramref name="fractionDigits"/> digits after the seconds
    /// and every field in range; false for anything else, which the caller then gives to its general parser, so what
    /// is accepted and what it means is the general parser's answer whichever path read it.
    /// </summary>
    public static bool TryParseFixed(ReadOnlySpan<char> text, int fractionDigits, out DateTimeOffset value)
    {
        value = default;
        if (text.Length != 21 + fractionDigits || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':'
            || text[19] != '.' || text[^1] != 'Z')
        {
            return false;
        }

        if (!TryDigits(text[..4], out var year) || !TryDigits(text[5..7], out var month) || !TryDigits(text[8..10], out var day)
            || !TryDigits(text[11..13], out var hour) || !TryDigits(text[14..16], out var minute) || !TryDigits(text[17..19], out var second)
            || !TryDigits(text[20..^1], out var fraction))
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var ticks = fraction;
        for (var digits = fractionDigits; digits < 7; digits++)
        {
            ticks *= 10;
        }

        value = new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(ticks));
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return text.Length > 0;
    }
}
