using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Core;

/// <summary>The client waits out a runtime's quota (RESOURCE_EXHAUSTED with retry_after_ms) instead of failing.</summary>
public sealed class ThrottleRetryTests : IDisposable
{
    private static readonly Dictionary<string, string> Tokens = new() { ["tok-a"] = "alice" };
    private readonly TestStore folder = new();

    [Fact]
    public async Task A_client_sending_over_a_tiny_quota_finishes_all_its_work_by_resending_what_was_refused()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        var quota = new QuotaOptions { EventsPerSecond = 40, BytesPerSecond = 1024 * 1024, BurstSeconds = 0.25 };
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens, Quota = quota });
        var (client, sent) = await ConnectAsync(runtime, new ClientOptions { Auth = Bearer });
        await using var _ = client;

        var jobId = (await client.StartWorkflowAsync("chatty", null, null, null, CancellationToken.None)).JobId;
        for (var i = 0; i < 40; i++)
        {
            await client.EmitAsync(MessageTypes.Log, jobId, new LogPayload("info", $"line {i}"), null, CancellationToken.None);
        }

        var workflow = new CountingWorkflow("steps", [.. Enumerable.Range(1, 8).Select(i => $"s{i}")]);
        var run = await new StepRunner(client).StartAsync(workflow.Definition, null, null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Completed, run.State);
        Assert.Null(run.Error);
        Assert.All(workflow.Runs.Values, runs => Assert.Equal(1, runs));
        var logs = (await client.QueryEventsAsync(jobId, null, CancellationToken.None)).Where(e => e.Type == MessageTypes.Log).ToList();
        Assert.Equal(40, logs.Count);
        Assert.True(sent.Resends > 0, "the quota never refused anything, so nothing was waited out");
    }

    [Fact]
    public async Task Cancelling_while_waiting_out_the_quota_stops_the_request_and_nothing_is_stored()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        // One message in the bucket, then one every 20 s: the emit after workflow.start is told to wait about 20 s.
        var quota = new QuotaOptions { EventsPerSecond = 0.05, BytesPerSecond = 1024 * 1024, BurstSeconds = 20 };
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens, Quota = quota });
        var (client, sent) = await ConnectAsync(runtime, new ClientOptions { Auth = Bearer });
        await using var _ = client;
        var jobId = (await client.StartWorkflowAsync("throttled", null, null, null, CancellationToken.None)).JobId;

        using var cancellation = new CancellationTokenSource();
        var emit = client.EmitAsync(MessageTypes.Log, jobId, new LogPayload("info", "too soon"), null, cancellation.Token);
        await sent.Refused.Task.WaitAsync(TimeSpan.FromSeconds(10));
        cancellation.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => emit.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, sent.Resends);
        Assert.Null(await store.FindEventAsync(sent.LastSentId!, CancellationToken.None));
    }

    [Fact]
    public async Task A_wait_longer_than_the_budget_surfaces_the_refusal_at_once()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        var quota = new QuotaOptions { EventsPerSecond = 0.05, BytesPerSecond = 1024 * 1024, BurstSeconds = 20 };
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens, Quota = quota });
        var options = new ClientOptions { Auth = Bearer, ThrottleRetry = new ThrottleRetryOptions { MaxTotalWait = TimeSpan.FromSeconds(1) } };
        var (client, sent) = await ConnectAsync(runtime, options);
        await using var _ = client;
        var jobId = (await client.StartWorkflowAsync("throttled", null, null, null, CancellationToken.None)).JobId;

        var refused = await Assert.ThrowsAsync<ArcpException>(() => client.EmitAsync(MessageTypes.Log, jobId, new LogPayload("info", "too soon"), null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(ErrorCodes.ResourceExhausted, refused.Code);
        Assert.True(refused.Error.Details?["retry_after_ms"]?.GetValue<long>() > 1000);
        Assert.Equal(0, sent.Resends);
    }

    [Fact]
    public void Options_that_cannot_work_are_refused_by_name()
    {
        Assert.Equal("MaxRetries", Assert.Throws<ArgumentException>(() => new ThrottleRetryOptions { MaxRetries = 0 }.Validate()).ParamName);
        Assert.Equal("MaxTotalWait", Assert.Throws<ArgumentException>(() => new ThrottleRetryOptions { MaxTotalWait = TimeSpan.Zero }.Validate()).ParamName);
    }

    private static AuthBlock Bearer { get; } = new("bearer", "tok-a");

    public void Dispose() => folder.Dispose();

    private static async Task<(ArcpClient Client, CountingConnection Sent)> ConnectAsync(ArcpRuntime runtime, ClientOptions options)
    {
        var (client, server) = InMemoryTransport.CreatePair();
        _ = Task.Run(() => runtime.ServeAsync(server, CancellationToken.None));
        var counting = new CountingConnection(client);
        return (await ArcpClient.ConnectAsync(counting, options, CancellationToken.None), counting);
    }

    /// <summary>Sees the client's frames (counting ids sent more than once) and the runtime's RESOURCE_EXHAUSTED refusals.</summary>
    private sealed class CountingConnection(IArcpConnection inner) : IArcpConnection
    {
        private readonly HashSet<string> ids = new(StringComparer.Ordinal);
        private int resends;

        public int Resends => Volatile.Read(ref resends);

        public string? LastSentId { get; private set; }

        public TaskCompletionSource Refused { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask SendAsync(string frame, CancellationToken cancellationToken)
        {
            var id = EnvelopeCodec.Parse(frame).Id;
            lock (ids)
            {
                if (!ids.Add(id))
                {
                    Interlocked.Increment(ref resends);
                }

                LastSentId = id;
            }

            return inner.SendAsync(frame, cancellationToken);
        }

        public async ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken)
        {
            var frame = await inner.ReceiveAsync(cancellationToken);
            if (frame is not null && frame.Contains(ErrorCodes.ResourceExhausted, StringComparison.Ordinal))
            {
                Refused.TrySetResult();
            }

            return frame;
        }

        public void Close() => inner.Close();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
