using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Arcp.Resumability.PowerShell.Serialization;

internal static partial class PowerShellJson
{
    private sealed partial class Reader(string subject, Action<string>? warn)
    {
        private readonly JsonPath path = new();
        private readonly HashSet<string> warnedEnumTypes = new(StringComparer.Ordinal);

        public static bool IsRoundTripDate(string text) => TryParseRoundTripDate(text, out _);

        public object? Convert(JsonNode? node) => node switch
        {
            null => null,
            JsonObject obj => ConvertObject(obj),
            JsonArray array => ConvertArray(array),
            _ => ConvertValue(node.AsValue()),
        };

        private object ConvertObject(JsonObject obj)
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

            // Untagged objects are [pscustomobject]s, as ConvertFrom-Json builds them and as earlier versions stored every dictionary.
            return TagOf(obj) switch
            {
                null => ConvertCustomObject(obj),
                TypeTags.Hashtable => Fill(new Hashtable(StringComparer.OrdinalIgnoreCase), obj),
                TypeTags.Ordered => Fill(new OrderedDictionary(StringComparer.OrdinalIgnoreCase), obj),
                var tag => ConvertTagged(tag, obj),
            };
        }

        private string? TagOf(JsonObject obj)
        {
            foreach (var (name, child) in obj)
            {
                if (name == TypeTags.Key)
                {
                    return child is JsonValue value && value.GetValueKind() == JsonValueKind.String
                        ? value.GetValue<string>()
                        : throw Error($"has a '{TypeTags.Key}' member that is not a type name.");
                }
            }

            return null;
        }

        private PSObject ConvertCustomObject(JsonObject obj)
        {
            // new PSObject() wraps PSCustomObject, exactly what ConvertFrom-Json builds.
            var result = new PSObject();
            foreach (var (stored, child) in obj)
            {
                var name = TypeTags.UnescapeKey(stored);
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

        private IDictionary Fill(IDictionary target, JsonObject obj)
        {
            foreach (var (stored, child) in obj)
            {
                if (stored == TypeTags.Key)
                {
                    continue;
                }

                var key = TypeTags.UnescapeKey(stored);
                path.Push(key);
                if (target.Contains(key))
                {
                    throw Error($"is a second key that reads '{key}' (ignoring case, as PowerShell keys do), so the two would collide.");
                }

                target.Add(key, Convert(child));
                path.Pop();
            }

            return target;
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

        private static object ConvertString(string text) => TryParseRoundTripDate(text, out var date) ? date : text;

        // Like ConvertFrom-Json: no zone stays Unspecified, Z is Utc, and an offset becomes the same instant as a
        // Local DateTime, which is what a Local DateTime is written as. A value that must stay a DateTimeOffset,
        // or a string that merely looks like a date, is written with a tag instead.
        private static bool TryParseRoundTripDate(string text, out DateTime date)
        {
            date = default;
            return RoundTripDateShape().IsMatch(text)
                && DateTime.TryParseExact(text, "yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFK", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out date);
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
            // 28 significant digits by an earlier version) and decimal keeps them, hand back the decimal.
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
            return new JsonConversionException(where, $"{subject} at {where} {problem}", inner);
        }

        [GeneratedRegex(@"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,7})?(?:Z|[+-][0-9]{2}:[0-9]{2})?\z", RegexOptions.CultureInvariant)]
        private static partial Regex RoundTripDateShape();
    }
}
