using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Conformance;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Security;

/// <summary>Issue 9, findings 1, 2, 3, 4, 9 and 15: hostile frames sent to a runtime session as raw text.</summary>
[Trait("Category", "Security")]
#pragma warning disable CA1001 // xunit disposes through IAsyncLifetime.DisposeAsync
public sealed class FrameAttackTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private const string AliceToken = "tok-alice-7c1d";
    private readonly TestStore folder = new();
    private readonly List<RawPeer> peers = [];
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> serving = [];
    private SqliteArcpStore? store;
    private ArcpRuntime? runtime;

    public async Task InitializeAsync()
    {
        store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = new Dictionary<string, string> { [AliceToken] = "alice", ["tok-bob"] = "bob" } });
    }

    public async Task DisposeAsync()
    {
        foreach (var peer in peers)
        {
            await peer.DisposeAsync();
        }

        await stop.CancelAsync();
        await Task.WhenAll(serving).WaitAsync(TimeSpan.FromSeconds(15));
        await runtime!.DisposeAsync();
        await store!.DisposeAsync();
        stop.Dispose();
        folder.Dispose();
    }

    [Theory]
    [InlineData("""{"arcp":"1.0","id":"d1","id":"d2","type":"ping","timestamp":"2026-01-01T00:00:00Z","payload":{}}""", "repeats the key 'id'")]
    [InlineData("""{"arcp":"1.0","id":"s1","type":"ping","timestamp":"2026-01-01T00:00:00Z","trace_id":"\ud800","payload":{}}""", "lone UTF-16 surrogate")]
    public async Task A_duplicate_key_or_lone_surrogate_as_the_first_frame_is_answered_and_the_connection_lives_on(string hostile, string expected)
    {
        var peer = Connect();

        await peer.SendRawAsync(hostile);
        var nack = await peer.ReceiveAsync();

        nack.AssertNack("INVALID_ARGUMENT", null);
        Assert.Contains(expected, (string)nack.Payload()["message"]!, StringComparison.Ordinal);
        Assert.Equal("session.accepted", (await peer.OpenAsync(AliceToken)).Type());
        await peer.SendRawAsync(hostile);
        (await peer.ReceiveAsync()).AssertNack("INVALID_ARGUMENT", null);
        Assert.Equal("pong", (await peer.RequestAsync(peer.Envelope("ping"))).Type());
    }

    [Fact]
    public async Task Reusing_another_principals_message_id_does_not_return_their_stored_answer()
    {
        var alice = Connect();
        await alice.OpenAsync(AliceToken);
        var query = alice.Envelope("arcpx.resumability.checkpoint_query.v1", new JsonObject { ["job_id"] = "job_nonexistent" });
        var aliceAnswer = await alice.RequestAsync(query);
        var bob = Connect();
        await bob.OpenAsync("tok-bob");

        var stolen = bob.Envelope("ping", extra: new JsonObject { ["id"] = (string)query["id"]! });
        var bobAnswer = await bob.RequestAsync(stolen);

        bobAnswer.AssertNack("INVALID_ARGUMENT", (string)query["id"]!);
        Assert.DoesNotContain((string)aliceAnswer["id"]!, bob.Received.Last(), StringComparison.Ordinal);
        Assert.DoesNotContain(alice.SessionId!, string.Join('\n', bob.Received.Skip(1)), StringComparison.Ordinal);
        // Alice's own retransmission is still answered (query answers are not stored, so it is run again for her).
        var again = await alice.RequestAsync(query);
        Assert.Equal((string)aliceAnswer["type"]!, (string)again["type"]!);
        Assert.Equal((string)query["id"]!, (string)again["correlation_id"]!);
    }

    [Fact]
    public async Task A_checkpoint_id_taken_by_another_principals_job_is_refused_without_ending_the_session()
    {
        var alice = Connect();
        await alice.OpenAsync(AliceToken);
        var aliceJob = await StartClientJobAsync(alice);
        Assert.Equal("ack", (await alice.RequestAsync(Checkpoint(alice, aliceJob, "chk_shared", "one"))).Type());
        var bob = Connect();
        await bob.OpenAsync("tok-bob");
        var bobJob = await StartClientJobAsync(bob);

        var taken = Checkpoint(bob, bobJob, "chk_shared", "one");
        var refused = await bob.RequestAsync(taken);
        var fresh = Checkpoint(bob, bobJob, "chk_never_used_" + Guid.NewGuid().ToString("N"), "one");

        refused.AssertNack("INVALID_ARGUMENT", (string)taken["id"]!);
        Assert.DoesNotContain(aliceJob, refused.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("UNIQUE", refused.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("ack", (await bob.RequestAsync(fresh)).Type());
    }

    [Fact]
    public async Task Reading_the_event_log_yields_no_bearer_token_from_session_open()
    {
        var peer = Connect();
        await peer.OpenAsync(AliceToken);
        await peer.RequestAsync(peer.Envelope("ping"));

        // Every byte of the store's files (database, WAL), as a backup or a DBA would see them.
        var bytes = string.Concat(Directory.GetFiles(Path.GetDirectoryName(folder.Path)!, "*", SearchOption.AllDirectories).Select(ReadShared));

        Assert.Contains("session.open", bytes, StringComparison.Ordinal);
        Assert.Contains("token_redacted", bytes, StringComparison.Ordinal);
        Assert.DoesNotContain(AliceToken, bytes, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Junk_frames_and_wrong_tokens_before_authentication_are_answered_but_never_stored()
    {
        var before = await store!.GetLastSequenceAsync(CancellationToken.None);
        var peer = Connect();

        await peer.SendRawAsync("not json at all");
        (await peer.ReceiveAsync()).AssertNack("INVALID_ARGUMENT", null);
        Assert.Equal("session.rejected", (await peer.OpenAsync("tok-wrong")).Type());
        await peer.SendAsync(peer.Envelope("ping"));
        await peer.SendRawAsync("[1,2");
        (await peer.ReceiveAsync()).AssertNack("INVALID_ARGUMENT", null);

        Assert.Equal(before, await store.GetLastSequenceAsync(CancellationToken.None));
        Assert.True(runtime!.UnauthenticatedFrames >= 4, $"counted {runtime.UnauthenticatedFrames}");
    }

    [Fact]
    public async Task A_newline_in_a_type_or_id_cannot_forge_a_diagnostics_line()
    {
        var lines = new List<string>();
        await using var logged = new ArcpRuntime(store!, new RuntimeOptions { BearerTokens = new Dictionary<string, string> { [AliceToken] = "alice" }, Diagnostics = lines.Add });
        var (client, server) = InMemoryTransport.CreatePair();
        serving.Add(logged.ServeAsync(server, stop.Token));
        var peer = Track(new RawPeer(client));

        await peer.SendAsync(peer.Envelope("ping\nFORGED: runtime compromised", extra: new JsonObject { ["id"] = "x\r\nFORGED: id" }));
        await peer.OpenAsync(AliceToken);

        var dropped = Assert.Single(lines, l => l.StartsWith("Dropped", StringComparison.Ordinal));
        Assert.DoesNotContain('\n', dropped);
        Assert.DoesNotContain('\r', dropped);
        Assert.Contains("\\u000a", dropped, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probing_another_principals_job_id_reads_the_same_as_a_missing_job()
    {
        var alice = Connect();
        await alice.OpenAsync(AliceToken);
        var aliceJob = await StartClientJobAsync(alice);
        var bob = Connect();
        await bob.OpenAsync("tok-bob");

        var foreign = await bob.RequestAsync(bob.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = aliceJob }));
        var missing = await bob.RequestAsync(bob.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = "job_missing" }));

        Assert.Equal("NOT_FOUND", (string?)foreign.Payload()["code"]);
        Assert.Equal(((string)missing.Payload()["message"]!).Replace("job_missing", aliceJob, StringComparison.Ordinal), (string)foreign.Payload()["message"]!);
    }

    [Fact]
    public async Task A_payload_of_the_wrong_shape_is_refused_without_naming_dotnet_types()
    {
        var peer = Connect();

        var open = peer.Envelope("session.open", new JsonObject { ["auth"] = "not-an-object" });
        var answer = await peer.RequestAsync(open);

        Assert.Equal("session.rejected", answer.Type());
        var message = (string)answer.Payload()["message"]!;
        Assert.Contains("$.auth", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Arcp.", message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", message, StringComparison.Ordinal);
    }

    private static JsonObject Checkpoint(RawPeer peer, string jobId, string checkpointId, string step) => peer.Envelope(
        "job.checkpoint",
        new JsonObject
        {
            ["checkpoint_id"] = checkpointId,
            ["label"] = step,
            ["snapshot"] = new JsonObject { ["step"] = step, ["step_index"] = 0, ["step_count"] = 1, ["output"] = step },
        },
        new JsonObject { ["job_id"] = jobId, ["idempotency_key"] = $"key:{jobId}:{step}:{checkpointId}" });

    private static Task<string> StartClientJobAsync(RawPeer peer) =>
        peer.StartJobAsync("mine", "in", new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver"] = "client" } });

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, System.Text.Encoding.Latin1);
        return reader.ReadToEnd();
    }

    private RawPeer Connect()
    {
        var (client, server) = InMemoryTransport.CreatePair();
        serving.Add(runtime!.ServeAsync(server, stop.Token));
        return Track(new RawPeer(client));
    }

    private RawPeer Track(RawPeer peer)
    {
        peers.Add(peer);
        return peer;
    }
}
