using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Arcp.Resumability.Protocol;
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
/// One job driven by <c>Resume-ArcpJob</c> in a runspace of the worker's pool. The resume's own claim is the fence:
/// if another worker got there first it is refused with ABORTED and nothing runs twice.
/// </summary>
internal sealed class WorkerRun : IDisposable
{
    private readonly System.Management.Automation.PowerShell shell;
    private readonly PSDataCollection<PSObject> output = [];
    private readonly IAsyncResult invocation;
    private readonly Stopwatch elapsed = Stopwatch.StartNew();

    public WorkerRun(JobRecord job, bool fromQueue, RunspacePool pool, string store)
    {
        Job = job;
        FromQueue = fromQueue;
        shell = System.Management.Automation.PowerShell.Create();
        shell.RunspacePool = pool;
        shell.AddCommand("Resume-ArcpJob").AddParameter("JobId", job.JobId).AddParameter("Store", store);
        invocation = shell.BeginInvoke<PSObject, PSObject>(null, output);
    }

    public JobRecord Job { get; }

    /// <summary>Claimed from a queue (a start) rather than found interrupted (a resume).</summary>
    public bool FromQueue { get; }

    public TimeSpan Elapsed => elapsed.Elapsed;

    public WaitHandle Finished => invocation.AsyncWaitHandle;

    public bool IsFinished => invocation.IsCompleted;

    /// <summary>Asks the run to stop: the step in progress is interrupted and the session releases the job's lease.</summary>
    public void Stop() => shell.BeginStop(null, null);

    /// <summary>Collects the outcome of a finished run: how it ended and the error message when there is one.</summary>
    public (WorkerRunEnd End, string? Message) Outcome()
    {
        elapsed.Stop();
        try
        {
            shell.EndInvoke(invocation);
        }
        catch (PipelineStoppedException)
        {
            return (WorkerRunEnd.Released, null);
        }
        catch (RuntimeException ex)
        {
            return (WorkerRunEnd.Failed, ex.Message);
        }

        var job = output.Select(o => o?.BaseObject).OfType<ArcpJob>().LastOrDefault();
        var error = shell.Streams.Error.FirstOrDefault();
        if (job is null)
        {
            if (error?.Exception is ArcpException { Code: ErrorCodes.Aborted } aborted)
            {
                return (WorkerRunEnd.TakenElsewhere, aborted.Message);
            }

            return shell.InvocationStateInfo.State == PSInvocationState.Stopped
                ? (WorkerRunEnd.Released, null)
                : (WorkerRunEnd.Failed, error?.ToString() ?? "Resume-ArcpJob ended without reporting the job.");
        }

        return job.State switch
        {
            ArcpJobState.Completed => (WorkerRunEnd.Completed, null),
            ArcpJobState.Failed => (WorkerRunEnd.Failed, job.Error?.Message ?? error?.ToString()),
            ArcpJobState.Cancelled => (WorkerRunEnd.Cancelled, job.Error?.Message),
            _ => (WorkerRunEnd.Released, null),
        };
    }

    public void Dispose()
    {
        shell.Dispose();
        output.Dispose();
    }
}
