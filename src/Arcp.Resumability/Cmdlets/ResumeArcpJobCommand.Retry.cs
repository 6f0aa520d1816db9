using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>Resume-ArcpJob -Retry: a second chance for a Failed or Cancelled job, as a new job linked to it.</summary>
public sealed partial class ResumeArcpJobCommand
{
    private void RetryJob(string store)
    {
        var original = FetchJob(store, JobId);
        if (original.State is not (ArcpJobState.Failed or ArcpJobState.Cancelled))
        {
            // Checked before the runner reads the job, so an interrupted job is never claimed by a refused retry.
            throw ArcpException.Of(
                ErrorCodes.FailedPrecondition,
                $"Job {JobId} is {original.State}; -Retry starts a new attempt of a Failed or Cancelled job. " +
                (original.State == ArcpJobState.Completed ? "A completed job has nothing left to run." : $"Continue it with Resume-ArcpJob -JobId {JobId} (no -Retry)."));
        }

        var recorded = ParameterSetName == RecordedSet ? RecordedDefinition(store) : null;
        var workflow = ParameterSetName switch
        {
            StepSet => WorkflowLoader.FromSteps(Step),
            WorkflowSet => WorkflowLoader.Load(Workflow, SessionState.Path.CurrentFileSystemLocation.ProviderPath),
            _ => DefinitionResolver.ForRecordedJob(JobId, original.Workflow, recorded, Force, new ParsedWorkflows()),
        };

        // The retry records its own definition, described from what was loaded now (the same source as the original's).
        var requested = ParameterSetName switch
        {
            StepSet => null,
            WorkflowSet => Workflow,
            _ => recorded is null ? original.Workflow : recorded.Kind == JobDefinitionKinds.Inline ? null : recorded.Reference,
        };
        var described = RecordedDefinitions.Describe(string.Empty, workflow, requested, DateTimeOffset.UtcNow);
        var observer = new PowerShellStepObserver(this, Dispatcher, $"ARCP job {original.Name ?? JobId} (retry)", OnCheckpoint, store);
        var definition = ScriptStepBody.ToDefinition(workflow, Dispatcher, observer);
        var result = RunEmbedded(store, (client, embedded, ct) => new StepRunner(client)
        {
            JobStarted = embedded is null ? null : (jobId, c) => embedded.RecordDefinitionAsync(described with { JobId = jobId }, c),
        }.RetryAsync(definition, JobId, CheckpointId, observer, ct, Force));
        observer.Complete();
        WriteVerbose($"Job {JobId} retried as job {result.JobId}{(result.ResumedAfterStep is { } after ? $", continuing after step '{after}'" : ", from its first step")}.");
        JobOutput.Write(this, store, result);
    }
}
