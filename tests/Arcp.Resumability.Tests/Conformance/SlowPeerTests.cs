using System.IO.Pipelines;
using System.Text.Json.Nodes;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>A subscriber that stops reading loses its own session; the session publishing never waits for it.</summary>
public sealed class SlowPeerTests : IDisposable
{
    private readonly TestStore storeFolder = new();

    [Fact]
    public async Task A_subscriber_that_never_reads_is_disconnected_while_the_publisher_goes_on_unhindered()
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = new Dictionary<string, string> { ["tok"] = "alice" } });
        var impatient = new TransportOptions { SendQueueCapacity = 4, SendTimeout = TimeSpan.FromMilliseconds(200) };

        var (stuckPeer, stuckServing) = Connect(runtime, impatient);
        await stuckPeer.OpenAsync("tok");
        var stuckSession = stuckPeer.SessionId!;
        Assert.Equal("subscribe.accepted", (await stuckPeer.RequestAsync(stuckPeer.Envelope("subscribe"))).Type());

        var (publisher, publisherServing) = Connect(runtime, new TransportOptions());
        await publisher.OpenAsync("tok");
        var jobId = await publisher.StartJobAsync("mine", null, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });

        // Far more than the stuck peer's pipe, send queue and send timeout can absorb; none of it may wait on it.
        for (var i = 0; i < 250; i++)
        {
            var progress = publisher.Envelope("job.progress", new JsonObject { ["percent"] = i / 4.0, ["message"] = new string('p', 400) }, new JsonObject { ["job_id"] = jobId });
            Assert.Equal("ack", (await publisher.RequestAsync(progress).WaitAsync(TimeSpan.FromSeconds(5))).Type());
        }

        await stuckServing.WaitAsync(RawPeer.Timeout);
        Assert.Null(runtime.SessionPrincipal(stuckSession));
        Assert.Equal("pong", (await publisher.RequestAsync(publisher.Envelope("ping"))).Type());

        await stuckPeer.DisposeAsync();
        await publisher.DisposeAsync();
        await publisherServing.WaitAsync(RawPeer.Timeout);
    }

    public void Dispose() => storeFolder.Dispose();

    private static (RawPeer Peer, Task Serving) Connect(ArcpRuntime runtime, TransportOptions serverOptions)
    {
        var toRuntime = new Pipe();
        var toClient = new Pipe();
        var server = new StreamConnection(toRuntime.Reader.AsStream(), toClient.Writer.AsStream(), serverOptions);
        var serving = Task.Run(async () =>
        {
            await using (server)
            {
                await runtime.ServeAsync(server, CancellationToken.None);
            }
        });
        return (new RawPeer(new StreamConnection(toClient.Reader.AsStream(), toRuntime.Writer.AsStream())), serving);
    }
}
