using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Core;

/// <summary>
/// A run's own state does not grow with the job (issue 12): the steps it went through and the loop check stay
/// bounded, and a resume takes the recorded outcomes it needs from its one replay instead of a lookup per step.
/// </summary>
public sealed class BoundedRunStateTests : IDisposable
{
    private readonly TestStore folder = new();

    [Fact]
    public void Twenty_thousand_iterations_of_one_looping_step_are_held_as_one_run_and_read_back_in_order()
    {
        var sequence = new StepSequence();
        sequence.Add("setup");
        for (var i = 0; i < 20_000; i++)
        {
            sequence.Add("poll");
        }

        sequence.Add("report");

        Assert.Equal(3, sequence.Runs);
        Assert.Equal(20_002, sequence.Count);
        Assert.Equal("setup", sequence[0]);
        Assert.Equal("poll", sequence[1]);
        Assert.Equal("poll", sequence[20_000]);
        Assert.Equal("report", sequence[20_001]);
        Assert.Equal(20_002, new List<string>(sequence).Count);
        Assert.Equal(["setup", "poll", "poll"], new List<string>(sequence)[..3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => sequence[20_002]);
    }

    [Fact]
    public void The_loop_check_holds_at_most_its_window_of_keys_over_twenty_thousand_distinct_steps()
    {
        var guard = new LoopGuard();
        for (var i = 0; i < 20_000; i++)
        {
            Assert.True(guard.TryEnter($"wf:job:step:{i}"));
        }

        Assert.Equal(LoopGuard.Window, guard.KeysHeld);
        Assert.False(guard.TryEnter($"wf:job:step:{20_000 - LoopGuard.Window}"));
        Assert.True(guard.TryEnter("wf:job:step:0"));
    }

    [Fact]
    public async Task A_job_of_two_thousand_looping_steps_completes_with_every_step_in_its_result_held_as_one_run()
    {
        await using var arcp = await folder.OpenAsync();
        var workflow = Looping(2_000);

        var result = await new StepRunner(arcp.Client).StartAsync(workflow, JsonValue.Create(0), null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Completed, result.State);
        Assert.Equal(2_000, result.Result!.GetValue<int>());
        Assert.Equal(2_000, result.StepsRun.Count);
        Assert.All(result.StepsRun, step => Assert.Equal("count", step));
        Assert.Equal(1, Assert.IsType<StepSequence>(result.StepsRun).Runs);
    }

    [Fact]
    public async Task A_cycle_longer_than_the_window_is_still_refused_as_a_loop_without_progress()
    {
        // count goes 0..cycle-1 and then back to 0: the same step with the same input, every cycle steps later.
        var cycle = LoopGuard.Window + 44;
        var runs = 0;
        var workflow = new WorkflowDefinition("wheel", [
            new StepDefinition("turn", (context, _) =>
            {
                runs++;
                return ValueTask.FromResult<JsonNode?>(JsonValue.Create((context.Input!.GetValue<int>() + 1) % cycle));
            })
            {
                Next = (_, _, _) => ValueTask.FromResult<string?>("turn"),
            },
        ]);
        await using var arcp = await folder.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow, JsonValue.Create(0), null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Failed, result.State);
        Assert.Equal(ErrorCodes.FailedPrecondition, result.Error?.Code);
        Assert.Contains("loop without progress", result.Error?.Message, StringComparison.Ordinal);
        // Refused before a third time round: at most two cycles and one more step ran.
        Assert.InRange(runs, (2 * cycle) + 1, (3 * cycle) + 1);
        var checkpoints = await arcp.Client.QueryCheckpointsAsync(result.JobId, null, CancellationToken.None);
        Assert.Equal(cycle, checkpoints.Count);
    }

    [Fact]
    public async Task A_session_that_drives_job_after_job_keeps_no_cancel_watch_for_the_jobs_it_ended()
    {
        await using var arcp = await folder.OpenAsync();
        var client = arcp.Client;
        var cancelling = new WorkflowDefinition("cancelling", [
            new StepDefinition("ask", async (context, ct) =>
            {
                await client.CancelJobAsync(context.JobId, "enough", null, ct);
                return null;
            }),
            new StepDefinition("never", (_, _) => throw new InvalidOperationException("The cancel relayed after 'ask' stops the job first.")),
        ]);

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(JobStates.Completed, (await new StepRunner(client).StartAsync(Looping(3), JsonValue.Create(0), null, null, null, CancellationToken.None)).State);
        }

