using System.Globalization;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>Runtime settings operators give the cmdlets through the environment (every worker of a fleet the same way).</summary>
internal static class OperatorSettings
{
    /// <summary>How long a job's owner may stay silent before another process may take the job over.</summary>
    public const string LeaseVariable = "ARCP_LEASE_SECONDS";

    /// <summary>How often a running job renews its lease; defaults to a quarter of the lease.</summary>
    public const string HeartbeatVariable = "ARCP_HEARTBEAT_SECONDS";

    public static RuntimeOptions RuntimeOptions()
    {
        var defaults = new RuntimeOptions();
        var lease = Seconds(LeaseVariable, minimum: 3);
        var heartbeat = Seconds(HeartbeatVariable, minimum: 1);
        var leaseDuration = lease is { } l ? TimeSpan.FromSeconds(l) : defaults.LeaseDuration;
        var heartbeatInterval = heartbeat is { } h ? TimeSpan.FromSeconds(h)
            : lease is { } ? TimeSpan.FromSeconds(Math.Max(1, lease.Value / 4))
            : defaults.HeartbeatInterval;
        if (heartbeatInterval >= leaseDuration)
        {
            throw ArcpException.Of(
                ErrorCodes.InvalidArgument,
                $"${HeartbeatVariable} ({heartbeatInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s) must be shorter than the lease ({leaseDuration.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s, ${LeaseVariable}), or every job would lose its lease between heartbeats.");
        }

        return defaults with { LeaseDuration = leaseDuration, HeartbeatInterval = heartbeatInterval };
    }

    private static int? Seconds(string variable, int minimum)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds >= minimum
            ? seconds
            : throw ArcpException.Of(ErrorCodes.InvalidArgument, $"${variable} is '{text}'; it must be a whole number of seconds, at least {minimum}.");
    }
}
