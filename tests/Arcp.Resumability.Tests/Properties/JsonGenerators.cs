using System.Globalization;
using System.Text;
using System.Text.Json;
using Arcp.Resumability.Protocol;
using CsCheck;

namespace Arcp.Resumability.Tests.Properties;

/// <summary>Generators of hostile JSON text and of valid envelopes, shared by the property tests.</summary>
internal static class JsonGenerators
{
    /// <summary>Mostly letters, with control characters, lone and paired surrogates and anything else mixed in.</summary>
    public static readonly Gen<char> Char = Gen.Frequency(
        (8, Gen.Char['a', 'z']),
        (2, Gen.Char[(char)0, (char)0x1f]),
        (2, Gen.Char['\uD800', '\uDFFF']),
        (1, Gen.OneOf(Gen.Const('"'), Gen.Const('\\'), Gen.Const('$'), Gen.Const('\u2028'))),
        (1, Gen.Char));

    public static readonly Gen<string> Text = Char.Array[0, 10].Select(chars => new string(chars));

    /// <summary>Text without unpaired surrogates or control characters: what a well-behaved peer sends.</summary>
    public static readonly Gen<string> CleanText = Gen.Char['!', '~'].Array[1, 10].Select(chars => new string(chars));

    private static readonly Gen<string> NumberText = Gen.OneOf(
        Gen.Long.Select(n => n.ToString(CultureInfo.InvariantCulture)),
        Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "1e999"),
        Gen.Const("123456789012345678901234567890123456789"),
        Gen.Const("-0"),
        Gen.Const("1e-400"),
        Gen.Const("1e99999"),
        Gen.Const("01"),
        Gen.Const("1."));

    // Keys from a small alphabet so objects often repeat a key (duplicates) or differ only in case.
    private static readonly Gen<string> Key = Gen.OneOf(Gen.Const("a"), Gen.Const("A"), Gen.Const("b"), Gen.Const("$arcp"), Gen.Const("$$arcp"), Gen.Const("value"), Text);

    /// <summary>JSON text of any value: usually well-formed, sometimes with duplicate keys or numbers no type holds.</summary>
    public static readonly Gen<string> Value = Gen.Recursive<string>((depth, self) =>
    {
        var scalar = Gen.OneOf(
            NumberText,
            Text.Select(Quote),
            Gen.OneOf(Gen.Const("true"), Gen.Const("false"), Gen.Const("null")));
        if (depth >= 4)
        {
            return scalar;
        }

        var array = self.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]");
        var obj = Gen.Select(Key, self).Array[0, 4].Select(ObjectText);
        return Gen.Frequency((3, scalar), (1, array), (1, obj));
    });

    private static readonly Gen<string> DeepNesting = Gen.Int[100, 400].Select(depth => new string('[', depth) + new string(']', depth));

    private static readonly Gen<string> Timestamp = Gen.Frequency(
        (6, Gen.DateTime[new DateTime(1, 1, 2), new DateTime(9999, 12, 30)].Select(d => ArcpJson.FormatTimestamp(new DateTimeOffset(d, TimeSpan.Zero)))),
        (1, Text));

    private static readonly string[] OptionalFields =
    [
        "source", "target", "session_id", "job_id", "stream_id", "subscription_id", "trace_id", "span_id", "parent_span_id",
        "correlation_id", "causation_id", "idempotency_key",
    ];

    private static readonly Gen<string> PayloadObject = Gen.Select(Key, Value).Array[0, 4].Select(ObjectText);

    /// <summary>An envelope-shaped object: each field usually right, sometimes missing or of any other value.</summary>
    private static readonly Gen<string> EnvelopeShaped = Gen.Select(
        Field("arcp", Gen.Const(Quote("1.0"))),
        Field("id", CleanText.Select(Quote)),
        Field("type", CleanText.Select(Quote)),
        Field("timestamp", Timestamp.Select(Quote)),
        Field("payload", Gen.Frequency((4, Gen.Const("{}")), (4, PayloadObject), (1, DeepNesting.Select(d => "{\"x\":" + d + "}")))),
        Gen.Select(Gen.OneOf(OptionalFields), Gen.Frequency((4, Text.Select(Quote)), (1, Value))).Array[0, 3],
        Field("priority", Gen.OneOf(Gen.Const("\"low\""), Gen.Const("\"critical\""), Text.Select(Quote)), present: 3),
        Field("extensions", PayloadObject, present: 3))
        .Select((arcp, id, type, timestamp, payload, optional, priority, extensions) =>
        {
            var fields = new List<string?> { arcp, id, type, timestamp, payload, priority, extensions };
            fields.AddRange(optional.Select(o => Quote(o.Item1) + ":" + o.Item2));
            return "{" + string.Join(",", fields.OfType<string>()) + "}";
        });

    /// <summary>Frame text: envelope-shaped objects, any JSON, deep nesting, truncated and non-JSON text.</summary>
    public static readonly Gen<string> Frame = Gen.Frequency(
        (8, EnvelopeShaped),
        (1, Value),
        (1, DeepNesting),
        (1, Gen.Select(EnvelopeShaped, Gen.Double[0, 1]).Select((frame, cut) => frame[..(int)(frame.Length * cut)])),
        (1, Text));

    private static readonly Gen<string?> OptionalCleanText = Gen.Frequency((3, Gen.Const((string?)null)), (1, CleanText.Select(t => (string?)t)));

    /// <summary>Envelopes a well-behaved sender builds: every field within the schema.</summary>
    public static readonly Gen<Envelope> ValidEnvelope = Gen.Select(
        CleanText, CleanText, Timestamp.Where(t => ArcpJson.TryParseTimestamp(t, out _)),
        OptionalCleanText, OptionalCleanText, OptionalCleanText,
        Gen.OneOf(Gen.Const((string?)null), Gen.Const((string?)"low"), Gen.Const((string?)"high")),
        PayloadObject.Where(IsValidJson))
        .Select((id, type, timestamp, session, job, correlation, priority, payload) => new Envelope
        {
            Id = id,
            Type = type,
            Timestamp = timestamp,
            SessionId = session,
            JobId = job,
            CorrelationId = correlation,
            Priority = priority,
            Payload = JsonDocument.Parse(payload).RootElement.Clone(),
        });

    public static string Quote(string text)
    {
        // Hand-escaped so lone surrogates reach the reader as \uD800 escapes (an encoder would replace them).
        var builder = new StringBuilder("\"");
        foreach (var c in text)
        {
            if (c is >= ' ' and <= '~' and not '"' and not '\\')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }

        return builder.Append('"').ToString();
    }

    private static string ObjectText((string Key, string Value)[] members) =>
        "{" + string.Join(",", members.Select(m => Quote(m.Key) + ":" + m.Value)) + "}";

    private static Gen<string?> Field(string name, Gen<string> valid, int present = 12) => Gen.Frequency(
        (present, valid.Select(v => (string?)(Quote(name) + ":" + v))),
        (1, Gen.Const((string?)null)),
        (1, Value.Select(v => (string?)(Quote(name) + ":" + v))));

    private static bool IsValidJson(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = ArcpJson.MaxDepth });
            return document.RootElement.ValueKind == JsonValueKind.Object && HasNoDuplicateKeys(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static bool HasNoDuplicateKeys(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Select(p => p.Name).Distinct(StringComparer.Ordinal).Count() == element.EnumerateObject().Count()
            && element.EnumerateObject().All(p => HasNoDuplicateKeys(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().All(HasNoDuplicateKeys),
        JsonValueKind.String => element.GetString() is not null,
        _ => true,
    };
}
