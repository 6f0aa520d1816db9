using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Arcp.Resumability.Bench;

/// <summary>
/// The process after <see cref="Steps"/> steps of one job: resident set and managed memory live after a full GC, then
/// the parts that tell where the resident set went (null where the platform does not report them): anonymous, file
/// and shared pages (the runtime maps its JIT-compiled code as shared memory), the GC's committed memory, the C
/// allocator's arena and what of it is in use, SQLite's own allocations (page cache included), the WAL file and its
/// index, and the methods the JIT compiled so far.
/// </summary>
internal sealed record MemoryPoint(
    int Steps,
    long WorkingSet,
    long LiveManaged,
    long GcCommitted,
    long? AnonymousResident,
    long? FileResident,
    long? SharedResident,
    long? MallocArena,
    long? MallocInUse,
    long SqliteMemory,
    long WalBytes,
    long WalIndexBytes,
    long JitCompiledMethods)
{
    /// <summary>
    /// Samples this process. The full GC is the same at every point (it is what "live managed" means); nothing else
    /// is collected, trimmed or released before the resident set is read.
    /// </summary>
    public static MemoryPoint Capture(int steps, string storePath)
    {
        var live = GC.GetTotalMemory(forceFullCollection: true);
        var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        using var process = Process.GetCurrentProcess();
        var resident = ResidentParts();
        var (arena, inUse) = Malloc();
        SQLitePCL.raw.sqlite3_status(SQLitePCL.raw.SQLITE_STATUS_MEMORY_USED, out var sqliteMemory, out _, 0);
        return new MemoryPoint(
            steps,
            process.WorkingSet64,
            live,
            committed,
            resident?.Anonymous,
            resident?.File,
            resident?.Shared,
            arena,
            inUse,
            sqliteMemory,
            FileBytes(storePath + "-wal"),
            FileBytes(storePath + "-shm"),
            System.Runtime.JitInfo.GetCompiledMethodCount());
    }

    private static long FileBytes(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>RssAnon, RssFile and RssShmem of /proc/self/status (Linux), in bytes.</summary>
    private static (long Anonymous, long File, long Shared)? ResidentParts()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return null;
        }

        var fields = File.ReadLines(status)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1].Trim(), StringComparer.Ordinal);
        return Kilobytes(fields, "RssAnon") is { } anonymous && Kilobytes(fields, "RssFile") is { } file && Kilobytes(fields, "RssShmem") is { } shared
            ? (anonymous, file, shared)
            : null;
    }

    private static long? Kilobytes(Dictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var value) && long.TryParse(value.Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes)
            ? kilobytes * 1024
            : null;

    /// <summary>glibc's arena (memory the C allocator holds from the system) and the part of it in use.</summary>
    private static (long? Arena, long? InUse) Malloc()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (null, null);
        }

        try
        {
            var info = GlibcMalloc.mallinfo2();
            return ((long)info.Arena, (long)info.InUse);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            // musl, or a glibc older than 2.33.
            return (null, null);
        }
    }
}

internal static partial class GlibcMalloc
{
    /// <summary>The fields of glibc's <c>struct mallinfo2</c>, in order; only two are read.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal readonly struct MallInfo2
    {
        public readonly nuint Arena;
        public readonly nuint FreeChunks;
        public readonly nuint FastbinBlocks;
        public readonly nuint MappedRegions;
        public readonly nuint MappedBytes;
        public readonly nuint MaxTotalAllocated;
        public readonly nuint FastbinFreeBytes;
        public readonly nuint InUse;
        public readonly nuint Free;
        public readonly nuint Releasable;
    }

    [LibraryImport("libc")]
    internal static partial MallInfo2 mallinfo2();
}
