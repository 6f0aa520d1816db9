namespace Arcp.Resumability.Protocol;

/// <summary>RFC 0001 §10.2 state names as stored and sent.</summary>
public static class JobStates
{
    public const string Accepted = "accepted";
    public const string Running = "running";

    /// <summary>§10.2: waiting for capacity; here, a job recorded on a durable queue until a worker claims it.</summary>
    public const string Queued = "queued";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>§10.2: waiting; here, a job whose owner missed its heartbeats, until someone resumes it.</summary>
    public const string Blocked = "blocked";

    /// <summary>Not a §10.2 state: what operators see for a running job nobody drives any more.</summary>
    public const string Interrupted = "interrupted";

    public static bool IsTerminal(string state) => state is Completed or Failed or Cancelled;
}
