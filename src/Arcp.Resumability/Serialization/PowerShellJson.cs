using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Internal;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml;

namespace Arcp.Resumability.PowerShell.Serialization;

/// <summary>
/// Converts step outputs between PowerShell values and JSON, so they survive process death and come back
/// to the next step shaped like <c>ConvertFrom-Json</c> output. Unlike <c>ConvertTo-Json</c> it never
/// truncates deep values and never guesses at arbitrary objects: anything it cannot store faithfully is an error.
/// </summary>
internal static partial class PowerShellJson
{
    public const int DefaultMaxDepth = 64;

    // Reading tolerates a little more nesting than writing allows by default, so outputs written by a build
    // with a slightly higher limit still load; ToJsonNode refuses limits beyond it so every write stays readable.
    private const int ReadMaxDepth = DefaultMaxDepth + 16;

    private const string SupportedValues =
        "Return strings, numbers, booleans, dates, hashtables, [pscustomobject]s or arrays of them (select the properties you need).";

    // PowerShell reserves these intrinsic member names on every object, so no note property may use them.
    private static readonly string[] ReservedPropertyNames = ["psbase", "psadapted", "psextended", "psobject", "pstypenames"];

    // Property names compare case-insensitively in PowerShell, so keys differing only in case would collide
    // when the object is rebuilt; a case-insensitive JsonObject lets ContainsKey catch that while writing.
    private static readonly JsonNodeOptions CaseInsensitiveProperties = new() { PropertyNameCaseInsensitive = true };

    private static readonly BigInteger MinExactInteger = new(decimal.MinValue);
    private static readonly BigInteger MaxExactInteger = new(decimal.MaxValue);

