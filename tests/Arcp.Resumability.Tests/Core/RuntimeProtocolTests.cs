using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Core;

/// <summary>
/// The runtime as a peer sees it: raw JSON frames in over an in-memory transport, raw frames out.
/// Nothing here goes through ArcpClient, so these tests pin the wire behaviour itself.
/// </summary>
public sealed class RuntimeProtocolTests : IAsyncLifetime, IDisposable
{
    private const string AliceToken = "token-alice";
    private const string AliceAgainToken = "token-alice-laptop";
    private const string BobToken = "token-bob";
    private readonly TestStore files = new();
    private readonly List<RawPeer> peers = [];
    private SqliteArcpStore store = null!;

    private static RuntimeOptions Options => new()
    {
        BearerTokens = new Dictionary<string, string>(StringComparer.Ordinal) { [AliceToken] = "alice", [AliceAgainToken] = "alice", [BobToken] = "bob" },
        HeartbeatInterval = TimeSpan.FromSeconds(7),
    };

    public async Task InitializeAsync() => store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None);

    public async Task DisposeAsync()
    {
        foreach (var peer in peers)
        {
            await peer.DisposeAsync();
        }

        await store.DisposeAsync();
    }

    // xunit calls this after DisposeAsync, once the store file is closed.
    public void Dispose() => files.Dispose();

    // ---- Handshake (§8) ------------------------------------------------------------------------

    [Fact]
    public async Task A_valid_bearer_token_is_accepted_with_session_runtime_identity_and_capabilities()
    {
        var peer = Connect();
        var open = SessionOpen("bearer", AliceToken);

        var accepted = await peer.RequestAsync(open);

        Assert.Equal(MessageTypes.SessionAccepted, Text(accepted, "type"));
        Assert.Equal(open.Id, Text(accepted, "correlation_id"));
        Assert.Equal(Envelope.ProtocolVersion, Text(accepted, "arcp"));
        var sessionId = Text(accepted, "payload.session_id");
        Assert.True(ArcpId.IsValid(sessionId, ArcpId.SessionPrefix), sessionId);
        Assert.Equal(sessionId, Text(accepted, "session_id"));
        Assert.Equal(Options.Identity.Kind, Text(accepted, "payload.runtime.kind"));
        Assert.Equal(Options.Identity.Version, Text(accepted, "payload.runtime.version"));
        var capabilities = accepted["payload"]!["capabilities"]!.AsObject();
        Assert.True(capabilities["durable_jobs"]!.GetValue<bool>());
        Assert.True(capabilities["checkpoints"]!.GetValue<bool>());
        Assert.Equal(7, capabilities["heartbeat_interval_seconds"]!.GetValue<int>());
        Assert.Contains(MessageTypes.ResumabilityExtension, capabilities["extensions"]!.AsArray().Select(e => e!.GetValue<string>()));
    }

    [Fact]
    public async Task An_unknown_bearer_token_is_rejected_as_unauthenticated_and_opens_nothing()
    {
        var peer = Connect();
        var open = SessionOpen("bearer", "token-mallory");

        var rejected = await peer.RequestAsync(open);

        Assert.Equal(MessageTypes.SessionRejected, Text(rejected, "type"));
        Assert.Equal(open.Id, Text(rejected, "correlation_id"));
        Assert.Equal(ErrorCodes.Unauthenticated, Text(rejected, "payload.code"));
        Assert.Null(rejected["session_id"]);

        // Still not accepted: a ping is dropped, and the next answer is the accepted retry.
        await peer.SendAsync(Frame(MessageTypes.Ping, []));
        var retry = SessionOpen("bearer", AliceToken);
        var accepted = await peer.RequestAsync(retry);
        Assert.Equal(MessageTypes.SessionAccepted, Text(accepted, "type"));
        Assert.Equal(retry.Id, Text(accepted, "correlation_id"));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public async Task Anonymous_sessions_need_both_the_runtime_setting_and_the_client_capability(bool runtimeAllows, bool clientAsks)
    {
        var peer = Connect(Options with { AllowAnonymous = runtimeAllows });

        var rejected = await peer.RequestAsync(SessionOpen("none", null, anonymous: clientAsks));

        Assert.Equal(MessageTypes.SessionRejected, Text(rejected, "type"));
        Assert.Equal(ErrorCodes.Unauthenticated, Text(rejected, "payload.code"));
    }

    [Fact]
    public async Task An_anonymous_session_is_accepted_when_both_sides_agree()
    {
        var peer = Connect(Options with { AllowAnonymous = true });

        var accepted = await peer.RequestAsync(SessionOpen("none", null, anonymous: true));

        Assert.Equal(MessageTypes.SessionAccepted, Text(accepted, "type"));
        Assert.True(accepted["payload"]!["capabilities"]!["anonymous"]!.GetValue<bool>());
    }

    [Fact]
    public async Task An_unknown_auth_scheme_is_rejected_as_unimplemented()
    {
        var peer = Connect();

        var rejected = await peer.RequestAsync(SessionOpen("signed_jwt", "eyJhbGciOi"));

        Assert.Equal(MessageTypes.SessionRejected, Text(rejected, "type"));
        Assert.Equal(ErrorCodes.Unimplemented, Text(rejected, "payload.code"));
        Assert.Contains("signed_jwt", Text(rejected, "payload.message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_frame_before_acceptance_is_dropped_unanswered_and_unexecuted()
    {
        var peer = Connect();
        var early = Frame(MessageTypes.WorkflowStart, new JsonObject { ["workflow"] = "early" });
        await peer.SendAsync(early);
        var open = SessionOpen("bearer", AliceToken);

        // Frames are handled in order, so an answer to the early frame would arrive first.
        var first = await peer.RequestAsync(open);

        Assert.Equal(MessageTypes.SessionAccepted, Text(first, "type"));
        Assert.Equal(open.Id, Text(first, "correlation_id"));
        peer.SessionId = Text(first, "payload.session_id");
        Assert.Empty(await QueryJobsAsync(peer, null));
        Assert.Null(await store.FindEventAsync(early.Id, CancellationToken.None));
    }

    // ---- Malformed and unknown messages (§6.1, §21.3) ------------------------------------------

    [Fact]
    public async Task Malformed_json_is_nacked_as_invalid_argument_and_the_session_lives_on()
    {
        var peer = await OpenAsync(AliceToken);

        await peer.SendAsync("{\"arcp\":\"1.0\",\"id\":");
        var nack = await peer.ReceiveAsync();

        Assert.Equal(MessageTypes.Nack, Text(nack, "type"));
        Assert.Equal(ErrorCodes.InvalidArgument, Text(nack, "payload.code"));
        Assert.Null(nack["payload"]!["ack_for"]);
        await peer.AssertAliveAsync();
    }

    [Fact]
    public async Task An_envelope_that_breaks_section_6_1_is_nacked_for_its_id()
    {
        var peer = await OpenAsync(AliceToken);
        var id = ArcpId.NewMessageId();

        await peer.SendAsync($"{{\"arcp\":\"1.0\",\"id\":\"{id}\",\"type\":\"ping\",\"timestamp\":\"yesterday\",\"payload\":{{}}}}");
        var nack = await peer.ReceiveAsync();

        Assert.Equal(MessageTypes.Nack, Text(nack, "type"));
        Assert.Equal(ErrorCodes.InvalidArgument, Text(nack, "payload.code"));
        Assert.Equal(id, Text(nack, "payload.ack_for"));
        Assert.Equal(id, Text(nack, "correlation_id"));
        await peer.AssertAliveAsync();
    }

    [Theory]
    [InlineData("agent.delegate")]
    [InlineData("interrupt")]
    public async Task An_unimplemented_core_type_is_nacked_as_unimplemented(string type)
    {
        var peer = await OpenAsync(AliceToken);
        var command = Frame(type, [], peer.SessionId, extensions: new JsonObject { ["optional"] = true });

        var nack = await peer.RequestAsync(command);

        Assert.Equal(MessageTypes.Nack, Text(nack, "type"));
        Assert.Equal(ErrorCodes.Unimplemented, Text(nack, "payload.code"));
        Assert.Equal(command.Id, Text(nack, "payload.ack_for"));
        await peer.AssertAliveAsync();
    }

    [Fact]
    public async Task An_unknown_namespaced_type_is_nacked_unless_marked_optional_then_dropped_silently()
    {
        var peer = await OpenAsync(AliceToken);
        var plain = Frame("arcpx.acme.telemetry.v1", new JsonObject { ["cpu"] = 0.5 }, peer.SessionId);

        var nack = await peer.RequestAsync(plain);

        Assert.Equal(MessageTypes.Nack, Text(nack, "type"));
        Assert.Equal(ErrorCodes.Unimplemented, Text(nack, "payload.code"));
        Assert.Equal(plain.Id, Text(nack, "payload.ack_for"));

        await peer.SendAsync(Frame("arcpx.acme.telemetry.v1", new JsonObject { ["cpu"] = 0.7 }, peer.SessionId, extensions: new JsonObject { ["optional"] = true }));
        await peer.AssertAliveAsync();
    }

    // ---- workflow.start and idempotency (§6.4, §10) --------------------------------------------

    [Fact]
    public async Task Workflow_start_is_answered_by_job_accepted_then_job_started()
    {
        var peer = await OpenAsync(AliceToken);
        var start = Frame(MessageTypes.WorkflowStart, new JsonObject { ["workflow"] = "research", ["inputs"] = new JsonObject { ["q"] = "why" }, ["name"] = "nightly" }, peer.SessionId);

        var accepted = await peer.RequestAsync(start);
        var started = await peer.ReceiveAsync();

        Assert.Equal(MessageTypes.JobAccepted, Text(accepted, "type"));
        Assert.Equal(start.Id, Text(accepted, "correlation_id"));
        Assert.Equal(peer.SessionId, Text(accepted, "session_id"));
        var jobId = Text(accepted, "job_id");
        Assert.True(ArcpId.IsValid(jobId, ArcpId.JobPrefix), jobId);
        Assert.Equal(("accepted", "research", "nightly"), (Text(accepted, "payload.state"), Text(accepted, "payload.workflow"), Text(accepted, "payload.name")));
        Assert.Null(accepted["payload"]!["existing"]);
        Assert.Equal(MessageTypes.JobStarted, Text(started, "type"));
        Assert.Equal(jobId, Text(started, "job_id"));
        Assert.Equal(start.Id, Text(started, "causation_id"));
        Assert.Equal(start.Id, Text(started, "correlation_id"));
        var job = Assert.Single(await QueryJobsAsync(peer, jobId));
        Assert.Equal("running", Text(job, "state"));
        Assert.Equal(peer.SessionId, Text(job, "owner.session_id"));
    }

    [Fact]
    public async Task A_retransmitted_workflow_start_gets_the_identical_earlier_answers_and_creates_one_job()
    {
        var peer = await OpenAsync(AliceToken);
        var start = Frame(MessageTypes.WorkflowStart, new JsonObject { ["workflow"] = "research" }, peer.SessionId);
        await peer.SendAsync(start);
        var firstAnswers = new[] { await peer.ReceiveTextAsync(), await peer.ReceiveTextAsync() };

        await peer.SendAsync(start);
        var secondAnswers = new[] { await peer.ReceiveTextAsync(), await peer.ReceiveTextAsync() };

        Assert.Equal(firstAnswers, secondAnswers);
        Assert.Equal(MessageTypes.JobAccepted, Text(JsonNode.Parse(firstAnswers[0])!.AsObject(), "type"));
        await peer.AssertAliveAsync();
        Assert.Single(await QueryJobsAsync(peer, null));
    }

    [Fact]
    public async Task A_repeated_idempotency_key_returns_the_existing_job_and_different_inputs_are_refused()
    {
        var peer = await OpenAsync(AliceToken);
        var payload = new JsonObject { ["workflow"] = "research", ["inputs"] = new JsonObject { ["topic"] = "wal" } };
        var first = await peer.RequestAsync(Frame(MessageTypes.WorkflowStart, payload.DeepClone().AsObject(), peer.SessionId, idempotencyKey: "nightly-1"));
        await peer.ReceiveAsync(); // job.started
        var jobId = Text(first, "job_id");

        var again = Frame(MessageTypes.WorkflowStart, payload.DeepClone().AsObject(), peer.SessionId, idempotencyKey: "nightly-1");
        var existing = await peer.RequestAsync(again);

        Assert.Equal(MessageTypes.JobAccepted, Text(existing, "type"));
        Assert.Equal(again.Id, Text(existing, "correlation_id"));
        Assert.Equal(jobId, Text(existing, "job_id"));
        Assert.True(existing["payload"]!["existing"]!.GetValue<bool>());
        await peer.AssertAliveAsync(); // no second job.started

        var different = Frame(MessageTypes.WorkflowStart, new JsonObject { ["workflow"] = "research", ["inputs"] = new JsonObject { ["topic"] = "fsync" } }, peer.SessionId, idempotencyKey: "nightly-1");
        var nack = await peer.RequestAsync(different);

        Assert.Equal(MessageTypes.Nack, Text(nack, "type"));
        Assert.Equal(ErrorCodes.AlreadyExists, Text(nack, "payload.code"));
        Assert.Equal(jobId, Text(nack, "payload.details.job_id"));
        Assert.Single(await QueryJobsAsync(peer, null));
    }

    [Fact]
    public async Task The_same_idempotency_key_under_another_principal_is_a_different_command()
    {
        var alice = await OpenAsync(AliceToken);
        var bob = await OpenAsync(BobToken);
        var (aliceJob, _) = await StartJobAsync(alice, idempotencyKey: "shared-key");

        var (bobJob, _) = await StartJobAsync(bob, idempotencyKey: "shared-key");

        Assert.NotEqual(aliceJob, bobJob);
    }

    // ---- Job ownership, checkpoints (§10, §15) -------------------------------------------------

    [Fact]
    public async Task Job_events_from_a_session_that_does_not_own_the_job_are_refused()
    {
        var owner = await OpenAsync(AliceToken);
        var other = await OpenAsync(AliceAgainToken);
        var (jobId, _) = await StartJobAsync(owner);

        var progress = Frame(MessageTypes.JobProgress, new JsonObject { ["percent"] = 50, ["message"] = "half" }, other.SessionId, jobId);
        var nack = await other.RequestAsync(progress);

        Assert.Equal(MessageTypes.Nack, Text(nack, "type"));
        Assert.Equal(ErrorCodes.PermissionDenied, Text(nack, "payload.code"));
        Assert.Contains(owner.SessionId!, Text(nack, "payload.message"), StringComparison.Ordinal);
        Assert.DoesNotContain(await store.ReadJobStreamAsync(jobId, 0, CancellationToken.None), e => e.MessageId == progress.Id);

        var completed = await other.RequestAsync(Frame(MessageTypes.JobCompleted, new JsonObject { ["result"] = 1 }, other.SessionId, jobId));
        Assert.Equal(ErrorCodes.PermissionDenied, Text(completed, "payload.code"));
        Assert.Equal("running", Text(Assert.Single(await QueryJobsAsync(owner, jobId)), "state"));
    }

    [Fact]
    public async Task Another_principal_cannot_touch_or_resume_a_job()
    {
        var alice = await OpenAsync(AliceToken);
        var bob = await OpenAsync(BobToken);
        var (jobId, _) = await StartJobAsync(alice);

        var progress = await bob.RequestAsync(Frame(MessageTypes.JobProgress, new JsonObject { ["percent"] = 1, ["message"] = "x" }, bob.SessionId, jobId));
        var resume = await bob.RequestAsync(Frame(MessageTypes.Resume, [], bob.SessionId, jobId));

        Assert.Equal(ErrorCodes.NotFound, Text(progress, "payload.code"));
        Assert.Equal(ErrorCodes.NotFound, Text(resume, "payload.code"));
        Assert.Empty(await QueryJobsAsync(bob, jobId));
    }

    [Fact]
    public async Task A_checkpoint_with_a_repeated_idempotency_key_is_acked_as_a_duplicate_of_the_first()
    {
        var peer = await OpenAsync(AliceToken);
        var (jobId, _) = await StartJobAsync(peer);
        var first = Checkpoint(peer, jobId, "chk_first", "plan", 0, new JsonObject { ["plan"] = 1 }, "research:plan:k1");
        var firstAck = await peer.RequestAsync(first);
        Assert.Equal(MessageTypes.Ack, Text(firstAck, "type"));
        Assert.Equal("chk_first", Text(firstAck, "payload.checkpoint_id"));
        Assert.Null(firstAck["payload"]!["duplicate"]);

        var repeat = Checkpoint(peer, jobId, "chk_second", "plan", 0, new JsonObject { ["plan"] = 2 }, "research:plan:k1");
        var repeatAck = await peer.RequestAsync(repeat);

        Assert.Equal(MessageTypes.Ack, Text(repeatAck, "type"));
        Assert.Equal(repeat.Id, Text(repeatAck, "payload.ack_for"));
        Assert.True(repeatAck["payload"]!["duplicate"]!.GetValue<bool>());
        Assert.Equal("chk_first", Text(repeatAck, "payload.checkpoint_id"));
        Assert.Equal(first.Id, Text(repeatAck, "payload.message_id"));
        var checkpoints = await peer.RequestAsync(Frame(MessageTypes.CheckpointQuery, [], peer.SessionId, jobId));
        var only = Assert.Single(checkpoints["payload"]!["checkpoints"]!.AsArray());
        Assert.Equal("chk_first", Text(only!.AsObject(), "checkpoint_id"));
        Assert.Equal("{\"plan\":1}", only["output"]!.ToJsonString());
        var stream = await store.ReadJobStreamAsync(jobId, 0, CancellationToken.None);
        Assert.DoesNotContain(stream, e => e.MessageId == repeat.Id);
    }

    [Fact]
    public async Task A_retransmitted_checkpoint_gets_its_first_ack_byte_for_byte_with_the_checkpoint_but_not_its_output()
    {
        var peer = await OpenAsync(AliceToken);
        var (jobId, _) = await StartJobAsync(peer);
        var checkpoint = Checkpoint(peer, jobId, "chk_plan", "plan", 0, new JsonObject { ["plan"] = 1 }, "research:plan:again");
        await peer.SendAsync(checkpoint);
        var firstAck = await peer.ReceiveTextAsync();

        // The same message id again: its ack is derived from what was logged, not handled a second time.
        await peer.SendAsync(checkpoint);
        var againAck = await peer.ReceiveTextAsync();

        Assert.Equal(firstAck, againAck);
        var ack = JsonNode.Parse(againAck)!.AsObject();
        Assert.Equal(MessageTypes.Ack, Text(ack, "type"));
        Assert.Equal("chk_plan", Text(ack, "payload.checkpoint.checkpoint_id"));
        Assert.Null(ack["payload"]!["checkpoint"]!["output"]);
        await peer.AssertAliveAsync();
    }

    // ---- Resume (§19) --------------------------------------------------------------------------

    [Fact]
    public async Task Resume_replays_the_job_stream_byte_identical_and_ends_with_the_replay_complete_marker()
    {
        var owner = await OpenAsync(AliceToken);
        var (jobId, original) = await StartJobAsync(owner);

        // Owner events in deliberately unusual formatting: the replay must return the text as received, not a re-serialization.
        var progress = Frame(MessageTypes.JobProgress, new JsonObject { ["percent"] = 50, ["message"] = "plan done \u00e9" }, owner.SessionId, jobId);
        var spaced = new Sent(progress.Id, progress.Text.Replace(",", " ,\n  ", StringComparison.Ordinal));
        await owner.RequestAsync(spaced);
        var checkpoint = Checkpoint(owner, jobId, "chk_plan", "plan", 0, new JsonObject { ["outline"] = new JsonArray("a", "b") }, "research:plan:x");
        await owner.RequestAsync(checkpoint);
        var after = Frame(MessageTypes.JobProgress, new JsonObject { ["percent"] = 60, ["message"] = "gathering" }, owner.SessionId, jobId);
        await owner.RequestAsync(after);
        await owner.DisconnectAsync();

        var resumer = await OpenAsync(AliceAgainToken);
        var resume = Frame(MessageTypes.Resume, new JsonObject { ["include_open_streams"] = false }, resumer.SessionId, jobId);
        var ack = await resumer.RequestAsync(resume);
        Assert.Equal(MessageTypes.Ack, Text(ack, "type"));
        Assert.Equal(resume.Id, Text(ack, "correlation_id"));
        var replayed = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            replayed.Add(await resumer.ReceiveTextAsync());
        }

        var marker = await resumer.ReceiveAsync();

        Assert.Equal([original[0], original[1], spaced.Text, checkpoint.Text, after.Text], replayed);
        Assert.Equal(MessageTypes.EventEmit, Text(marker, "type"));
        Assert.Equal(resume.Id, Text(marker, "correlation_id"));
        Assert.Equal(jobId, Text(marker, "job_id"));
        Assert.Equal(MessageTypes.ReplayCompleteEvent, Text(marker, "payload.type"));
        Assert.Equal(5, marker["payload"]!["data"]!["replayed"]!.GetValue<int>());
        Assert.Equal(after.Id, Text(marker, "payload.data.last_message_id"));
        Assert.Equal("chk_plan", Text(marker, "payload.data.checkpoint.checkpoint_id"));
        Assert.Equal(resumer.SessionId, Text(marker, "payload.data.job.owner.session_id"));
        Assert.False(marker["payload"]!["data"]!["job"]!["interrupted"]!.GetValue<bool>());

        // after_message_id narrows the replay to what followed that message.
        var partial = Frame(MessageTypes.Resume, new JsonObject { ["after_message_id"] = checkpoint.Id }, resumer.SessionId, jobId);
        Assert.Equal(MessageTypes.Ack, Text(await resumer.RequestAsync(partial), "type"));
        Assert.Equal(after.Text, await resumer.ReceiveTextAsync());
        var partialMarker = await resumer.ReceiveAsync();
        Assert.Equal(partial.Id, Text(partialMarker, "correlation_id"));
        Assert.Equal(1, partialMarker["payload"]!["data"]!["replayed"]!.GetValue<int>());
    }

    [Fact]
    public async Task Resume_of_an_unknown_job_is_not_found()
    {
        var peer = await OpenAsync(AliceToken);
        var resume = Frame(MessageTypes.Resume, [], peer.SessionId, ArcpId.NewJobId());

        var nack = await peer.RequestAsync(resume);

        Assert.Equal(MessageTypes.Nack, Text(nack, "type"));
        Assert.Equal(ErrorCodes.NotFound, Text(nack, "payload.code"));
        Assert.Equal(resume.Id, Text(nack, "payload.ack_for"));
        await peer.AssertAliveAsync();
    }

    [Fact]
    public async Task Resume_while_another_live_session_owns_the_job_is_aborted_naming_the_owner()
    {
        var owner = await OpenAsync(AliceToken);
        var (jobId, _) = await StartJobAsync(owner);
        var other = await OpenAsync(AliceAgainToken);

        var nack = await other.RequestAsync(Frame(MessageTypes.Resume, [], other.SessionId, jobId));

        Assert.Equal(MessageTypes.Nack, Text(nack, "type"));
        Assert.Equal(ErrorCodes.Aborted, Text(nack, "payload.code"));
        Assert.True(nack["payload"]!["retryable"]!.GetValue<bool>());
        Assert.Equal(owner.SessionId, Text(nack, "payload.details.owner.session_id"));
        Assert.Contains(owner.SessionId!, Text(nack, "payload.message"), StringComparison.Ordinal);

        // The owner keeps the job: its events are still accepted.
        var progress = await owner.RequestAsync(Frame(MessageTypes.JobProgress, new JsonObject { ["percent"] = 10, ["message"] = "still here" }, owner.SessionId, jobId));
        Assert.Equal(MessageTypes.Ack, Text(progress, "type"));
    }

    [Fact]
    public async Task A_session_that_disconnects_without_closing_leaves_its_running_job_interrupted()
    {
        var owner = await OpenAsync(AliceToken);
        var (jobId, _) = await StartJobAsync(owner);
        var observer = await OpenAsync(AliceAgainToken);
        Assert.False(Assert.Single(await QueryJobsAsync(observer, jobId))["interrupted"]!.GetValue<bool>());

        await owner.DisconnectAsync();

        var job = Assert.Single(await QueryJobsAsync(observer, jobId));
        Assert.Equal("running", Text(job, "state"));
        Assert.True(job["interrupted"]!.GetValue<bool>());
        Assert.Null(job["owner"]);
        var interrupted = await observer.RequestAsync(Frame(MessageTypes.JobQuery, new JsonObject { ["states"] = new JsonArray("interrupted") }, observer.SessionId));
        Assert.Equal(jobId, Text(Assert.Single(interrupted["payload"]!["jobs"]!.AsArray())!.AsObject(), "job_id"));
    }

    // ---- Harness -------------------------------------------------------------------------------

    private RawPeer Connect(RuntimeOptions? options = null)
    {
        var peer = RawPeer.Start(new ArcpRuntime(store, options ?? Options));
        peers.Add(peer);
        return peer;
    }

    private async Task<RawPeer> OpenAsync(string token)
    {
        var peer = Connect();
        var accepted = await peer.RequestAsync(SessionOpen("bearer", token));
        Assert.Equal(MessageTypes.SessionAccepted, Text(accepted, "type"));
        peer.SessionId = Text(accepted, "payload.session_id");
        return peer;
    }

    /// <returns>The job id and the exact job.accepted and job.started frames.</returns>
    private static async Task<(string JobId, string[] Frames)> StartJobAsync(RawPeer peer, string? idempotencyKey = null)
    {
        await peer.SendAsync(Frame(MessageTypes.WorkflowStart, new JsonObject { ["workflow"] = "research", ["inputs"] = "question" }, peer.SessionId, idempotencyKey: idempotencyKey));
        var frames = new[] { await peer.ReceiveTextAsync(), await peer.ReceiveTextAsync() };
        var accepted = JsonNode.Parse(frames[0])!.AsObject();
        Assert.Equal(MessageTypes.JobAccepted, Text(accepted, "type"));
        Assert.Equal(MessageTypes.JobStarted, Text(JsonNode.Parse(frames[1])!.AsObject(), "type"));
        return (Text(accepted, "job_id"), frames);
    }

    private static async Task<List<JsonObject>> QueryJobsAsync(RawPeer peer, string? jobId)
    {
        var payload = jobId is null ? [] : new JsonObject { ["job_id"] = jobId };
        var list = await peer.RequestAsync(Frame(MessageTypes.JobQuery, payload, peer.SessionId));
        Assert.Equal(MessageTypes.JobList, Text(list, "type"));
        return list["payload"]!["jobs"]!.AsArray().Select(j => j!.AsObject()).ToList();
    }

    private static Sent SessionOpen(string scheme, string? token, bool anonymous = false)
    {
        var auth = new JsonObject { ["scheme"] = scheme };
        if (token is not null)
        {
            auth["token"] = token;
        }

        var capabilities = new JsonObject { ["durable_jobs"] = true };
        if (anonymous)
        {
            capabilities["anonymous"] = true;
        }

        return Frame(MessageTypes.SessionOpen, new JsonObject { ["auth"] = auth, ["client"] = new JsonObject { ["kind"] = "raw-test", ["version"] = "1.0.0" }, ["capabilities"] = capabilities });
    }

    private static Sent Checkpoint(RawPeer peer, string jobId, string checkpointId, string step, int index, JsonNode output, string idempotencyKey) =>
        Frame(
            MessageTypes.JobCheckpoint,
            new JsonObject
            {
                ["checkpoint_id"] = checkpointId,
                ["label"] = step,
                ["snapshot"] = new JsonObject { ["step"] = step, ["step_index"] = index, ["step_count"] = 5, ["output"] = output },
            },
            peer.SessionId,
            jobId,
            idempotencyKey);

    private static Sent Frame(string type, JsonObject payload, string? sessionId = null, string? jobId = null, string? idempotencyKey = null, JsonObject? extensions = null)
    {
        var id = ArcpId.NewMessageId();
        var frame = new JsonObject
        {
            ["arcp"] = "1.0",
            ["id"] = id,
            ["type"] = type,
            ["timestamp"] = ArcpJson.FormatTimestamp(DateTimeOffset.UtcNow),
        };
        if (sessionId is not null)
        {
            frame["session_id"] = sessionId;
        }

        if (jobId is not null)
        {
            frame["job_id"] = jobId;
        }

        if (idempotencyKey is not null)
        {
            frame["idempotency_key"] = idempotencyKey;
        }

        if (extensions is not null)
        {
            frame["extensions"] = extensions;
        }

        frame["payload"] = payload;
        return new Sent(id, frame.ToJsonString());
    }

    /// <summary>The string at a dotted path, failing the test when it is absent.</summary>
    private static string Text(JsonObject envelope, string path)
    {
        JsonNode? node = envelope;
        foreach (var part in path.Split('.'))
        {
            node = node?[part];
        }

        return node?.GetValue<string>() ?? throw new Xunit.Sdk.XunitException($"'{path}' is missing from {envelope.ToJsonString()}");
    }

    private sealed record Sent(string Id, string Text);

    /// <summary>One connection to the runtime, served as one session, spoken to in raw frames.</summary>
    private sealed class RawPeer : IAsyncDisposable
    {
        private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);
        private readonly IArcpConnection connection;
        private readonly Task serving;

        private RawPeer(IArcpConnection connection, Task serving)
        {
            this.connection = connection;
            this.serving = serving;
        }

        public string? SessionId { get; set; }

        public static RawPeer Start(ArcpRuntime runtime)
        {
            var (client, server) = InMemoryTransport.CreatePair();
            return new RawPeer(client, Task.Run(() => runtime.ServeAsync(server, CancellationToken.None)));
        }

        public async Task SendAsync(Sent frame) => await SendAsync(frame.Text);

        public async Task SendAsync(string frame) => await connection.SendAsync(frame, CancellationToken.None);

        public async Task<string> ReceiveTextAsync()
        {
            using var timeout = new CancellationTokenSource(AnswerTimeout);
            try
            {
                return await connection.ReceiveAsync(timeout.Token) ?? throw new Xunit.Sdk.XunitException("The runtime closed the connection.");
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new Xunit.Sdk.XunitException($"No frame from the runtime within {AnswerTimeout}.");
            }
        }

        public async Task<JsonObject> ReceiveAsync() => JsonNode.Parse(await ReceiveTextAsync())!.AsObject();

        /// <summary>Sends a frame and returns the next frame received.</summary>
        public async Task<JsonObject> RequestAsync(Sent frame)
        {
            await SendAsync(frame);
            return await ReceiveAsync();
        }

        /// <summary>
        /// Proves the session is alive and nothing else is queued: frames are handled in order, so the
        /// very next frame must be the pong to this ping.
        /// </summary>
        public async Task AssertAliveAsync()
        {
            var ping = Frame(MessageTypes.Ping, [], SessionId);
            var pong = await RequestAsync(ping);
            Assert.Equal(MessageTypes.Pong, Text(pong, "type"));
            Assert.Equal(ping.Id, Text(pong, "correlation_id"));
        }

        /// <summary>Drops the connection without session.close, as a crashed client would, and waits for the runtime to notice.</summary>
        public async Task DisconnectAsync()
        {
            connection.Close();
            await serving.WaitAsync(AnswerTimeout);
        }

        public async ValueTask DisposeAsync()
        {
            connection.Close();
            await serving.WaitAsync(AnswerTimeout);
        }
    }
}
