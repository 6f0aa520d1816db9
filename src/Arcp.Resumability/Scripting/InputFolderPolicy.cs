using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// Which host folders job input may name when the input comes from someone else: a runtime host's clients.
/// A requested folder is made absolute (relative to the first root), every symbolic link on its path is
/// resolved, and it must then lie inside one of the operator's roots (also resolved). The refusal reads the
/// same whether or not the folder exists, so a client learns nothing about the host's file system.
/// </summary>
internal sealed class InputFolderPolicy
{
    private const int MaxLinkHops = 40;
    private readonly IReadOnlyList<string> roots;

    /// <param name="roots">Absolute folders the operator allows; none means no client-named folder is allowed.</param>
    public InputFolderPolicy(IReadOnlyList<string> roots)
    {
        this.roots = roots;
    }

    /// <summary>The real path of <paramref name="requested"/> when it lies inside an allowed root.</summary>
    /// <exception cref="ArcpException">PERMISSION_DENIED: outside every root (or no root configured).</exception>
    public string Resolve(string requested)
    {
        if (roots.Count > 0 && !string.IsNullOrWhiteSpace(requested) && requested.IndexOf('\0', StringComparison.Ordinal) < 0)
        {
            var real = RealPath(Path.GetFullPath(requested, roots[0]), 0);
            foreach (var root in roots)
            {
                var realRoot = Path.TrimEndingDirectorySeparator(RealPath(Path.GetFullPath(root), 0));
                if (string.Equals(real, realRoot, PathComparison) || real.StartsWith(realRoot + Path.DirectorySeparatorChar, PathComparison))
                {
                    return real;
                }
            }
        }

        throw ArcpException.Of(
            ErrorCodes.PermissionDenied,
            roots.Count == 0
                ? "This runtime reads no folder a client names; ask its operator to allow one with Start-ArcpRuntime -CorpusRoot."
                : "The folder is not inside one this runtime allows (Start-ArcpRuntime -CorpusRoot); name a folder relative to an allowed one.");
    }

    private static StringComparison PathComparison => OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    // realpath(3) in managed code: each existing component that is a link is replaced by its resolved target;
    // the first missing component ends the walk and the rest is appended as written (it cannot be a link).
    private static string RealPath(string fullPath, int hops)
    {
        var root = Path.GetPathRoot(fullPath) ?? string.Empty;
        var current = root;
        var parts = fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = new FileInfo(next);
            if (!info.Exists)
            {
                info = new DirectoryInfo(next);
            }

            if (!info.Exists && info.LinkTarget is null)
            {
                return Path.Combine([current, .. parts[i..]]);
            }

            if (info.LinkTarget is { } target)
            {
                if (++hops > MaxLinkHops)
                {
                    throw ArcpException.Of(ErrorCodes.PermissionDenied, "The folder is not inside one this runtime allows (Start-ArcpRuntime -CorpusRoot); name a folder relative to an allowed one.");
                }

                next = RealPath(Path.GetFullPath(target, current), hops);
            }

            current = next;
        }

        return current;
    }
}
