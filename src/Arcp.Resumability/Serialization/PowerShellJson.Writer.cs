using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Internal;
using System.Net;
using System.Numerics;
using System.Security;
using System.Text.Json.Nodes;
using System.Xml;

namespace Arcp.Resumability.PowerShell.Serialization;

internal static partial class PowerShellJson
{
    private sealed class Writer(int maxDepth, string subject)
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
                string text => String(text),
                char c => Tagged(TypeTags.Char, Text(c.ToString())),
                bool b => JsonValue.Create(b),
                SwitchParameter switchParameter => JsonValue.Create(switchParameter.IsPresent),
                int n => JsonValue.Create(n),
                // A long in int range would read back as an int, so only the tag keeps it a long.
                long n => n is >= int.MinValue and <= int.MaxValue ? Tagged(TypeTags.Long, JsonValue.Create(n)) : JsonValue.Create(n),
                byte n => Tagged(TypeTags.Byte, JsonValue.Create(n)),
                sbyte n => Tagged(TypeTags.SByte, JsonValue.Create(n)),
                short n => Tagged(TypeTags.Short, JsonValue.Create(n)),
                ushort n => Tagged(TypeTags.UShort, JsonValue.Create(n)),
                uint n => Tagged(TypeTags.UInt, JsonValue.Create(n)),
                ulong n => Tagged(TypeTags.ULong, JsonValue.Create(n)),
                // Wide integers and decimals travel as strings: many JSON readers hold numbers as doubles.
                Int128 n => Tagged(TypeTags.Int128, Invariant(n)),
                UInt128 n => Tagged(TypeTags.UInt128, Invariant(n)),
                BigInteger n => Tagged(TypeTags.BigInteger, Invariant(n)),
                // The decimal's own text keeps its scale, so 1.50 stays 1.50.
                decimal n => Tagged(TypeTags.Decimal, Invariant(n)),
                float n => Tagged(TypeTags.Single, Floating(n.ToString("R", CultureInfo.InvariantCulture), float.IsFinite(n))),
                double n => double.IsFinite(n)
                    ? Floating(n.ToString("R", CultureInfo.InvariantCulture), finite: true)
                    : Tagged(TypeTags.Double, Floating(n.ToString("R", CultureInfo.InvariantCulture), finite: false)),
                // The reader turns a round-trip date string into a DateTime of the same kind, so dates stay plain.
                DateTime date => JsonValue.Create(date.ToString("o", CultureInfo.InvariantCulture)),
                DateTimeOffset date => Tagged(TypeTags.DateTimeOffset, JsonValue.Create(date.ToString("o", CultureInfo.InvariantCulture))),
                TimeSpan span => Tagged(TypeTags.TimeSpan, JsonValue.Create(span.ToString("c", CultureInfo.InvariantCulture))),
                Guid guid => Tagged(TypeTags.Guid, JsonValue.Create(guid.ToString("D"))),
                Uri uri => Tagged(uri.IsAbsoluteUri ? TypeTags.Uri : TypeTags.RelativeUri, Text(uri.OriginalString)),
                Version version => Tagged(TypeTags.Version, JsonValue.Create(version.ToString())),
                Enum e => EnumValue(e),
                byte[] bytes => Tagged(TypeTags.Bytes, JsonValue.Create(System.Convert.ToBase64String(bytes))),
                PSCredential or SecureString or NetworkCredential => throw Secret(value),
                Hashtable table => ConvertDictionary(table, TypeTags.Hashtable),
                // Any other dictionary comes back as [ordered], which keeps the order it enumerated in.
                IDictionary dictionary => ConvertDictionary(dictionary, TypeTags.Ordered),
                // XML nodes enumerate their children, which would store [xml] documents as nests of empty arrays.
                XmlNode => throw Unsupported(value),
                IEnumerable sequence => ConvertSequence(sequence),
                _ => throw Unsupported(value),
            };
        }

        private static JsonObject Tagged(string tag, JsonNode value) => new() { [TypeTags.Key] = tag, [TypeTags.Value] = value };

        private static JsonValue Invariant(IFormattable value) => JsonValue.Create(value.ToString(null, CultureInfo.InvariantCulture));

        private JsonNode String(string text)
        {
            var plain = Text(text);

            // A plain string shaped like a round-trip date reads back as a DateTime (as ConvertFrom-Json does).
            return Reader.IsRoundTripDate(text) ? Tagged(TypeTags.String, plain) : plain;
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

        // Going through the value's own shortest text keeps a float at 0.1 rather than 0.10000000149011612.
        // An integral value would be written as "3" and read back as an int, so it gets ".0" to stay a double,
        // which also keeps the sign of negative zero. NaN and the infinities have no JSON number: they are text.
        private static JsonNode Floating(string roundTrip, bool finite)
        {
            if (!finite)
            {
                return JsonValue.Create(roundTrip);
            }

            return roundTrip.AsSpan().IndexOfAny('.', 'E') >= 0
                ? JsonValue.Create(double.Parse(roundTrip, NumberStyles.Float, CultureInfo.InvariantCulture))
                : JsonNode.Parse(roundTrip + ".0")!;
        }

        private static JsonObject EnumValue(Enum value) => new()
        {
            [TypeTags.Key] = TypeTags.Enum,
            [TypeTags.EnumType] = value.GetType().FullName,
            [TypeTags.Value] = value.ToString(),
        };

        private JsonObject ConvertCustomObject(PSObject wrapper)
        {
            EnterContainer();
            var result = new JsonObject();
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in wrapper.Properties)
            {
                if (property is PSNoteProperty note)
                {
                    Add(result, names, note.Name, note.Value, isProperty: true);
                }
            }

            return result;
        }

        private JsonObject ConvertDictionary(IDictionary dictionary, string tag)
        {
            EnterContainer();
            var result = new JsonObject { [TypeTags.Key] = tag };
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (DictionaryEntry entry in dictionary)
            {
                var key = entry.Key is PSObject wrappedKey ? wrappedKey.BaseObject : entry.Key;
                if (key is null)
                {
                    throw Error("is a dictionary with a null key, which cannot be a JSON property name.");
                }

                var name = key as string ?? (key as IFormattable)?.ToString(null, CultureInfo.InvariantCulture) ?? key.ToString() ?? string.Empty;
                Add(result, names, name, entry.Value, isProperty: false);
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

        private void Add(JsonObject target, HashSet<string> names, string name, object? value, bool isProperty)
        {
            path.Push(name);
            if (isProperty && PropertyNameProblem(name) is { } problem)
            {
                throw Error(problem);
            }

            if (HasUnpairedSurrogate(name))
            {
                throw Error("has a name with an unpaired UTF-16 surrogate, which JSON text cannot hold.");
            }

            // PowerShell's hashtables, [ordered] and property names all ignore case, so such keys would collide when read.
            if (!names.Add(name))
            {
                throw Error($"is a second key that reads '{name}' (ignoring case, as PowerShell keys and property names do), so the two would collide.");
            }

            target.Add(TypeTags.EscapeKey(name), Convert(value));
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

        private JsonConversionException Secret(object value) =>
            Error($"is a {FriendlyTypeName(value.GetType())}, a secret, and secrets are never recorded: the store keeps values as readable JSON. " +
                  "Keep the secret in a vault with the SecretManagement module (Set-Secret) and pass its name instead; the step that needs it reads it with Get-Secret.");

        private JsonConversionException Unsupported(object value) =>
            Error($"is a {FriendlyTypeName(value.GetType())}, which cannot be stored as JSON. {SupportedValues}");

        private JsonConversionException Error(string problem)
        {
            var where = path.ToString();
            return new JsonConversionException(where, $"{subject} at {where} {problem}");
        }
    }
}