        var cancelled = await new StepRunner(client).StartAsync(cancelling, null, null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Cancelled, cancelled.State);
        Assert.Equal(0, client.CancelWatches);
    }

    [Fact]
    public async Task A_resume_asks_for_no_step_lookup_and_reuses_the_steps_recorded_after_an_earlier_anchor_from_its_replay()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { AllowAnonymous = true });
        var (client, sent) = await ConnectAsync(runtime);
        await using var _ = client;
        var first = new CountingWorkflow("counting", ["plan", "gather", "synthesize", "critique", "finalize"]);
        var observer = new StopAfter("critique");
        await Assert.ThrowsAsync<OperationCanceledException>(() => new StepRunner(client).StartAsync(first.Definition, null, null, null, observer, observer.Token));
        var jobId = observer.JobId!;
        var checkpoints = await client.QueryCheckpointsAsync(jobId, null, CancellationToken.None);

        var rerun = new CountingWorkflow("counting", ["plan", "gather", "synthesize", "critique", "finalize"]);
        sent.Clear();
        var result = await new StepRunner(client).ResumeAsync(rerun.Definition, jobId, null, checkpoints[0].CheckpointId, null, CancellationToken.None);

        Assert.Equal(JobStates.Completed, result.State);
        Assert.Equal(["gather", "synthesize", "critique"], result.StepsReused);
        Assert.Equal(["finalize"], result.StepsRun);
        Assert.Equal(0, sent.Count(MessageTypes.StepLookup));
        Assert.Equal(1, sent.Count(MessageTypes.Resume));
        Assert.Equal(0, sent.Count(MessageTypes.EventQuery));
    }

    [Fact]
    public async Task A_resume_after_a_message_the_caller_chose_still_looks_each_reissued_step_up()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { AllowAnonymous = true });
        var (client, sent) = await ConnectAsync(runtime);
        await using var _ = client;
        var first = new CountingWorkflow("counting", ["plan", "gather", "synthesize"]);
        var observer = new StopAfter("gather");
        await Assert.ThrowsAsync<OperationCanceledException>(() => new StepRunner(client).StartAsync(first.Definition, null, null, null, observer, observer.Token));
        var checkpoints = await client.QueryCheckpointsAsync(observer.JobId!, null, CancellationToken.None);

        sent.Clear();
        var result = await new StepRunner(client).ResumeAsync(new CountingWorkflow("counting", ["plan", "gather", "synthesize"]).Definition, observer.JobId!, checkpoints[^1].MessageId, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Completed, result.State);
        Assert.Equal(["synthesize"], result.StepsRun);
        // The replay after that message may not hold every recorded step, so the one re-issued step is asked about.
        Assert.Equal(1, sent.Count(MessageTypes.StepLookup));
    }

    public void Dispose() => folder.Dispose();

    private static WorkflowDefinition Looping(int length) => new("looping", [
        new StepDefinition("count", (context, _) => ValueTask.FromResult<JsonNode?>(JsonValue.Create(context.Input!.GetValue<int>() + 1)))
        {
            Next = (_, output, _) => ValueTask.FromResult(output!.GetValue<int>() < length ? "count" : null),
        },
    ]);

    private static async Task<(ArcpClient Client, TypeCountingConnection Sent)> ConnectAsync(ArcpRuntime runtime)
    {
        var (client, server) = InMemoryTransport.CreatePair();
        _ = Task.Run(() => runtime.ServeAsync(server, CancellationToken.None));
        var counting = new TypeCountingConnection(client);
        return (await ArcpClient.ConnectAsync(counting, new ClientOptions(), CancellationToken.None), counting);
    }

    /// <summary>Counts the frames the client sends, by message type.</summary>
    private sealed class TypeCountingConnection(IArcpConnection inner) : IArcpConnection
    {
        private readonly ConcurrentDictionary<string, int> sent = new(StringComparer.Ordinal);

        public int Count(string type) => sent.GetValueOrDefault(type);

        public void Clear() => sent.Clear();

        public ValueTask SendAsync(string frame, CancellationToken cancellationToken)
        {
            sent.AddOrUpdate(EnvelopeCodec.Parse(frame).Type, 1, (_, count) => count + 1);
            return inner.SendAsync(frame, cancellationToken);
        }

        public ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken) => inner.ReceiveAsync(cancellationToken);

        public void Close() => inner.Close();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
