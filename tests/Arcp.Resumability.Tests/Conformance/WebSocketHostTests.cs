using System.Text.Json.Nodes;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Runtime.Hosting;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Tests.Transports;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>The WebSocket host's life cycle: TLS, a dead peer, and a stop that leaves jobs resumable.</summary>
public sealed class WebSocketHostTests : IDisposable
{
    private readonly TestStore storeFolder = new();

    [Fact]
    public async Task Stopping_the_host_ends_its_sessions_and_leaves_their_jobs_resumable()
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = new Dictionary<string, string> { ["tok"] = "alice" } });
        var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null);
        await using var peer = new RawPeer(await WebSocketConnection.ConnectAsync(host.Address, null, null, CancellationToken.None));
        await peer.OpenAsync("tok");
        var jobId = await peer.StartJobAsync("mine", null, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });
        Assert.Equal(1, host.ActiveSessions);
        // A client keeps reading, which is what lets the close handshake complete at once.
        var unread = new List<string>();
        var reading = Task.Run(async () =>
        {
            while (await peer.Connection.ReceiveAsync(CancellationToken.None) is { } frame)
            {
                unread.Add(frame);
            }
        });

        await host.DisposeAsync();

        Assert.Equal(0, host.ActiveSessions);
        var job = await store.GetJobAsync(jobId, CancellationToken.None);
        Assert.Null(job!.Lease);
        Assert.Equal("running", job.State);
        // The connection ends cleanly after the frames already sent (job.started was still unread).
        await reading.WaitAsync(RawPeer.Timeout);
        Assert.Contains("\"job.started\"", Assert.Single(unread), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_that_vanishes_mid_session_loses_its_lease_while_other_sessions_go_on()
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = new Dictionary<string, string> { ["tok"] = "alice" } });
        using var certificate = WebSocketConnectionTests.SelfSigned();
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("wss://127.0.0.1:0/arcp"), certificate, null);
        async Task<RawPeer> ConnectAsync() => new(await WebSocketConnection.ConnectAsync(
            host.Address,
            null,
            o => o.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == certificate.GetCertHashString(),
            CancellationToken.None));

        var doomed = await ConnectAsync();
        await doomed.OpenAsync("tok");
        var jobId = await doomed.StartJobAsync("mine", null, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });
        await using var survivor = await ConnectAsync();
        await survivor.OpenAsync("tok");

        await doomed.DisposeAsync();

        JsonObject? job = null;
        for (var attempt = 0; attempt < 100 && (job is null || !(bool)job["interrupted"]!); attempt++)
        {
            await Task.Delay(50);
            var list = await survivor.RequestAsync(survivor.Envelope("arcpx.resumability.job_query.v1", new JsonObject { ["job_id"] = jobId }));
            job = list.Payload()["jobs"]![0]!.AsObject();
        }

        Assert.True((bool)job!["interrupted"]!);
        await survivor.SendAsync(survivor.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = jobId }));
        Assert.Equal("ack", (await survivor.ReceiveAsync()).Type());
    }

    public void Dispose() => storeFolder.Dispose();
}
