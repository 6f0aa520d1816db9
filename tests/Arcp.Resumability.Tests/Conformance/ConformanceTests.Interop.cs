using System.Text.Json.Nodes;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>
/// Interoperability with other ARCP implementations (docs/protocol.md, "Talking to other ARCP implementations"):
/// frames written the way the RFC's examples and the seed example show them.
/// </summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public async Task S21_1_every_extension_key_the_runtime_sends_ends_in_a_version()
    {
        var peer = await PeerAsync();
        var accepted = await peer.OpenAsync("tok-alice");
        var capabilities = accepted.Payload()["capabilities"]!.AsObject();
        Assert.All(capabilities.Select(pair => pair.Key).Where(key => key.StartsWith("arcpx.", StringComparison.Ordinal)), key => Assert.Matches(@"\.v[0-9]+$", key));

        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "counting", ["inputs"] = "in" });
        await peer.SendAsync(start);
        var jobAccepted = await peer.ReceiveAsync();
        Assert.Equal("job.accepted", jobAccepted.Type());
        Assert.All(jobAccepted["extensions"]!.AsObject().Select(pair => pair.Key), key => Assert.Matches(@"\.v[0-9]+$", key));
    }

    [Fact]
    public async Task The_driver_extension_under_its_old_unversioned_name_is_still_honoured()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "counting", ["inputs"] = "in" }, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver"] = "client" } });
        await peer.SendAsync(start);
        var accepted = await peer.ReceiveAsync();

        Assert.Equal("job.accepted", accepted.Type());
        Assert.Equal("client", (string?)accepted["extensions"]!["arcpx.resumability.driver.v1"]);
        Assert.Null(accepted["extensions"]!["arcpx.resumability.driver"]);
    }

    [Fact]
    public async Task A_well_formed_unused_client_chosen_job_id_is_honoured_and_its_events_are_recorded()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "research", ["inputs"] = new JsonObject { ["topic"] = "x" } }, new JsonObject { ["job_id"] = "job_456" });

        var accepted = await peer.RequestAsync(start);
        Assert.Equal("job.accepted", accepted.Type());
        Assert.Equal("job_456", (string?)accepted["job_id"]);
        Assert.Equal("job.started", (await peer.ReceiveAsync()).Type());

        var progress = await peer.RequestAsync(peer.Envelope("job.progress", new JsonObject { ["percent"] = 42, ["message"] = "plan" }, new JsonObject { ["job_id"] = "job_456" }));
        Assert.Equal("ack", progress.Type());

        var inPayload = await peer.RequestAsync(peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "research", ["job_id"] = "job_in_payload" }));
        Assert.Equal("job_in_payload", (string?)inPayload["job_id"]);
    }

    [Fact]
    public async Task A_used_job_id_is_refused_with_the_same_words_whoever_used_it()
    {
        var alice = await OpenPeerAsync("tok-alice");
        var bob = await OpenPeerAsync("tok-bob");
        Assert.Equal("job.accepted", (await alice.RequestAsync(alice.Envelope("workflow.start", new JsonObject { ["workflow"] = "alice-secret" }, new JsonObject { ["job_id"] = "job_taken" }))).Type());
        await alice.ReceiveAsync();

        var bobAgain = bob.Envelope("workflow.start", new JsonObject { ["workflow"] = "other" }, new JsonObject { ["job_id"] = "job_taken" });
        var bobRefused = await bob.RequestAsync(bobAgain);
        var aliceAgain = alice.Envelope("workflow.start", new JsonObject { ["workflow"] = "alice-secret" }, new JsonObject { ["job_id"] = "job_taken" });
        var aliceRefused = await alice.RequestAsync(aliceAgain);

        bobRefused.AssertNack("ALREADY_EXISTS", (string)bobAgain["id"]!);
        aliceRefused.AssertNack("ALREADY_EXISTS", (string)aliceAgain["id"]!);
        Assert.Equal((string?)aliceRefused.Payload()["message"], (string?)bobRefused.Payload()["message"]);
        Assert.Equal(aliceRefused.Payload()["details"]!.ToJsonString(), bobRefused.Payload()["details"]!.ToJsonString());
        Assert.DoesNotContain("alice", bobRefused.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty((await bob.RequestAsync(bob.Envelope("arcpx.resumability.job_query.v1"))).Payload()["jobs"]!.AsArray());
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("job 1")]
    [InlineData("_job")]
    [InlineData("")]
    public async Task A_malformed_client_chosen_job_id_is_refused_and_nothing_is_created(string jobId)
    {
        var peer = await OpenPeerAsync("tok-alice");
        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "research" }, new JsonObject { ["job_id"] = jobId });

        (await peer.RequestAsync(start)).AssertNack("INVALID_ARGUMENT", (string)start["id"]!);
        Assert.Empty((await peer.RequestAsync(peer.Envelope("arcpx.resumability.job_query.v1"))).Payload()["jobs"]!.AsArray());
    }

    [Fact]
    public async Task A_job_id_longer_than_the_limit_or_two_different_ids_are_refused()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var tooLong = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "research" }, new JsonObject { ["job_id"] = new string('j', 129) });
        (await peer.RequestAsync(tooLong)).AssertNack("INVALID_ARGUMENT", (string)tooLong["id"]!);

        var twoIds = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "research", ["job_id"] = "job_a" }, new JsonObject { ["job_id"] = "job_b" });
        (await peer.RequestAsync(twoIds)).AssertNack("INVALID_ARGUMENT", (string)twoIds["id"]!);
    }

    [Fact]
    public async Task Checkpoints_of_any_well_formed_shape_are_stored_and_replayed_byte_for_byte()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var jobId = await peer.StartJobAsync("research", extra: new JsonObject { ["job_id"] = "job_foreign" });
        await peer.ReceiveAsync();

        var bare = peer.Envelope("job.checkpoint", new JsonObject { ["checkpoint_id"] = "chk_007", ["label"] = "plan" }, new JsonObject { ["job_id"] = jobId });
        var otherShape = peer.Envelope("job.checkpoint", new JsonObject { ["checkpoint_id"] = "chk_008", ["snapshot"] = new JsonObject { ["cursor"] = 17, ["output"] = new JsonObject { ["notes"] = "gathered" } } }, new JsonObject { ["job_id"] = jobId });
        var scalar = peer.Envelope("job.checkpoint", new JsonObject { ["checkpoint_id"] = "chk_009", ["label"] = "synthesize", ["snapshot"] = "opaque-state" }, new JsonObject { ["job_id"] = jobId });
        var sent = new List<string>();
        foreach (var checkpoint in new[] { bare, otherShape, scalar })
        {
            sent.Add(checkpoint.ToJsonString());
            var ack = await peer.RequestAsync(checkpoint);
            Assert.True(ack.Type() == "ack", ack.ToJsonString());
            Assert.Equal((string?)checkpoint["payload"]!["checkpoint_id"], (string?)ack.Payload()["checkpoint_id"]);
        }

        var list = await peer.RequestAsync(peer.Envelope("arcpx.resumability.checkpoint_query.v1", extra: new JsonObject { ["job_id"] = jobId }));
        var stored = list.Payload()["checkpoints"]!.AsArray().Select(c => c!.AsObject()).ToDictionary(c => (string)c["checkpoint_id"]!);
        Assert.Equal(["chk_007", "chk_008", "chk_009"], stored.Keys.Order(StringComparer.Ordinal));
        Assert.All(stored.Values, c => Assert.Equal(-1, (int)c["step_index"]!));
        Assert.Equal("plan", (string?)stored["chk_007"]["step"]);
        Assert.Equal("chk_008", (string?)stored["chk_008"]["step"]);
        Assert.Equal("synthesize", (string?)stored["chk_009"]["step"]);

        var events = await peer.RequestAsync(peer.Envelope("arcpx.resumability.event_query.v1", extra: new JsonObject { ["job_id"] = jobId }));
        var recorded = events.Payload()["events"]!.AsArray().Where(e => (string?)e!["type"] == "job.checkpoint").Select(e => (string)e!["envelope"]!).ToList();
        Assert.Equal(sent, recorded);
    }

    [Fact]
    public async Task A_checkpoint_without_a_well_formed_id_is_refused()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var jobId = await peer.StartJobAsync("research");
        await peer.ReceiveAsync();

        foreach (var payload in new[] { new JsonObject { ["label"] = "plan" }, new JsonObject { ["checkpoint_id"] = 7 }, new JsonObject { ["checkpoint_id"] = "chk 1" }, new JsonObject { ["checkpoint_id"] = "chk_1", ["label"] = 3 } })
        {
            var checkpoint = peer.Envelope("job.checkpoint", payload, new JsonObject { ["job_id"] = jobId });
            (await peer.RequestAsync(checkpoint)).AssertNack("INVALID_ARGUMENT", (string)checkpoint["id"]!);
        }
    }

    [Fact]
    public async Task Tool_invoke_of_a_registered_workflow_starts_a_runtime_driven_job_with_the_same_events()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var invoke = peer.Envelope("tool.invoke", new JsonObject { ["tool"] = "counting", ["arguments"] = "in" }, new JsonObject { ["trace_id"] = "trace_789", ["idempotency_key"] = "count-2026-05-09" });

        var accepted = await peer.RequestAsync(invoke);
        Assert.Equal("job.accepted", accepted.Type());
        Assert.Equal("runtime", (string?)accepted["extensions"]!["arcpx.resumability.driver.v1"]);
        var watch = (string)accepted["extensions"]!["arcpx.resumability.subscription_id.v1"]!;
        var jobId = (string)accepted["job_id"]!;

        JsonObject last;
        do
        {
            last = (await peer.ReceiveUntilAsync("subscribe.event")).Match;
            Assert.Equal(watch, (string?)last["subscription_id"]);
        }
        while ((string?)last.Payload()["event"]!["type"] != "job.completed");

        Assert.Equal("[\"in\",\"one\",\"two\",\"three\"]", last.Payload()["event"]!["payload"]!["result"]!.ToJsonString());
        Assert.Equal("completed", (string?)(await QueryJobAsync(peer, jobId))["state"]);

        var again = await peer.RequestAsync(peer.Envelope("tool.invoke", new JsonObject { ["tool"] = "counting", ["arguments"] = "in" }, new JsonObject { ["idempotency_key"] = "count-2026-05-09" }));
        Assert.Equal(jobId, (string?)again["job_id"]);
        Assert.True((bool)again.Payload()["existing"]!);
    }

    [Fact]
    public async Task Tool_invoke_of_an_unregistered_tool_is_not_found_and_a_malformed_one_is_invalid()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var unknown = peer.Envelope("tool.invoke", new JsonObject { ["tool"] = "filesystem.search", ["arguments"] = new JsonObject { ["query"] = "*.ts" } });
        var refused = await peer.RequestAsync(unknown);
        refused.AssertNack("NOT_FOUND", (string)unknown["id"]!);
        Assert.Contains("filesystem.search", (string)refused.Payload()["message"]!, StringComparison.Ordinal);

        var noTool = peer.Envelope("tool.invoke", new JsonObject { ["arguments"] = new JsonObject() });
        (await peer.RequestAsync(noTool)).AssertNack("INVALID_ARGUMENT", (string)noTool["id"]!);
        Assert.Empty((await peer.RequestAsync(peer.Envelope("arcpx.resumability.job_query.v1"))).Payload()["jobs"]!.AsArray());
    }
}
