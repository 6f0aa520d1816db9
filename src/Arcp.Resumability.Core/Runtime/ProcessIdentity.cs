using System.Diagnostics;

namespace Arcp.Resumability.Runtime;

/// <summary>The machine and process behind a session, recorded with every job lease.</summary>
public sealed record ProcessIdentity(string Host, int ProcessId, DateTimeOffset StartedAt)
{
    /// <summary>Process start times read back from the OS are not exact; anything closer than this is the same process.</summary>
    private static readonly TimeSpan StartTimeTolerance = TimeSpan.FromSeconds(2);

    public static ProcessIdentity Current { get; } = ReadCurrent();

    /// <summary>
    /// False only when the process is provably gone: it ran on this machine and no process with that id
    /// and start time exists any more. Anything we cannot check counts as alive, leaving it to lease expiry.
    /// </summary>
    public bool IsProvablyDead()
    {
        if (!string.Equals(Host, Current.Host, StringComparison.OrdinalIgnoreCase) || ProcessId <= 0)
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(ProcessId);
            if (process.HasExited)
            {
                return true;
            }

            // A recycled process id belongs to a different process.
            return (process.StartTime.ToUniversalTime() - StartedAt.UtcDateTime).Duration() > StartTimeTolerance;
        }
        catch (ArgumentException)
        {
            return true;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Overrides the machine name recorded in leases. Needed where machine names are not unique (containers
    /// often share one): two machines that look alike could otherwise judge each other's processes dead.
    /// </summary>
    public const string HostVariable = "ARCP_HOST_ID";

    private static ProcessIdentity ReadCurrent()
    {
        using var self = Process.GetCurrentProcess();
        var host = Environment.GetEnvironmentVariable(HostVariable) is { Length: > 0 } configured ? configured : Environment.MachineName;
        return new ProcessIdentity(host, Environment.ProcessId, new DateTimeOffset(self.StartTime.ToUniversalTime(), TimeSpan.Zero));
    }
}
