using System.Management.Automation;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>Shows step progress with Write-Progress and runs the operator's -OnCheckpoint script block.</summary>
internal sealed class PowerShellStepObserver(PSCmdlet cmdlet, PipelineDispatcher dispatcher, string activity, ScriptBlock? onCheckpoint, string store) : IScriptStepObserver
{
    private const int ActivityId = 0x4152; // "AR": keeps our bar distinct from callers' own progress ids.
    private const int StepActivityId = ActivityId + 1;

    /// <summary>Told the job's id at its first step, before any body runs (the -AsJob job shows it from then on).</summary>
    public Action<string>? JobKnown { get; init; }

    // Progress and verbose lines are posted, not awaited: the pipeline thread writes them in order before the step's
    // body (queued after them) runs, and the run does not wait twice per step for a round trip to that thread. Only
    // -OnCheckpoint is waited for: it runs after each checkpoint and before the next step, as documented.
    public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken)
    {
        JobKnown?.Invoke(context.JobId);
        dispatcher.Post(() => Write(() => cmdlet.WriteProgress(new ProgressRecord(ActivityId, activity, $"Step {context.StepIndex + 1}/{context.StepCount}: {context.Step}")
        {
            PercentComplete = context.StepIndex * 100 / context.StepCount,
            CurrentOperation = $"Running {context.Step}",
        })));
        return ValueTask.CompletedTask;
    }

    public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken)
    {
        JobKnown?.Invoke(context.JobId);
        dispatcher.Post(() => Write(() => cmdlet.WriteVerbose($"Step '{context.Step}' is already recorded in checkpoint {recorded.CheckpointId}; using its output instead of running it again.")));
        return ValueTask.CompletedTask;
    }

    public async ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken)
    {
        dispatcher.Post(() => Write(() =>
        {
            cmdlet.WriteVerbose($"Step '{context.Step}' checkpointed as {checkpoint.CheckpointId} (message {checkpoint.MessageId}).");
            cmdlet.WriteProgress(new ProgressRecord(StepActivityId, context.Step, "Done") { ParentActivityId = ActivityId, RecordType = ProgressRecordType.Completed });
            cmdlet.WriteProgress(new ProgressRecord(ActivityId, activity, $"Step {context.StepIndex + 1}/{context.StepCount}: {context.Step} checkpointed")
            {
                PercentComplete = (context.StepIndex + 1) * 100 / context.StepCount,
            });
        }));
        if (onCheckpoint is not null)
        {
            await dispatcher.InvokeAsync(() =>
            {
                var recorded = new ArcpCheckpoint(checkpoint, store);
                onCheckpoint.InvokeWithContext(null, [new PSVariable("_", recorded)], [recorded]);
            }).ConfigureAwait(false);
        }
    }

    /// <summary>A step's own progress, as a child bar under the job's bar.</summary>
    public void ShowStepProgress(StepContext context, int percent, string message) =>
        cmdlet.WriteProgress(new ProgressRecord(StepActivityId, $"Step {context.StepIndex + 1}/{context.StepCount}: {context.Step}", string.IsNullOrEmpty(message) ? "Working" : message)
        {
            ParentActivityId = ActivityId,
            PercentComplete = Math.Clamp(percent, 0, 100),
        });

    /// <summary>Passes a record a step wrote on to the caller's stream of the same kind (the caller's preferences apply).</summary>
    public void Forward(object record)
    {
        switch (record)
        {
            case ErrorRecord error:
                cmdlet.WriteError(error);
                break;
            case WarningRecord warning:
                cmdlet.WriteWarning(warning.Message);
                break;
            case VerboseRecord verbose:
                cmdlet.WriteVerbose(verbose.Message);
                break;
            case DebugRecord debug:
                cmdlet.WriteDebug(debug.Message);
                break;
            case InformationRecord information:
                cmdlet.WriteInformation(information);
                break;
        }
    }

    /// <summary>
    /// A progress or verbose line posted after Ctrl+C meets a stopped pipeline; the stop itself ends the run (through
    /// the cmdlet's token), so the line is dropped instead of failing the run on top.
    /// </summary>
    private static void Write(Action write)
    {
        try
        {
            write();
        }
        catch (PipelineStoppedException)
        {
            // See above: the run is already stopping.
        }
    }

    public void Complete()
    {
        cmdlet.WriteProgress(new ProgressRecord(StepActivityId, "Step", "Done") { ParentActivityId = ActivityId, RecordType = ProgressRecordType.Completed });
        cmdlet.WriteProgress(new ProgressRecord(ActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
    }
}
