using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.PowerShell;
using Arcp.Resumability.PowerShell.Commands;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Tests.Core;
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>
/// The cmdlets hosted in-process: an InitialSessionState with the four cmdlets added directly (the
/// module manifest is not in the test output), scripts run as an operator would type them.
/// </summary>
public sealed class HostedCmdletTests : IDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Three inline steps sharing one body. Each checks that $_ is its first argument and that $ArcpStep
    /// describes it, records that it ran in $global:ran, and appends "&gt;step@index/count" to its input.
    /// </summary>
    private const string StepsScript = """
        $global:ran = [System.Collections.Generic.List[string]]::new()
        $body = {
            param($in)
            if (-not [object]::Equals($in, $_)) { throw "`$_ ('$_') is not the first argument ('$in')" }
            if (-not [object]::Equals($in, $ArcpStep.PreviousOutput)) { throw '$ArcpStep.PreviousOutput is not the input' }
            $global:ran.Add($ArcpStep.Step)
            "$_>$($ArcpStep.Step)@$($ArcpStep.StepIndex)/$($ArcpStep.StepCount)"
        }
        $steps = [ordered]@{ plan = $body; gather = $body; write = $body }

        """;

    private readonly TestStore store = new();

    [Fact]
    public void The_test_output_folder_carries_the_built_in_workflows_and_corpus_beside_the_module()
    {
        var moduleFolder = Path.GetDirectoryName(typeof(StartArcpJobCommand).Assembly.Location)!;

        Assert.True(File.Exists(Path.Combine(moduleFolder, "Workflows", "research.ps1")));
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(moduleFolder, "Corpus"), "*.md"));
    }

    [Fact]
    public async Task Start_ArcpJob_with_inline_steps_completes_and_passes_each_output_on_as_input()
    {
        var (output, errors) = await RunAsync(StepsScript + """
            $job = Start-ArcpJob -Step $steps -InputObject 'topic' -Store $store
            $job
            $global:ran.ToArray()
            """);

        Assert.Empty(errors);
        var job = Assert.IsType<ArcpJob>(output[0].BaseObject);
        Assert.Equal(ArcpJobState.Completed, job.State);
        Assert.Equal("inline", job.Workflow);
        Assert.Equal("topic>plan@0/3>gather@1/3>write@2/3", job.Result);
        Assert.Equal(store.Path, job.Store);
        Assert.Null(job.Error);
        Assert.Null(job.Owner);
        Assert.Equal(["plan", "gather", "write"], output.Skip(1).Select(o => (string)o.BaseObject));
    }

    [Fact]
    public async Task Steps_see_their_job_id_and_a_stable_idempotency_key_in_ArcpStep()
    {
        var (output, errors) = await RunAsync("""
            $steps = [ordered]@{
                only = { [pscustomobject]@{ JobId = $ArcpStep.JobId; Key = $ArcpStep.IdempotencyKey; Workflow = $ArcpStep.Workflow } }
            }
            Start-ArcpJob -Step $steps -InputObject 42 -Store $store
            """);

        Assert.Empty(errors);
        var job = Assert.IsType<ArcpJob>(Assert.Single(output).BaseObject);
        var seen = Assert.IsType<PSObject>(job.Result);
        Assert.Equal(job.JobId, seen.Properties["JobId"].Value);
        Assert.Equal("inline", seen.Properties["Workflow"].Value);
        Assert.Equal(StepKeys.For("inline", job.JobId, "only", "42"), seen.Properties["Key"].Value);
    }

    [Fact]
    public async Task Get_ArcpCheckpoint_returns_one_checkpoint_per_step_in_order_with_its_output()
    {
        var (output, errors) = await RunAsync(StepsScript + """
            $job = Start-ArcpJob -Step $steps -InputObject 'topic' -Store $store
            $job
            Get-ArcpCheckpoint -JobId $job.JobId -Store $store
            """);

        Assert.Empty(errors);
        var job = Assert.IsType<ArcpJob>(output[0].BaseObject);
        var checkpoints = output.Skip(1).Select(o => Assert.IsType<ArcpCheckpoint>(o.BaseObject)).ToList();
        Assert.Equal(["plan", "gather", "write"], checkpoints.Select(c => c.Step));
        Assert.Equal([0, 1, 2], checkpoints.Select(c => c.StepIndex));
        Assert.Equal(["topic>plan@0/3", "topic>plan@0/3>gather@1/3", "topic>plan@0/3>gather@1/3>write@2/3"], checkpoints.Select(c => (string)c.Output!));
        Assert.All(checkpoints, c => Assert.Equal(job.JobId, c.JobId));
        Assert.All(checkpoints, c => Assert.Equal(store.Path, c.Store));
        Assert.All(checkpoints, c => Assert.True(ArcpId.IsValid(c.MessageId, ArcpId.MessagePrefix), c.MessageId));
        Assert.Equal(job.LastCheckpointId, checkpoints[^1].CheckpointId);
        Assert.Equal(StepKeys.For("inline", job.JobId, "gather", ArcpJson.ToText(JsonValue.Create("topic>plan@0/3"))), checkpoints[1].IdempotencyKey);
    }

    [Fact]
    public async Task Get_ArcpJob_State_filters_jobs_by_operator_state()
    {
        var interrupted = await InterruptedInlineJobAsync();
        var (output, errors) = await RunAsync(StepsScript + """
            $done = Start-ArcpJob -Step $steps -InputObject 'ok' -Name 'good' -Store $store
            $null = Start-ArcpJob -Step ([ordered]@{ boom = { throw 'no' } }) -Name 'bad' -Store $store -ErrorAction SilentlyContinue
            ,@(Get-ArcpJob -State Completed -Store $store)
            ,@(Get-ArcpJob -State Failed -Store $store)
            ,@(Get-ArcpJob -State Interrupted -Store $store)
            ,@(Get-ArcpJob -State Completed, Failed -Store $store)
            ,@(Get-ArcpJob -Store $store)
            ,@(Get-ArcpJob -Name 'go*' -Store $store)
            """);

        Assert.Empty(errors);
        var lists = output.Select(o => ((object[])o.BaseObject).Select(j => Assert.IsType<ArcpJob>(j is PSObject wrapped ? wrapped.BaseObject : j)).ToList()).ToList();
        Assert.Equal(["good"], lists[0].Select(j => j.Name));
        Assert.Equal(["bad"], lists[1].Select(j => j.Name));
        Assert.Equal([interrupted], lists[2].Select(j => j.JobId));
        Assert.Equal(["bad", "good"], lists[3].Select(j => j.Name!).Order(StringComparer.Ordinal));
        Assert.Equal(3, lists[4].Count);
        Assert.Equal(["good"], lists[5].Select(j => j.Name));
    }

    [Fact]
    public async Task The_built_in_research_workflow_produces_a_markdown_report()
    {
        var (output, errors) = await RunAsync("Start-ArcpJob research -InputObject 'How do idempotency keys prevent duplicate work?' -Store $store");

        Assert.Empty(errors);
        var job = Assert.IsType<ArcpJob>(Assert.Single(output).BaseObject);
        Assert.Equal(ArcpJobState.Completed, job.State);
        Assert.Equal("research", job.Workflow);
        var report = Assert.IsType<string>(job.Result);
        Assert.StartsWith("# Research report", report, StringComparison.Ordinal);
        Assert.Contains("idempotency", report, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_failing_step_writes_an_UNKNOWN_error_record_and_still_outputs_the_failed_job()
    {
        var (output, errors) = await RunAsync("""
            $steps = [ordered]@{
                plan = { 'planned' }
                fetch = { throw 'upstream is down' }
                write = { 'never' }
            }
            Start-ArcpJob -Step $steps -Store $store
            """);

        var error = Assert.Single(errors);
        Assert.StartsWith(ErrorCodes.Unknown, error.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("upstream is down", error.ErrorDetails.Message, StringComparison.Ordinal);
        var job = Assert.IsType<ArcpJob>(Assert.Single(output).BaseObject);
        Assert.Equal(ArcpJobState.Failed, job.State);
        Assert.Same(job, error.TargetObject);
        Assert.Equal(ErrorCodes.Unknown, job.Error!.Code);
        Assert.Contains("fetch", job.Error.Message, StringComparison.Ordinal);
        var (checkpoints, _) = await RunAsync($"Get-ArcpCheckpoint -JobId '{job.JobId}' -Store $store");
        Assert.Equal(["plan"], checkpoints.Select(c => ((ArcpCheckpoint)c.BaseObject).Step));
    }

    [Fact]
    public async Task An_interrupted_job_resumes_from_a_piped_checkpoint_without_rerunning_recorded_steps()
    {
        var jobId = await InterruptedInlineJobAsync();

        var (output, errors) = await RunAsync(StepsScript + $"""
            $before = Get-ArcpJob -JobId '{jobId}' -Store $store
            $before.State
            Get-ArcpCheckpoint -JobId '{jobId}' -Store $store | Select-Object -Last 1 | Resume-ArcpJob -Step $steps
            $global:ran.ToArray()
            """);

        Assert.Empty(errors);
        Assert.Equal(ArcpJobState.Interrupted, output[0].BaseObject);
        var job = Assert.IsType<ArcpJob>(output[1].BaseObject);
        Assert.Equal(jobId, job.JobId);
        Assert.Equal(ArcpJobState.Completed, job.State);
        Assert.Equal("topic>plan@0/3>gather@1/3>write@2/3", job.Result);
        Assert.Equal(["write"], output.Skip(2).Select(o => (string)o.BaseObject));
        var (checkpoints, _) = await RunAsync($"Get-ArcpCheckpoint -JobId '{jobId}' -Store $store");
        Assert.Equal(["plan", "gather", "write"], checkpoints.Select(c => ((ArcpCheckpoint)c.BaseObject).Step));
    }

    [Fact]
    public async Task Stopping_the_pipeline_during_a_step_leaves_the_job_interrupted_and_resumable_at_that_step()
    {
        using var stepStarted = new ManualResetEventSlim();
        using var ps = Create();
        ps.Runspace.SessionStateProxy.SetVariable("stepStarted", stepStarted);
        ps.AddScript(StepsScript + """
            $slow = [ordered]@{
                plan = $steps.plan
                gather = $steps.gather
                write = { $stepStarted.Set(); Start-Sleep -Seconds 60; 'never' }
            }
            Start-ArcpJob -Step $slow -InputObject 'topic' -Store $store
            """);
        var running = ps.InvokeAsync();
        Assert.True(stepStarted.Wait(ScriptTimeout), "the third step never started");

        await ps.StopAsync(null, null).WaitAsync(ScriptTimeout);

        await Assert.ThrowsAsync<PipelineStoppedException>(() => running.WaitAsync(ScriptTimeout));
        var (output, errors) = await RunAsync(StepsScript + """
            $job = Get-ArcpJob -Store $store
            $job
            # The write step's script differs from the one the job started with: a new definition version.
            $job | Resume-ArcpJob -Step $steps -Force
            $global:ran.ToArray()
            """);
        Assert.Empty(errors);
        var stopped = Assert.IsType<ArcpJob>(output[0].BaseObject);
        Assert.Equal(ArcpJobState.Interrupted, stopped.State);
        Assert.Null(stopped.Error);
        var resumed = Assert.IsType<ArcpJob>(output[1].BaseObject);
        Assert.Equal(ArcpJobState.Completed, resumed.State);
        Assert.Equal("topic>plan@0/3>gather@1/3>write@2/3", resumed.Result);
        Assert.Equal(["write"], output.Skip(2).Select(o => (string)o.BaseObject));
    }

    public void Dispose() => store.Dispose();

    /// <summary>
    /// An "inline" job whose process died after checkpointing plan and gather: the core runner drives
    /// it with bodies that compute what the PowerShell steps would, and its session goes away mid-run.
    /// </summary>
    private async Task<string> InterruptedInlineJobAsync()
    {
        var steps = new[] { "plan", "gather", "write" };
        var workflow = new WorkflowDefinition(
            "inline",
            steps.Select(s => new StepDefinition(s, (context, _) =>
                ValueTask.FromResult<JsonNode?>(JsonValue.Create($"{context.Input!.GetValue<string>()}>{context.Step}@{context.StepIndex}/{context.StepCount}")))).ToList());
        using var observer = new StopAfter("gather");
        await using var arcp = await EmbeddedArcp.OpenAsync(store.Path, null, CancellationToken.None);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => new StepRunner(arcp.Client).StartAsync(workflow, JsonValue.Create("topic"), null, null, observer, observer.Token));
        return observer.JobId!;
    }

    private Pwsh Create()
    {
        var iss = InitialSessionState.CreateDefault();
        iss.Commands.Add(new SessionStateCmdletEntry("Start-ArcpJob", typeof(StartArcpJobCommand), null));
        iss.Commands.Add(new SessionStateCmdletEntry("Resume-ArcpJob", typeof(ResumeArcpJobCommand), null));
        iss.Commands.Add(new SessionStateCmdletEntry("Get-ArcpJob", typeof(GetArcpJobCommand), null));
        iss.Commands.Add(new SessionStateCmdletEntry("Get-ArcpCheckpoint", typeof(GetArcpCheckpointCommand), null));
        var ps = Pwsh.Create(iss);
        ps.Runspace.SessionStateProxy.SetVariable("store", store.Path);
        return ps;
    }

    private async Task<(Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors)> RunAsync(string script)
    {
        using var ps = Create();
        ps.AddScript(script);
        var output = await ps.InvokeAsync().WaitAsync(ScriptTimeout);
        return (new Collection<PSObject>(output.ToList()), ps.Streams.Error.ToList());
    }
}
