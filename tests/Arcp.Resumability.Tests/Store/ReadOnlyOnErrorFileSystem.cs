using System.ComponentModel;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// A small ext4 file system (an image on a loop device, mounted <c>errors=remount-ro</c>) that a test turns read-only
/// under an open store, the way a real disk error does: the kernel's ext4 test hook records a file-system error and
/// ext4 remounts itself read-only, open files and all. <c>mount -o remount,ro</c> cannot do this: the kernel refuses
/// it (EBUSY) while any file is open for writing, and an open store always has its database and WAL open. Once
/// turned, ext4 stays read-only (<c>emergency_ro</c>) until it is unmounted, so "writable again" is a fresh mount of
/// the same image, as after an administrator checked the disk. Needs root and loop devices; <see cref="Unavailable"/>
/// says why it cannot be used here, for the skip reason.
/// </summary>
internal sealed class ReadOnlyOnErrorFileSystem : IDisposable
{
    private readonly string image;
    private bool mounted;

    private ReadOnlyOnErrorFileSystem(string folder, string image)
    {
        Folder = folder;
        this.image = image;
    }

    /// <summary>Why no such file system can be made here, or null when it can.</summary>
    public static string? Unavailable { get; } = Probe();

    public string Folder { get; }

    public static ReadOnlyOnErrorFileSystem Create(int megabytes)
    {
        var name = "arcp-ext4-" + Guid.NewGuid().ToString("N");
        var folder = Path.Combine(Path.GetTempPath(), name);
        var image = folder + ".img";
        Directory.CreateDirectory(folder);
        var fileSystem = new ReadOnlyOnErrorFileSystem(folder, image);
        try
        {
            using (var file = new FileStream(image, FileMode.CreateNew, FileAccess.Write))
            {
                file.SetLength(megabytes * 1024L * 1024L);
            }

            // No journal: with one, the error also aborts the journal and a fresh mount would first have to replay it.
            SmallFileSystem.Run("mkfs.ext4", "-q", "-F", "-O", "^has_journal", image);
            fileSystem.Mount();
            return fileSystem;
        }
        catch
        {
            fileSystem.Dispose();
            throw;
        }
    }

    /// <summary>Records an ext4 error, so the kernel turns the whole file system read-only under its open files.</summary>
    public void TurnReadOnly()
    {
        var device = Path.GetFileName(SmallFileSystem.Output("findmnt", "-n", "-o", "SOURCE", Folder).Trim());
        File.WriteAllText($"/sys/fs/ext4/{device}/trigger_fs_error", "arcp fault injection");
        var options = SmallFileSystem.Output("findmnt", "-n", "-o", "OPTIONS", Folder).Trim().Split(',');
        if (!options.Contains("ro") && !options.Contains("emergency_ro"))
        {
            throw new InvalidOperationException($"ext4 on {device} did not turn read-only after the error.");
        }
    }

    /// <summary>Unmounts and mounts the image again, writable; every connection to a file on it must be closed first.</summary>
    public void MountAgain()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Unmount();
        Mount();
    }

    public void Dispose()
    {
        try
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Unmount();
        }
        finally
        {
            Directory.Delete(Folder);
            File.Delete(image);
        }
    }

    private void Mount()
    {
        SmallFileSystem.Run("mount", "-o", "loop,errors=remount-ro", image, Folder);
        mounted = true;
    }

    // A plain unmount, never a lazy one: a file system still in use must not linger attached to its loop device
    // while the next mount of the same image writes to it through another.
    private void Unmount()
    {
        if (mounted)
        {
            SmallFileSystem.Run("umount", Folder);
            mounted = false;
        }
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "ext4 on a loop device is Linux only.";
        }

        if (Environment.UserName != "root")
        {
            return "mounting an ext4 image needs root; PRAGMA query_only covers a read-only store without it.";
        }

        try
        {
            using var probe = Create(megabytes: 2);
            var device = Path.GetFileName(SmallFileSystem.Output("findmnt", "-n", "-o", "SOURCE", probe.Folder).Trim());
            return File.Exists($"/sys/fs/ext4/{device}/trigger_fs_error")
                ? null
                : "this kernel has no ext4 trigger_fs_error hook to turn a file system read-only.";
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or Win32Exception)
        {
            return $"this machine refuses an ext4 image on a loop device ({ex.Message}).";
        }
    }
}