    public static JsonNode? ToJsonNode(object? value, int maxDepth = DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDepth, ReadMaxDepth);
        return new Writer(maxDepth).Convert(value);
    }

    public static string ToJson(object? value, int maxDepth = DefaultMaxDepth)
    {
        // The default encoder escapes every non-ASCII character and HTML-sensitive ones, so the stored text is
        // plain ASCII that survives any storage encoding, and still decodes to the exact original strings.
        return ToJsonNode(value, maxDepth)?.ToJsonString() ?? "null";
    }

    public static object? FromJsonNode(JsonNode? node) => new Reader().Convert(node);

    public static object? FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = ReadMaxDepth });
        }
        catch (JsonException e)
        {
            throw new JsonConversionException("$", $"Stored step output at $ is not valid JSON: {e.Message}", e);
        }

        return FromJsonNode(node);
    }

    private static string? PropertyNameProblem(string name)
    {
        if (name.Length == 0)
        {
            return "has an empty name, which PowerShell cannot use as a property name.";
        }

        foreach (var reserved in ReservedPropertyNames)
        {
            if (string.Equals(name, reserved, StringComparison.OrdinalIgnoreCase))
            {
                return $"is named '{name}', which PowerShell reserves for its own members.";
            }
        }

        return null;
    }

    private static bool HasUnpairedSurrogate(string text)
    {
        var start = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (start < 0)
        {
            return false;
        }

        for (var i = start; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    // PowerShell spells types the way users write them, e.g. System.Collections.Generic.List[System.String].
    private static string FriendlyTypeName(Type type)
    {
        if (!type.IsGenericType)
        {
            return type.FullName ?? type.Name;
        }

        var definition = type.GetGenericTypeDefinition();
        var name = definition.FullName ?? definition.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        var arguments = string.Join(",", type.GetGenericArguments().Select(FriendlyTypeName));
        return $"{(tick < 0 ? name : name[..tick])}[{arguments}]";
    }

    /// <summary>The location being converted, kept as segments and rendered only when an error needs it.</summary>
    private sealed class JsonPath
    {
        private readonly List<(string? Name, int Index)> segments = [];

        public int Count => segments.Count;

        public void Push(string name) => segments.Add((name, 0));

        public void Push(int index) => segments.Add((null, index));

        public void Pop() => segments.RemoveAt(segments.Count - 1);

        public override string ToString()
        {
            var builder = new StringBuilder("$");
            foreach (var (name, index) in segments)
            {
                if (name is null)
                {
                    builder.Append('[').Append(index.ToString(CultureInfo.InvariantCulture)).Append(']');
                }
                else if (IsIdentifier(name))
                {
                    builder.Append('.').Append(name);
                }
                else
                {
                    builder.Append("['").Append(name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)).Append("']");
                }
            }

            return builder.ToString();
        }

        private static bool IsIdentifier(string name)
        {
            if (name.Length == 0 || !(char.IsLetter(name[0]) || name[0] == '_'))
            {
                return false;
            }

            foreach (var c in name)
            {
                if (!(char.IsLetterOrDigit(c) || c == '_'))
                {
                    return false;
                }
            }

            return true;
        }
    }

    private sealed class Writer(int maxDepth)
    {
        private readonly JsonPath path = new();

        public JsonNode? Convert(object? value)
        {
            // AutomationNull is itself a property-less PSObject, so it must be caught before PSObject unwrapping.
            if (value is null || value is DBNull || ReferenceEquals(value, AutomationNull.Value))
            {
                return null;
            }

            if (value is PSObject wrapper)
            {
                // A PSCustomObject base is an empty placeholder: the data lives on the wrapper's note properties.
                return wrapper.BaseObject is PSCustomObject ? ConvertCustomObject(wrapper) : Convert(wrapper.BaseObject);
            }

            return value switch
            {
                string text => Text(text),
                char c => Text(c.ToString()),
                bool b => JsonValue.Create(b),
                SwitchParameter switchParameter => JsonValue.Create(switchParameter.IsPresent),
                byte n => JsonValue.Create(n),
                sbyte n => JsonValue.Create(n),
                short n => JsonValue.Create(n),
                ushort n => JsonValue.Create(n),
                int n => JsonValue.Create(n),
                uint n => JsonValue.Create(n),
                long n => JsonValue.Create(n),
                ulong n => JsonValue.Create(n),
                Int128 n => Integer(n),
                UInt128 n => Integer(n),
                BigInteger n => Integer(n),
                decimal n => JsonValue.Create(n),
                float n => Floating(n, n.ToString("R", CultureInfo.InvariantCulture)),
                double n => Floating(n, n.ToString("R", CultureInfo.InvariantCulture)),
                DateTime date => JsonValue.Create(date.ToString("o", CultureInfo.InvariantCulture)),
                DateTimeOffset date => JsonValue.Create(date.ToString("o", CultureInfo.InvariantCulture)),
                TimeSpan span => JsonValue.Create(span.ToString("c", CultureInfo.InvariantCulture)),
                Guid guid => JsonValue.Create(guid.ToString()),
                Uri uri => Text(uri.OriginalString),
                Version version => JsonValue.Create(version.ToString()),
                Enum e => JsonValue.Create(e.ToString()),
                IDictionary dictionary => ConvertDictionary(dictionary),
                // XML nodes enumerate their children, which would store [xml] documents as nests of empty arrays.
                XmlNode => throw Unsupported(value),
                IEnumerable sequence => ConvertSequence(sequence),
                _ => throw Unsupported(value),
            };
        }

        private JsonValue Text(string text)
        {
            // The JSON writer would quietly replace a lone surrogate with U+FFFD; refuse instead of corrupting text.
            if (HasUnpairedSurrogate(text))
            {
                throw Error("is a string with an unpaired UTF-16 surrogate, which JSON text cannot hold.");
            }

            return JsonValue.Create(text);
        }

        private JsonValue Integer(BigInteger n)
        {
            // The reader hands integers back as int, long or decimal; beyond decimal they would lose digits.
            if (n < MinExactInteger || n > MaxExactInteger)
            {
                throw Error(string.Create(CultureInfo.InvariantCulture, $"is the integer {n}, which is too large to store exactly (the limit is ±{decimal.MaxValue})."));
            }

            return JsonValue.Create((decimal)n);
        }

        private JsonNode Floating(double n, string roundTrip)
        {
            if (!double.IsFinite(n))
            {
                throw Error($"is {roundTrip}, which JSON cannot represent.");
            }

            // Going through the value's own shortest text keeps a float at 0.1 rather than 0.10000000149011612.
            // An integral value would be written as "3" and read back as an int, so it gets ".0" to stay a double,
            // which also keeps the sign of negative zero.
            return roundTrip.AsSpan().IndexOfAny('.', 'E') >= 0
                ? JsonValue.Create(double.Parse(roundTrip, NumberStyles.Float, CultureInfo.InvariantCulture))
                : JsonNode.Parse(roundTrip + ".0")!;
        }

        private JsonObject ConvertCustomObject(PSObject wrapper)
        {
            EnterContainer();
            var result = new JsonObject(CaseInsensitiveProperties);
            foreach (var property in wrapper.Properties)
            {
                if (property is PSNoteProperty note)
                {
                    Add(result, note.Name, note.Value);
                }
            }

            return result;
        }

        private JsonObject ConvertDictionary(IDictionary dictionary)
        {
            EnterContainer();
            var result = new JsonObject(CaseInsensitiveProperties);
            foreach (DictionaryEntry entry in dictionary)
            {
                var key = entry.Key is PSObject wrappedKey ? wrappedKey.BaseObject : entry.Key;
                if (key is null)
                {
                    throw Error("is a dictionary with a null key, which cannot be a JSON property name.");
                }

                var name = key as string ?? (key as IFormattable)?.ToString(null, CultureInfo.InvariantCulture) ?? key.ToString() ?? string.Empty;
                Add(result, name, entry.Value);
            }

            return result;
        }

        private JsonArray ConvertSequence(IEnumerable sequence)
        {
            EnterContainer();
            var result = new JsonArray();
            var index = 0;
            foreach (var item in sequence)
            {
                path.Push(index++);
                result.Add(Convert(item));
                path.Pop();
            }

            return result;
        }

        private void Add(JsonObject target, string name, object? value)
        {
            path.Push(name);
            if (PropertyNameProblem(name) is { } problem)
            {
                throw Error(problem);
            }

            if (HasUnpairedSurrogate(name))
            {
                throw Error("has a name with an unpaired UTF-16 surrogate, which JSON text cannot hold.");
            }

            if (target.ContainsKey(name))
            {
                throw Error($"is a second key that reads '{name}' (ignoring case, as PowerShell property names do), so the two would collide.");
            }

            target.Add(name, Convert(value));
            path.Pop();
        }

        // The path has one segment per enclosing container, so the container about to open sits at Count + 1.
        private void EnterContainer()
        {
            if (path.Count + 1 > maxDepth)
            {
                throw Error(string.Create(CultureInfo.InvariantCulture, $"is nested deeper than the limit of {maxDepth} levels (a value that contains itself also ends here)."));
            }
        }

        private JsonConversionException Unsupported(object value) =>
            Error($"is a {FriendlyTypeName(value.GetType())}, which cannot be stored as JSON. {SupportedValues}");

        private JsonConversionException Error(string problem)
        {
            var where = path.ToString();
            return new JsonConversionException(where, $"Step output at {where} {problem}");
        }
    }

    private sealed partial class Reader
    {
        private readonly JsonPath path = new();

        public object? Convert(JsonNode? node) => node switch
        {
            null => null,
            JsonObject obj => ConvertObject(obj),
            JsonArray array => ConvertArray(array),
            _ => ConvertValue(node.AsValue()),
        };

        private PSObject ConvertObject(JsonObject obj)
        {
            try
            {
                // A parsed object builds its dictionary on first use, which is where a repeated name surfaces.
                _ = obj.Count;
            }
            catch (ArgumentException e)
            {
                throw Error("repeats a property name.", e);
            }

            // new PSObject() wraps PSCustomObject, exactly what ConvertFrom-Json builds.
            var result = new PSObject();
            foreach (var (name, child) in obj)
            {
                path.Push(name);
                if (PropertyNameProblem(name) is { } problem)
                {
                    throw Error(problem);
                }

                if (result.Properties[name] is not null)
                {
                    throw Error($"is a second property that reads '{name}' (ignoring case, as PowerShell property names do), so the two would collide.");
                }

                result.Properties.Add(new PSNoteProperty(name, Convert(child)));
                path.Pop();
            }

            return result;
        }

        private object?[] ConvertArray(JsonArray array)
        {
            var result = new object?[array.Count];
            for (var i = 0; i < result.Length; i++)
            {
                path.Push(i);
                result[i] = Convert(array[i]);
                path.Pop();
            }

            return result;
        }

        private object? ConvertValue(JsonValue value) => value.GetValueKind() switch
        {
            JsonValueKind.String => ConvertString(value.GetValue<string>()),
            JsonValueKind.Number => ConvertNumber(value.ToJsonString()),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null => null,
            var kind => throw Error($"holds JSON of kind {kind} where a plain value was expected."),
        };

        private static object ConvertString(string text)
        {
            // Like ConvertFrom-Json: no zone stays Unspecified, Z is Utc, and an offset becomes the same instant
            // as a Local DateTime. DateTime cannot carry a foreign offset, and the next step compares and formats
            // dates in the machine's zone, so Local is the least surprising of the lossy choices.
            if (RoundTripDateShape().IsMatch(text)
                && DateTime.TryParseExact(text, "yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var date))
            {
                return date;
            }

            return text;
        }

        private object ConvertNumber(string text)
        {
            if (text.AsSpan().IndexOfAny('.', 'e', 'E') < 0)
            {
                if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
                {
                    return i;
                }

                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    return l;
                }

                if (decimal.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var m))
                {
                    return m;
                }
            }

            var d = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

            // Prefer double, but when the text holds digits a double would drop (e.g. a decimal written with
            // 28 significant digits) and decimal keeps them, hand back the decimal.
            if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var exact)
                && !(decimal.TryParse(d.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture, out var viaDouble)
                     && viaDouble == exact))
            {
                return exact;
            }

            if (!double.IsFinite(d))
            {
                throw Error($"is the number {text}, which is too large for PowerShell to hold.");
            }

            return d;
        }

        private JsonConversionException Error(string problem, Exception? inner = null)
        {
            var where = path.ToString();
            return new JsonConversionException(where, $"Stored step output at {where} {problem}", inner);
        }

        [GeneratedRegex(@"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,7})?(?:Z|[+-][0-9]{2}:[0-9]{2})?\z", RegexOptions.CultureInvariant)]
        private static partial Regex RoundTripDateShape();
    }
}
