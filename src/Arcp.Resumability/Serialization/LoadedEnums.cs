using System.Text.RegularExpressions;

namespace Arcp.Resumability.PowerShell.Serialization;

/// <summary>
/// Finds a stored enum's type among the assemblies this process has already loaded. A stored type name is
/// hostile input, so it is only looked up, never used to load an assembly, and only a plain (non-generic,
/// not assembly-qualified) name is considered.
/// </summary>
internal static partial class LoadedEnums
{
    public static Type? Find(string fullName)
    {
        if (!PlainTypeName().IsMatch(fullName))
        {
            return null;
        }

        Type? found = null;
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            // A PowerShell enum defined again (a script run twice) lives in a newer dynamic assembly; the last one loaded wins.
            if (assembly.GetType(fullName, throwOnError: false, ignoreCase: false) is { IsEnum: true } type)
            {
                found = type;
            }
        }

        return found;
    }

    [GeneratedRegex(@"\A[\p{L}_][\p{L}\p{N}_]*(?:[.+][\p{L}_][\p{L}\p{N}_]*)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex PlainTypeName();
}
