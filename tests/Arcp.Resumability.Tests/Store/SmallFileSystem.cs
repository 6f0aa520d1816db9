using System.Diagnostics;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// A tmpfs of a few megabytes mounted in a fresh temporary folder, for a fault only a real file system gives: no space
/// left on the device (a read-only one is <see cref="ReadOnlyOnErrorFileSystem"/>). Mounting needs root (or
/// CAP_SYS_ADMIN); <see cref="Unavailable"/> says why it cannot be used here, for the skip reason.
/// </summary>
internal sealed class SmallFileSystem : IDisposable
{
    private SmallFileSystem(string folder) => Folder = folder;

    /// <summary>Why no tmpfs can be mounted here, or null when it can.</summary>
    public static string? Unavailable { get; } = Probe();

    public string Folder { get; }

    public static SmallFileSystem Mount(int megabytes)
    {
        var folder = Path.Combine(Path.GetTempPath(), "arcp-fs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", folder);
        return new SmallFileSystem(folder);
    }

    /// <summary>Fills the file system with a file of zeros until the kernel reports no space left.</summary>
    public static void Fill(string fillerPath)
    {
        var block = new byte[64 * 1024];
        using var filler = new FileStream(fillerPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        try
        {
            while (true)
            {
                filler.Write(block);
            }
        }
        catch (IOException)
        {
            // ENOSPC: the file system is full, which is the point.
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Run("umount", "-l", Folder);
        Directory.Delete(Folder);
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "tmpfs mounts are Linux only.";
        }

        if (Environment.UserName != "root")
        {
            return "mounting a small tmpfs needs root; the SQLite max_page_count test covers a full store without it.";
        }

        try
        {
            Mount(1).Dispose();
            return null;
        }
        catch (InvalidOperationException ex)
        {
            return $"this machine refuses a tmpfs mount ({ex.Message}).";
        }
    }

    /// <summary>Runs a system command to its end; a non-zero exit is an <see cref="InvalidOperationException"/> with its error output.</summary>
    public static void Run(string file, params string[] arguments) => Output(file, arguments);

    /// <summary>Runs a system command to its end and returns its standard output.</summary>
    public static string Output(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{file} {string.Join(' ', arguments)}' exited with {process.ExitCode}: {error.Result.Trim()}");
        }

        return output;
    }
}
