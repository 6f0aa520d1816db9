using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>§19 <c>resume</c>: claim the job, replay its stream byte for byte, then the <c>resume.replay_complete</c> marker.</summary>
internal sealed partial class RuntimeSession
{
    private async Task ResumeAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var request = envelope.PayloadAs<ResumePayload>();
        if (envelope.JobId is not { } jobId)
        {
            await ResumeSessionAsync(envelope, frame, request, cancellationToken).ConfigureAwait(false);
            return;
        }

        var afterCheckpoint = request.AfterMessageId is null && MessageTypes.WantsReplayAfterCheckpoint(envelope.Extensions);
        var plan = await jobs.PlanResumeAsync(principal, jobId, request.AfterMessageId, request.CheckpointId, cancellationToken, afterCheckpoint).ConfigureAwait(false);
        var replay = plan.Replay;

        // Only a resume that asks for it is handed to the runtime's driver (one the runtime cannot drive is refused).
        var runtimeDrives = MessageTypes.DeclaredDriver(envelope.Extensions) == "runtime"
            && runtime.RuntimeDrives(envelope, plan.Job.Workflow);
        var watch = runtimeDrives ? "sub_" + ArcpId.NewUlid() : null;
        if (watch is null)
        {
            // Before the answer goes out: from then on the new owner's heartbeat deadlines run (§10.3).
            runtime.Liveness.Seen(sessionId);
        }

        // The ack, a data-loss report and the marker are logged in the claim's transaction (one commit, where the
        // marker had one of its own) and sent in their order, the replay between the ack and the rest: the replayed
        // events are the job's logged stream, sent again, not logged again.
        JobRecord? claimed = null;
        var frames = await RespondAsync(
            envelope,
            frame,
            null,
            CommitDurability.ProcessSafe,
            jobId,
            async (tx, locked) =>
            {
                // A runtime-driven resume leaves the lease to the driver's own session.
                claimed = await jobs.ClaimAsync(tx, locked ?? throw JobService.NotFound(jobId), sessionId, watch is null ? holder : null, cancellationToken).ConfigureAwait(false);
                var ack = Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id));
                List<Envelope> replies = [watch is null ? ack : ack with { Extensions = new JsonObject { [MessageTypes.DriverExtension] = "runtime", [MessageTypes.SubscriptionExtension] = watch } }];

                // The claim read the watermark after the replay was read, so a purge racing this resume is not missed.
                if (plan.AfterSequence < claimed.PurgedThroughSequence)
                {
                    // §19: part of what the client asked to replay fell to retention. Say so (not retryable) before
                    // the replay; checkpoints outlive event retention, so the client can usually carry on (its decision).
                    var lost = ArcpError.Create(
                        ErrorCodes.DataLoss,
                        $"Events of job '{jobId}' up to sequence {claimed.PurgedThroughSequence} were purged by retention; the replay starts at {(replay.Count == 0 ? "the end of the stream" : $"message '{replay[0].MessageId}'")}.",
                        new JsonObject { ["job_id"] = jobId, ["purged_through_sequence"] = claimed.PurgedThroughSequence, ["oldest_retained_message_id"] = replay.Count == 0 ? null : replay[0].MessageId });
                    replies.Add(Reply(envelope, MessageTypes.EventEmit, new EventEmitPayload(MessageTypes.DataLossEvent, JsonSerializer.SerializeToNode(lost, ArcpJson.Options)!.AsObject()), jobId));
                }

                // The marker names the anchor checkpoint; it is decided here (by the job layer) and nowhere else.
                var complete = new ReplayComplete(
                    jobs.Summarize(claimed),
                    replay.Count,
                    replay.Count == 0 ? request.AfterMessageId ?? (afterCheckpoint ? plan.Anchor?.MessageId : null) : replay[^1].MessageId,
                    plan.Anchor is null ? null : JobSummaries.Of(plan.Anchor, includeOutput: true),
                    ArcpJson.ParseNode(claimed.Inputs));
                replies.Add(Reply(envelope, MessageTypes.EventEmit, EventEmitPayload.Marker(MessageTypes.ReplayCompleteEvent, JsonSerializer.SerializeToNode(complete, ArcpJson.Options)!.AsObject()), jobId));
                return replies;
            },
            cancellationToken,
            afterTheAnswer: async ct =>
            {
                foreach (var replayed in replay)
                {
                    await connection.SendAsync(replayed.Envelope, ct).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        if (frames is null || claimed is null)
        {
            return;
        }

        if (watch is not null && !JobStates.IsTerminal(claimed.State))
        {
            WatchJob(jobId, watch);
            await AwaitClaimAsync(runtime.Drive(jobId, principal, claimed.Workflow), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// §9 session-scoped <c>resume</c> (no <c>job_id</c>), after reconnecting with the session's id: <c>ack</c>, the
    /// job-stream events logged in this session after <c>after_message_id</c> byte for byte, then the end marker.
    /// Jobs are not claimed: driving one again is a job-scoped resume (§19).
    /// </summary>
    private async Task ResumeSessionAsync(Envelope envelope, string frame, ResumePayload request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.AfterMessageId))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "A resume without 'job_id' resumes this session and needs 'after_message_id', the last message of it the client saw.");
        }

        var replay = await jobs.ReadSessionReplayAsync(sessionId, request.AfterMessageId, cancellationToken).ConfigureAwait(false);
        if (await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id))), cancellationToken).ConfigureAwait(false) is null)
        {
            return;
        }

        foreach (var replayed in replay)
        {
            await connection.SendAsync(replayed.Envelope, cancellationToken).ConfigureAwait(false);
        }

        var complete = new SessionReplayComplete(sessionId, replay.Count, replay.Count == 0 ? request.AfterMessageId : replay[^1].MessageId);
        var marker = Reply(envelope, MessageTypes.EventEmit, EventEmitPayload.Marker(MessageTypes.ReplayCompleteEvent, JsonSerializer.SerializeToNode(complete, ArcpJson.Options)!.AsObject()));
        await PersistAndSendAsync([marker], cancellationToken).ConfigureAwait(false);
    }
}
