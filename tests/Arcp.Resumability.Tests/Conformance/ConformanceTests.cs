using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>
/// RFC 0001 conformance, driven with raw JSON frames. Every case runs over each transport (the derived
/// classes), against one runtime per test with bearer tokens for two principals and an admin.
/// </summary>
#pragma warning disable CA1001 // xunit disposes through IAsyncLifetime.DisposeAsync.
public abstract partial class ConformanceTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private readonly TestStore storeFolder = new();
    private readonly List<RawPeer> peers = [];
    private SqliteArcpStore? store;
    private ArcpRuntime? runtime;

    protected static TransportOptions Transport { get; } = new() { MaxFrameBytes = 64 * 1024 };

    protected ArcpRuntime Runtime => runtime!;

    /// <summary>The runtime-driven workflow: three steps that each append their name.</summary>
    private static WorkflowDefinition Counting { get; } = new CountingWorkflow("counting", ["one", "two", "three"]).Definition;

    public async Task InitializeAsync()
    {
        store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        runtime = new ArcpRuntime(store, new RuntimeOptions
        {
            BearerTokens = new Dictionary<string, string> { ["tok-alice"] = "alice", ["tok-bob"] = "bob", ["tok-admin"] = "admin", ["..."] = "example-client" },
            AdminPrincipals = new HashSet<string> { "admin" },
            Driver = new WorkflowJobDriver([Counting]),
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var peer in peers)
        {
            await peer.DisposeAsync();
        }

        await StopServingAsync();
        await runtime!.DisposeAsync();
        await store!.DisposeAsync();
        storeFolder.Dispose();
    }

    protected abstract Task<IArcpConnection> ConnectAsync();

    protected abstract Task StopServingAsync();

    [Fact]
    public async Task S8_handshake_is_accepted_with_a_session_id_and_the_advertised_capabilities()
    {
        var peer = await PeerAsync();
        var accepted = await peer.OpenAsync("tok-alice");

        Assert.Equal("session.accepted", accepted.Type());
        Assert.StartsWith("sess_", (string?)accepted.Payload()["session_id"], StringComparison.Ordinal);
        Assert.Equal((string?)accepted["session_id"], (string?)accepted.Payload()["session_id"]);
        var capabilities = accepted.Payload()["capabilities"]!.AsObject();
        Assert.True((bool)capabilities["durable_jobs"]!);
        Assert.True((bool)capabilities["subscriptions"]!);
        Assert.Equal("block", (string?)capabilities["heartbeat_recovery"]);
        Assert.Contains("arcpx.resumability.v1", capabilities["extensions"]!.AsArray().Select(e => (string?)e));
        Assert.Equal(["counting"], capabilities["arcpx.resumability.workflows.v1"]!.AsArray().Select(e => (string?)e));
    }

    [Theory]
    [InlineData("bearer", "not-a-token", "UNAUTHENTICATED")]
    [InlineData("none", null, "UNAUTHENTICATED")]
    [InlineData("mtls", null, "UNIMPLEMENTED")]
    public async Task S8_bad_credentials_are_rejected_with_a_structured_error(string scheme, string? token, string code)
    {
        var peer = await PeerAsync();
        var open = peer.Envelope("session.open", new JsonObject { ["auth"] = new JsonObject { ["scheme"] = scheme, ["token"] = token }, ["capabilities"] = new JsonObject { ["anonymous"] = true } });

        var rejected = await peer.RequestAsync(open);

        Assert.Equal("session.rejected", rejected.Type());
        Assert.Equal(code, (string?)rejected.Payload()["code"]);
        Assert.False((bool)rejected.Payload()["retryable"]!);
    }

    [Fact]
    public async Task S8_1_messages_before_acceptance_are_dropped_without_an_answer()
    {
        var peer = await PeerAsync();
        await peer.SendAsync(peer.Envelope("ping"));
        await peer.SendAsync(peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "counting" }));

        var first = await peer.OpenAsync("tok-alice");

        // The first frame the runtime ever sent is the handshake answer: the early frames got nothing.
        Assert.Equal("session.accepted", first.Type());
        Assert.Single(peer.Received);
    }

    [Fact]
    public async Task S6_1_malformed_frames_get_nack_invalid_argument_and_the_session_survives()
    {
        var peer = await OpenPeerAsync("tok-alice");

        await peer.SendRawAsync("this is not json");
        var notJson = await peer.ReceiveAsync();
        notJson.AssertNack("INVALID_ARGUMENT", ackFor: null);

        var noType = peer.Envelope("ping");
        noType.Remove("type");
        await peer.SendAsync(noType);
        (await peer.ReceiveAsync()).AssertNack("INVALID_ARGUMENT", ackFor: (string)noType["id"]!);

        var badTimestamp = peer.Envelope("ping");
        badTimestamp["timestamp"] = "yesterday";
        await peer.SendAsync(badTimestamp);
        var nack = await peer.ReceiveAsync();
        nack.AssertNack("INVALID_ARGUMENT", ackFor: (string)badTimestamp["id"]!);
        Assert.Equal((string)badTimestamp["id"]!, (string?)nack["correlation_id"]);

        var badPriority = peer.Envelope("ping", extra: new JsonObject { ["priority"] = "urgent" });
        await peer.SendAsync(badPriority);
        (await peer.ReceiveAsync()).AssertNack("INVALID_ARGUMENT", ackFor: (string)badPriority["id"]!);

        var pong = await peer.RequestAsync(peer.Envelope("ping"));
        Assert.Equal("pong", pong.Type());
    }

    [Fact]
    public async Task S6_1_a_payload_that_breaks_its_schema_is_refused_without_side_effects()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = 42 });

        (await peer.RequestAsync(start)).AssertNack("INVALID_ARGUMENT", (string)start["id"]!);

        var list = await peer.RequestAsync(peer.Envelope("arcpx.resumability.job_query.v1"));
        Assert.Empty(list.Payload()["jobs"]!.AsArray());
    }

    [Fact]
    public async Task Oversized_frames_get_nack_invalid_argument_naming_the_limit_and_the_session_survives()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var huge = peer.Envelope("log", new JsonObject { ["message"] = new string('x', Transport.MaxFrameBytes + 10) });

        await peer.SendAsync(huge);
        var nack = await peer.ReceiveAsync();

        nack.AssertNack("INVALID_ARGUMENT", ackFor: null);
        Assert.Equal(Transport.MaxFrameBytes, (int)nack.Payload()["details"]!["max_frame_bytes"]!);
        Assert.Equal("pong", (await peer.RequestAsync(peer.Envelope("ping"))).Type());
    }

    [Fact]
    public async Task S10_a_job_runs_from_workflow_start_through_owner_events_to_one_terminal_state()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "mine", ["inputs"] = new JsonObject { ["q"] = "x" } }, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });
        await peer.SendAsync(start);
        var accepted = await peer.ReceiveAsync();
        var started = await peer.ReceiveAsync();

        Assert.Equal("job.accepted", accepted.Type());
        Assert.Equal((string)start["id"]!, (string?)accepted["correlation_id"]);
        Assert.Equal("accepted", (string?)accepted.Payload()["state"]);
        var jobId = (string)accepted["job_id"]!;
        Assert.Equal("job.started", started.Type());
        Assert.Equal(jobId, (string?)started["job_id"]);

        var progress = await peer.RequestAsync(peer.Envelope("job.progress", new JsonObject { ["percent"] = 50, ["message"] = "half" }, new JsonObject { ["job_id"] = jobId }));
        Assert.Equal("ack", progress.Type());
        var checkpoint = await peer.RequestAsync(Checkpoint(peer, jobId, "chk_one", "one", 0));
        Assert.Equal("chk_one", (string?)checkpoint.Payload()["checkpoint_id"]);
        var completed = await peer.RequestAsync(peer.Envelope("job.completed", new JsonObject { ["result"] = "done" }, new JsonObject { ["job_id"] = jobId }));
        Assert.Equal("ack", completed.Type());

        var job = await QueryJobAsync(peer, jobId);
        Assert.Equal("completed", (string?)job["state"]);
        Assert.Equal("done", (string?)job["result"]);
        var late = peer.Envelope("job.failed", new JsonObject { ["code"] = "UNKNOWN", ["message"] = "too late" }, new JsonObject { ["job_id"] = jobId });
        (await peer.RequestAsync(late)).AssertNack("FAILED_PRECONDITION", (string)late["id"]!);
    }

    [Fact]
    public async Task S6_4_a_retransmitted_message_id_is_answered_again_but_not_executed_twice()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(peer);
        var checkpoint = Checkpoint(peer, jobId, "chk_once", "one", 0);

        var first = await peer.RequestAsync(checkpoint);
        var second = await peer.RequestAsync(checkpoint);

        Assert.Equal(first.ToJsonString(), second.ToJsonString());
        var list = await peer.RequestAsync(peer.Envelope("arcpx.resumability.checkpoint_query.v1", extra: new JsonObject { ["job_id"] = jobId }));
        Assert.Single(list.Payload()["checkpoints"]!.AsArray());
    }

    [Fact]
    public async Task S6_4_an_idempotency_key_returns_the_prior_outcome_and_a_different_input_is_already_exists()
    {
        var peer = await OpenPeerAsync("tok-alice");
        JsonObject Start(string input) => peer.Envelope(
            "workflow.start",
            new JsonObject { ["workflow"] = "mine", ["inputs"] = input },
            new JsonObject { ["idempotency_key"] = "nightly-2026-01-01", ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });

        var first = await peer.RequestAsync(Start("a"));
        var again = await peer.RequestAsync(Start("a"));
        var different = Start("b");
        var conflict = await peer.RequestAsync(different);

        Assert.Equal((string?)first["job_id"], (string?)again["job_id"]);
        Assert.True((bool)again.Payload()["existing"]!);
        conflict.AssertNack("ALREADY_EXISTS", (string)different["id"]!);
        Assert.Equal((string?)first["job_id"], (string?)conflict.Payload()["details"]!["job_id"]);
    }

    [Fact]
    public async Task S19_resume_replays_the_job_stream_byte_for_byte_then_ends_with_the_marker()
    {
        var first = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(first);
        var sentProgress = await first.SendAsync(first.Envelope("job.progress", new JsonObject { ["percent"] = 10, ["message"] = "ten" }, new JsonObject { ["job_id"] = jobId }));
        var checkpoint = Checkpoint(first, jobId, "chk_a", "one", 0);
        await first.RequestAsync(checkpoint);
        var original = first.Received.Where(f => f.Contains(jobId, StringComparison.Ordinal) && (f.Contains("\"job.accepted\"", StringComparison.Ordinal) || f.Contains("\"job.started\"", StringComparison.Ordinal))).ToList();
        await first.Connection.DisposeAsync();

        var second = await OpenPeerAsync("tok-alice");
        await WaitUntilInterruptedAsync(second, jobId);
        var resume = second.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = jobId });
        await second.SendAsync(resume);
        var ack = await second.ReceiveAsync();
        var (marker, replayed) = await second.ReceiveUntilAsync("event.emit");

        Assert.Equal("ack", ack.Type());
        var replayedText = second.Received.Skip(second.Received.Count - 1 - replayed.Count).Take(replayed.Count).ToList();
        Assert.Equal([.. original, sentProgress, checkpoint.ToJsonString()], replayedText);
        Assert.Equal("resume.replay_complete", (string?)marker.Payload()["type"]);
        Assert.Equal((string)resume["id"]!, (string?)marker["correlation_id"]);
        var data = marker.Payload()["data"]!;
        Assert.Equal(4, (int)data["replayed"]!);
        Assert.Equal("chk_a", (string?)data["checkpoint"]!["checkpoint_id"]);
    }

    [Fact]
    public async Task S19_resuming_into_history_purged_by_retention_reports_data_loss_then_replays_what_is_left()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(peer);
        var (started, _) = await peer.ReceiveUntilAsync("job.started");
        await peer.RequestAsync(Checkpoint(peer, jobId, "chk_kept", "one", 0));

        // Retention run as if 40 days had passed: every event goes, the checkpoint stays.
        var retention = await new JobService(store!, new JobServiceOptions()).ApplyRetentionAsync(new RetentionPolicy(TimeSpan.FromDays(30), TimeSpan.FromDays(90)), DateTimeOffset.UtcNow.AddDays(40), apply: true, CancellationToken.None);
        Assert.True(retention.EventsPurged >= 3);

        var resume = peer.Envelope("resume", new JsonObject { ["after_message_id"] = (string)started["id"]! }, new JsonObject { ["job_id"] = jobId });
        await peer.SendAsync(resume);
        Assert.Equal("ack", (await peer.ReceiveAsync()).Type());
        var lost = await peer.ReceiveAsync();
        var marker = await peer.ReceiveAsync();

        Assert.Equal("event.emit", lost.Type());
        Assert.Equal((string)resume["id"]!, (string?)lost["correlation_id"]);
        Assert.Equal("resume.data_loss", (string?)lost.Payload()["type"]);
        Assert.Equal("DATA_LOSS", (string?)lost.Payload()["data"]!["code"]);
        Assert.False((bool)lost.Payload()["data"]!["retryable"]!);
        Assert.Equal("resume.replay_complete", (string?)marker.Payload()["type"]);
        Assert.Equal(0, (int)marker.Payload()["data"]!["replayed"]!);
        Assert.Equal("chk_kept", (string?)marker.Payload()["data"]!["checkpoint"]!["checkpoint_id"]);
    }

    [Fact]
    public async Task S10_4_cancel_of_a_running_job_is_accepted_relayed_to_its_owner_and_ends_in_job_cancelled()
    {
        var owner = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(owner);
        var operatorPeer = await OpenPeerAsync("tok-alice");

        var cancel = operatorPeer.Envelope("cancel", new JsonObject { ["target"] = "job", ["target_id"] = jobId, ["reason"] = "operator" });
        var accepted = await operatorPeer.RequestAsync(cancel);
        Assert.Equal("cancel.accepted", accepted.Type());
        Assert.Equal("running", (string?)accepted.Payload()["state"]);

        // The owner learns of it with the answer to its next event (a heartbeat at the latest).
        var heartbeat = owner.Envelope("job.heartbeat", new JsonObject { ["sequence"] = 1, ["deadline_ms"] = 30_000, ["state"] = "running" }, new JsonObject { ["job_id"] = jobId });
        Assert.Equal("ack", (await owner.RequestAsync(heartbeat)).Type());
        var (relayed, _) = await owner.ReceiveUntilAsync("cancel");
        Assert.Equal(jobId, (string?)relayed["job_id"]);
        Assert.Equal("operator", (string?)relayed.Payload()["reason"]);
        Assert.Equal((string)cancel["id"]!, (string?)relayed["causation_id"]);

        var cancelled = owner.Envelope("job.cancelled", new JsonObject { ["code"] = "CANCELLED", ["message"] = "stopped at a checkpoint" }, new JsonObject { ["job_id"] = jobId });
        Assert.Equal("ack", (await owner.RequestAsync(cancelled)).Type());
        Assert.Equal("cancelled", (string?)(await QueryJobAsync(operatorPeer, jobId))["state"]);

        var again = operatorPeer.Envelope("cancel", new JsonObject { ["target"] = "job", ["target_id"] = jobId });
        var refused = await operatorPeer.RequestAsync(again);
        Assert.Equal("cancel.refused", refused.Type());
        Assert.Equal("already_terminal", (string?)refused.Payload()["reason"]);
    }

    [Fact]
    public async Task S10_4_cancel_of_a_job_nobody_drives_is_done_by_the_runtime_and_another_principal_may_not()
    {
        var owner = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(owner);
        await owner.RequestAsync(owner.Envelope("session.close"));
        var operatorPeer = await OpenPeerAsync("tok-alice");
        await WaitUntilInterruptedAsync(operatorPeer, jobId);

        var bob = await OpenPeerAsync("tok-bob");
        var foreign = bob.Envelope("cancel", new JsonObject { ["target"] = "job", ["target_id"] = jobId });
        (await bob.RequestAsync(foreign)).AssertNack("NOT_FOUND", (string)foreign["id"]!);

        var cancel = operatorPeer.Envelope("cancel", new JsonObject { ["target"] = "job", ["target_id"] = jobId, ["reason"] = "cleanup" });
        await operatorPeer.SendAsync(cancel);
        var accepted = await operatorPeer.ReceiveAsync();
        var cancelled = await operatorPeer.ReceiveAsync();

        Assert.Equal("cancel.accepted", accepted.Type());
        Assert.Equal("cancelled", (string?)accepted.Payload()["state"]);
        Assert.Equal("job.cancelled", cancelled.Type());
        Assert.Equal("CANCELLED", (string?)cancelled.Payload()["code"]);
        Assert.Equal("cancelled", (string?)(await QueryJobAsync(operatorPeer, jobId))["state"]);
    }

    [Fact]
    public async Task Principal_isolation_another_principal_cannot_see_resume_or_subscribe_to_a_job()
    {
        var alice = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(alice);
        var bob = await OpenPeerAsync("tok-bob");

        var list = await bob.RequestAsync(bob.Envelope("arcpx.resumability.job_query.v1", new JsonObject { ["job_id"] = jobId }));
        Assert.Empty(list.Payload()["jobs"]!.AsArray());
        var resume = bob.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = jobId });
        (await bob.RequestAsync(resume)).AssertNack("NOT_FOUND", (string)resume["id"]!);
        var subscribe = bob.Envelope("subscribe", new JsonObject { ["filter"] = new JsonObject { ["job_id"] = new JsonArray(jobId) } });
        (await bob.RequestAsync(subscribe)).AssertNack("NOT_FOUND", (string)subscribe["id"]!);
        var bySession = bob.Envelope("subscribe", new JsonObject { ["filter"] = new JsonObject { ["session_id"] = new JsonArray(alice.SessionId) } });
        (await bob.RequestAsync(bySession)).AssertNack("PERMISSION_DENIED", (string)bySession["id"]!);
        var progress = bob.Envelope("job.progress", new JsonObject { ["percent"] = 1, ["message"] = "hijack" }, new JsonObject { ["job_id"] = jobId });
        (await bob.RequestAsync(progress)).AssertNack("NOT_FOUND", (string)progress["id"]!);
    }

    [Fact]
    public async Task S13_subscribe_backfills_marks_the_boundary_then_streams_live_events_without_duplicates()
    {
        var owner = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(owner);
        await owner.RequestAsync(owner.Envelope("job.progress", new JsonObject { ["percent"] = 10, ["message"] = "before" }, new JsonObject { ["job_id"] = jobId }));
        var observer = await OpenPeerAsync("tok-alice");

        var subscribe = observer.Envelope("subscribe", new JsonObject { ["filter"] = new JsonObject { ["job_id"] = new JsonArray(jobId), ["types"] = new JsonArray("job.started", "job.progress", "job.completed") }, ["since"] = new JsonObject() });
        var accepted = await observer.RequestAsync(subscribe);
        Assert.Equal("subscribe.accepted", accepted.Type());
        var subscriptionId = (string)accepted.Payload()["subscription_id"]!;
        var (marker, backfill) = await ReceiveBackfillAsync(observer);
        Assert.Equal(["job.started", "job.progress"], backfill.Select(e => (string?)e.Payload()["event"]!["type"]));
        Assert.All(backfill, e => Assert.Equal(subscriptionId, (string?)e["subscription_id"]));
        Assert.Equal("subscription.backfill_complete", (string?)marker.Payload()["event"]!["payload"]!["type"]);

        await owner.RequestAsync(owner.Envelope("job.progress", new JsonObject { ["percent"] = 90, ["message"] = "after" }, new JsonObject { ["job_id"] = jobId }));
        await owner.RequestAsync(Checkpoint(owner, jobId, "chk_x", "one", 0));
        await owner.RequestAsync(owner.Envelope("job.completed", new JsonObject { ["result"] = 1 }, new JsonObject { ["job_id"] = jobId }));

        var live = new List<JsonObject> { await observer.ReceiveAsync(), await observer.ReceiveAsync() };
        Assert.Equal(["job.progress", "job.completed"], live.Select(e => (string?)e.Payload()["event"]!["type"]));
        Assert.Equal("after", (string?)live[0].Payload()["event"]!["payload"]!["message"]);

        var unsubscribe = observer.Envelope("unsubscribe", new JsonObject { ["subscription_id"] = subscriptionId });
        Assert.Equal("ack", (await observer.RequestAsync(unsubscribe)).Type());
        Assert.Equal("pong", (await observer.RequestAsync(observer.Envelope("ping"))).Type());
    }

    [Fact]
    public async Task S13_since_after_message_id_backfills_only_later_events()
    {
        var owner = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(owner);
        var early = owner.Envelope("job.progress", new JsonObject { ["percent"] = 1, ["message"] = "early" }, new JsonObject { ["job_id"] = jobId });
        await owner.RequestAsync(early);
        await owner.RequestAsync(owner.Envelope("job.progress", new JsonObject { ["percent"] = 2, ["message"] = "late" }, new JsonObject { ["job_id"] = jobId }));
        var observer = await OpenPeerAsync("tok-alice");

        await observer.RequestAsync(observer.Envelope("subscribe", new JsonObject { ["since"] = new JsonObject { ["after_message_id"] = (string)early["id"]! } }));
        var (marker, backfill) = await ReceiveBackfillAsync(observer);

        Assert.Equal(["late"], backfill.Select(e => (string?)e.Payload()["event"]!["payload"]!["message"]));
        Assert.Equal(1, (int)marker.Payload()["event"]!["payload"]!["data"]!["replayed"]!);
    }

    [Fact]
    public async Task S18_errors_carry_code_message_and_the_default_retryability()
    {
        var owner = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(owner);
        var other = await OpenPeerAsync("tok-alice");

        var resume = other.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = jobId });
        var aborted = await other.RequestAsync(resume);
        aborted.AssertNack("ABORTED", (string)resume["id"]!);
        Assert.True((bool)aborted.Payload()["retryable"]!);

        var missing = other.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = "job_doesnotexist" });
        var notFound = await other.RequestAsync(missing);
        notFound.AssertNack("NOT_FOUND", (string)missing["id"]!);
        Assert.False((bool)notFound.Payload()["retryable"]!);
    }

    [Fact]
    public async Task S21_3_unknown_types_optional_extensions_are_dropped_others_get_unimplemented()
    {
        var peer = await OpenPeerAsync("tok-alice");

        await peer.SendAsync(peer.Envelope("com.example.telemetry.v1", extra: new JsonObject { ["extensions"] = new JsonObject { ["optional"] = true } }));
        var ping = peer.Envelope("ping");
        var pong = await peer.RequestAsync(ping);
        Assert.Equal("pong", pong.Type());
        Assert.Equal(2, peer.Received.Count);

        var mandatory = peer.Envelope("com.example.telemetry.v1");
        (await peer.RequestAsync(mandatory)).AssertNack("UNIMPLEMENTED", (string)mandatory["id"]!);
        var core = peer.Envelope("agent.delegate", extra: new JsonObject { ["extensions"] = new JsonObject { ["optional"] = true } });
        (await peer.RequestAsync(core)).AssertNack("UNIMPLEMENTED", (string)core["id"]!);
    }

    [Fact]
    public async Task A_registered_workflow_started_without_a_client_driver_is_run_by_the_runtime_and_watched()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "counting", ["inputs"] = "in" });
        await peer.SendAsync(start);
        var accepted = await peer.ReceiveAsync();
        Assert.Equal("runtime", (string?)accepted["extensions"]!["arcpx.resumability.driver.v1"]);
        var watch = (string)accepted["extensions"]!["arcpx.resumability.subscription_id.v1"]!;

        var events = new List<JsonObject>();
        while (events.Count == 0 || (string?)events[^1].Payload()["event"]!["type"] != "job.completed")
        {
            var frame = await peer.ReceiveAsync();
            if (frame.Type() == "subscribe.event")
            {
                Assert.Equal(watch, (string?)frame["subscription_id"]);
                events.Add(frame);
            }
        }

        var types = events.Select(e => (string?)e.Payload()["event"]!["type"]).ToList();
        Assert.Equal(3, types.Count(t => t == "job.checkpoint"));
        Assert.Equal("[\"in\",\"one\",\"two\",\"three\"]", events[^1].Payload()["event"]!["payload"]!["result"]!.ToJsonString());
        var job = await QueryJobAsync(peer, (string)accepted["job_id"]!);
        Assert.Equal("completed", (string?)job["state"]);
    }

    [Fact]
    public async Task The_shutdown_extension_needs_an_admin_principal()
    {
        var alice = await OpenPeerAsync("tok-alice");
        var refused = alice.Envelope("arcpx.resumability.shutdown.v1");
        (await alice.RequestAsync(refused)).AssertNack("PERMISSION_DENIED", (string)refused["id"]!);
        Assert.False(Runtime.ShutdownRequested.IsCompleted);

        var admin = await OpenPeerAsync("tok-admin");
        Assert.Equal("ack", (await admin.RequestAsync(admin.Envelope("arcpx.resumability.shutdown.v1"))).Type());
        await Runtime.ShutdownRequested.WaitAsync(RawPeer.Timeout);
    }

    private static JsonObject Checkpoint(RawPeer peer, string jobId, string checkpointId, string step, int index) => peer.Envelope(
        "job.checkpoint",
        new JsonObject
        {
            ["checkpoint_id"] = checkpointId,
            ["label"] = step,
            ["snapshot"] = new JsonObject { ["step"] = step, ["step_index"] = index, ["step_count"] = 3, ["output"] = step },
        },
        new JsonObject { ["job_id"] = jobId, ["idempotency_key"] = $"key:{jobId}:{step}" });

    private static Task<string> StartClientJobAsync(RawPeer peer) =>
        peer.StartJobAsync("mine", "in", new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });

    private static async Task<JsonObject> QueryJobAsync(RawPeer peer, string jobId)
    {
        var list = await peer.RequestAsync(peer.Envelope("arcpx.resumability.job_query.v1", new JsonObject { ["job_id"] = jobId }));
        return Assert.Single(list.Payload()["jobs"]!.AsArray())!.AsObject();
    }

    /// <summary>
    /// Waits, within a bound, until the job reads interrupted. The runtime releases a gone peer's lease only once it
    /// has seen the connection end, and a resume or cancel sent before that meets the live lease (ABORTED).
    /// </summary>
    private static async Task WaitUntilInterruptedAsync(RawPeer peer, string jobId)
    {
        var limit = TimeSpan.FromSeconds(30);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(bool)(await QueryJobAsync(peer, jobId))["interrupted"]!)
        {
            Assert.True(waited.Elapsed < limit, $"Job {jobId} still had a live owner after {limit.TotalSeconds} s.");
            await Task.Delay(20);
        }
    }

    private static async Task<(JsonObject Marker, List<JsonObject> Backfill)> ReceiveBackfillAsync(RawPeer peer)
    {
        var backfill = new List<JsonObject>();
        while (true)
        {
            var frame = await peer.ReceiveAsync();
            Assert.Equal("subscribe.event", frame.Type());
            if ((string?)frame.Payload()["event"]!["type"] == "event.emit")
            {
                return (frame, backfill);
            }

            backfill.Add(frame);
        }
    }

    private async Task<RawPeer> PeerAsync()
    {
        var peer = new RawPeer(await ConnectAsync());
        peers.Add(peer);
        return peer;
    }

    private async Task<RawPeer> OpenPeerAsync(string token)
    {
        var peer = await PeerAsync();
        var accepted = await peer.OpenAsync(token);
        Assert.Equal("session.accepted", accepted.Type());
        return peer;
    }
}
