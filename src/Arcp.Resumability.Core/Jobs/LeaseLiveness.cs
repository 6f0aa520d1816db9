using System.Diagnostics;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>Whether a job's owner still holds it: its lease has not expired and its process is not provably gone.</summary>
public static class LeaseLiveness
{
    /// <summary>Process start times read back from the OS are not exact; anything closer than this is the same process.</summary>
    private static readonly TimeSpan StartTimeTolerance = TimeSpan.FromSeconds(2);

    /// <summary>Sessions of this process that ended while the store could not take the release of their leases.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Abandoned = new(StringComparer.Ordinal);

    public static bool IsLive(JobLease? lease, DateTimeOffset now) =>
        lease is not null && lease.ExpiresAt > now && !IsProvablyDead(new ProcessIdentity(lease.Host, lease.ProcessId, lease.ProcessStartedAt))
        && !IsAbandonedHere(lease);

    /// <summary>
    /// Records that <paramref name="sessionId"/>, a session of this process, has ended although its leases could not be
    /// released (the store was full, read-only or down). Its process is alive, so without this the jobs it held would
    /// look driven until their leases expire, and a resume from this very process would be refused for that long.
    /// </summary>
    public static void SessionAbandoned(string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        Abandoned.TryAdd(sessionId, 0);
    }

    private static bool IsAbandonedHere(JobLease lease)
    {
        var current = ProcessIdentity.Current;
        return Abandoned.ContainsKey(lease.SessionId)
            && lease.ProcessId == current.ProcessId
            && string.Equals(lease.Host, current.Host, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// True only when the process is provably gone: it ran on this machine and no process with that id
    /// and start time exists any more. Anything we cannot check counts as alive, leaving it to lease expiry.
    /// </summary>
    public static bool IsProvablyDead(ProcessIdentity process)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (!string.Equals(process.Host, ProcessIdentity.Current.Host, StringComparison.OrdinalIgnoreCase) || process.ProcessId <= 0)
        {
            return false;
        }

        try
        {
            using var running = Process.GetProcessById(process.ProcessId);
            if (running.HasExited)
            {
                return true;
            }

            // A recycled process id belongs to a different process.
            return (running.StartTime.ToUniversalTime() - process.StartedAt.UtcDateTime).Duration() > StartTimeTolerance;
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
}
