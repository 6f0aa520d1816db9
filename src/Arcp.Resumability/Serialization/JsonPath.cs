using System.Globalization;
using System.Text;

namespace Arcp.Resumability.PowerShell.Serialization;

/// <summary>The location being converted, kept as segments and rendered only when an error needs it.</summary>
internal sealed class JsonPath
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
