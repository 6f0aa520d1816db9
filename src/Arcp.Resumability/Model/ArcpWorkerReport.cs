namespace Arcp.Resumability.PowerShell;

/// <summary>What one Start-ArcpWorker run did, written when it returns.</summary>
public sealed class ArcpWorkerReport
{
    internal ArcpWorkerReport(string workerId, string store)
    {
        WorkerId = workerId;
        Store = store;
    }

    public string WorkerId { get; }

    public string Store { get; }

    /// <summary>Queued jobs this worker claimed and started.</summary>
    public int Started { get; internal set; }

    /// <summary>Interrupted jobs this worker resumed.</summary>
    public int Resumed { get; internal set; }

    public int Completed { get; internal set; }

    public int Failed { get; internal set; }

    /// <summary>Jobs left unfinished and resumable when the worker stopped.</summary>
    public int Released { get; internal set; }

    /// <summary>Runs its schedules queued.</summary>
    public int Scheduled { get; internal set; }

    public TimeSpan Duration { get; internal set; }
}
