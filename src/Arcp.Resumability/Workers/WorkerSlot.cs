using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Workers;

/// <summary>
/// One of a worker's slots, kept for the worker's life and running one job at a time: a runspace with the module
/// loaded (opened at the slot's first job), the workflows loaded in it (<see cref="ParsedWorkflows"/>), and an
/// embedded session on the store: a store connection, runtime and session of its own, like the core fleet's slots,
/// so one slot's store work never queues behind another's and a broken session is this slot's alone.
/// </summary>
/// <remarks>
/// The worker warms a slot (<see cref="Warm"/>) only while jobs wait that its warm slots cannot take, and one slot at a
/// time: opening a runspace imports the module, and four opened at once on a small machine made every slot wait for
/// all four (seconds before the first job ran), while one at a time lets the first slot run jobs while the next opens.
/// The session is closed after any run that did not take its job to an end (stopped, or the store failed under it):
/// closing releases whatever lease it still holds, so the job is resumable at once and the next job gets a new
/// session instead of a broken one. A session keeps nothing per job once the job has ended, so it serves the slot for
/// as long as it stays sound.
/// </remarks>
internal sealed class WorkerSlot(InitialSessionState runspaceState, string store) : IAsyncDisposable
{
    private readonly ParsedWorkflows workflows = new();
    private Runspace? runspace;
    private EmbeddedArcp? session;
    private Task? warming;

    /// <summary>Never warmed: nothing opened ahead of a job (a run still opens what it needs itself).</summary>
    public bool IsCold => warming is null;

    /// <summary>Its warm-up has ended, well or not: a job given to the slot now starts at once or fails at once.</summary>
    public bool IsWarm => warming is { IsCompleted: true };

    /// <summary>The warm-up in progress, if one is.</summary>
    public Task? Warming => warming is { IsCompleted: false } ? warming : null;

    /// <summary>What the slot's open session speaks through, if one is open (tests end it to see the slot replace it).</summary>
    internal ArcpClient? SessionClient => session?.Client;

    /// <summary>Runs <paramref name="job"/> from its recorded definition (null: resolved by its workflow name); <paramref name="stop"/> releases it.</summary>
    public async Task<(WorkerRunEnd End, string? Message)> RunAsync(JobRecord job, JobDefinitionRecord? recorded, CancellationToken stop)
    {
        (WorkerRunEnd, string?)? outcome = null;
        using var shell = System.Management.Automation.PowerShell.Create();
        // The run is a .NET delegate invoked in the slot's runspace, so step bodies run on its pipeline thread.
        shell.AddCommand(SlotRunCommand.Info).AddArgument(new Action(() => outcome = Drive(job, recorded, stop)));
        try
        {
            if (warming is not null)
            {
                // Whatever the warm-up left undone (it failed, or was stopped) is opened below, where a failure is reported.
                await warming.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            shell.Runspace = await OpenedRunspaceAsync().ConfigureAwait(false);
            await Task.Factory.FromAsync(shell.BeginInvoke(), shell.EndInvoke).ConfigureAwait(false);
        }
        catch (RuntimeException ex)
        {
            return (WorkerRunEnd.Failed, ex.Message);
        }

        return outcome ?? (WorkerRunEnd.Failed, shell.Streams.Error.FirstOrDefault()?.ToString() ?? $"The run of job {job.JobId} ended without an outcome.");
    }

    /// <summary>
    /// Starts opening the slot's runspace and session ahead of its first job. A warm-up that fails only ends: what it
    /// could not open, the first run opens again and reports why, as a slot never warmed does.
    /// </summary>
    public void Warm(CancellationToken cancellationToken)
    {
        if (warming is not null)
        {
            throw new InvalidOperationException("A slot is warmed once.");
        }

        warming = WarmCoreAsync(cancellationToken);
    }

    /// <summary>Closes the session (releasing what it holds) and the runspace; runs once no run is left on the slot.</summary>
    public async ValueTask DisposeAsync()
    {
        if (warming is not null)
        {
            await warming.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await CloseSessionAsync().ConfigureAwait(false);
        runspace?.Dispose();
    }

    private async Task WarmCoreAsync(CancellationToken cancellationToken)
    {
        // Off the worker's thread: importing the module takes a while.
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        await OpenedRunspaceAsync().ConfigureAwait(false);
        session ??= await EmbeddedArcp.OpenAsync(store, StoreOpenMode.MustExist, OperatorSettings.RuntimeOptions(), cancellationToken).ConfigureAwait(false);
    }

    private async Task<Runspace> OpenedRunspaceAsync()
    {
        if (runspace is { RunspaceStateInfo.State: RunspaceState.Opened } current)
        {
            return current;
        }

        // Never opened, or broken by a failed open: a new one, opened off the worker's thread (importing the module takes a while).
        runspace?.Dispose();
        runspace = RunspaceFactory.CreateRunspace(runspaceState);
        runspace.ThreadOptions = PSThreadOptions.ReuseThread;
        await Task.Run(runspace.Open).ConfigureAwait(false);
        return runspace;
    }

    /// <summary>On the runspace's pipeline thread: the job's resume, through this slot's session.</summary>
    private (WorkerRunEnd, string?) Drive(JobRecord job, JobDefinitionRecord? recorded, CancellationToken stop)
    {
        using var dispatcher = new PipelineDispatcher();
        var settled = false;
        try
        {
            var workflow = DefinitionResolver.ForRecordedJob(job.JobId, job.Workflow, recorded, force: false, workflows);
            var definition = ScriptStepBody.ToDefinition(workflow, dispatcher, UnattendedStepObserver.Instance);
            var result = dispatcher.Run(
                async ct =>
                {
                    if (session is { Client.IsConnected: false })
                    {
                        // The runtime ended the session between jobs (it does when its store fails): a new one serves this job.
                        await CloseSessionAsync().ConfigureAwait(false);
                    }

                    session ??= await EmbeddedArcp.OpenAsync(store, StoreOpenMode.MustExist, OperatorSettings.RuntimeOptions(), ct).ConfigureAwait(false);
                    return await new StepRunner(session.Client).ResumeAsync(definition, job.JobId, null, null, UnattendedStepObserver.Instance, ct).ConfigureAwait(false);
                },
                stop);
            settled = JobStates.IsTerminal(result.State);
            return result.State switch
            {
                JobStates.Completed => (WorkerRunEnd.Completed, null),
                JobStates.Failed => (WorkerRunEnd.Failed, result.Error?.Message),
                JobStates.Cancelled => (WorkerRunEnd.Cancelled, result.Error?.Message),
                _ => (WorkerRunEnd.Released, null),
            };
        }
        catch (ArcpException ex) when (ex.Code == ErrorCodes.Aborted)
        {
            // The resume's claim was refused, without side effects: someone else drives the job; the session is fine.
            settled = true;
            return (WorkerRunEnd.TakenElsewhere, ex.Message);
        }
        catch (OperationCanceledException ex) when (stop.IsCancellationRequested || ex is StepInterruptedException)
        {
            return (WorkerRunEnd.Released, null);
        }
        catch (Exception ex) when (ex is ArcpException or StoreException)
        {
            return (WorkerRunEnd.Failed, ex.Message);
        }
        finally
        {
            if (!settled)
            {
                dispatcher.Run(async _ => { await CloseSessionAsync().ConfigureAwait(false); return true; }, CancellationToken.None);
            }
        }
    }

    private async Task CloseSessionAsync()
    {
        var closing = session;
        session = null;
        if (closing is not null)
        {
            await closing.DisposeAsync().ConfigureAwait(false);
        }
    }
}
