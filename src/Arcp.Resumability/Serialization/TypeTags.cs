using System.Text.RegularExpressions;

namespace Arcp.Resumability.PowerShell.Serialization;

/// <summary>
/// The names of the self-describing JSON encoding (docs/protocol.md, "Step outputs on the wire"): a value JSON
/// cannot tell apart is an object whose <c>$arcp</c> member names its type. Dictionaries carry the tag beside
/// their own keys; every other tagged value keeps its data in <c>v</c>. A user key that reads <c>$arcp</c>
/// (or is one already escaped, <c>$$arcp</c>, <c>$$$arcp</c>…) is written with one more leading <c>$</c>.
/// </summary>
internal static partial class TypeTags
{
    public const string Key = "$arcp";
    public const string Value = "v";
    public const string EnumType = "type";

    public const string Hashtable = "hashtable";
    public const string Ordered = "ordered";

    public const string String = "string";
    public const string Char = "char";
    public const string Byte = "byte";
    public const string SByte = "sbyte";
    public const string Short = "short";
    public const string UShort = "ushort";
    public const string UInt = "uint";
    public const string Long = "long";
    public const string ULong = "ulong";
    public const string Int128 = "int128";
    public const string UInt128 = "uint128";
    public const string BigInteger = "bigint";
    public const string Decimal = "decimal";
    public const string Double = "double";
    public const string Single = "float";
    public const string DateTimeOffset = "datetimeoffset";
    public const string TimeSpan = "timespan";
    public const string Guid = "guid";
    public const string Version = "version";
    public const string Uri = "uri";
    public const string RelativeUri = "relativeuri";
    public const string Bytes = "bytes";
    public const string Enum = "enum";

    public static string EscapeKey(string name) => TagKeyShape().IsMatch(name) ? "$" + name : name;

    public static string UnescapeKey(string name) => name.Length > Key.Length && TagKeyShape().IsMatch(name) ? name[1..] : name;

    [GeneratedRegex(@"\A\$+arcp\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagKeyShape();
}
