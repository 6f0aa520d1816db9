using System.Globalization;
using System.Runtime.InteropServices;

namespace Arcp.Resumability.Bench;

/// <summary>Where the benchmark runs: the repository it belongs to and the disk its stores live on.</summary>
internal static class Machine
{
    private const string SolutionFile = "Arcp.Resumability.slnx";

    public static string Description =>
        $"{RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}";

    /// <summary>The 1, 5 and 15 minute load averages (Linux), or "unknown".</summary>
    public static string LoadAverage => ReadLoadAverage() is { } load ? string.Join(' ', load) : "unknown";

    /// <summary>True when the last minute's load exceeded the cores: other processes competed for the CPUs.</summary>
    public static bool IsBusy => ReadLoadAverage() is { } load && double.Parse(load[0], CultureInfo.InvariantCulture) > Environment.ProcessorCount;

    /// <summary>The repository root: the first folder at or above the working directory, else above this program, holding the solution.</summary>
    public static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, SolutionFile)))
                {
                    return folder.FullName;
                }
            }
        }

        throw new InvalidOperationException($"Cannot find the repository root ({SolutionFile}) above '{Directory.GetCurrentDirectory()}' or '{AppContext.BaseDirectory}'; run the benchmark from the repository.");
    }

    private static string[]? ReadLoadAverage()
    {
        const string LoadFile = "/proc/loadavg";
        return OperatingSystem.IsLinux() && File.Exists(LoadFile) ? File.ReadAllText(LoadFile).Split(' ')[..3] : null;
    }

    /// <summary>The file system holding <paramref name="path"/> (fsync cost depends on it), from /proc/mounts on Linux.</summary>
    public static string FileSystemOf(string path)
    {
        const string Mounts = "/proc/mounts";
        if (!OperatingSystem.IsLinux() || !File.Exists(Mounts))
        {
            return "file system unknown";
        }

        var best = (MountPoint: string.Empty, Text: "file system unknown");
        foreach (var line in File.ReadLines(Mounts))
        {
            var fields = line.Split(' ');
            if (fields.Length < 3)
            {
                continue;
            }

            // /proc/mounts escapes spaces in mount points as \040.
            var mountPoint = fields[1].Replace("\\040", " ", StringComparison.Ordinal);
            var contains = path.StartsWith(mountPoint.TrimEnd('/') + "/", StringComparison.Ordinal) || path == mountPoint;
            if (contains && mountPoint.Length >= best.MountPoint.Length)
            {
                best = (mountPoint, $"{fields[2]} on {fields[0]}, mounted at {mountPoint}");
            }
        }

        return best.Text;
    }
}
