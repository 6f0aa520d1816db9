using System.ComponentModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace Arcp.Resumability.PowerShell.Jobs;

/// <summary>What a background run needs, all of it plain data (script blocks travel as text: they are runspace-affine).</summary>
internal sealed record BackgroundRunSpec
{
    public required string Store { get; init; }

    public required string Location { get; init; }

    /// <summary>For a remote runtime (<see cref="Store"/> is its address): the token and TLS setting to reach it with.</summary>
    public Hosting.RuntimeConnection? Remote { get; init; }

    /// <summary>Resume-ArcpJob (with <see cref="JobId"/>) instead of Start-ArcpJob.</summary>
    public bool Resume { get; init; }

    public string? JobId { get; init; }

    public string? AfterMessageId { get; init; }

    public string? CheckpointId { get; init; }

    public bool Force { get; init; }

    /// <summary>Resume-ArcpJob -Wait (and -Timeout): wait for another owner's lease instead of failing.</summary>
    public bool Wait { get; init; }

    public int? Timeout { get; init; }

    public string? Workflow { get; init; }

    /// <summary>-Step as step name → source of its script block or policy hashtable, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Steps { get; init; }

    public object? InputObject { get; init; }

    public string? Name { get; init; }

    public string? IdempotencyKey { get; init; }

    public string? OnCheckpoint { get; init; }
}

/// <summary>
/// A PowerShell job (Get-Job, Wait-Job, Receive-Job, Stop-Job, Suspend-Job, Resume-Job) that runs an ARCP job's
/// steps in its own runspace. Receive-Job returns what Start-ArcpJob would have written (the ArcpJob).
/// Stop-Job and Suspend-Job stop the run like Ctrl+C: the ARCP job is left interrupted at its last checkpoint
/// (it is not cancelled; Stop-ArcpJob does that). Resume-Job continues it in a fresh runspace: a started job is
/// started again under the same job-level idempotency key, which resumes the recorded ARCP job.
/// </summary>
public sealed class ArcpBackgroundJob : Job2
{
    private const string RunScript = """
        param($Spec, $ArcpBackgroundJob)
        $parameters = @{ Store = $Spec.Store }
        if ($Spec.Remote) {
            if ($Spec.Remote.Token) { $parameters.Token = $Spec.Remote.Token }
            if ($Spec.Remote.SkipCertificateCheck) { $parameters.SkipCertificateCheck = $true }
        }
        if ($Spec.Steps) {
            $steps = [ordered]@{}
            # Each value is source that evaluates to a script block or a policy hashtable (BackgroundRuns.StepText).
            foreach ($step in $Spec.Steps) { $steps[$step.Key] = & ([scriptblock]::Create($step.Value)) }
            $parameters.Step = $steps
        }
        elseif ($Spec.Workflow) { $parameters.Workflow = $Spec.Workflow }
        if ($Spec.OnCheckpoint) { $parameters.OnCheckpoint = [scriptblock]::Create($Spec.OnCheckpoint) }
        if ($Spec.Resume) {
            if ($Spec.AfterMessageId) { $parameters.AfterMessageId = $Spec.AfterMessageId }
            if ($Spec.CheckpointId) { $parameters.CheckpointId = $Spec.CheckpointId }
            if ($Spec.Force) { $parameters.Force = $true }
            if ($Spec.Wait) { $parameters.Wait = $true }
            if ($Spec.Timeout) { $parameters.Timeout = $Spec.Timeout }
            Resume-ArcpJob -JobId $Spec.JobId @parameters
        }
        else {
            if ($Spec.Name) { $parameters.Name = $Spec.Name }
            Start-ArcpJob -InputObject $Spec.InputObject -IdempotencyKey $Spec.IdempotencyKey @parameters
        }
        """;

    private static readonly string ModuleManifest = Path.Combine(Path.GetDirectoryName(typeof(ArcpBackgroundJob).Assembly.Location)!, "Arcp.Resumability.psd1");

