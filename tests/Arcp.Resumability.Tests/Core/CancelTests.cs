using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Core;

/// <summary>§10.4 cancel: refused, accepted-and-done for jobs nobody drives, relayed to a live owner.</summary>
public sealed class CancelTests : IDisposable
{
    private readonly TestStore store = new();

    [Fact]
    public async Task A_job_driven_elsewhere_stops_at_the_next_clean_checkpoint()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocked = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ran = new List<string>();
        var workflow = new WorkflowDefinition("blocking", [
            Step("one", ran),
            new StepDefinition("two", async (context, ct) =>
            {
                ran.Add("two");
                blocked.TrySetResult(context.JobId);
                await release.Task.WaitAsync(ct);
                return JsonValue.Create("two done");
            }),
            Step("three", ran),
        ]);
        await using var owner = await store.OpenAsync();
        await using var operatorSession = await store.OpenAsync();

        var run = new StepRunner(owner.Client).StartAsync(workflow, null, null, null, null, CancellationToken.None);
        var jobId = await blocked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var outcome = await operatorSession.Client.CancelJobAsync(jobId, "operator", TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.True(outcome.Accepted);
        Assert.Equal(JobStates.Running, outcome.State);
        release.SetResult();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(JobStates.Cancelled, result.State);
        Assert.Equal(ErrorCodes.Cancelled, result.Error?.Code);
        Assert.Contains("after step 'two'", result.Error?.Message, StringComparison.Ordinal);
        Assert.Equal(["one", "two"], ran);
        var checkpoints = await operatorSession.Client.QueryCheckpointsAsync(jobId, null, CancellationToken.None);
        Assert.Equal(["one", "two"], checkpoints.Select(c => c.Step));
        var events = await operatorSession.Client.QueryEventsAsync(jobId, null, CancellationToken.None);
        Assert.Equal(MessageTypes.JobCancelled, events[^1].Type);
        Assert.Contains(events, e => e.Type == MessageTypes.Cancel);
    }

    [Fact]
    public async Task A_job_nobody_drives_is_cancelled_by_the_runtime_at_once()
    {
        string jobId;
        await using (var arcp = await store.OpenAsync())
        {
            jobId = (await arcp.Client.StartWorkflowAsync("w", null, null, null, CancellationToken.None)).JobId;
        }

        await using var operatorSession = await store.OpenAsync();
        var outcome = await operatorSession.Client.CancelJobAsync(jobId, "cleanup", null, CancellationToken.None);

        Assert.True(outcome.Accepted);
        Assert.Equal(JobStates.Cancelled, outcome.State);
        var job = Assert.Single(await operatorSession.Client.QueryJobsAsync(new JobQueryPayload { JobId = jobId }, CancellationToken.None));
        Assert.Equal(JobStates.Cancelled, job.State);
        Assert.Equal(ErrorCodes.Cancelled, job.Error?.Code);
        var events = await operatorSession.Client.QueryEventsAsync(jobId, null, CancellationToken.None);
        Assert.Equal([MessageTypes.JobAccepted, MessageTypes.JobStarted, MessageTypes.Cancel, MessageTypes.JobCancelled], events.Select(e => e.Type));
    }

    [Fact]
    public async Task A_finished_job_or_another_target_is_refused()
    {
        await using var arcp = await store.OpenAsync();
        var result = await new StepRunner(arcp.Client).StartAsync(new WorkflowDefinition("w", [Step("only", [])]), null, null, null, null, CancellationToken.None);

        var terminal = await arcp.Client.CancelJobAsync(result.JobId, null, null, CancellationToken.None);
        Assert.False(terminal.Accepted);
        Assert.Equal(CancelRefusals.AlreadyTerminal, terminal.RefusedReason);

        var stream = await arcp.Client.RequestAsync(Envelope.Create(MessageTypes.Cancel, new CancelPayload("stream", "str_1"), arcp.Client.SessionId), CancellationToken.None);
        Assert.Equal(MessageTypes.CancelRefused, stream.Type);
        Assert.Equal(CancelRefusals.NotCancellable, stream.PayloadAs<CancelRefusedPayload>().Reason);
    }

    [Fact]
    public async Task Another_principals_job_cannot_be_cancelled()
    {
        await using var sqlite = await SqliteArcpStore.OpenAsync(store.Path, CancellationToken.None);
        var runtime = new ArcpRuntime(sqlite, new RuntimeOptions { BearerTokens = new Dictionary<string, string> { ["alice-token"] = "alice", ["bob-token"] = "bob" } });
        using var stop = new CancellationTokenSource();
        var (aliceEnd, aliceServer) = InMemoryTransport.CreatePair();
        var (bobEnd, bobServer) = InMemoryTransport.CreatePair();
        var serving = Task.WhenAll(runtime.ServeAsync(aliceServer, stop.Token), runtime.ServeAsync(bobServer, stop.Token));
        await using (var alice = await ArcpClient.ConnectAsync(aliceEnd, new ClientOptions { Auth = new AuthBlock("bearer", "alice-token") }, CancellationToken.None))
        await using (var bob = await ArcpClient.ConnectAsync(bobEnd, new ClientOptions { Auth = new AuthBlock("bearer", "bob-token") }, CancellationToken.None))
        {
            var jobId = (await alice.StartWorkflowAsync("w", null, null, null, CancellationToken.None)).JobId;

            var denied = await Assert.ThrowsAsync<ArcpException>(() => bob.CancelJobAsync(jobId, null, null, CancellationToken.None));

            Assert.Equal(ErrorCodes.NotFound, denied.Error.Code);
            Assert.Equal(JobStates.Running, Assert.Single(await alice.QueryJobsAsync(new JobQueryPayload { JobId = jobId }, CancellationToken.None)).State);
        }

        await stop.CancelAsync();
        await serving;
    }

    public void Dispose() => store.Dispose();

    private static StepDefinition Step(string name, List<string> ran) => new(name, (_, _) =>
    {
        ran.Add(name);
        return ValueTask.FromResult<JsonNode?>(JsonValue.Create(name + " done"));
    });
}
