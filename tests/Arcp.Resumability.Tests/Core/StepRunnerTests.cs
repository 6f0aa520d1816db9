using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Tests.Core;

public sealed class StepRunnerTests : IDisposable
{
    private static readonly string[] FiveSteps = ["plan", "gather", "synthesize", "critique", "finalize"];
    private readonly TestStore store = new();

    [Fact]
    public async Task A_fresh_job_runs_every_step_once_and_checkpoints_each_in_order()
    {
        var workflow = new CountingWorkflow(FiveSteps);
        await using var arcp = await store.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow.Definition, JsonValue.Create("start"), "first", null, null, CancellationToken.None);

        Assert.Equal("completed", result.State);
        Assert.Equal("[\"start\",\"plan\",\"gather\",\"synthesize\",\"critique\",\"finalize\"]", ArcpJson.ToText(result.Result));
        Assert.All(FiveSteps, s => Assert.Equal(1, workflow.Runs[s]));
        var checkpoints = await arcp.Client.QueryCheckpointsAsync(result.JobId, null, CancellationToken.None);
        Assert.Equal(FiveSteps, checkpoints.Select(c => c.Step));
        Assert.Equal([0, 1, 2, 3, 4], checkpoints.Select(c => c.StepIndex));
        Assert.All(checkpoints, c => Assert.StartsWith($"counting:{result.JobId}:{c.Step}:", c.IdempotencyKey, StringComparison.Ordinal));
        var job = Assert.Single(await arcp.Client.QueryJobsAsync(new JobQueryPayload { JobId = result.JobId }, CancellationToken.None));
        Assert.Equal("completed", job.State);
        Assert.False(job.Interrupted);
        Assert.Equal(checkpoints[^1].CheckpointId, job.LastCheckpointId);
    }

    [Fact]
    public async Task A_stop_that_arrives_as_a_step_body_finishes_keeps_that_steps_outcome_and_the_resume_does_not_run_it_again()
    {
        using var stop = new CancellationTokenSource();
        var runs = new Dictionary<string, int>();
        WorkflowDefinition Workflow(bool stopAfterGather) => new("stopped", FiveSteps.Select(name => new StepDefinition(name, (context, _) =>
        {
            runs[name] = runs.GetValueOrDefault(name) + 1;
            if (stopAfterGather && name == "gather")
            {
                // Ctrl+C lands between the end of the body and its checkpoint.
                stop.Cancel();
            }

            return ValueTask.FromResult<JsonNode?>(JsonValue.Create($"{context.Input!.GetValue<string>()}>{name}"));
        })).ToList());

        string jobId;
        await using (var arcp = await store.OpenAsync())
        {
            using var observer = new StopAfter("never");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new StepRunner(arcp.Client).StartAsync(Workflow(stopAfterGather: true), JsonValue.Create("s"), null, null, observer, stop.Token));
            jobId = observer.JobId!;
            Assert.Equal(["plan", "gather"], (await arcp.Client.QueryCheckpointsAsync(jobId, null, CancellationToken.None)).Select(c => c.Step));
        }

        await using (var arcp = await store.OpenAsync())
        {
            var result = await new StepRunner(arcp.Client).ResumeAsync(Workflow(stopAfterGather: false), jobId, null, null, null, CancellationToken.None);

            Assert.Equal(("completed", "gather"), (result.State, result.ResumedAfterStep));
            Assert.Equal(["synthesize", "critique", "finalize"], result.StepsRun);
            Assert.All(FiveSteps, name => Assert.Equal(1, runs[name]));
            Assert.Equal("s>plan>gather>synthesize>critique>finalize", result.Result!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Resume_continues_after_the_last_checkpoint_without_rerunning_recorded_steps()
    {
        var firstRun = new CountingWorkflow("counting", FiveSteps);
        string jobId;
        await using (var arcp = await store.OpenAsync())
        {
            var observer = new StopAfter("synthesize");
            var ex = await Assert.ThrowsAsync<OperationCanceledException>(() => new StepRunner(arcp.Client).StartAsync(firstRun.Definition, JsonValue.Create("s"), null, null, observer, observer.Token));
            jobId = observer.JobId!;
            Assert.NotNull(ex);
        }

        var secondRun = new CountingWorkflow("counting", FiveSteps);
        await using (var arcp = await store.OpenAsync())
        {
            var job = Assert.Single(await arcp.Client.QueryJobsAsync(new JobQueryPayload { JobId = jobId }, CancellationToken.None));
            Assert.True(job.Interrupted);

            var result = await new StepRunner(arcp.Client).ResumeAsync(secondRun.Definition, jobId, null, null, null, CancellationToken.None);

            Assert.Equal("completed", result.State);
            Assert.Equal("synthesize", result.ResumedAfterStep);
            Assert.Equal(["critique", "finalize"], result.StepsRun);
            Assert.False(secondRun.Runs.ContainsKey("plan"));
            Assert.Equal("[\"s\",\"plan\",\"gather\",\"synthesize\",\"critique\",\"finalize\"]", ArcpJson.ToText(result.Result));
            Assert.Equal(5, (await arcp.Client.QueryCheckpointsAsync(jobId, null, CancellationToken.None)).Count);
        }
    }

    [Fact]
    public async Task Resuming_from_an_earlier_checkpoint_reuses_recorded_steps_instead_of_running_them()
    {
        var workflow = new CountingWorkflow(FiveSteps);
        await using var arcp = await store.OpenAsync();
        var runner = new StepRunner(arcp.Client);
        var observer = new StopAfter("critique");
        await Assert.ThrowsAsync<OperationCanceledException>(() => runner.StartAsync(workflow.Definition, null, null, null, observer, observer.Token));
        var checkpoints = await arcp.Client.QueryCheckpointsAsync(observer.JobId!, null, CancellationToken.None);

        var rerun = new CountingWorkflow(FiveSteps);
        var result = await new StepRunner(arcp.Client).ResumeAsync(rerun.Definition, observer.JobId!, null, checkpoints[0].CheckpointId, null, CancellationToken.None);

        Assert.Equal("completed", result.State);
        Assert.Equal(["gather", "synthesize", "critique"], result.StepsReused);
        Assert.Equal(["finalize"], result.StepsRun);
        Assert.Equal(1, rerun.Runs["finalize"]);
        Assert.Single(rerun.Runs);
    }

    [Fact]
    public async Task Resuming_a_completed_job_runs_nothing_and_reports_the_result()
    {
        var workflow = new CountingWorkflow(FiveSteps);
        await using var arcp = await store.OpenAsync();
        var first = await new StepRunner(arcp.Client).StartAsync(workflow.Definition, null, null, null, null, CancellationToken.None);

        var again = await new StepRunner(arcp.Client).ResumeAsync(workflow.Definition, first.JobId, null, null, null, CancellationToken.None);

        Assert.True(again.AlreadyTerminal);
        Assert.Equal("completed", again.State);
        Assert.Equal(ArcpJson.ToText(first.Result), ArcpJson.ToText(again.Result));
        Assert.All(FiveSteps, s => Assert.Equal(1, workflow.Runs[s]));
    }

    [Fact]
    public async Task A_failing_step_fails_the_job_with_a_structured_error_and_keeps_earlier_checkpoints()
    {
        var workflow = new CountingWorkflow("counting", FiveSteps, failAt: "critique");
        await using var arcp = await store.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow.Definition, null, null, null, null, CancellationToken.None);

        Assert.Equal("failed", result.State);
        Assert.Equal(ErrorCodes.Unknown, result.Error!.Code);
        Assert.Contains("critique exploded", result.Error.Message, StringComparison.Ordinal);
        Assert.Equal("critique", result.Error.Details!["step"]!.GetValue<string>());
        var checkpoints = await arcp.Client.QueryCheckpointsAsync(result.JobId, null, CancellationToken.None);
        Assert.Equal(["plan", "gather", "synthesize"], checkpoints.Select(c => c.Step));
        var job = Assert.Single(await arcp.Client.QueryJobsAsync(new JobQueryPayload { JobId = result.JobId }, CancellationToken.None));
        Assert.Equal("failed", job.State);
        Assert.Equal(ErrorCodes.Unknown, job.Error!.Code);
    }

    [Fact]
    public async Task A_repeated_job_idempotency_key_returns_the_same_job_and_a_different_input_is_refused()
    {
        var workflow = new CountingWorkflow(FiveSteps);
        await using var arcp = await store.OpenAsync();
        var runner = new StepRunner(arcp.Client);
        var first = await runner.StartAsync(workflow.Definition, JsonValue.Create(1), null, "nightly-2026-11-26", null, CancellationToken.None);

        var again = await runner.StartAsync(workflow.Definition, JsonValue.Create(1), null, "nightly-2026-11-26", null, CancellationToken.None);
        var conflict = await Assert.ThrowsAsync<ArcpException>(() => runner.StartAsync(workflow.Definition, JsonValue.Create(2), null, "nightly-2026-11-26", null, CancellationToken.None));

        Assert.Equal(first.JobId, again.JobId);
        Assert.True(again.ExistingJob);
        Assert.All(FiveSteps, s => Assert.Equal(1, workflow.Runs[s]));
        Assert.Equal(ErrorCodes.AlreadyExists, conflict.Code);
        Assert.Single(await arcp.Client.QueryJobsAsync(new JobQueryPayload(), CancellationToken.None));
    }

    [Fact]
    public async Task Resume_of_an_unknown_job_is_not_found()
    {
        await using var arcp = await store.OpenAsync();
        var ex = await Assert.ThrowsAsync<ArcpException>(() => new StepRunner(arcp.Client).ResumeAsync(new CountingWorkflow(FiveSteps).Definition, ArcpId.NewJobId(), null, null, null, CancellationToken.None));
        Assert.Equal(ErrorCodes.NotFound, ex.Code);
    }

    public void Dispose() => store.Dispose();
}
