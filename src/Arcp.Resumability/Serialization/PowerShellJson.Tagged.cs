using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Arcp.Resumability.PowerShell.Serialization;

internal static partial class PowerShellJson
{
    private sealed partial class Reader
    {
        private object ConvertTagged(string tag, JsonObject obj)
        {
            JsonValue? value = null;
            string? enumType = null;
            foreach (var (name, child) in obj)
            {
                switch (name)
                {
                    case TypeTags.Key:
                        break;
                    case TypeTags.Value when child is JsonValue v && v.GetValueKind() != JsonValueKind.Null:
                        value = v;
                        break;
                    case TypeTags.EnumType when tag == TypeTags.Enum && child is JsonValue v && v.GetValueKind() == JsonValueKind.String:
                        enumType = v.GetValue<string>();
                        break;
                    default:
                        throw Error($"is tagged '{tag}' but has an unexpected member '{name}'.");
                }
            }

            if (value is null)
            {
                throw Error($"is tagged '{tag}' but holds no value in '{TypeTags.Value}'.");
            }

            try
            {
                return tag switch
                {
                    TypeTags.String => Text(value),
                    TypeTags.Char => char.Parse(Text(value)),
                    TypeTags.Byte => Integer<byte>(value),
                    TypeTags.SByte => Integer<sbyte>(value),
                    TypeTags.Short => Integer<short>(value),
                    TypeTags.UShort => Integer<ushort>(value),
                    TypeTags.UInt => Integer<uint>(value),
                    TypeTags.Long => Integer<long>(value),
                    TypeTags.ULong => Integer<ulong>(value),
                    TypeTags.Int128 => Int128.Parse(Text(value), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                    TypeTags.UInt128 => UInt128.Parse(Text(value), NumberStyles.None, CultureInfo.InvariantCulture),
                    TypeTags.BigInteger => BigInteger.Parse(Text(value), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                    TypeTags.Decimal => decimal.Parse(Text(value), NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture),
                    TypeTags.Double => double.Parse(FloatingText(value), NumberStyles.Float, CultureInfo.InvariantCulture),
                    TypeTags.Single => float.Parse(FloatingText(value), NumberStyles.Float, CultureInfo.InvariantCulture),
                    TypeTags.DateTimeOffset => DateTimeOffset.ParseExact(Text(value), "o", CultureInfo.InvariantCulture, DateTimeStyles.None),
                    TypeTags.TimeSpan => TimeSpan.ParseExact(Text(value), "c", CultureInfo.InvariantCulture),
                    TypeTags.Guid => Guid.ParseExact(Text(value), "D"),
                    TypeTags.Version => Version.Parse(Text(value)),
                    TypeTags.Uri => new Uri(Text(value), UriKind.Absolute),
                    TypeTags.RelativeUri => new Uri(Text(value), UriKind.Relative),
                    TypeTags.Bytes => System.Convert.FromBase64String(Text(value)),
                    TypeTags.Enum => EnumValue(enumType, Text(value)),
                    _ => throw Error($"is tagged '{tag}', a type this version of the module does not know (was it written by a newer version?)."),
                };
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw Error($"is tagged '{tag}' but its value {value.ToJsonString()} is not a valid {tag}.", e);
            }
        }

        private static string Text(JsonValue value) =>
            value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : throw new FormatException("The value is not a JSON string.");

        private static T Integer<T>(JsonValue value)
            where T : IBinaryInteger<T> =>
            value.GetValueKind() == JsonValueKind.Number
                ? T.Parse(value.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
                : throw new FormatException("The value is not a JSON integer.");

        // A finite value is a JSON number; NaN and the infinities are the strings .NET writes for them.
        private static string FloatingText(JsonValue value)
        {
            if (value.GetValueKind() == JsonValueKind.Number)
            {
                return value.ToJsonString();
            }

            var text = Text(value);
            return text is "NaN" or "Infinity" or "-Infinity" ? text : throw new FormatException("The value is not a number.");
        }

        private object EnumValue(string? typeName, string name)
        {
            if (typeName is null)
            {
                throw Error($"is tagged '{TypeTags.Enum}' but does not name its type in '{TypeTags.EnumType}'.");
            }

            if (LoadedEnums.Find(typeName) is { } type && Enum.TryParse(type, name, ignoreCase: false, out var value))
            {
                return value;
            }

            if (warn is not null && warnedEnumTypes.Add(typeName))
            {
                warn($"{subject} at {path} holds the value '{name}' of the enum [{typeName}], which is not loaded in this session (or has no such value); " +
                     $"it is handed on as the string '{name}'. Define or import [{typeName}] where the workflow is loaded to get enum values back.");
            }

            return name;
        }
    }
}
