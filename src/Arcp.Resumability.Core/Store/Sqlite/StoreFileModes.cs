namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// Makes a new store private to its user on Unix: a folder the store creates is 0700 and a new
/// database file is 0600 before SQLite first opens it. SQLite gives the <c>-wal</c> and <c>-shm</c>
/// files it creates the database file's mode, so they are 0600 as well, whatever the umask.
/// A folder or database that already exists keeps the mode its owner chose (a store may be shared with
/// a group on purpose); <c>chmod 600 arcp.db*</c> tightens an older store, see docs/security.md.
/// Windows: the files inherit the folder's ACL (the per-user data folder is private by default); no ACL
/// is set here.
/// </summary>
internal static class StoreFileModes
{
    public const UnixFileMode PrivateFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="folder"/> and its missing parents, each 0700 on Unix.</summary>
    public static void CreateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            // CreateDirectory(path, mode) gives the mode to the last folder only; every folder made here is private.
            var missing = new Stack<string>();
            for (var current = Path.GetFullPath(folder); !Directory.Exists(current); current = Path.GetDirectoryName(current)!)
            {
                missing.Push(current);
            }

            while (missing.TryPop(out var next))
            {
                Directory.CreateDirectory(next, PrivateFolder);
            }
        }
    }

    /// <summary>Creates an empty database file (SQLite reads a zero-length file as a new database) readable only by its owner.</summary>
    public static void CreateDatabaseFile(string path)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }

        try
        {
            using var created = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = PrivateFile });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first; it is theirs to have made private.
            return;
        }

        // Journal files left behind by a deleted database of the same name would otherwise keep their old mode.
        foreach (var suffix in (string[])["-wal", "-shm", "-journal"])
        {
            if (File.Exists(path + suffix))
            {
                File.SetUnixFileMode(path + suffix, PrivateFile);
            }
        }
    }
}
