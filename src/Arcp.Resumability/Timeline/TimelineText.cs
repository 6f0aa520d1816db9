using System.Globalization;
using System.Text;

namespace Arcp.Resumability.PowerShell.Timeline;

/// <summary>Text helpers both timeline renderers share: durations, timestamps and untrusted names made safe to print.</summary>
internal static class TimelineText
{
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        return span.TotalSeconds switch
        {
            < 10 => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.00}s"),
            < 60 => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.0}s"),
            < 3600 => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m {span.Seconds:00}s"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h {span.Minutes:00}m"),
        };
    }

    public static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A recorded name as one printable line: control and formatting characters (escape sequences,
    /// bidirectional overrides, line breaks) become '?', so a hostile name cannot restyle a terminal.
    /// </summary>
    public static string Printable(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var builder = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            builder.Append(category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
                ? "?"
                : rune.ToString());
        }

        return builder.ToString();
    }

    /// <summary>Cuts <paramref name="text"/> to <paramref name="width"/> characters, ending in '…' when cut.</summary>
    public static string Fit(string text, int width) =>
        width <= 0 ? string.Empty : text.Length <= width ? text : string.Concat(text.AsSpan(0, width - 1), "…");
}
