using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Tests.Core;

/// <summary>Steps that choose the next step: loops, resume inside a loop, and loops without progress.</summary>
public sealed class TransitionTests : IDisposable
{
    private readonly TestStore store = new();

    [Fact]
    public async Task A_transition_loops_back_until_its_condition_holds_and_resume_continues_inside_the_loop()
    {
        string jobId;
        await using (var arcp = await store.OpenAsync())
        {
            var observer = new StopAfter("check");
            await Assert.ThrowsAsync<OperationCanceledException>(() => new StepRunner(arcp.Client).StartAsync(Counter(), JsonValue.Create(0), null, null, observer, observer.Token));
            jobId = observer.JobId!;
        }

        await using (var arcp = await store.OpenAsync())
        {
            var result = await new StepRunner(arcp.Client).ResumeAsync(Counter(), jobId, null, null, null, CancellationToken.None);

            Assert.Equal(JobStates.Completed, result.State);
            Assert.Equal("check", result.ResumedAfterStep);
            Assert.Equal("\"done at 3\"", ArcpJson.ToText(result.Result));
            var steps = (await arcp.Client.QueryCheckpointsAsync(jobId, null, CancellationToken.None)).Select(c => c.Step);
            Assert.Equal(["increment", "check", "increment", "check", "increment", "check", "report"], steps);
        }
    }

    [Fact]
    public async Task A_loop_that_repeats_a_step_with_the_same_input_fails_instead_of_spinning()
    {
        var workflow = new WorkflowDefinition("spin", [
            new StepDefinition("same", (_, _) => ValueTask.FromResult<JsonNode?>(JsonValue.Create(1))) { Next = (_, _, _) => ValueTask.FromResult<string?>("same") },
        ]);
        await using var arcp = await store.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Failed, result.State);
        Assert.Equal(ErrorCodes.FailedPrecondition, result.Error?.Code);
    }

    [Fact]
    public async Task A_transition_to_an_unknown_step_fails_the_job()
    {
        var workflow = new WorkflowDefinition("lost", [
            new StepDefinition("one", (_, _) => ValueTask.FromResult<JsonNode?>(null)) { Next = (_, _, _) => ValueTask.FromResult<string?>("nowhere") },
        ]);
        await using var arcp = await store.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Failed, result.State);
        Assert.Equal(ErrorCodes.InvalidArgument, result.Error?.Code);
        Assert.Contains("nowhere", result.Error?.Message, StringComparison.Ordinal);
    }

    public void Dispose() => store.Dispose();

    // increment -> check -> (increment again while below 3) -> report
    private static WorkflowDefinition Counter() => new("counter", [
        new StepDefinition("increment", (context, _) => ValueTask.FromResult<JsonNode?>(JsonValue.Create(context.Input!.GetValue<int>() + 1))),
        new StepDefinition("check", (context, _) => ValueTask.FromResult(context.Input?.DeepClone()))
        {
            Next = (_, output, _) => ValueTask.FromResult(output!.GetValue<int>() < 3 ? "increment" : null),
        },
        new StepDefinition("report", (context, _) => ValueTask.FromResult<JsonNode?>(JsonValue.Create($"done at {context.Input}"))),
    ]);
}
