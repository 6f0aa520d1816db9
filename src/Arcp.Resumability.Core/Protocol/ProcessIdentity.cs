using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// The machine and process behind a session: the body of the <see cref="MessageTypes.ProcessExtension"/> extension
/// a client sends with <c>session.open</c>, recorded with every job lease the session takes.
/// </summary>
public sealed record ProcessIdentity(string Host, int ProcessId, DateTimeOffset StartedAt)
{
    /// <summary>
    /// Overrides the machine name recorded in leases. Needed where machine names are not unique (containers
    /// often share one): two machines that look alike could otherwise judge each other's processes dead.
    /// </summary>
    public const string HostVariable = "ARCP_HOST_ID";

    public static ProcessIdentity Current { get; } = ReadCurrent();

    public JsonObject ToExtension() => new()
    {
        ["host"] = Host,
        ["pid"] = ProcessId,
        ["started_at"] = ArcpJson.FormatTimestamp(StartedAt),
    };

    /// <summary>The identity an envelope's extension names, or null when it names none or a malformed one.</summary>
    public static ProcessIdentity? FromExtension(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Extensions?[MessageTypes.ProcessExtension] is not JsonObject process)
        {
            return null;
        }

        try
        {
            var host = process["host"]?.GetValue<string>();
            var pid = process["pid"]?.GetValue<int>() ?? 0;
            var started = process["started_at"]?.GetValue<string>();
            return host is not null && ArcpJson.TryParseTimestamp(started, out var startedAt) ? new ProcessIdentity(host, pid, startedAt) : null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static ProcessIdentity ReadCurrent()
    {
        using var self = Process.GetCurrentProcess();
        var host = Environment.GetEnvironmentVariable(HostVariable) is { Length: > 0 } configured ? configured : Environment.MachineName;
        return new ProcessIdentity(host, Environment.ProcessId, new DateTimeOffset(self.StartTime.ToUniversalTime(), TimeSpan.Zero));
    }
}
