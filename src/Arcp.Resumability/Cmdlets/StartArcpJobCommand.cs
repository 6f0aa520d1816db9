using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Text.Json.Nodes;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.PowerShell.Jobs;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.PowerShell.Workers;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Starts a crash-proof job: runs its steps in this session, checkpointing after each one.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "ArcpJob", DefaultParameterSetName = WorkflowSet)]
[OutputType(typeof(ArcpJob))]
[OutputType(typeof(ArcpBackgroundJob))]
public sealed class StartArcpJobCommand : ArcpStepsCmdlet
{

    /// <summary>A built-in workflow name (research) or the path of a workflow .ps1 file.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = WorkflowSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(WorkflowCompleter))]
    public string Workflow { get; set; } = string.Empty;

    /// <summary>The job's input, handed to the first step. Piped objects start one job each.</summary>
    [Parameter(ValueFromPipeline = true)]
    public object? InputObject { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Logical idempotency key: the same key and input return the existing job instead of a new one.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IdempotencyKey { get; set; }

    /// <summary>
    /// Have the runtime run the job (it must be a Start-ArcpRuntime -Workflow that registered this workflow):
    /// the job is returned at once, running; watch it with Get-ArcpJob.
    /// </summary>
    [Parameter(ParameterSetName = WorkflowSet)]
    public SwitchParameter OnRuntime { get; set; }

    /// <summary>Record the job on this durable queue and return at once (State Queued); a worker (Start-ArcpWorker) runs it.</summary>
    [Parameter(ParameterSetName = WorkflowSet)]
    [ValidateNotNullOrEmpty]
    public string? Queue { get; set; }

    /// <summary>With -Queue: jobs with a higher priority are taken first (default 0).</summary>
    [Parameter(ParameterSetName = WorkflowSet)]
    public int Priority { get; set; }

    /// <summary>Runs after each checkpoint is durable, with the ArcpCheckpoint as $_.</summary>
    [Parameter]
    public ScriptBlock? OnCheckpoint { get; set; }

    /// <summary>Run the steps in a background PowerShell job (Get-Job, Receive-Job, Stop-Job, Resume-Job work on it).</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        if (AsJob)
        {
            WriteObject(StartBackground(store));
            return;
        }

        try
        {
            if (Queue is not null)
            {
                WriteObject(QueuedStarts.Enqueue(this, store, new JobStart(ArcpId.NewJobId(), RuntimeOptions.LocalPrincipal, Workflow, Name, ArcpJson.ToText(JobInput()), IdempotencyKey, ArcpId.NewMessageId()), Queue, Priority));
                return;
            }

            if (OnRuntime)
            {
                var started = Run(store, (client, ct) => client.StartOnRuntimeAsync(Workflow, JobInput(), Name, IdempotencyKey, ct));
                WriteObject(FetchJob(store, started.JobId));
                return;
            }

            var workflow = ParameterSetName == StepSet ? WorkflowLoader.FromSteps(Step) : WorkflowLoader.Load(Workflow, SessionState.Path.CurrentFileSystemLocation.ProviderPath);
            var input = JobInput();
            var observer = new PowerShellStepObserver(this, Dispatcher, $"ARCP job {Name ?? workflow.Name}", OnCheckpoint, store) { JobKnown = BackgroundRuns.Current(SessionState) is { } background ? background.NoteJobId : null };
            var definition = ScriptStepBody.ToDefinition(workflow, Dispatcher, observer);
            // Described before the run so the record names what was loaded, not what the file holds by the time the job exists.
            var described = RecordedDefinitions.Describe(string.Empty, workflow, ParameterSetName == StepSet ? null : Workflow, DateTimeOffset.UtcNow);
            var result = RunEmbedded(store, (client, embedded, ct) => new StepRunner(client)
            {
                JobStarted = embedded is null ? null : (jobId, c) => embedded.RecordDefinitionAsync(described with { JobId = jobId }, c),
            }.StartAsync(definition, input, Name, IdempotencyKey, observer, ct));
            observer.Complete();
            JobOutput.Write(this, store, result);
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, (object?)Name ?? (ParameterSetName == StepSet ? WorkflowLoader.InlineWorkflowName : Workflow));
        }
    }

    private JsonNode? JobInput()
    {
        try
        {
            return PowerShellJson.ToJsonNode(InputObject, subject: PowerShellJson.JobInput);
        }
        catch (JsonConversionException ex)
        {
            throw new ArcpException(ArcpError.Create(ErrorCodes.InvalidArgument, $"-InputObject cannot be recorded: {ex.Message}"), ex);
        }
    }

    private ArcpBackgroundJob StartBackground(string store)
    {
        var workflowName = ParameterSetName == StepSet ? WorkflowLoader.InlineWorkflowName : Workflow;
        var spec = new BackgroundRunSpec
        {
            Store = store,
            Location = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
            Remote = Client.RemoteArcp.IsRuntimeAddress(store) ? RemoteSettings(new Uri(store)) : null,
            Workflow = ParameterSetName == StepSet ? null : Workflow,
            Steps = ParameterSetName == StepSet ? BackgroundRuns.StepText(Step) : null,
            InputObject = InputObject,
            Name = Name,
            // Resume-Job starts the job again; a job-level key makes that continue the recorded ARCP job.
            IdempotencyKey = IdempotencyKey ?? $"asjob:{Guid.NewGuid():N}",
            OnCheckpoint = OnCheckpoint?.ToString(),
        };
        return ArcpJobSourceAdapter.Start(this, $"Start-ArcpJob {workflowName}", Name ?? workflowName, spec);
    }
}

