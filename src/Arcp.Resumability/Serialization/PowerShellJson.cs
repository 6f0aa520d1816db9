using System.Text.Json;
using System.Text.Json.Nodes;

namespace Arcp.Resumability.PowerShell.Serialization;

/// <summary>
/// Converts step outputs (and job inputs) between PowerShell values and JSON, so they survive process death
/// and come back as the same types. Values JSON holds natively stay plain JSON; the rest carry a type tag
/// (<see cref="TypeTags"/>). Unlike <c>ConvertTo-Json</c> it never truncates deep values and never guesses at
/// arbitrary objects: anything it cannot store faithfully is an error. A step receives its input through
/// the same reader whether or not the process died in between, so the types never depend on a crash.
/// </summary>
internal static partial class PowerShellJson
{
    public const int DefaultMaxDepth = 64;

    public const string StepOutput = "Step output";
    public const string JobInput = "Job input";
    public const string StoredStepOutput = "Stored step output";

    // Reading tolerates a little more nesting than writing allows by default, so outputs written by a build
    // with a slightly higher limit still load; ToJsonNode refuses limits beyond it so every write stays readable.
    // A tagged scalar adds one JSON level below the deepest container, which the margin also covers.
    private const int ReadMaxDepth = DefaultMaxDepth + 16;

    private const string SupportedValues =
        "Return strings, numbers, booleans, dates, hashtables, [pscustomobject]s or arrays of them (select the properties you need).";

    // PowerShell reserves these intrinsic member names on every object, so no note property may use them.
    private static readonly string[] ReservedPropertyNames = ["psbase", "psadapted", "psextended", "psobject", "pstypenames"];

    /// <param name="subject">What the value is, for error messages: <see cref="StepOutput"/> or <see cref="JobInput"/>.</param>
    public static JsonNode? ToJsonNode(object? value, int maxDepth = DefaultMaxDepth, string subject = StepOutput)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDepth, ReadMaxDepth);
        return new Writer(maxDepth, subject).Convert(value);
    }

    public static string ToJson(object? value, int maxDepth = DefaultMaxDepth, string subject = StepOutput)
    {
        // The default encoder escapes every non-ASCII character and HTML-sensitive ones, so the stored text is
        // plain ASCII that survives any storage encoding, and still decodes to the exact original strings.
        return ToJsonNode(value, maxDepth, subject)?.ToJsonString() ?? "null";
    }

    /// <param name="warn">Receives a warning for each enum type that is not loaded here (its values come back as names).</param>
    /// <param name="subject">What the value is, for error and warning messages.</param>
    public static object? FromJsonNode(JsonNode? node, Action<string>? warn = null, string subject = StoredStepOutput)
    {
        try
        {
            return new Reader(subject, warn).Convert(node);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // System.Text.Json reads nodes lazily: a repeated key or a \uD800-style escape with no partner only
            // throws when the reader first touches it, and it is stored data that is wrong, not this code.
            throw new JsonConversionException("$", $"{subject} at $ holds a repeated key or a string that is not valid Unicode: {e.Message}", e);
        }
    }

    public static object? FromJson(string json, Action<string>? warn = null, string subject = StoredStepOutput)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = ReadMaxDepth });
        }
        catch (JsonException e)
        {
            throw new JsonConversionException("$", $"{subject} at $ is not valid JSON: {e.Message}", e);
        }

        return FromJsonNode(node, warn, subject);
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
}
