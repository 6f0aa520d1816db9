using System.Management.Automation;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>Shows step progress with Write-Progress and runs the operator's -OnCheckpoint script block.</summary>
internal sealed class PowerShellStepObserver(PSCmdlet cmdlet, PipelineDispatcher dispatcher, string activity, ScriptBlock? onCheckpoint, string store) : IStepObserver
{
    private const int ActivityId = 0x4152; // "AR": keeps our bar distinct from callers' own progress ids.

    public async ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken) =>
        await dispatcher.InvokeAsync(() => cmdlet.WriteProgress(new ProgressRecord(ActivityId, activity, $"Step {context.StepIndex + 1}/{context.StepCount}: {context.Step}")
        {
            PercentComplete = context.StepIndex * 100 / context.StepCount,
            CurrentOperation = $"Running {context.Step}",
        })).ConfigureAwait(false);

    public async ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken) =>
        await dispatcher.InvokeAsync(() => cmdlet.WriteVerbose($"Step '{context.Step}' is already recorded in checkpoint {recorded.CheckpointId}; using its output instead of running it again.")).ConfigureAwait(false);

    public async ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken)
    {
        await dispatcher.InvokeAsync(() =>
        {
            cmdlet.WriteVerbose($"Step '{context.Step}' checkpointed as {checkpoint.CheckpointId} (message {checkpoint.MessageId}).");
            cmdlet.WriteProgress(new ProgressRecord(ActivityId, activity, $"Step {context.StepIndex + 1}/{context.StepCount}: {context.Step} checkpointed")
            {
                PercentComplete = (context.StepIndex + 1) * 100 / context.StepCount,
            });
            if (onCheckpoint is not null)
            {
                var recorded = new ArcpCheckpoint(checkpoint, store);
                onCheckpoint.InvokeWithContext(null, [new PSVariable("_", recorded)], [recorded]);
            }
        }).ConfigureAwait(false);
    }

    public void Complete() =>
        cmdlet.WriteProgress(new ProgressRecord(ActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
}
