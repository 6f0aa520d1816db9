using System.Globalization;
using System.Reflection;

namespace Arcp.Resumability.Store;

/// <summary>A store's numbered, immutable migration scripts, embedded in this assembly as <c>NNNN_name.sql</c>.</summary>
internal static class MigrationScripts
{
    public static IReadOnlyList<Migration> Load(string resourcePrefix)
    {
        var assembly = Assembly.GetExecutingAssembly();
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(resourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[resourcePrefix.Length..^".sql".Length];
            var version = int.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(version, name, reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        // Numbers are handed out per feature ahead of time, so a build may hold a later one before an earlier one
        // lands; what must hold is that each number is used once and scripts run in number order.
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version < 1 || (i > 0 && migrations[i].Version == migrations[i - 1].Version))
            {
                throw new InvalidOperationException($"Migration scripts must have distinct positive numbers; found {migrations[i].Name}.");
            }
        }

        return migrations;
    }

    public static StoreException TooNew(string location, int found, int latest) => new(
        StoreErrorKind.SchemaTooNew,
        $"The store '{location}' has schema version {found}, newer than the {latest} this module understands. Use a newer Arcp.Resumability; the store was not changed.");
}