    private readonly BackgroundRunSpec spec;
    private readonly object gate = new();
    private System.Management.Automation.PowerShell? run;
    private JobState stopAs = JobState.Stopped;
    private string arcpState = "NotStarted";
    private string? arcpJobId;

    internal ArcpBackgroundJob(string command, string name, BackgroundRunSpec spec)
        : base(command, name)
    {
        this.spec = spec;
        arcpJobId = spec.JobId;
        PSJobTypeName = "ArcpJob";
        OpenStreams();
    }

    /// <summary>The ARCP job this PowerShell job drives, once known (at its first checkpoint at the latest).</summary>
    public string? ArcpJobId => arcpJobId;

    /// <summary>
    /// The ARCP job id under the name the ARCP cmdlets bind by property, so <c>$job | Get-ArcpJob</c> (or
    /// Stop-/Remove-ArcpJob) reaches this one job and never falls back to every job in the store.
    /// </summary>
    public string? JobId => ArcpJobId;

    /// <summary>The store the ARCP job lives in, without its password.</summary>
    public string Store => Arcp.Resumability.Store.StoreFactory.Redact(spec.Store);

    public override string Location => Store;

    public override string StatusMessage => arcpState;

    public override bool HasMoreData =>
        Output.Count > 0 || Error.Count > 0 || Progress.Count > 0 || Verbose.Count > 0 || Debug.Count > 0 || Warning.Count > 0 || Information.Count > 0;

    /// <summary>Called from the job's runspace (by Start-ArcpJob) as soon as the ARCP job exists.</summary>
    internal void NoteJobId(string jobId) => Interlocked.CompareExchange(ref arcpJobId, jobId, null);

    public override void StartJob()
    {
        if (JobStateInfo.State != JobState.NotStarted)
        {
            throw new InvalidOperationException($"Job {Name} has already been started.");
        }

        Launch(spec);
    }

    public override void StartJobAsync()
    {
        StartJob();
        OnStartJobCompleted(new AsyncCompletedEventArgs(null, false, this));
    }

    public override void StopJob() => Halt(JobState.Stopped);

    public override void StopJob(bool force, string reason) => Halt(JobState.Stopped);

    public override void StopJobAsync() => _ = Task.Run(() =>
    {
        Halt(JobState.Stopped);
        OnStopJobCompleted(new AsyncCompletedEventArgs(null, false, this));
    });

    public override void StopJobAsync(bool force, string reason) => StopJobAsync();

    public override void SuspendJob() => Halt(JobState.Suspended);

    public override void SuspendJob(bool force, string reason) => Halt(JobState.Suspended);

    public override void SuspendJobAsync() => _ = Task.Run(() =>
    {
        Halt(JobState.Suspended);
        OnSuspendJobCompleted(new AsyncCompletedEventArgs(null, false, this));
    });

    public override void SuspendJobAsync(bool force, string reason) => SuspendJobAsync();

    /// <summary>Continues an interrupted run (stopped, suspended, or failed because its process went away).</summary>
    public override void ResumeJob()
    {
        if (JobStateInfo.State is not (JobState.Stopped or JobState.Suspended or JobState.Failed))
        {
            throw new InvalidOperationException($"Job {Name} is {JobStateInfo.State}; only a stopped, suspended or failed job can be resumed.");
        }

        // A started job is started again: its job-level idempotency key leads back to the recorded ARCP job.
        Launch(spec);
    }

    public override void ResumeJobAsync()
    {
        ResumeJob();
        OnResumeJobCompleted(new AsyncCompletedEventArgs(null, false, this));
    }

    public override void UnblockJob() => throw new NotSupportedException("ARCP jobs do not block.");

