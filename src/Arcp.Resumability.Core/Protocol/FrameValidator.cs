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
    /// <summary>The same checks of one JSON value that goes into a frame as it stands, such as a stored output.</summary>
    /// <param name="text">The value's text, checked for valid Unicode.</param>
    /// <param name="utf8">The same text in UTF-8 (the caller's buffer: nothing here keeps a reference once it returns).</param>
    /// <param name="maxDepth">How deep the value may nest: what is left of <see cref="ArcpJson.MaxDepth"/> where it goes in the frame.</param>
    /// <param name="subject">What the problem names, "Frame" for a whole frame.</param>
    /// <returns>Null when the text is acceptable; otherwise what is wrong with it, naming the JSON path.</returns>
    public static string? FindProblem(string text, ReadOnlyMemory<byte> utf8, int maxDepth, string subject) =>
        IsWellFormed(text) ? FindProblemInUtf8(utf8, maxDepth, subject) : LoneSurrogateInText(subject);

    /// <summary>A whole frame's checks, its text already known to be valid Unicode (<see cref="IsWellFormed"/>) and in UTF-8.</summary>
    /// <remarks>The caller owns the bytes (a pooled buffer, on the hot path): nothing here keeps a reference once it returns.</remarks>
    public static string? FindProblemInFrame(ReadOnlyMemory<byte> utf8) => FindProblemInUtf8(utf8, ArcpJson.MaxDepth, "Frame");

    public static string LoneSurrogateInText(string subject) => $"{subject} contains a lone UTF-16 surrogate; text must be valid Unicode.";

    private static string? FindProblemInUtf8(ReadOnlyMemory<byte> utf8, int maxDepth, string subject)
    {
        var reader = new Utf8JsonReader(utf8.Span, new JsonReaderOptions { MaxDepth = maxDepth });
        // Every frame of every step comes through here on both ends of a session: the key sets are kept per thread,
        // cleared after each use, so a frame costs none once a thread has checked one as deeply nested.
        var scratch = KeyScratch.Take();
        var keys = scratch.Open;
        // The key set of a closed object serves the next one: a frame costs as many sets as it nests, not as it has objects.
        var spare = scratch.Spare;
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
        finally
        {
            scratch.Return();
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

    /// <summary>True when the text has no lone surrogate (every high surrogate followed by a low one, no low one alone).</summary>
    /// <remarks>
    /// The surrogates are found by a vectorized search and only they are looked at one by one: every frame is checked
    /// whole on both ends of a session, and a page of checkpoints is a few hundred thousand characters of mostly
    /// plain text, which a loop over every character walked one at a time.
    /// </remarks>
    public static bool IsWellFormed(string text)
    {
        var rest = text.AsSpan();
        while (rest.IndexOfAnyInRange(FirstSurrogate, LastSurrogate) is var at and >= 0)
        {
            if (!char.IsHighSurrogate(rest[at]) || at + 1 == rest.Length || !char.IsLowSurrogate(rest[at + 1]))
            {
                return false;
            }

            rest = rest[(at + 2)..];
        }

        return true;
    }

    private const char FirstSurrogate = '\uD800';
    private const char LastSurrogate = '\uDFFF';

    private static string LoneSurrogate(string subject, Stack<ObjectKeys?> keys) =>
        $"{subject} contains a lone UTF-16 surrogate escape (such as \\ud800) in a string at depth {keys.Count}; text must be valid Unicode.";

    /// <summary>The open objects' key sets and the spare ones of one thread, empty between uses.</summary>
    private sealed class KeyScratch
    {
        [ThreadStatic]
        private static KeyScratch? cached;

        public Stack<ObjectKeys?> Open { get; } = new();

        public Stack<ObjectKeys> Spare { get; } = new();

        /// <summary>This thread's scratch, or a new one when it is in use or the thread has none yet.</summary>
        public static KeyScratch Take()
        {
            var scratch = cached ?? new KeyScratch();
            cached = null;
            return scratch;
        }

        /// <summary>Clears every set (none may keep a frame's bytes alive) and keeps the scratch for the thread's next frame.</summary>
        public void Return()
        {
            while (Open.TryPop(out var keys))
            {
                if (keys is not null)
                {
                    keys.Clear();
                    Spare.Push(keys);
                }
            }

            cached = this;
        }
    }

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
