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
    /// <summary>The checks of one JSON value that goes into a frame as it stands, such as a stored output.</summary>
    /// <returns>Null when the text is acceptable; otherwise what is wrong with it, naming the JSON path.</returns>
    /// <param name="maxDepth">How deep the value may nest: what is left of <see cref="ArcpJson.MaxDepth"/> where it goes in the frame.</param>
    /// <param name="subject">What the problem names, "Frame" for a whole frame.</param>
    public static string? FindProblem(string json, int maxDepth, string subject, out byte[] utf8)
    {
        utf8 = [];
        if (!IsWellFormed(json))
        {
            return LoneSurrogateInText(subject);
        }

        utf8 = Encoding.UTF8.GetBytes(json);
        return FindProblem(utf8, maxDepth, subject);
    }

    /// <summary>The same checks of a whole frame, its bytes in a pooled buffer (a large frame's copy is not a new large object each time).</summary>
    /// <returns>Null when the frame is acceptable; otherwise what is wrong with it, naming the JSON path.</returns>
    /// <param name="utf8">The frame's UTF-8 bytes (empty when it is not valid Unicode), for the caller to parse and then dispose.</param>
    public static string? FindProblem(string frame, out PooledUtf8 utf8)
    {
        if (!IsWellFormed(frame))
        {
            utf8 = PooledUtf8.Encode(string.Empty);
            return LoneSurrogateInText("Frame");
        }

        utf8 = PooledUtf8.Encode(frame);
        return FindProblem(utf8.Memory, ArcpJson.MaxDepth, "Frame");
    }

    private static string LoneSurrogateInText(string subject) => $"{subject} contains a lone UTF-16 surrogate; text must be valid Unicode.";

    private static string? FindProblem(ReadOnlyMemory<byte> utf8, int maxDepth, string subject)
    {
        var reader = new Utf8JsonReader(utf8.Span, new JsonReaderOptions { MaxDepth = maxDepth });
        var keys = new Stack<ObjectKeys?>();
        // The key set of a closed object serves the next one: a frame costs as many sets as it nests, not as it has objects.
        var spare = new Stack<ObjectKeys>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        keys.Push(spare.Count > 0 ? spare.Pop() : new ObjectKeys());
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
                        ReadOnlyMemory<byte> name;
                        if (reader.ValueIsEscaped)
                        {
                            if (ReadText(ref reader) is not { } unescaped)
                            {
                                return LoneSurrogate(subject, keys);
                            }

                            name = Encoding.UTF8.GetBytes(unescaped);
                        }
                        else
                        {
                            // The name's bytes as they stand in the frame (TokenStartIndex is its opening quote): no string per key.
                            name = utf8.Slice(checked((int)reader.TokenStartIndex) + 1, reader.ValueSpan.Length);
                        }

                        if (keys.Peek() is { } seen && !seen.Add(name))
                        {
                            return $"{subject} repeats the key '{Printable(Encoding.UTF8.GetString(name.Span))}' in one object (at depth {keys.Count}); every key may appear once.";
                        }

                        break;
                    // Unescaped text is a copy of the well-formed frame's own; only an escape can make a lone surrogate.
                    case JsonTokenType.String when reader.ValueIsEscaped && ReadText(ref reader) is null:
                        return LoneSurrogate(subject, keys);
                }
            }
        }
        catch (JsonException ex)
        {
            return $"{subject} is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).";
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

    private static string LoneSurrogate(string subject, Stack<ObjectKeys?> keys) =>
        $"{subject} contains a lone UTF-16 surrogate escape (such as \\ud800) in a string at depth {keys.Count}; text must be valid Unicode.";

    /// <summary>The keys seen so far in one open object: compared as UTF-8 bytes while few, hashed as text once there are many.</summary>
    private sealed class ObjectKeys
    {
        private const int CompareLimit = 16;
        private readonly List<ReadOnlyMemory<byte>> few = [];
        private HashSet<string>? many;

        public void Clear()
        {
            few.Clear();
            many = null;
        }

        /// <returns>False when the key was seen before in this object.</returns>
        public bool Add(ReadOnlyMemory<byte> name)
        {
            if (many is not null)
            {
                return many.Add(Encoding.UTF8.GetString(name.Span));
            }

            foreach (var seen in few)
            {
                if (seen.Span.SequenceEqual(name.Span))
                {
                    return false;
                }
            }

            few.Add(name);
            if (few.Count > CompareLimit)
            {
                many = new HashSet<string>(few.Select(key => Encoding.UTF8.GetString(key.Span)), StringComparer.Ordinal);
                few.Clear();
            }

            return true;
        }
    }
}
