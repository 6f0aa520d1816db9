using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>Jobs the runtime runs itself: stopped with their runtime, continued by the next one on request.</summary>
public sealed class RuntimeDriverTests : IDisposable
{
    private readonly TestStore storeFolder = new();
    private readonly List<string> runs = [];
    private readonly TaskCompletionSource gateReached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task A_runtime_driven_job_stopped_with_its_runtime_is_continued_by_the_next_runtime_on_a_resume()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string jobId;
        await using (var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None))
        {
            var runtime = new ArcpRuntime(store, Options(Gated(gate.Task)));
            var (peer, serving) = Connect(runtime);
            await peer.OpenAsync("tok");
            await peer.SendAsync(peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "gated", ["inputs"] = "in" }));
            var accepted = await peer.ReceiveAsync();
            jobId = (string)accepted["job_id"]!;
            await WaitForEventAsync(peer, "job.checkpoint");
            await gateReached.Task.WaitAsync(RawPeer.Timeout);

            // The runtime goes away while step two waits: its driver session ends and lets go of the job.
            await runtime.DisposeAsync();
            await peer.DisposeAsync();
            await serving.WaitAsync(RawPeer.Timeout);
        }

        Assert.Equal(["one", "two"], runs);
        gate.SetResult();
        await using (var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None))
        {
            await using var runtime = new ArcpRuntime(store, Options(Gated(Task.CompletedTask)));
            var (peer, serving) = Connect(runtime);
            await peer.OpenAsync("tok");
            var interrupted = await QueryAsync(peer, jobId);
            Assert.True((bool)interrupted["interrupted"]!);

            await peer.SendAsync(peer.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = jobId, ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "runtime" } }));
            var ack = await peer.ReceiveAsync();
            Assert.Equal("ack", ack.Type());
            Assert.NotNull((string?)ack["extensions"]!["arcpx.resumability.subscription_id.v1"]);
            var completed = await WaitForEventAsync(peer, "job.completed");

            Assert.Equal("[\"in\",\"one\",\"two\",\"three\"]", completed["payload"]!["result"]!.ToJsonString());
            Assert.Equal(["one", "two", "two", "three"], runs);
            Assert.Equal("completed", (string?)(await QueryAsync(peer, jobId))["state"]);
            await peer.DisposeAsync();
            await serving.WaitAsync(RawPeer.Timeout);
        }
    }

    [Fact]
    public async Task A_restarted_runtime_resumes_its_interrupted_jobs_by_itself()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string jobId;
        await using (var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None))
        {
            var runtime = new ArcpRuntime(store, Options(Gated(gate.Task)));
            var (peer, serving) = Connect(runtime);
            await peer.OpenAsync("tok");
            await peer.SendAsync(peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "gated", ["inputs"] = "in" }));
            jobId = (string)(await peer.ReceiveAsync())["job_id"]!;
            await gateReached.Task.WaitAsync(RawPeer.Timeout);
            await runtime.DisposeAsync();
            await peer.DisposeAsync();
            await serving.WaitAsync(RawPeer.Timeout);
        }

        gate.SetResult();
        await using (var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None))
        {
            await using var runtime = new ArcpRuntime(store, Options(Gated(Task.CompletedTask)));

            Assert.Equal([jobId], await runtime.ResumeInterruptedAsync(CancellationToken.None));

            var (peer, serving) = Connect(runtime);
            await peer.OpenAsync("tok");
            var deadline = DateTimeOffset.UtcNow + RawPeer.Timeout;
            while ((string?)(await QueryAsync(peer, jobId))["state"] != "completed" && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.Equal("completed", (string?)(await QueryAsync(peer, jobId))["state"]);
            Assert.Equal(["one", "two", "two", "three"], runs);
            Assert.Empty(await runtime.ResumeInterruptedAsync(CancellationToken.None));
            await peer.DisposeAsync();
            await serving.WaitAsync(RawPeer.Timeout);
        }
    }

    [Fact]
    public async Task A_restarted_runtime_resumes_interrupted_jobs_of_a_limited_queue_only_into_its_free_slots()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        var queued = new QueuedJobs(new JobService(store, new JobServiceOptions()));
        var jobIds = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (job, _) = await queued.EnqueueAsync(new JobStart(ArcpId.NewJobId(), "alice", "gated", null, "\"in\"", null, ArcpId.NewMessageId()), "limited", 0, CancellationToken.None);
            jobIds.Add(job.JobId);
        }

        // A worker claimed all three, then went away: they are interrupted, each leased to nobody.
        while (await queued.ClaimNextAsync("wrk_gone", new WorkFilter("alice", ["limited"], null), CancellationToken.None) is { } claimed)
        {
            await queued.ReleaseClaimAsync("wrk_gone", claimed.JobId, CancellationToken.None);
        }

        await queued.SetConcurrencyAsync("limited", 1, CancellationToken.None);
        Assert.Equal(jobIds.Order(), (await queued.ListResumableAsync("wrk_any", new WorkFilter(null, null, null), CancellationToken.None)).Select(j => j.JobId).Order());
        await using var runtime = new ArcpRuntime(store, Options(Gated(gate.Task)));

        var resumed = await runtime.ResumeInterruptedAsync(CancellationToken.None);

        // One job holds the queue's only slot (its step two waits on the gate); the other two wait for it, unleased.
        var driving = Assert.Single(resumed);
        await gateReached.Task.WaitAsync(RawPeer.Timeout);
        foreach (var waiting in jobIds.Where(id => id != driving))
        {
            var record = await store.GetJobAsync(waiting, CancellationToken.None);
            Assert.Null(record!.Lease);
        }

        Assert.Empty(await runtime.ResumeInterruptedAsync(CancellationToken.None));
        gate.SetResult();
    }

    [Fact]
    public async Task Asking_the_runtime_to_drive_a_workflow_it_does_not_have_is_failed_precondition()
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, Options(Gated(Task.CompletedTask)));
        var (peer, serving) = Connect(runtime);
        await peer.OpenAsync("tok");

        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "unknown" }, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "runtime" } });
        (await peer.RequestAsync(start)).AssertNack("FAILED_PRECONDITION", (string)start["id"]!);

        await peer.DisposeAsync();
        await serving.WaitAsync(RawPeer.Timeout);
    }

    public void Dispose() => storeFolder.Dispose();

    private static RuntimeOptions Options(WorkflowDefinition workflow) => new()
    {
        BearerTokens = new Dictionary<string, string> { ["tok"] = "alice" },
        Driver = new WorkflowJobDriver([workflow]),
    };

    /// <summary>Three steps appending their names; step two waits for <paramref name="gate"/> (or the driver's cancellation).</summary>
    private WorkflowDefinition Gated(Task gate)
    {
        StepBody Step(string name, bool gated) => async (context, cancellationToken) =>
        {
            lock (runs)
            {
                runs.Add(name);
            }

            if (gated)
            {
                gateReached.TrySetResult();
                await gate.WaitAsync(cancellationToken);
            }

            var trail = (JsonArray)(context.Input is JsonArray array ? array.DeepClone() : new JsonArray(context.Input?.DeepClone()));
            trail.Add(name);
            return trail;
        };

        return new WorkflowDefinition("gated", [new StepDefinition("one", Step("one", false)), new StepDefinition("two", Step("two", true)), new StepDefinition("three", Step("three", false))]);
    }

    private static (RawPeer Peer, Task Serving) Connect(ArcpRuntime runtime)
    {
        var (client, server) = InMemoryTransport.CreatePair();
        return (new RawPeer(client), Task.Run(() => runtime.ServeAsync(server, CancellationToken.None)));
    }

    /// <summary>The original event of the first <c>subscribe.event</c> carrying <paramref name="type"/>.</summary>
    private static async Task<JsonObject> WaitForEventAsync(RawPeer peer, string type)
    {
        while (true)
        {
            var frame = await peer.ReceiveAsync();
            if (frame.Type() == "subscribe.event" && (string?)frame.Payload()["event"]!["type"] == type)
            {
                return frame.Payload()["event"]!.AsObject();
            }
        }
    }

    private static async Task<JsonObject> QueryAsync(RawPeer peer, string jobId)
    {
        var list = await peer.RequestAsync(peer.Envelope("arcpx.resumability.job_query.v1", new JsonObject { ["job_id"] = jobId }));
        return Assert.Single(list.Payload()["jobs"]!.AsArray())!.AsObject();
    }
}
