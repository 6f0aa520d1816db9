using System.Text;
using System.Text.Json;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Store;

/// <summary>
/// A step's output is stored once, in its checkpoint row. The <c>job.checkpoint</c> envelope in the event log keeps
/// every other byte of the frame as received and the position its output was cut from, so a replay splices the
/// checkpoint's output back in and sends the frame byte for byte; retention may purge the event, never the output.
/// </summary>
internal static class CheckpointOutputs
{
    private static readonly string[] OutputPath = ["payload", "snapshot", "output"];

    /// <summary>What <see cref="Cut"/> leaves of the envelope of <paramref name="draft"/> when it is a <c>job.checkpoint</c> event; null for any other.</summary>
    public static (string Remainder, int At, string Output)? CutEvent(EventDraft draft) =>
        draft.Type == MessageTypes.JobCheckpoint && draft.Envelope is { } full ? Cut(full) : null;

    /// <summary>Cuts the output of the <c>job.checkpoint</c> frame <paramref name="envelope"/> out of it.</summary>
    /// <returns>The frame without its output, where it was cut (in UTF-16 units), and the output's exact text; null when the frame has none.</returns>
    public static (string Remainder, int At, string Output)? Cut(string envelope)
    {
        // Every step's checkpoint comes through here: its UTF-8 is only looked at, so a pooled buffer holds it.
        using var utf8 = new PooledUtf8(envelope);
        var json = utf8.Span;
        if (Locate(json) is not var (start, end))
        {
            return null;
        }

        var at = Encoding.UTF8.GetCharCount(json[..start]);
        var length = Encoding.UTF8.GetCharCount(json[start..end]);
        return (envelope.Remove(at, length), at, envelope.Substring(at, length));
    }

    /// <summary>The stored frame with its checkpoint's output put back where it was cut.</summary>
    public static string Splice(string remainder, int at, string? output) =>
        output is null || at < 0 || at > remainder.Length
            ? throw new StoreException(StoreErrorKind.Corrupt, $"A job.checkpoint event lost its checkpoint's output (cut at {at}); the event log is inconsistent.")
            : remainder.Insert(at, output);

    /// <summary>Where the output of the <c>job.checkpoint</c> frame <paramref name="json"/> lies, in bytes; null when it has none.</summary>
    public static (int Start, int End)? Locate(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var depth = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    return null;
                }

                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                var matches = reader.ValueTextEquals(OutputPath[depth]);
                reader.Read();
                if (!matches)
                {
                    reader.Skip();
                    continue;
                }

                if (depth == OutputPath.Length - 1)
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    return (start, (int)reader.BytesConsumed);
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return null;
                }

                depth++;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return null;
    }
}
