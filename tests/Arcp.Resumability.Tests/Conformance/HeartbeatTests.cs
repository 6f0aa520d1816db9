using System.Text.Json.Nodes;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>§10.3 with heartbeat_recovery "block", on a manual clock so no test waits for real deadlines.</summary>
#pragma warning disable CA1001 // xunit disposes through IAsyncLifetime.DisposeAsync.
public sealed class HeartbeatTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private readonly TestStore storeFolder = new();
    private readonly ManualClock clock = new(DateTimeOffset.UtcNow);
    private readonly List<(RawPeer Peer, Task Serving)> peers = [];
    private SqliteArcpStore? store;
    private ArcpRuntime? runtime;

    public async Task InitializeAsync()
    {
        store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        runtime = new ArcpRuntime(store, new RuntimeOptions
        {
            BearerTokens = new Dictionary<string, string> { ["tok"] = "alice" },
            HeartbeatInterval = TimeSpan.FromSeconds(15),
            Clock = clock,
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var (peer, serving) in peers)
        {
            await peer.DisposeAsync();
            await serving.WaitAsync(RawPeer.Timeout);
        }

        await runtime!.DisposeAsync();
        await store!.DisposeAsync();
        storeFolder.Dispose();
    }

    [Fact]
    public async Task An_owner_that_misses_two_heartbeat_deadlines_gets_its_job_blocked_and_anyone_may_resume_it()
    {
        var owner = await OpenAsync();
        var jobId = await owner.StartJobAsync("mine", null, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });

        clock.Advance(TimeSpan.FromSeconds(31));
        await runtime!.Liveness.CheckAsync();

        var job = await QueryAsync(owner, jobId);
        Assert.Equal("blocked", (string?)job["state"]);
        Assert.True((bool)job["interrupted"]!);
        var late = owner.Envelope("job.progress", new JsonObject { ["percent"] = 5, ["message"] = "still here" }, new JsonObject { ["job_id"] = jobId });
        (await owner.RequestAsync(late)).AssertNack("PERMISSION_DENIED", (string)late["id"]!);

        var rescuer = await OpenAsync();
        await rescuer.SendAsync(rescuer.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = jobId }));
        Assert.Equal("ack", (await rescuer.ReceiveAsync()).Type());
        var (blocked, _) = await rescuer.ReceiveUntilAsync("event.emit");
        Assert.Equal("job.blocked", (string?)blocked.Payload()["type"]);
        Assert.Equal("HEARTBEAT_LOST", (string?)blocked.Payload()["data"]!["code"]);
        var (marker, _) = await rescuer.ReceiveUntilAsync("event.emit");
        Assert.Equal("resume.replay_complete", (string?)marker.Payload()["type"]);
        Assert.Equal("running", (string?)(await QueryAsync(rescuer, jobId))["state"]);
    }

    [Fact]
    public async Task Heartbeats_within_the_deadline_keep_the_job_with_its_owner()
    {
        var owner = await OpenAsync();
        var jobId = await owner.StartJobAsync("mine", null, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });

        for (var beat = 1; beat <= 3; beat++)
        {
            clock.Advance(TimeSpan.FromSeconds(20));
            var heartbeat = owner.Envelope("job.heartbeat", new JsonObject { ["sequence"] = beat, ["deadline_ms"] = 30_000, ["state"] = "running" }, new JsonObject { ["job_id"] = jobId });
            Assert.Equal("ack", (await owner.RequestAsync(heartbeat)).Type());
            await runtime!.Liveness.CheckAsync();
        }

        var job = await QueryAsync(owner, jobId);
        Assert.Equal("running", (string?)job["state"]);
        Assert.False((bool)job["interrupted"]!);
    }

    private async Task<RawPeer> OpenAsync()
    {
        var (client, server) = InMemoryTransport.CreatePair();
        var serving = Task.Run(() => runtime!.ServeAsync(server, CancellationToken.None));
        var peer = new RawPeer(client);
        peers.Add((peer, serving));
        Assert.Equal("session.accepted", (await peer.OpenAsync("tok")).Type());
        return peer;
    }

    private static async Task<JsonObject> QueryAsync(RawPeer peer, string jobId)
    {
        var list = await peer.RequestAsync(peer.Envelope("arcpx.resumability.job_query.v1", new JsonObject { ["job_id"] = jobId }));
        return Assert.Single(list.Payload()["jobs"]!.AsArray())!.AsObject();
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset now = start;

        public override DateTimeOffset GetUtcNow() => now;

        public void Advance(TimeSpan by) => now += by;
    }
}
