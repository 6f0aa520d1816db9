using System.Management.Automation;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.PowerShell.Jobs;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Resumes an interrupted job at the step after its last (or a chosen) checkpoint.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "ArcpJob", DefaultParameterSetName = RecordedSet)]
[OutputType(typeof(ArcpJob))]
[OutputType(typeof(ArcpBackgroundJob))]
public sealed partial class ResumeArcpJobCommand : ArcpStepsCmdlet
{
    private const string RecordedSet = "Recorded";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [Alias("Id")]
    public string JobId { get; set; } = string.Empty;

    /// <summary>Replay only messages after this one (a checkpoint's MessageId binds here).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("MessageId")]
    [ValidateNotNullOrEmpty]
    public string? AfterMessageId { get; set; }

    /// <summary>Continue after this checkpoint instead of the latest one.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(CheckpointIdCompleter))]
    public string? CheckpointId { get; set; }

    /// <summary>The workflow to run; defaults to the built-in workflow the job was started with.</summary>
    [Parameter(Mandatory = true, ParameterSetName = WorkflowSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(WorkflowCompleter))]
    public string Workflow { get; set; } = string.Empty;

    [Parameter]
    public ScriptBlock? OnCheckpoint { get; set; }

    /// <summary>Resume even though the workflow definition changed since the job's last checkpoint.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Run the remaining steps in a background PowerShell job.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>When another process holds the job's lease, wait for it to end instead of failing with ABORTED.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: give up after this many seconds (DEADLINE_EXCEEDED). Default: wait as long as it takes.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Timeout { get; set; }

    /// <summary>
    /// Start a new attempt of a Failed or Cancelled job (after fixing the cause): a new job, linked by RetryOf, that
    /// continues after the job's last checkpoint, or after -CheckpointId (a fork from that checkpoint).
    /// </summary>
    [Parameter]
    public SwitchParameter Retry { get; set; }

    /// <summary>Have the runtime drive the job on (it must have registered the job's workflow); returns at once.</summary>
    [Parameter(ParameterSetName = RecordedSet)]
    public SwitchParameter OnRuntime { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        if (Retry && (AsJob || OnRuntime || Wait))
        {
            // -AfterMessageId is not refused: a piped checkpoint binds it, and a retry replays nothing.
            WriteArcpError(ArcpException.Of(ErrorCodes.InvalidArgument, "-Retry starts a new job in this session; it does not combine with -AsJob, -OnRuntime or -Wait."), JobId);
            return;
        }

        if (AsJob)
        {
            var spec = new BackgroundRunSpec
            {
                Store = store,
                Location = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
                Remote = Client.RemoteArcp.IsRuntimeAddress(store) ? RemoteSettings(new Uri(store)) : null,
                Resume = true,
                JobId = JobId,
                AfterMessageId = AfterMessageId,
                CheckpointId = CheckpointId,
                Force = Force,
                Wait = Wait,
                Timeout = Timeout,
                Workflow = ParameterSetName == WorkflowSet ? Workflow : null,
                Steps = ParameterSetName == StepSet ? BackgroundRuns.StepText(Step) : null,
                OnCheckpoint = OnCheckpoint?.ToString(),
            };
            WriteObject(ArcpJobSourceAdapter.Start(this, $"Resume-ArcpJob {JobId}", JobId, spec));
            return;
        }

        try
        {
            if (OnRuntime)
            {
                Run(store, (client, ct) => client.ResumeOnRuntimeAsync(JobId, ct));
                WriteObject(FetchJob(store, JobId));
                return;
            }

            if (Retry)
            {
                RetryJob(store);
                return;
            }

            var workflow = ParameterSetName switch
            {
                StepSet => WorkflowLoader.FromSteps(Step),
                WorkflowSet => WorkflowLoader.Load(Workflow, SessionState.Path.CurrentFileSystemLocation.ProviderPath),
                _ => RecordedWorkflow(store),
            };
            var observer = new PowerShellStepObserver(this, Dispatcher, ProgressActivity(store, JobId), OnCheckpoint, store);
            var definition = ScriptStepBody.ToDefinition(workflow, Dispatcher, observer);
            var result = ResumeWaitingForLease(store, (client, ct) => new StepRunner(client).ResumeAsync(definition, JobId, AfterMessageId, CheckpointId, observer, ct, Force));
            observer.Complete();
            if (result.ResumedAfterStep is { } after)
            {
                WriteVerbose($"Job {JobId} resumed after step '{after}'.");
            }

            JobOutput.Write(this, store, result);
        }
        catch (ArcpException ex) when (ex.Code == ErrorCodes.FailedPrecondition && ex.Error.Details?["recorded_version"] is not null && !ex.Message.Contains("-Force", StringComparison.Ordinal))
        {
            // The core names no switches; here the way on is this cmdlet's -Force.
            WriteArcpError(new ArcpException(ex.Error with { Message = $"{ex.Message} (Pass -Force to continue with this definition.)" }, ex), JobId);
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, JobId);
        }
    }

    private JobRunResult ResumeWaitingForLease(string store, Func<Client.ArcpClient, CancellationToken, Task<JobRunResult>> resume)
    {
        var deadline = Timeout is { } seconds ? DateTimeOffset.UtcNow.AddSeconds(seconds) : (DateTimeOffset?)null;
        while (true)
        {
            try
            {
                return Run(store, resume);
            }
            catch (ArcpException ex) when (Wait && ex.Code == ErrorCodes.Aborted)
            {
                // The claim is refused without side effects, so asking again is safe once the runtime reports
                // on the subscription that the lease is gone (released, expired, or its process died).
                WriteVerbose($"{ex.Message} Waiting for the lease to end.");
                var outcome = WaitForJobs(store, [JobId], Client.JobWaitTarget.Unowned, deadline)[JobId];
                if (outcome.Failure is { } failure)
                {
                    throw failure;
                }

                if (outcome.Job is null)
                {
                    throw new ArcpException(
                        ArcpError.Create(ErrorCodes.DeadlineExceeded, $"Gave up after {Timeout} s waiting for job {JobId}: {ex.Message}", ex.Error.Details, ex.Error),
                        ex);
                }
            }
        }
    }

    /// <summary>The job's recorded definition (only an embedded store has them, only for the local principal), else its workflow by name.</summary>
    private ScriptWorkflow RecordedWorkflow(string store) => DefinitionResolver.ForRecordedJob(JobId, FetchJob(store, JobId).Workflow, RecordedDefinition(store), Force, new ParsedWorkflows());

    private JobDefinitionRecord? RecordedDefinition(string store) =>
        RunEmbedded(store, (_, embedded, ct) => embedded is null ? Task.FromResult<JobDefinitionRecord?>(null) : embedded.GetRecordedDefinitionAsync(JobId, ct));
}
