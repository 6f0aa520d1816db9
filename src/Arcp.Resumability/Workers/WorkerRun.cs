using System.Diagnostics;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Workers;

/// <summary>How one run of a job in a worker ended.</summary>
internal enum WorkerRunEnd
{
    Completed,
    Failed,
    Cancelled,

    /// <summary>Another session held the job when this run tried to claim it: someone else drives it.</summary>
    TakenElsewhere,

    /// <summary>The run stopped before the job finished (the worker is stopping); the job stays resumable.</summary>
    Released,
}

/// <summary>
/// One job resumed in one of the worker's slots. The resume's own claim is the fence: if another worker got there
/// first it is refused with ABORTED and nothing runs twice.
/// </summary>
internal sealed class WorkerRun : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Stopwatch elapsed = Stopwatch.StartNew();
    private readonly Task<(WorkerRunEnd End, string? Message)> run;

    /// <param name="recorded">The job's recorded definition as the worker read it (null when it has none): read once per job.</param>
    public WorkerRun(JobRecord job, JobDefinitionRecord? recorded, bool fromQueue, WorkerSlot slot)
    {
        Job = job;
        FromQueue = fromQueue;
        Slot = slot;
        run = slot.RunAsync(job, recorded, stop.Token);
    }

    public JobRecord Job { get; }

    /// <summary>Claimed from a queue (a start) rather than found interrupted (a resume).</summary>
    public bool FromQueue { get; }

    /// <summary>The slot the run occupies until it is accounted for.</summary>
    public WorkerSlot Slot { get; }

    public TimeSpan Elapsed => elapsed.Elapsed;

    public WaitHandle Finished => ((IAsyncResult)run).AsyncWaitHandle;

    public bool IsFinished => run.IsCompleted;

    /// <summary>Asks the run to stop: the step in progress is interrupted and the slot's session releases the job's lease.</summary>
    public void Stop() => stop.Cancel();

    /// <summary>How a finished run ended and the error message when there is one.</summary>
    public (WorkerRunEnd End, string? Message) Outcome()
    {
        elapsed.Stop();
        return run.GetAwaiter().GetResult();
    }

    public void Dispose() => stop.Dispose();
}
