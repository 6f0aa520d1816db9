using System.Text.Json.Nodes;
using System.Threading.Channels;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Tests.Core;

/// <summary>
/// The client's subscription API and the runtime's store change feed: two embedded runtimes over one store
/// file stand for two processes, whose events never meet on an in-memory bus.
/// </summary>
public sealed class SubscriptionTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly TestStore store = new();
    private readonly TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task A_subscriber_receives_the_events_another_runtime_commits_to_the_same_store()
    {
        await using var worker = await store.OpenAsync();
        await using var watcher = await store.OpenAsync();
        var run = new StepRunner(worker.Client).StartAsync(BlockingWorkflow(), JsonValue.Create("x"), null, null, null, CancellationToken.None);
        var jobId = await blocked.Task.WaitAsync(Patience);

        var subscription = await watcher.Client.SubscribeAsync(new SubscribePayload { Filter = new SubscriptionFilter { JobId = [jobId] } }, CancellationToken.None);
        await using (subscription)
        {
            release.SetResult();
            var received = await ReadUntilAsync(subscription, e => e.Type == MessageTypes.JobCompleted);
            await run.WaitAsync(Patience);

            var logged = (await watcher.Client.QueryEventsAsync(jobId, null, CancellationToken.None)).Select(e => e.MessageId).ToList();
            var delivered = received.Where(e => e.Type != MessageTypes.EventEmit).ToList();
            Assert.Contains(delivered, e => e.Type == MessageTypes.JobCheckpoint);
            Assert.All(delivered, e => Assert.Equal(jobId, e.JobId));
            Assert.All(delivered, e => Assert.Contains(e.Id, logged));
            Assert.Equal(logged[^1], delivered[^1].Id);
        }

        var finished = await watcher.Client.WaitForJobAsync(jobId, JobWaitTarget.Finished, CancellationToken.None).WaitAsync(Patience);
        Assert.Equal("completed", finished.State);
    }

    [Fact]
    public async Task A_subscriber_hears_that_a_job_was_let_go_although_no_event_says_so()
    {
        var worker = await store.OpenAsync();
        await using var watcher = await store.OpenAsync();
        var run = new StepRunner(worker.Client).StartAsync(BlockingWorkflow(), JsonValue.Create("x"), null, null, null, CancellationToken.None);
        var jobId = await blocked.Task.WaitAsync(Patience);

        var subscription = await watcher.Client.SubscribeAsync(new SubscribePayload { Filter = new SubscriptionFilter { JobId = [jobId] } }, CancellationToken.None);
        await using (subscription)
        {
            var first = await ReadUntilAsync(subscription, IsStatus);
            Assert.Equal(false, StatusOf(first[^1])["interrupted"]?.GetValue<bool>());
            var waiting = watcher.Client.WaitForJobAsync(jobId, JobWaitTarget.FinishedOrInterrupted, CancellationToken.None);
            Assert.False(waiting.IsCompleted);

            // The owner's session ends mid-step: its lease is released in the store, and nothing is logged.
            await worker.DisposeAsync();
            var interrupted = await ReadUntilAsync(subscription, e => IsStatus(e) && StatusOf(e)["interrupted"]?.GetValue<bool>() == true);
            Assert.Equal("running", StatusOf(interrupted[^1])["state"]?.GetValue<string>());

            var job = await waiting.WaitAsync(Patience);
            Assert.True(job.Interrupted);
            Assert.Null(job.Owner);
        }

        // Let the orphaned step end; its runner fails on the closed session, which is not under test here.
        release.SetResult();
        _ = await Record.ExceptionAsync(() => run.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_subscription_ends_when_disposed_fails_when_the_session_ends_and_honours_cancellation()
    {
        var arcp = await store.OpenAsync();
        var run = new StepRunner(arcp.Client).StartAsync(BlockingWorkflow(), JsonValue.Create("x"), null, null, null, CancellationToken.None);
        var jobId = await blocked.Task.WaitAsync(Patience);
        var filter = new SubscribePayload { Filter = new SubscriptionFilter { JobId = [jobId] } };

        var disposed = await arcp.Client.SubscribeAsync(filter, CancellationToken.None);
        await disposed.DisposeAsync();
        Assert.Null(await disposed.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Patience));

        var open = await arcp.Client.SubscribeAsync(filter, CancellationToken.None);
        await ReadUntilAsync(open, IsStatus);
        using (var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await open.ReadAsync(stop.Token));
        }

        // Still open after a cancelled read: the job's next events arrive on it.
        release.SetResult();
        await ReadUntilAsync(open, e => e.Type == MessageTypes.JobCompleted);
        await run.WaitAsync(Patience);

        await arcp.DisposeAsync();
        var ended = await Assert.ThrowsAsync<ArcpException>(async () =>
        {
            using var timeout = new CancellationTokenSource(Patience);
            while (await open.ReadAsync(timeout.Token) is not null)
            {
                // Whatever was delivered before the session ended is still read first.
            }
        });
        Assert.Equal(ErrorCodes.Unavailable, ended.Code);
        await open.DisposeAsync();
    }

    public void Dispose() => store.Dispose();

    private static bool IsStatus(Envelope envelope) =>
        envelope.Type == MessageTypes.EventEmit && envelope.PayloadAs<EventEmitPayload>().Type == MessageTypes.JobStatusEvent;

    private static JsonObject StatusOf(Envelope envelope) => envelope.PayloadAs<EventEmitPayload>().Data ?? [];

    private static async Task<List<Envelope>> ReadUntilAsync(ArcpSubscription subscription, Func<Envelope, bool> last)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var received = new List<Envelope>();
        while (true)
        {
            var envelope = await subscription.ReadAsync(timeout.Token) ?? throw new ChannelClosedException("The subscription closed early.");
            received.Add(envelope);
            if (last(envelope))
            {
                return received;
            }
        }
    }

    private WorkflowDefinition BlockingWorkflow() => new("blocking", [
        new StepDefinition("one", (context, _) => ValueTask.FromResult<JsonNode?>(JsonValue.Create("one"))),
        new StepDefinition("two", async (context, ct) =>
        {
            blocked.TrySetResult(context.JobId);
            await release.Task.WaitAsync(ct);
            return JsonValue.Create("two");
        }),
    ]);
}