    public override void UnblockJobAsync() => throw new NotSupportedException("ARCP jobs do not block.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (gate)
            {
                StopAndDispose(run);
                run = null;
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>A job closes its streams when it finishes; a resumed run needs open ones (unreceived data is kept).</summary>
    private void OpenStreams()
    {
        Output = Reopen(Output);
        Error = Reopen(Error);
        Progress = Reopen(Progress);
        Verbose = Reopen(Verbose);
        Debug = Reopen(Debug);
        Warning = Reopen(Warning);
        Information = Reopen(Information);
    }

    private static PSDataCollection<T> Reopen<T>(PSDataCollection<T> stream)
    {
        var open = stream.IsOpen ? stream : new PSDataCollection<T>(stream);
        open.EnumeratorNeverBlocks = true;
        return open;
    }

    private void Launch(BackgroundRunSpec runSpec)
    {
        OpenStreams();
        var initial = InitialSessionState.CreateDefault2();
        initial.ImportPSModule([ModuleManifest]);
        var runspace = RunspaceFactory.CreateRunspace(initial);
        runspace.Open();
        var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = runspace;
        shell.AddCommand("Set-Location").AddParameter("LiteralPath", runSpec.Location).Invoke();
        shell.Commands.Clear();
        shell.AddScript(RunScript).AddArgument(runSpec).AddArgument(this);

        // Fresh collections per run, copied into the job's: a finished PowerShell may complete its own.
        Forward(shell.Streams.Error, Error);
        Forward(shell.Streams.Warning, Warning);
        Forward(shell.Streams.Verbose, Verbose);
        Forward(shell.Streams.Debug, Debug);
        Forward(shell.Streams.Progress, Progress);
        Forward(shell.Streams.Information, Information);
        var output = new PSDataCollection<PSObject>();
        output.DataAdded += (_, e) =>
        {
            var item = output[e.Index];
            if (item?.BaseObject is ArcpJob job)
            {
                NoteJobId(job.JobId);
                arcpState = job.State.ToString();
            }

            Output.Add(item);
        };
        shell.InvocationStateChanged += (_, e) => OnRunStateChanged(shell, e.InvocationStateInfo);

        lock (gate)
        {
            StopAndDispose(run);
            run = shell;
            stopAs = JobState.Stopped;
        }

        SetJobState(JobState.Running);
        arcpState = "Running";
        shell.BeginInvoke<PSObject, PSObject>(null, output);
    }

    private void OnRunStateChanged(System.Management.Automation.PowerShell shell, PSInvocationStateInfo info)
    {
        JobState? state = info.State switch
        {
            PSInvocationState.Completed => arcpState switch
            {
                nameof(ArcpJobState.Failed) => JobState.Failed,
                nameof(ArcpJobState.Cancelled) => JobState.Stopped,
                _ => JobState.Completed,
            },
            PSInvocationState.Stopped => stopAs,
            PSInvocationState.Failed => JobState.Failed,
            _ => null,
        };
        if (state is not { } final)
        {
            return;
        }

        if (info.Reason is { } reason && info.State == PSInvocationState.Failed)
        {
            Error.Add(new ErrorRecord(reason, "ArcpBackgroundJobFailed", ErrorCategory.OperationStopped, ArcpJobId));
        }

        if (info.State == PSInvocationState.Stopped)
        {
            arcpState = "Interrupted";
        }

        shell.Runspace?.Dispose();
        SetJobState(final);
    }

    private void Halt(JobState state)
    {
        System.Management.Automation.PowerShell? current;
        lock (gate)
        {
            stopAs = state;
            current = run;
        }

        if (current is not null && current.InvocationStateInfo.State == PSInvocationState.Running)
        {
            current.Stop();
        }
        else if (JobStateInfo.State == JobState.NotStarted)
        {
            SetJobState(state);
        }
    }

    private static void StopAndDispose(System.Management.Automation.PowerShell? shell)
    {
        if (shell is null)
        {
            return;
        }

        if (shell.InvocationStateInfo.State == PSInvocationState.Running)
        {
            shell.Stop();
        }

        shell.Runspace?.Dispose();
        shell.Dispose();
    }

    private static void Forward<T>(PSDataCollection<T> from, PSDataCollection<T> to) =>
        from.DataAdded += (_, e) => to.Add(from[e.Index]);
}
