using System.Text.Json.Nodes;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>
/// The RFC's own example frames (<see cref="RfcExampleFrames"/>) and the seed resumability example's flow
/// (shared/reference/seed-resumability-example.md), sent to the runtime over each transport.
/// </summary>
public abstract partial class ConformanceTests
{
    private static readonly string[] SeedSteps = ["plan", "gather", "synthesize", "critique", "finalize"];

    [Fact]
    public async Task RFC_example_frames_as_printed_get_the_answers_the_RFC_requires()
    {
        // §24's session.open lacks §6.1.1's required 'arcp': refused by id, and the peer may try again.
        var peer = await PeerAsync();
        await peer.SendRawAsync(RfcExampleFrames.Verbatim(RfcExampleFrames.SessionOpen));
        (await peer.ReceiveAsync()).AssertNack("INVALID_ARGUMENT", "msg_001");

        var accepted = await peer.RequestAsync(RfcExampleFrames.Completed(RfcExampleFrames.SessionOpen));
        Assert.Equal("session.accepted", accepted.Type());
        Assert.Equal("msg_001", (string?)accepted["correlation_id"]);
        var capabilities = accepted.Payload()["capabilities"]!.AsObject();
        Assert.Null(capabilities["streaming"]);

        // §24's tool.invoke: 'filesystem.search' is no workflow of this runtime, so it is named as not found (§6.3: nack, correlated).
        var invoke = RfcExampleFrames.Completed(RfcExampleFrames.ToolInvoke);
        var refused = await peer.RequestAsync(invoke);
        refused.AssertNack("NOT_FOUND", "msg_010");
        Assert.Contains("filesystem.search", (string)refused.Payload()["message"]!, StringComparison.Ordinal);

        // §10.1's progress names no job, which §6.1.1 requires of durable job events.
        (await peer.RequestAsync(RfcExampleFrames.Completed(RfcExampleFrames.Progress, "msg_rfc_progress"))).AssertNack("INVALID_ARGUMENT", "msg_rfc_progress");
    }

