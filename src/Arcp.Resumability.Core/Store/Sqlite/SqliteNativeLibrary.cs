using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// Finds the bundled <c>e_sqlite3</c> when the host does not. A plain application resolves it
/// through its deps.json; PowerShell loads our assembly without one and never probes the module's
/// <c>runtimes/&lt;rid&gt;/native</c> folders, so we do that probe ourselves.
/// </summary>
internal static class SqliteNativeLibrary
{
    private const string LibraryName = "e_sqlite3";
    private static int registered;

    public static void EnsureResolvable()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1)
        {
            return;
        }

        var provider = typeof(SQLitePCL.SQLite3Provider_e_sqlite3).Assembly;
        var context = AssemblyLoadContext.GetLoadContext(provider) ?? AssemblyLoadContext.Default;
        context.ResolvingUnmanagedDll += (assembly, name) => name == LibraryName ? Load(assembly) : IntPtr.Zero;
    }

    private static IntPtr Load(Assembly requestingAssembly)
    {
        foreach (var candidate in CandidatePaths(requestingAssembly))
        {
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    private static IEnumerable<string> CandidatePaths(Assembly requestingAssembly)
    {
        var fileName = OperatingSystem.IsWindows() ? "e_sqlite3.dll" : OperatingSystem.IsMacOS() ? "libe_sqlite3.dylib" : "libe_sqlite3.so";
        var folders = new[] { requestingAssembly.Location, typeof(SqliteNativeLibrary).Assembly.Location }
            .Where(l => !string.IsNullOrEmpty(l))
            .Select(Path.GetDirectoryName)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            foreach (var rid in RuntimeIdentifiers())
            {
                yield return Path.Combine(folder, "runtimes", rid, "native", fileName);
            }

            yield return Path.Combine(folder, fileName);
        }
    }

    private static IEnumerable<string> RuntimeIdentifiers()
    {
        yield return RuntimeInformation.RuntimeIdentifier;
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        if (OperatingSystem.IsWindows())
        {
            yield return $"win-{arch}";
        }
        else if (OperatingSystem.IsMacOS())
        {
            yield return $"osx-{arch}";
        }
        else
        {
            // Alpine and other musl systems need the musl build; glibc systems the plain one.
            if (File.Exists("/etc/alpine-release"))
            {
                yield return $"linux-musl-{arch}";
            }

            yield return $"linux-{arch}";
        }
    }
}
