using System.Text;
using System.Text.Json;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// What the JSON parser lets through but a frame must not carry: a key twice in one object (readers disagree on
/// which one wins, so one peer could see another message than the one logged) and a lone surrogate (no UTF-8
/// form, so it cannot be stored or hashed faithfully). Checked on the raw text before any node is built.
/// </summary>
internal static class FrameValidator
{
    /// <returns>Null when the text is acceptable; otherwise what is wrong with it, naming the JSON path.</returns>
    /// <param name="utf8">The frame's UTF-8 bytes (empty when it is not valid Unicode), for the caller to parse.</param>
    public static string? FindProblem(string frame, out byte[] utf8)
    {
        utf8 = [];
        if (!IsWellFormed(frame))
        {
            return "Frame contains a lone UTF-16 surrogate; text must be valid Unicode.";
        }

        utf8 = Encoding.UTF8.GetBytes(frame);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = ArcpJson.MaxDepth });
        var keys = new Stack<HashSet<string>?>();
        // The key set of a closed object serves the next one: a frame costs as many sets as it nests, not as it has objects.
        var spare = new Stack<HashSet<string>>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        keys.Push(spare.Count > 0 ? spare.Pop() : new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.StartArray:
                        keys.Push(null);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        if (keys.Pop() is { } closed)
                        {
                            closed.Clear();
                            spare.Push(closed);
                        }

                        break;
                    case JsonTokenType.PropertyName:
                        var name = reader.ValueIsEscaped ? ReadText(ref reader) : reader.GetString();
                        if (name is null)
                        {
                            return LoneSurrogate(keys);
                        }

                        if (keys.Peek() is { } seen && !seen.Add(name))
                        {
                            return $"Frame repeats the key '{Printable(name)}' in one object (at depth {keys.Count}); every key may appear once.";
                        }

                        break;
                    // Unescaped text is a copy of the well-formed frame's own; only an escape can make a lone surrogate.
                    case JsonTokenType.String when reader.ValueIsEscaped && ReadText(ref reader) is null:
                        return LoneSurrogate(keys);
                }
            }
        }
        catch (JsonException ex)
        {
            return $"Frame is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).";
        }

        return null;
    }

    /// <summary>Makes client-chosen text safe to put on one line of a log: control characters become \uXXXX.</summary>
    public static string Printable(string text, int max = 200)
    {
        var builder = new StringBuilder(Math.Min(text.Length, max));
        foreach (var c in text.Length > max ? text[..max] : text)
        {
            builder.Append(char.IsControl(c) || c is '\u2028' or '\u2029' ? $"\\u{(int)c:x4}" : c);
        }

        return text.Length > max ? builder.Append('…').ToString() : builder.ToString();
    }

    private static string? ReadText(ref Utf8JsonReader reader)
    {
        try
        {
            var text = reader.GetString();
            return text is null || !IsWellFormed(text) ? null : text;
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to unescape "\ud800" alone; that is the lone surrogate we report.
            return null;
        }
    }

    private static bool IsWellFormed(string text)
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

    private static string LoneSurrogate(Stack<HashSet<string>?> keys) =>
        $"Frame contains a lone UTF-16 surrogate escape (such as \\ud800) in a string at depth {keys.Count}; text must be valid Unicode.";
}
