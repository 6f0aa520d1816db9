using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell.Workers;

/// <summary>
/// Nobody watches a worker's runs step by step: what the steps write is already in each job's log (see
/// <see cref="StreamRecords"/>), and the worker's console carries its operator lines, one per job, not progress bars.
/// </summary>
internal sealed class UnattendedStepObserver : IScriptStepObserver
{
    public static UnattendedStepObserver Instance { get; } = new();

    private UnattendedStepObserver()
    {
    }

    public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void ShowStepProgress(StepContext context, int percent, string message)
    {
        // Progress of an unattended step has no one to show it to.
    }

    public void Forward(object record)
    {
        // Recorded in the job's log before it gets here; read it with Get-ArcpEvent.
    }
}
