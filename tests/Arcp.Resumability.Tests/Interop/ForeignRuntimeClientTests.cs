using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Interop;

/// <summary>
/// Our client against a minimal runtime that answers the way RFC 0001 allows but our runtime does not:
/// <c>session.accepted</c> without <c>correlation_id</c> (as §8.3's example shows it), no extension advertised,
/// and every other command refused with a <c>nack</c> that carries only <c>payload.ack_for</c>. Every client
/// operation the cmdlets use must fail fast with a clear error; the client's timeout is set far above the
/// test's own deadline, so an operation that waited for it fails the test.
/// </summary>
public sealed class ForeignRuntimeClientTests
{
    private static readonly TimeSpan FastEnough = TimeSpan.FromSeconds(10);

    private static readonly ClientOptions Patient = new() { RequestTimeout = TimeSpan.FromMinutes(10) };

    [Fact]
    public async Task Commands_the_peer_refuses_with_an_uncorrelated_nack_fail_with_its_error()
    {
        await using var peer = await ForeignRuntime.StartAsync(answer: true);
        await using var client = await ArcpClient.ConnectAsync(peer.ClientEnd, Patient, CancellationToken.None).WaitAsync(FastEnough);

        Assert.False(client.SupportsResumability);
        await AssertRefusedAsync(ErrorCodes.Unimplemented, () => client.StartWorkflowAsync("w", null, null, null, CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.Unimplemented, () => client.CancelJobAsync("job_x", null, null, CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.Unimplemented, () => client.SubscribeAsync(new SubscribePayload(), CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.Unimplemented, () => client.WaitForJobAsync("job_x", JobWaitTarget.Finished, CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.Unimplemented, () => client.EmitAsync(MessageTypes.JobProgress, "job_x", new JsonObject { ["percent"] = 1 }, null, CancellationToken.None));
    }

    [Fact]
    public async Task Operations_that_need_our_extension_fail_before_sending_when_it_is_not_advertised()
    {
        await using var peer = await ForeignRuntime.StartAsync(answer: true);
        await using var client = await ArcpClient.ConnectAsync(peer.ClientEnd, Patient, CancellationToken.None).WaitAsync(FastEnough);
        var sentAfterOpen = peer.Received.Count;

        await AssertRefusedAsync(ErrorCodes.FailedPrecondition, () => client.StartOnRuntimeAsync("w", null, null, null, CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.FailedPrecondition, () => client.ResumeAsync("job_x", null, null, CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.FailedPrecondition, () => client.ResumeOnRuntimeAsync("job_x", CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.FailedPrecondition, () => client.LookupStepAsync("job_x", "key", CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.FailedPrecondition, () => client.QueryJobsAsync(new JobQueryPayload(), CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.FailedPrecondition, () => client.QueryCheckpointsAsync("job_x", null, CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.FailedPrecondition, () => client.QueryEventsAsync("job_x", null, CancellationToken.None));
        await AssertRefusedAsync(ErrorCodes.FailedPrecondition, () => client.RequestAsync(Envelope.Create(MessageTypes.Shutdown, new JsonObject(), client.SessionId), CancellationToken.None));

        Assert.Equal(sentAfterOpen, peer.Received.Count);
    }

    [Fact]
    public async Task A_peer_that_never_answers_fails_the_command_with_deadline_exceeded_naming_the_request_type()
    {
        await using var peer = await ForeignRuntime.StartAsync(answer: false);
        await using var client = await ArcpClient.ConnectAsync(peer.ClientEnd, Patient with { RequestTimeout = TimeSpan.FromMilliseconds(300) }, CancellationToken.None).WaitAsync(FastEnough);

        var error = await Assert.ThrowsAsync<ArcpException>(() => client.CancelJobAsync("job_x", null, null, CancellationToken.None).WaitAsync(FastEnough));

        Assert.Equal(ErrorCodes.DeadlineExceeded, error.Error.Code);
        Assert.Contains("did not answer 'cancel'", error.Message, StringComparison.Ordinal);
        Assert.Equal("cancel", (string?)error.Error.Details!["request_type"]);
    }

    [Fact]
    public void The_default_request_timeout_is_well_under_two_minutes() =>
        Assert.True(new ClientOptions().RequestTimeout <= TimeSpan.FromSeconds(30));

    private static async Task AssertRefusedAsync(string code, Func<Task> operation)
    {
        var error = await Assert.ThrowsAsync<ArcpException>(() => operation().WaitAsync(FastEnough));
        Assert.Equal(code, error.Error.Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        if (code == ErrorCodes.FailedPrecondition)
        {
            Assert.Contains(MessageTypes.ResumabilityExtension, error.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>The foreign runtime: reads frames as raw JSON and answers in the RFC's shapes, never ours.</summary>
    private sealed class ForeignRuntime : IAsyncDisposable
    {
        private readonly IArcpConnection serverEnd;
        private readonly CancellationTokenSource stop = new();
        private Task serving = Task.CompletedTask;

        private ForeignRuntime(IArcpConnection clientEnd, IArcpConnection serverEnd)
        {
            ClientEnd = clientEnd;
            this.serverEnd = serverEnd;
        }

        public IArcpConnection ClientEnd { get; }

        public List<JsonObject> Received { get; } = [];

        public static Task<ForeignRuntime> StartAsync(bool answer)
        {
            var (client, server) = InMemoryTransport.CreatePair();
            var runtime = new ForeignRuntime(client, server);
            runtime.serving = Task.Run(() => runtime.ServeAsync(answer, runtime.stop.Token));
            return Task.FromResult(runtime);
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            try
            {
                await serving;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }

            await serverEnd.DisposeAsync();
            stop.Dispose();
        }

        private async Task ServeAsync(bool answer, CancellationToken cancellationToken)
        {
            var count = 0;
            while (await serverEnd.ReceiveAsync(cancellationToken) is { } text)
            {
                var frame = JsonNode.Parse(text)!.AsObject();
                lock (Received)
                {
                    Received.Add(frame);
                }

                var type = (string)frame["type"]!;
                if (type == "session.open")
                {
                    await SendAsync(new JsonObject
                    {
                        ["arcp"] = "1.0",
                        ["id"] = $"msg_foreign{++count}",
                        ["type"] = "session.accepted",
                        ["timestamp"] = Now(),
                        ["payload"] = new JsonObject
                        {
                            ["session_id"] = "sess_foreign",
                            ["runtime"] = new JsonObject { ["kind"] = "foreign-runtime", ["version"] = "0.1.0" },
                            ["capabilities"] = new JsonObject { ["streaming"] = true },
                        },
                    }, cancellationToken);
                }
                else if (answer)
                {
                    await SendAsync(new JsonObject
                    {
                        ["arcp"] = "1.0",
                        ["id"] = $"msg_foreign{++count}",
                        ["type"] = "nack",
                        ["session_id"] = "sess_foreign",
                        ["timestamp"] = Now(),
                        ["payload"] = new JsonObject { ["ack_for"] = (string)frame["id"]!, ["code"] = "UNIMPLEMENTED", ["message"] = $"'{type}' is not supported here." },
                    }, cancellationToken);
                }
            }
        }

        private Task SendAsync(JsonObject frame, CancellationToken cancellationToken) => serverEnd.SendAsync(frame.ToJsonString(), cancellationToken).AsTask();

        private static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }
}
