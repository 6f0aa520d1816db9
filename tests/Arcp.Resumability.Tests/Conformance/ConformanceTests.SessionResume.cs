using System.Text.Json.Nodes;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>§9 durable sessions: reconnecting with the same <c>session_id</c>, then a session-scoped <c>resume</c>.</summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public async Task S9_a_client_reconnects_to_its_ended_session_and_a_session_resume_replays_what_it_missed()
    {
        var first = await OpenPeerAsync("tok-alice");
        var sessionId = first.SessionId!;
        var accepted = await first.RequestAsync(first.Envelope("workflow.start", new JsonObject { ["workflow"] = "research" }, new JsonObject { ["job_id"] = "job_s9" }));
        var started = await first.ReceiveAsync();
        Assert.Equal("job.started", started.Type());
        var progress = first.Envelope("job.progress", new JsonObject { ["percent"] = 40, ["message"] = "gather" }, new JsonObject { ["job_id"] = "job_s9" });
        var progressFrame = progress.ToJsonString();
        Assert.Equal("ack", (await first.RequestAsync(progress)).Type());
        await first.Connection.DisposeAsync();
        var observer = await OpenPeerAsync("tok-alice");
        await WaitUntilInterruptedAsync(observer, "job_s9");

        var second = await PeerAsync();
        var reopened = await second.OpenAsync("tok-alice", sessionId);
        Assert.Equal("session.accepted", reopened.Type());
        Assert.Equal(sessionId, (string?)reopened.Payload()["session_id"]);
        Assert.True((bool)reopened.Payload()["resumed"]!);

        var resume = second.Envelope("resume", new JsonObject { ["after_message_id"] = (string)started["id"]! });
        var ack = await second.RequestAsync(resume);
        Assert.Equal("ack", ack.Type());
        var (marker, replayed) = await second.ReceiveUntilAsync("event.emit");
        Assert.Equal([progressFrame], replayed.Select(f => f.ToJsonString()));
        Assert.Equal(progressFrame, second.Received[^2]);
        Assert.Equal("resume.replay_complete", (string?)marker.Payload()["type"]);
        Assert.Equal("resume.replay_complete", (string?)marker.Payload()["name"]);
        Assert.Equal((string)resume["id"]!, (string?)marker["correlation_id"]);
        Assert.Equal(sessionId, (string?)marker.Payload()["data"]!["session_id"]);
        Assert.Equal(1, (int)marker.Payload()["data"]!["replayed"]!);
        Assert.Equal((string)progress["id"]!, (string?)marker.Payload()["data"]!["last_message_id"]);
        Assert.Equal("job_s9", (string?)accepted["job_id"]);

        // §9 then §19: the job itself is driven again by a job-scoped resume in the reconnected session.
        var jobResume = await second.RequestAsync(second.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = "job_s9" }));
        Assert.Equal("ack", jobResume.Type());
        await second.ReceiveUntilAsync("event.emit");
        Assert.Equal("ack", (await second.RequestAsync(second.Envelope("job.progress", new JsonObject { ["percent"] = 60 }, new JsonObject { ["job_id"] = "job_s9" }))).Type());
    }

    [Fact]
    public async Task S9_reconnecting_to_another_principals_or_an_unknown_session_is_rejected_in_the_same_words()
    {
        var alice = await OpenPeerAsync("tok-alice");
        var aliceSession = alice.SessionId!;
        await alice.RequestAsync(alice.Envelope("session.close"));

        var bob = await PeerAsync();
        var foreign = await bob.OpenAsync("tok-bob", aliceSession);
        var unknownId = "sess_unknown01";
        var stranger = await PeerAsync();
        var unknown = await stranger.OpenAsync("tok-bob", unknownId);

        Assert.Equal("session.rejected", foreign.Type());
        Assert.Equal("NOT_FOUND", (string?)foreign.Payload()["code"]);
        Assert.Equal("session.rejected", unknown.Type());
        Assert.Equal(
            ((string)unknown.Payload()["message"]!).Replace(unknownId, "<id>", StringComparison.Ordinal),
            ((string)foreign.Payload()["message"]!).Replace(aliceSession, "<id>", StringComparison.Ordinal));
        Assert.DoesNotContain("alice", foreign.ToJsonString(), StringComparison.Ordinal);

        // Alice herself may, once the runtime has finished ending the session her session.close closed.
        Assert.Equal("session.accepted", (await ReopenWhenEndedAsync("tok-alice", aliceSession)).Type());
    }

    /// <summary>Reconnects to <paramref name="sessionId"/>, retrying (within a bound) while the runtime is still ending it.</summary>
    private async Task<JsonObject> ReopenWhenEndedAsync(string token, string sessionId)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var answer = await (await PeerAsync()).OpenAsync(token, sessionId);
            if (answer.Type() == "session.accepted" || waited.Elapsed > RawPeer.Timeout)
            {
                return answer;
            }

            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task S9_reconnecting_to_a_session_that_is_still_open_is_aborted_and_retryable()
    {
        var alice = await OpenPeerAsync("tok-alice");
        var again = await PeerAsync();
        var refused = await again.OpenAsync("tok-alice", alice.SessionId);

        Assert.Equal("session.rejected", refused.Type());
        Assert.Equal("ABORTED", (string?)refused.Payload()["code"]);
        Assert.True((bool)refused.Payload()["retryable"]!);
        Assert.Equal("pong", (await alice.RequestAsync(alice.Envelope("ping"))).Type());
    }

    [Fact]
    public async Task S9_a_session_resume_needs_a_message_of_this_session()
    {
        var alice = await OpenPeerAsync("tok-alice");
        var bob = await OpenPeerAsync("tok-bob");
        var bobPing = bob.Envelope("ping");
        await bob.RequestAsync(bobPing);

        var noPosition = alice.Envelope("resume");
        (await alice.RequestAsync(noPosition)).AssertNack("INVALID_ARGUMENT", (string)noPosition["id"]!);
        var foreign = alice.Envelope("resume", new JsonObject { ["after_message_id"] = (string)bobPing["id"]! });
        (await alice.RequestAsync(foreign)).AssertNack("NOT_FOUND", (string)foreign["id"]!);
        var missing = alice.Envelope("resume", new JsonObject { ["after_message_id"] = "msg_never_sent" });
        (await alice.RequestAsync(missing)).AssertNack("NOT_FOUND", (string)missing["id"]!);
    }
}