/// <summary>-AsJob: the same command in a background runspace, its script blocks passed as text.</summary>
internal static class BackgroundRuns
{
    /// <summary>The variable through which a background run's own Start-ArcpJob reaches the PowerShell job it runs for.</summary>
    public const string JobVariable = "ArcpBackgroundJob";

    /// <summary>The -AsJob job this command runs inside of, if any.</summary>
    public static ArcpBackgroundJob? Current(SessionState sessionState) => sessionState.PSVariable.GetValue(JobVariable) as ArcpBackgroundJob;

    /// <summary>
    /// Each step as PowerShell source that evaluates to what -Step accepts: <c>{ body }</c>, or the policy hashtable
    /// <c>@{ Run = { body }; MaxAttempts = 3; … }</c>, so policies reach the background runspace too.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> StepText(IDictionary steps)
    {
        var workflow = WorkflowLoader.FromSteps(steps);
        return workflow.Steps.Select(s => new KeyValuePair<string, string>(
            s.Name,
            workflow.Policies.TryGetValue(s.Name, out var policy) && !ReferenceEquals(policy, ScriptStepPolicy.Default) ? PolicyText(s.Text, policy) : $"{{{s.Text}}}")).ToList();
    }

    private static string PolicyText(string run, ScriptStepPolicy scripted)
    {
        var policy = scripted.Policy;
        var text = new System.Text.StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"@{{ Run = {{{run}}}; MaxAttempts = {policy.MaxAttempts}; RetryDelay = '{policy.RetryDelay:c}'; Backoff = '{policy.Backoff}'");
        if (policy.MaxRetryDelay is { } max)
        {
            text.Append(CultureInfo.InvariantCulture, $"; MaxRetryDelay = '{max:c}'");
        }

        if (policy.Timeout is { } timeout)
        {
            text.Append(CultureInfo.InvariantCulture, $"; Timeout = '{timeout:c}'");
        }

        if (scripted.RetryOn is { } retryOn)
        {
            text.Append(CultureInfo.InvariantCulture, $"; RetryOn = {{{retryOn}}}");
        }

        return text.Append(" }").ToString();
    }
}

/// <summary>How Start- and Resume-ArcpJob report a finished run.</summary>
internal static class JobOutput
{
    public static void Write(ArcpCmdlet cmdlet, string store, JobRunResult result)
    {
        var job = cmdlet.FetchJob(store, result.JobId);
        if (result.DataLoss is { } lost)
        {
            cmdlet.WriteWarning($"{lost.Code}: {lost.Message} Job {result.JobId} continued from its latest checkpoint; the purged events are not replayed.");
        }

        if (result.AlreadyTerminal && result.ExistingJob && job.State is ArcpJobState.Failed or ArcpJobState.Cancelled)
        {
            cmdlet.WriteWarning(
                $"Idempotency key '{job.IdempotencyKey}' names job {result.JobId}, which already {(job.State == ArcpJobState.Failed ? "failed" : "was cancelled")} ({job.Error?.Message}); the same key returns that outcome again. " +
                $"To run it again after fixing the cause, use Resume-ArcpJob -JobId {result.JobId} -Retry (a new attempt continuing after its last checkpoint).");
        }
        else if (result.AlreadyTerminal)
        {
            cmdlet.WriteWarning($"Job {result.JobId} is already {job.State}; nothing is left to run.");
        }
        else if (result.ExistingJob)
        {
            cmdlet.WriteVerbose($"Idempotency key matched existing job {result.JobId}.");
        }

        if (result.StepsRun.Count > 0 || result.StepsReused.Count > 0)
        {
            cmdlet.WriteVerbose($"Job {result.JobId}: ran [{string.Join(", ", result.StepsRun)}], reused recorded [{string.Join(", ", result.StepsReused)}].");
        }

        if (job.State == ArcpJobState.Cancelled && !result.AlreadyTerminal)
        {
            cmdlet.WriteWarning($"Job {result.JobId} was cancelled: {job.Error?.Message}");
        }

        if (job.State == ArcpJobState.Failed && !result.AlreadyTerminal && result.Error is { } error)
        {
            cmdlet.WriteError(ArcpErrors.Record(error, null, job));
        }

        cmdlet.WriteObject(job);
    }
}
