using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Embedding;

/// <summary>
/// The runtime's own job driver: resumes a job with the <see cref="StepRunner"/> over the in-process session the
/// runtime opens for it. Supplied to a runtime as <see cref="RuntimeOptions.Driver"/> by whoever hosts it.
/// </summary>
public sealed class WorkflowJobDriver : IJobDriver
{
    private readonly IReadOnlyDictionary<string, WorkflowDefinition> workflows;

    public WorkflowJobDriver(IEnumerable<WorkflowDefinition> workflows)
    {
        ArgumentNullException.ThrowIfNull(workflows);
        this.workflows = workflows.ToDictionary(w => w.Name, StringComparer.Ordinal);
    }

    public IReadOnlyCollection<string> Workflows => workflows.Keys.ToList();

    public async Task DriveAsync(JobDrive drive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(drive);
        var workflow = workflows.GetValueOrDefault(drive.Workflow)
            ?? throw ArcpException.Of(ErrorCodes.FailedPrecondition, $"This driver has no workflow '{drive.Workflow}'.");
        var identity = new ClientIdentity("arcp-resumability-runtime-driver", typeof(WorkflowJobDriver).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
        var client = await ArcpClient.ConnectAsync(drive.Connection, new ClientOptions { Identity = identity }, cancellationToken).ConfigureAwait(false);
        await using (client.ConfigureAwait(false))
        {
            await new StepRunner(client).ResumeAsync(workflow, drive.JobId, null, null, new ClaimSignal(drive.Claimed), cancellationToken).ConfigureAwait(false);
            await client.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Signals the runtime when the runner reaches its first step, which it only does holding the job's lease.</summary>
    private sealed class ClaimSignal(Action claimed) : IStepObserver
    {
        public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken)
        {
            claimed();
            return ValueTask.CompletedTask;
        }

        public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken)
        {
            claimed();
            return ValueTask.CompletedTask;
        }

        public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