    [Fact]
    public async Task RFC_example_frames_drive_a_job_from_progress_to_resume_and_cancellation()
    {
        var peer = await PeerAsync();
        Assert.Equal("session.accepted", (await peer.RequestAsync(RfcExampleFrames.Completed(RfcExampleFrames.SessionOpen))).Type());

        // The RFC prints no workflow.start; the job is named job_456 as in its examples (a client-chosen id).
        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "refund" }, new JsonObject { ["job_id"] = "job_456", ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });
        Assert.Equal("job_456", (string?)(await peer.RequestAsync(start))["job_id"]);
        await peer.ReceiveAsync();

        await peer.SendRawAsync(RfcExampleFrames.Verbatim(RfcExampleFrames.Envelope));
        var progressAck = await peer.ReceiveAsync();
        Assert.True(progressAck.Type() == "ack", progressAck.ToJsonString());
        Assert.Equal("msg_01JABC", (string?)progressAck.Payload()["ack_for"]);

        Assert.Equal("ack", (await peer.RequestAsync(RfcExampleFrames.Completed(RfcExampleFrames.Heartbeat))).Type());
        var checkpoint = peer.Envelope("job.checkpoint", new JsonObject { ["checkpoint_id"] = "chk_007", ["label"] = "refund-issued" }, new JsonObject { ["job_id"] = "job_456" });
        Assert.Equal("ack", (await peer.RequestAsync(checkpoint)).Type());

        // §19: replay after msg_01JABC (the heartbeat is liveness, not history), then the marker naming chk_007.
        var resume = RfcExampleFrames.Completed(RfcExampleFrames.Resume, "msg_rfc_resume");
        Assert.Equal("ack", (await peer.RequestAsync(resume)).Type());
        var (marker, replayed) = await peer.ReceiveUntilAsync("event.emit");
        Assert.Equal([checkpoint.ToJsonString()], replayed.Select(f => f.ToJsonString()));
        Assert.Equal("resume.replay_complete", (string?)marker.Payload()["name"]);
        Assert.Equal("chk_007", (string?)marker.Payload()["data"]!["checkpoint"]!["checkpoint_id"]);

        // §10.4: accepted while the owner is alive; the owner stops and ends the job itself within the deadline.
        var cancel = RfcExampleFrames.Completed(RfcExampleFrames.Cancel, "msg_rfc_cancel");
        var cancelAccepted = await peer.RequestAsync(cancel);
        Assert.Equal("cancel.accepted", cancelAccepted.Type());
        Assert.Equal("job_456", (string?)cancelAccepted.Payload()["target_id"]);
        var cancelled = peer.Envelope("job.cancelled", new JsonObject { ["code"] = "CANCELLED", ["message"] = "user_aborted" }, new JsonObject { ["job_id"] = "job_456" });
        Assert.Equal("ack", (await peer.RequestAsync(cancelled)).Type());
        Assert.Equal("cancelled", (string?)(await QueryJobAsync(peer, "job_456"))["state"]);
    }

    [Fact]
    public async Task The_seed_example_crashes_after_synthesize_and_resumes_at_critique_without_repeating_a_step()
    {
        // Per step: a progress and a checkpoint, each step's checkpoint under its own idempotency_key (seed README).
        var first = await OpenPeerAsync("tok-alice");
        var jobId = await first.StartJobAsync("research", new JsonObject { ["topic"] = "durable agents" }, new JsonObject { ["job_id"] = "job_seed01", ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });
        await first.ReceiveAsync();
        string? lastSeen = null;
        foreach (var step in SeedSteps.Take(3))
        {
            Assert.Equal("ack", (await first.RequestAsync(SeedProgress(first, jobId, step))).Type());
            var checkpoint = SeedCheckpoint(first, jobId, step);
            Assert.Equal("ack", (await first.RequestAsync(checkpoint)).Type());
            lastSeen = (string)checkpoint["id"]!;
        }

        await first.Connection.DisposeAsync();
        var second = await OpenPeerAsync("tok-alice");
        await WaitUntilInterruptedAsync(second, jobId);

        var resume = second.Envelope("resume", new JsonObject { ["after_message_id"] = lastSeen, ["checkpoint_id"] = $"chk_seed_{jobId}_synthesize" }, new JsonObject { ["job_id"] = jobId });
        Assert.Equal("ack", (await second.RequestAsync(resume)).Type());
        var (marker, replayed) = await second.ReceiveUntilAsync("event.emit");
        Assert.Empty(replayed);
        var last = (string)marker.Payload()["data"]!["checkpoint"]!["step"]!;
        Assert.Equal("critique", SeedSteps[Array.IndexOf(SeedSteps, last) + 1]);

        // Re-issuing the synthesize step returns the prior outcome instead of recording it twice (§6.4).
        var again = SeedCheckpoint(second, jobId, "synthesize", fresh: true);
        var duplicate = await second.RequestAsync(again);
        Assert.True((bool)duplicate.Payload()["duplicate"]!);
        foreach (var step in SeedSteps.Skip(3))
        {
            Assert.Equal("ack", (await second.RequestAsync(SeedProgress(second, jobId, step))).Type());
            Assert.Equal("ack", (await second.RequestAsync(SeedCheckpoint(second, jobId, step))).Type());
        }

        Assert.Equal("ack", (await second.RequestAsync(second.Envelope("job.completed", new JsonObject { ["result"] = "report" }, new JsonObject { ["job_id"] = jobId }))).Type());
        var checkpoints = await second.RequestAsync(second.Envelope("arcpx.resumability.checkpoint_query.v1", extra: new JsonObject { ["job_id"] = jobId }));
        Assert.Equal(SeedSteps, checkpoints.Payload()["checkpoints"]!.AsArray().Select(c => (string)c!["step"]!));
    }

    private static JsonObject SeedProgress(RawPeer peer, string jobId, string step) =>
        peer.Envelope("job.progress", new JsonObject { ["percent"] = (Array.IndexOf(SeedSteps, step) + 1) * 20, ["message"] = step, ["step"] = step }, new JsonObject { ["job_id"] = jobId });

    private static JsonObject SeedCheckpoint(RawPeer peer, string jobId, string step, bool fresh = false) => peer.Envelope(
        "job.checkpoint",
        new JsonObject { ["checkpoint_id"] = fresh ? $"chk_seed_{Guid.NewGuid():N}" : $"chk_seed_{jobId}_{step}", ["label"] = step },
        new JsonObject { ["job_id"] = jobId, ["idempotency_key"] = $"{jobId}:{step}" });
}
