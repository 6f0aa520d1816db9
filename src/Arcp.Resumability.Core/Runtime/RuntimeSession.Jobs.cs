using System.Text.Json.Nodes;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>Job lifecycle messages: <c>workflow.start</c> and <c>tool.invoke</c>, the owner's job events and <c>cancel</c>.</summary>
internal sealed partial class RuntimeSession
{
    private async Task StartWorkflowAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var start = envelope.PayloadAs<WorkflowStartPayload>();
        if (string.IsNullOrWhiteSpace(start.Workflow))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "workflow.start needs a non-empty 'workflow'.");
        }

        await StartJobAsync(envelope, frame, start, runtime.RuntimeDrives(envelope, start.Workflow), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>tool.invoke</c> as other ARCP peers start jobs: the tool names a workflow registered on this runtime, its
    /// arguments are the job's inputs, and the runtime runs it exactly like a runtime-driven <c>workflow.start</c>.
    /// </summary>
    private async Task InvokeToolAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var invoke = envelope.PayloadAs<ToolInvokePayload>();
        if (string.IsNullOrWhiteSpace(invoke.Tool))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "tool.invoke needs a non-empty 'tool'.");
        }

        if (runtime.Options.Driver is not { } driver || !driver.Workflows.Contains(invoke.Tool, StringComparer.Ordinal))
        {
            throw ArcpException.Of(
                ErrorCodes.NotFound,
                $"No tool '{invoke.Tool}' on this runtime: the tools are the workflows it runs itself (capabilities '{MessageTypes.WorkflowsCapability}').",
                new JsonObject { ["tool"] = invoke.Tool });
        }

        await StartJobAsync(envelope, frame, new WorkflowStartPayload(invoke.Tool, invoke.Arguments), runtimeDrives: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartJobAsync(Envelope envelope, string frame, WorkflowStartPayload start, bool runtimeDrives, CancellationToken cancellationToken)
    {
        var chosenId = ClientChosenJobId(envelope, start);
        var inputs = ArcpJson.ToText(start.Inputs);
        var watch = runtimeDrives ? "sub_" + ArcpId.NewUlid() : null;
        string? drivenJob = null;
        if (watch is null)
        {
            // Before the answer goes out: from then on the owner's heartbeat deadlines run (§10.3).
            runtime.Liveness.Seen(sessionId);
        }

        await RespondAsync(
            envelope,
            frame,
            null,
            CommitDurability.Durable,
            async tx =>
            {
                var jobId = chosenId ?? ArcpId.NewJobId();
                // Correlated like job.accepted, so a retransmitted workflow.start gets both answers again (§6.4).
                var started = Reply(envelope, MessageTypes.JobStarted, new JobStartedPayload(start.Workflow) { Name = start.Name }, jobId) with { CausationId = envelope.Id };
                // A runtime-driven job is claimed by its driver's own session a moment later.
                var (job, existing) = await jobs.StartAsync(tx, new JobStart(jobId, principal, start.Workflow, start.Name, inputs, envelope.IdempotencyKey, started.Id, chosenId is not null) { RetryOf = start.RetryOf }, watch is null ? holder : null, cancellationToken).ConfigureAwait(false);
                if (existing)
                {
                    return [Reply(envelope, MessageTypes.JobAccepted, new JobAcceptedPayload(job.State, job.Workflow) { Name = job.Name, Existing = true }, job.JobId)];
                }

                var accepted = Reply(envelope, MessageTypes.JobAccepted, new JobAcceptedPayload(JobStates.Accepted, start.Workflow) { Name = start.Name }, jobId) with
                {
                    Extensions = watch is null
                        ? new JsonObject { [MessageTypes.DriverExtension] = "client" }
                        : new JsonObject { [MessageTypes.DriverExtension] = "runtime", [MessageTypes.SubscriptionExtension] = watch },
                };
                drivenJob = watch is null ? null : jobId;
                return [accepted, started];
            },
            cancellationToken).ConfigureAwait(false);
        if (drivenJob is not null && watch is not null)
        {
            // The starting session watches the job it does not run, through an implicit job subscription.
            WatchJob(drivenJob, watch);
            await AwaitClaimAsync(runtime.Drive(drivenJob, principal, start.Workflow), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The job id the client chose (envelope or payload <c>job_id</c>), checked for form; null when it chose none.</summary>
    private static string? ClientChosenJobId(Envelope envelope, WorkflowStartPayload start)
    {
        if (envelope.JobId is { } onEnvelope && start.JobId is { } inPayload && onEnvelope != inPayload)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' names two different job ids (envelope 'job_id' and 'payload.job_id').");
        }

        var chosen = envelope.JobId ?? start.JobId;
        return chosen is null || ArcpId.IsWellFormedPeerId(chosen)
            ? chosen
            : throw ArcpException.Of(
                ErrorCodes.InvalidArgument,
                $"job_id must be 1 to {ArcpId.MaxPeerIdLength} ASCII letters, digits, '_', '-', '.' or ':', starting with a letter or digit.");
    }

    private async Task RecordJobEventAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = envelope.JobId ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs a 'job_id'.");
        var durability = envelope.Type is MessageTypes.JobProgress or MessageTypes.JobHeartbeat or MessageTypes.Log or MessageTypes.StreamOpen or MessageTypes.StreamChunk or MessageTypes.StreamClose
            ? CommitDurability.ProcessSafe
            : CommitDurability.Durable;

        // Any event from an owner proves it alive (§10.3); one that owns nothing is dropped by the watchdog.
        runtime.Liveness.Seen(sessionId);

        // Parse before touching the store so a malformed payload is refused without side effects.
        JobEvent recorded;
        try
        {
            recorded = ReadJobEvent(envelope);
        }
        catch (Exception ex) when (ex is ArcpException or System.Text.Json.JsonException)
        {
            // Its refusal is logged after the events held before it, in arrival order.
            await FlushHeldEventsAsync(cancellationToken).ConfigureAwait(false);
            throw;
        }

        if (recorded.IsHeartbeat)
        {
            await RecordOneAsync(envelope, frame, jobId, recorded, durability, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await RecordOrHoldAsync(envelope, frame, jobId, recorded, durability, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Records one owner's event in a transaction of its own, answering a refusal with a nack.</summary>
    private async Task RecordOneAsync(Envelope envelope, string frame, string jobId, JobEvent recorded, CommitDurability durability, CancellationToken cancellationToken)
    {
        PendingCancels? cancels = null;
        await RespondAsync(
            envelope,
            frame,
            // Heartbeats are liveness, not history: logged, but kept out of what a resume replays.
            recorded.IsHeartbeat ? null : jobId,
            durability,
            async tx =>
            {
                var checkpoint = await jobs.RecordAsync(tx, holder, jobId, recorded, cancellationToken).ConfigureAwait(false);
                cancels = await ScanForCancelsAsync(tx, jobId, envelope.Type, cancellationToken).ConfigureAwait(false);
                var ack = new AckPayload(envelope.Id) { MessageId = envelope.Id };
                if (checkpoint is not null)
                {
                    ack = ack with { CheckpointId = checkpoint.CheckpointId, Checkpoint = JobSummaries.Of(checkpoint, includeOutput: false) };
                }

                return [Reply(envelope, MessageTypes.Ack, ack)];
            },
            cancellationToken).ConfigureAwait(false);
        await RelayCancellationAsync(cancels, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Validates an owner's event and says what the job layer records for it.</summary>
    private static JobEvent ReadJobEvent(Envelope envelope)
    {
        var recorded = new JobEvent(envelope.Id, envelope.Type == MessageTypes.JobHeartbeat);
        switch (envelope.Type)
        {
            case MessageTypes.JobProgress:
                envelope.PayloadAs<JobProgressPayload>();
                return recorded;
            case MessageTypes.JobHeartbeat:
                envelope.PayloadAs<JobHeartbeatPayload>();
                return recorded;
            case MessageTypes.Log:
                var log = envelope.PayloadAs<LogPayload>();
                if (!LogLevels.IsValid(log.Level) || log.Message is null)
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, "log needs a 'message' and a 'level' of trace, debug, info, warn, error or critical.");
                }

                return recorded;
            case MessageTypes.StreamOpen:
                if (string.IsNullOrEmpty(envelope.StreamId) || string.IsNullOrEmpty(envelope.PayloadAs<StreamOpenPayload>().Kind))
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, "stream.open needs a 'stream_id' and a 'kind'.");
                }

                return recorded;
            case MessageTypes.StreamChunk:
            case MessageTypes.StreamClose:
                if (string.IsNullOrEmpty(envelope.StreamId))
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs a 'stream_id'.");
                }

                return recorded;
            case MessageTypes.JobCheckpoint:
                return recorded with { Checkpoint = CheckpointReader.Read(envelope) };
            case MessageTypes.JobCompleted:
                return recorded with { TerminalState = JobStates.Completed, Result = ArcpJson.ToText(envelope.PayloadAs<JobCompletedPayload>().Result) };
            case MessageTypes.JobFailed:
            case MessageTypes.JobCancelled:
                var error = envelope.PayloadAs<ArcpError>();
                if (string.IsNullOrEmpty(error.Code) || error.Message is null)
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs an error with 'code' and 'message'.");
                }

                return recorded with { TerminalState = envelope.Type == MessageTypes.JobFailed ? JobStates.Failed : JobStates.Cancelled, Error = ArcpJson.Serialize(error) };
            default:
                return recorded;
        }
    }

    /// <summary>
    /// §10.4 cancel of a job. A job nobody drives (interrupted) is cancelled here and now. A job with a live
    /// owner is cancelled cooperatively: the request is recorded in the job's stream, where the owner's session
    /// (in this runtime or another one over the same store) finds it on the owner's next event (a heartbeat at
    /// the latest) and relays it to the owner, which stops at a clean checkpoint and emits <c>job.cancelled</c>.
    /// The deadline is passed on to the owner; when it passes with the job still unfinished, the runtime ends the job
    /// itself with an <c>ABORTED</c> <c>job.cancelled</c> (§10.4's MUST), see <see cref="EnforceCancelDeadlineAsync"/>.
    /// </summary>
    private async Task CancelAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var request = envelope.PayloadAs<CancelPayload>();
        if (string.IsNullOrEmpty(request.Target) || string.IsNullOrEmpty(request.TargetId))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "cancel needs a 'target' and a 'target_id'.");
        }

        Envelope Refused(string reason, string message) =>
            Reply(envelope, MessageTypes.CancelRefused, new CancelRefusedPayload(request.Target, request.TargetId, reason) { Message = message }, request.Target == "job" ? request.TargetId : null);

        if (request.DeadlineMs is < 0)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "cancel 'deadline_ms' must not be negative.");
        }

        if (request.Target != "job")
        {
            await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Refused(CancelRefusals.NotCancellable, $"This runtime cancels jobs only, not a '{request.Target}'.")), cancellationToken).ConfigureAwait(false);
            return;
        }

        var jobId = request.TargetId;
        var job = await jobs.GetVisibleJobAsync(principal, jobId, cancellationToken).ConfigureAwait(false);
        if (JobStates.IsTerminal(job.State))
        {
            await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Refused(CancelRefusals.AlreadyTerminal, $"Job '{jobId}' is already {job.State}.")), cancellationToken).ConfigureAwait(false);
            return;
        }

        var cooperative = false;
        var answered = await RespondAsync(
            envelope,
            frame,
            jobId,
            CommitDurability.Durable,
            async tx =>
            {
                var current = await JobService.GetForCancelAsync(tx, jobId, cancellationToken).ConfigureAwait(false);
                if (JobStates.IsTerminal(current.State))
                {
                    return [Refused(CancelRefusals.AlreadyTerminal, $"Job '{jobId}' is already {current.State}.")];
                }

                if (jobs.HasLiveOwner(current))
                {
                    cooperative = true;
                    return [Reply(envelope, MessageTypes.CancelAccepted, new CancelAcceptedPayload(request.Target, jobId) { State = current.State }, jobId)];
                }

                var error = ArcpError.Create(
                    ErrorCodes.Cancelled,
                    $"Cancelled ({request.Reason ?? "no reason given"}) while no process was running it.",
                    new JsonObject { ["reason"] = request.Reason, ["cancel_id"] = envelope.Id, ["last_checkpoint_id"] = current.LastCheckpointId });
                var cancelled = Envelope.Create(MessageTypes.JobCancelled, error, sessionId, jobId) with { CausationId = envelope.Id };
                await jobs.MarkCancelledAsync(tx, current, error, cancelled.Id, cancellationToken).ConfigureAwait(false);
                return [Reply(envelope, MessageTypes.CancelAccepted, new CancelAcceptedPayload(request.Target, jobId) { State = JobStates.Cancelled }, jobId), cancelled];
            },
            cancellationToken).ConfigureAwait(false);
        if (answered is not null && cooperative && request.DeadlineMs is { } deadlineMs)
        {
            // Not awaited and not tied to this session: the job must end even if the canceller goes away first.
            _ = EnforceCancelDeadlineAsync(jobId, envelope.Id, TimeSpan.FromMilliseconds(Math.Min(deadlineMs, (long)MaxCancelDeadline.TotalMilliseconds)));
        }
    }

    /// <summary>The longest cancel deadline the runtime waits out; a longer <c>deadline_ms</c> is shortened to it.</summary>
    private static TimeSpan MaxCancelDeadline { get; } = TimeSpan.FromDays(1);

    /// <summary>
    /// §10.4: "If deadline_ms elapses without progress, the runtime … MUST emit a terminal event with code: ABORTED."
    /// Once the deadline passes with the job unfinished, it is ended (state <c>cancelled</c>, lease revoked, so its
    /// owner's further events are refused) and the <c>job.cancelled</c> goes to the canceller and to every subscriber.
    /// </summary>
    private async Task EnforceCancelDeadlineAsync(string jobId, string cancelId, TimeSpan deadline)
    {
        try
        {
            await Task.Delay(deadline, runtime.Options.Clock).ConfigureAwait(false);
            if (await jobs.AbortOverdueCancelAsync(jobId, cancelId, deadline, CancellationToken.None).ConfigureAwait(false) is not var (job, emitted, text))
            {
                return;
            }

            runtime.Events.Publish(new PublishedEvent(emitted.Id, emitted.Type, null, jobId, job.Principal, text));
            await connection.SendAsync(text, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StoreException or ObjectDisposedException or InvalidOperationException or IOException or OperationCanceledException)
        {
            // The runtime or the canceller's connection went away meanwhile; a job left unfinished stays resumable.
            runtime.Options.Diagnostics?.Invoke($"The cancel deadline of job {jobId} could not be enforced: {ex.Message}");
        }
    }

    /// <summary>
    /// The cancel requests recorded in the stream of a job this session drives since its last scan, read in
    /// <paramref name="tx"/> (the transaction recording the owner's event); after a terminal event, the end of the relay.
    /// </summary>
    private async Task<PendingCancels?> ScanForCancelsAsync(IStoreTransaction tx, string jobId, string eventType, CancellationToken cancellationToken)
    {
        if (MessageTypes.IsTerminalJobEvent(eventType))
        {
            return JobEnded(jobId);
        }

        var (requests, scannedThrough) = await JobService.PendingCancelsAsync(tx, sessionId, jobId, CancelsScannedThrough(jobId), cancellationToken).ConfigureAwait(false);
        return new PendingCancels(jobId, requests, scannedThrough, JobEnded: false);
    }

    /// <summary>How far this session has scanned the stream of a job it drives for cancel requests.</summary>
    private long CancelsScannedThrough(string jobId) => cancelRelays.TryGetValue(jobId, out var relay) ? relay.ScannedThrough : 0;

    private static PendingCancels JobEnded(string jobId) => new(jobId, [], 0, JobEnded: true);

    /// <summary>Relays the cancel requests a committed scan found to the job's owner, once each.</summary>
    private async Task RelayCancellationAsync(PendingCancels? pending, CancellationToken cancellationToken)
    {
        if (pending is not var (jobId, requests, scannedThrough, jobEnded))
        {
            return;
        }

        if (jobEnded)
        {
            // Committed: the job is over and nothing is relayed for it again, so a session that drives job after job
            // (a worker slot) keeps nothing per finished job.
            cancelRelays.Remove(jobId);
            return;
        }

        if (!cancelRelays.TryGetValue(jobId, out var watched))
        {
            watched = new CancelRelay();
            cancelRelays[jobId] = watched;
        }

        watched.ScannedThrough = scannedThrough;
        foreach (var recorded in requests)
        {
            if (watched.Relayed.Add(recorded.MessageId))
            {
                var request = EnvelopeCodec.Parse(recorded.Envelope);
                var payload = request.PayloadAs<CancelPayload>();
                if (payload.DeadlineMs is { } deadline)
                {
                    // The owner hears of the cancel only at its next event: it gets what is left of the deadline, not all of it.
                    payload = payload with { DeadlineMs = Math.Max(0, deadline - (long)(jobs.Now - recorded.CreatedAt).TotalMilliseconds) };
                }

                var relay = Envelope.Create(MessageTypes.Cancel, payload, sessionId, jobId) with { CausationId = request.Id };
                await PersistAndSendAsync([relay], cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Holds this session's next message until the runtime's driver owns the job, so a query right after shows it running, not interrupted.</summary>
    private static async Task AwaitClaimAsync(Task claimed, CancellationToken cancellationToken)
    {
        try
        {
            await claimed.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A driver stuck before its first step is visible as an interrupted job; nothing to wait for.
        }
    }

    private sealed record PendingCancels(string JobId, IReadOnlyList<StoredEvent> Requests, long ScannedThrough, bool JobEnded);

    /// <summary>How far this session has scanned one owned job's stream for cancel requests, and which it relayed.</summary>
    private sealed class CancelRelay
    {
        public long ScannedThrough { get; set; }

        public HashSet<string> Relayed { get; } = new(StringComparer.Ordinal);
    }
}
