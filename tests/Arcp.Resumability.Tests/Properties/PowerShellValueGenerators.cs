using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Management.Automation;
using System.Numerics;
using CsCheck;

namespace Arcp.Resumability.Tests.Properties;

/// <summary>Values a PowerShell step may return, nested, with the awkward cases (kinds, offsets, lone surrogates) mixed in.</summary>
internal static class PowerShellValueGenerators
{
    // Keys from a small alphabet so dictionaries often hold keys that collide ignoring case, or read like the type tag.
    private static readonly Gen<string> Key = Gen.Frequency(
        (4, Gen.OneOf("a", "B", "b", "Name", "$arcp", "$$arcp", "value", "psobject", "")),
        (2, JsonGenerators.Text));

    private static readonly Gen<DateTime> Date = Gen.Select(
        Gen.Long[DateTime.MinValue.Ticks + TimeSpan.TicksPerDay, DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay],
        Gen.OneOf(DateTimeKind.Utc, DateTimeKind.Local, DateTimeKind.Unspecified))
        .Select((ticks, kind) => new DateTime(ticks, kind));

    private static readonly Gen<object?> Scalar = Gen.OneOf<object?>(
        Gen.Const((object?)null),
        Gen.Bool.Select(b => (object?)b),
        Gen.Int.Select(n => (object?)n),
        Gen.Long.Select(n => (object?)n),
        Gen.Double.Select(n => (object?)n),
        Gen.Frequency((4, JsonGenerators.CleanText), (1, JsonGenerators.Text)).Select(t => (object?)t),
        Gen.Date.Select(d => (object?)d.ToString("o", CultureInfo.InvariantCulture)),
        Gen.Char['!', '~'].Select(c => (object?)c),
        Gen.Decimal.Select(n => (object?)n),
        Gen.Select(Gen.Long, Gen.Int[0, 4]).Select((n, power) => (object?)BigInteger.Pow(n, power)),
        Gen.Guid.Select(g => (object?)g),
        Gen.Select(Gen.Int[0, 99], Gen.Int[0, 99], Gen.Int[-1, 99]).Select((major, minor, build) => (object?)(build < 0 ? new Version(major, minor) : new Version(major, minor, build))),
        Gen.Long.Select(ticks => (object?)TimeSpan.FromTicks(ticks)),
        JsonGenerators.CleanText.Select(t => (object?)new Uri("https://example.org/" + Uri.EscapeDataString(t))),
        Date.Select(d => (object?)d),
        Gen.Select(Date, Gen.Int[-14 * 60, 14 * 60]).Select((d, minutes) => (object?)new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Unspecified), TimeSpan.FromMinutes(minutes))),
        Gen.Byte.Array[0, 8].Select(bytes => (object?)bytes),
        Gen.Enum<DayOfWeek>().Select(d => (object?)d),
        Gen.OneOf(FileAttributes.ReadOnly, FileAttributes.ReadOnly | FileAttributes.Hidden).Select(a => (object?)a));

    public static readonly Gen<object?> Value = Gen.Recursive<object?>((depth, self) =>
    {
        if (depth >= 3)
        {
            return Scalar;
        }

        var members = Gen.Select(Key, self).Array[0, 4];
        return Gen.Frequency(
            (4, Scalar),
            (1, self.Array[0, 4].Select(items => (object?)items)),
            (1, members.Select(m => (object?)Fill(new Hashtable(StringComparer.OrdinalIgnoreCase), m))),
            (1, members.Select(m => (object?)Fill(new OrderedDictionary(StringComparer.OrdinalIgnoreCase), m))),
            (1, members.Select(m => (object?)CustomObject(m))));
    });

    private static IDictionary Fill(IDictionary dictionary, (string Key, object? Value)[] members)
    {
        foreach (var (key, value) in members)
        {
            dictionary[key] = value;
        }

        return dictionary;
    }

    private static PSObject CustomObject((string Key, object? Value)[] members)
    {
        var custom = new PSObject();
        foreach (var (key, value) in members)
        {
            // PowerShell itself refuses an empty, reserved or repeated property name, so a step cannot return one.
            if (key.Length > 0 && !key.Equals("psobject", StringComparison.OrdinalIgnoreCase) && custom.Properties[key] is null)
            {
                custom.Properties.Add(new PSNoteProperty(key, value));
            }
        }

        return custom;
    }
}
