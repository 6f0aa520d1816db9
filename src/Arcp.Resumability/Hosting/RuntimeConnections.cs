using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>The remote runtime a runspace talks to by default (Connect-ArcpRuntime).</summary>
internal sealed record RuntimeConnection(Uri Runtime, string? Token, bool SkipCertificateCheck);

/// <summary>
/// Per-runspace defaults: keyed by the runspace object itself, so runspaces (and thread jobs) never see
/// each other's connection, and a closed runspace's entry goes with it.
/// </summary>
internal static class RuntimeConnections
{
    private static readonly ConditionalWeakTable<Runspace, RuntimeConnection> Defaults = new();

    public static RuntimeConnection? Current => Runspace.DefaultRunspace is { } runspace && Defaults.TryGetValue(runspace, out var connection) ? connection : null;

    public static void Set(RuntimeConnection connection)
    {
        var runspace = Runspace.DefaultRunspace ?? throw new InvalidOperationException("There is no current runspace.");
        Defaults.AddOrUpdate(runspace, connection);
    }

    public static bool Clear() => Runspace.DefaultRunspace is { } runspace && Defaults.Remove(runspace);
}
