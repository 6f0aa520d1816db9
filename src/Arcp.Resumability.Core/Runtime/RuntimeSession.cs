using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// One accepted (or not yet accepted) session. Messages are handled strictly in arrival order, which
/// is what gives a job's events their order and lets a resume delimit its replay.
/// </summary>
internal sealed partial class RuntimeSession(ArcpRuntime runtime, IArcpConnection connection, string? preAuthenticatedPrincipal = null)
{
    private readonly IArcpStore store = runtime.Store;
    private string? sessionId;
    private string? principal;
    private ProcessIdentity owner = new("unknown", 0, DateTimeOffset.UnixEpoch);

    // §10.4 relay: how far this session has scanned each owned job's stream for cancel requests, and which it relayed.
    private readonly Dictionary<string, long> cancelScan = new(StringComparer.Ordinal);
    private readonly HashSet<string> relayedCancels = new(StringComparer.Ordinal);

    public async Task RunAsync(CancellationToken runtimeStop)
    {
        // Linked so an overflowing outbox (a subscriber too slow for its events) can end just this session.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(runtimeStop);
        var cancellationToken = stop.Token;
        sessionStop = stop;
        try
        {
            while (true)
            {
                string? frame;
                try
                {
                    frame = await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidFrameException ex)
                {
                    // The transport skipped the frame, so no id can be read from it; answer and go on.
                    await SendUnloggedNackAsync(null, ArcpError.Create(ErrorCodes.InvalidArgument, ex.Message, FrameDetails(ex)), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (frame is null || !await HandleFrameAsync(frame, cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: in-flight jobs keep their checkpoints and become resumable below.
        }
        catch (IOException)
        {
            // The peer vanished; same as a close without session.close.
        }
        finally
        {
            await EndSubscriptionsAsync().ConfigureAwait(false);
            if (sessionId is not null)
            {
                runtime.SessionClosed(sessionId);
            }

            await ReleaseLeasesAsync().ConfigureAwait(false);
            connection.Close();
        }
    }

    private static JsonObject? FrameDetails(InvalidFrameException ex) =>
        ex.MaxFrameBytes is { } limit ? new JsonObject { ["max_frame_bytes"] = limit, ["frame_bytes"] = ex.FrameBytes } : null;

    /// <returns>False when the session is over.</returns>
    private async Task<bool> HandleFrameAsync(string frame, CancellationToken cancellationToken)
    {
        Envelope envelope;
        try
        {
            envelope = EnvelopeCodec.Parse(frame);
        }
        catch (EnvelopeFormatException ex)
        {
            await SendUnloggedNackAsync(ex.MessageId, ArcpError.Create(ErrorCodes.InvalidArgument, ex.Message), cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (sessionId is null)
        {
            if (envelope.Type != MessageTypes.SessionOpen)
            {
                // §8.1: nothing but the handshake before acceptance; drop it and say so in the diagnostics.
                runtime.Options.Diagnostics?.Invoke($"Dropped '{envelope.Type}' ({envelope.Id}) received before the session was accepted.");
                return true;
            }

            return await OpenSessionAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await DispatchAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
        }
        catch (ArcpException ex)
        {
            await RespondAsync(envelope, frame, jobStream: null, CommitDurability.ProcessSafe, _ => Task.FromResult<IReadOnlyList<Envelope>>([Nack(envelope, ex.Error)]), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (JsonException ex)
        {
            var error = ArcpError.Create(ErrorCodes.InvalidArgument, $"Payload of '{envelope.Type}' does not match its schema: {ex.Message}");
            await RespondAsync(envelope, frame, jobStream: null, CommitDurability.ProcessSafe, _ => Task.FromResult<IReadOnlyList<Envelope>>([Nack(envelope, error)]), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StoreException ex)
        {
            // The store failed (database server unreachable, disk full): nothing can be recorded, not even this
            // refusal, so it goes out unlogged and the session ends; leases that cannot be released lapse on their own.
            await connection.SendAsync(EnvelopeCodec.Serialize(Nack(envelope, ArcpError.Create(ErrorCodes.Unavailable, ex.Message))), cancellationToken).ConfigureAwait(false);
            return false;
        }
    }

    private async Task<bool> DispatchAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        switch (envelope.Type)
        {
            case MessageTypes.WorkflowStart:
                await StartWorkflowAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.Resume:
                await ResumeAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.StepLookup:
                await LookupStepAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.JobQuery:
                await QueryJobsAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.CheckpointQuery:
                await QueryCheckpointsAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.Cancel:
                await CancelAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.EventQuery:
                await QueryEventsAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.Ping:
                await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.Pong, new JsonObject())), cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.SessionClose:
                await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id))), cancellationToken).ConfigureAwait(false);
                return false;
            case MessageTypes.Subscribe:
                await SubscribeAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.Unsubscribe:
                await UnsubscribeAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.Shutdown:
                return await ShutdownAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
            case MessageTypes.SessionOpen:
                throw ArcpException.Of(ErrorCodes.FailedPrecondition, $"Session '{sessionId}' is already open.");
            case var type when MessageTypes.IsOwnerEmittedJobEvent(type):
                await RecordJobEventAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case var type when !MessageTypes.IsCoreType(type) && envelope.IsMarkedOptional:
                // §21.3: an unadvertised namespaced message the sender marked optional is dropped silently.
                return true;
            default:
                throw ArcpException.Of(ErrorCodes.Unimplemented, $"Message type '{envelope.Type}' is not implemented by this runtime.");
        }
    }

    private async Task<bool> ShutdownAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        if (!runtime.Options.AdminPrincipals.Contains(principal!))
        {
            throw ArcpException.Of(ErrorCodes.PermissionDenied, $"Principal '{principal}' may not shut this runtime down.");
        }

        await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id))), cancellationToken).ConfigureAwait(false);
        runtime.RequestShutdown();
        return true;
    }

    private async Task<bool> OpenSessionAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        SessionOpenPayload open;
        try
        {
            open = envelope.PayloadAs<SessionOpenPayload>();
        }
        catch (JsonException ex)
        {
            await SendRejectionAsync(envelope, ArcpError.Create(ErrorCodes.InvalidArgument, $"session.open payload is invalid: {ex.Message}"), cancellationToken).ConfigureAwait(false);
            return true;
        }

        var (authenticated, error) = Authenticate(open);
        if (authenticated is null)
        {
            await SendRejectionAsync(envelope, error!, cancellationToken).ConfigureAwait(false);
            return true;
        }

        var newSessionId = ArcpId.NewSessionId();
        owner = ReadProcess(envelope) ?? new ProcessIdentity("remote:" + newSessionId, 0, runtime.Now);
        principal = authenticated;
        sessionId = newSessionId;
        runtime.SessionOpened(newSessionId, authenticated);
        StartOutbox();
        var accepted = Envelope.Create(MessageTypes.SessionAccepted, new SessionAcceptedPayload(newSessionId, runtime.Options.Identity, runtime.Capabilities()), newSessionId, correlationId: envelope.Id);
        await RespondAsync(
            envelope,
            frame,
            null,
            CommitDurability.ProcessSafe,
            async tx =>
            {
                await tx.InsertSessionAsync(new SessionRecord(newSessionId, authenticated, open.Client?.Kind, owner.Host, owner.ProcessId, runtime.Now), cancellationToken).ConfigureAwait(false);
                return [accepted];
            },
            cancellationToken).ConfigureAwait(false);
        return true;
    }

    private (string? Principal, ArcpError? Error) Authenticate(SessionOpenPayload open)
    {
        if (preAuthenticatedPrincipal is not null)
        {
            // The runtime's own step driver, connected in process on behalf of the job's principal.
            return (preAuthenticatedPrincipal, null);
        }

        switch (open.Auth?.Scheme)
        {
            case "bearer" when runtime.Options.BearerTokens.TryAuthenticate(open.Auth.Token, out var tokenPrincipal):
                return (tokenPrincipal, null);
            case "bearer":
                return (null, ArcpError.Create(ErrorCodes.Unauthenticated, "The bearer token is missing or not recognised."));
            case "none" when runtime.Options.AllowAnonymous && (open.Capabilities?["anonymous"]) is JsonValue anonymous && anonymous.TryGetValue(out bool yes) && yes:
                return (runtime.Options.AnonymousPrincipal, null);
            case "none":
                return (null, ArcpError.Create(ErrorCodes.Unauthenticated, "Anonymous sessions are not allowed here (they need capabilities.anonymous: true and a runtime configured for anonymous use)."));
            case null:
                return (null, ArcpError.Create(ErrorCodes.Unauthenticated, "session.open carries no auth block."));
            default:
                return (null, ArcpError.Create(ErrorCodes.Unimplemented, $"Authentication scheme '{open.Auth.Scheme}' is not supported; use 'bearer'."));
        }
    }

    private async Task StartWorkflowAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var start = envelope.PayloadAs<WorkflowStartPayload>();
        if (string.IsNullOrWhiteSpace(start.Workflow))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "workflow.start needs a non-empty 'workflow'.");
        }

        var inputs = ArcpJson.ToText(start.Inputs);
        var requestHash = ArcpJson.Sha256Hex(start.Workflow, inputs);
        var driver = runtime.DriverFor(envelope, start.Workflow);
        var watch = driver is null ? null : "sub_" + ArcpId.NewUlid();
        string? drivenJob = null;
        if (driver is null)
        {
            // Before the answer goes out: from then on the owner's heartbeat deadlines run (§10.3).
            runtime.Liveness.Seen(sessionId!);
        }

        await RespondAsync(
            envelope,
            frame,
            null,
            CommitDurability.Durable,
            async tx =>
            {
                var now = runtime.Now;
                if (envelope.IdempotencyKey is { } key && await tx.GetLedgerEntryAsync(principal!, key, cancellationToken).ConfigureAwait(false) is { } prior
                    && (prior.ExpiresAt is null || prior.ExpiresAt > now))
                {
                    if (prior.RequestHash != requestHash)
                    {
                        throw ArcpException.Of(
                            ErrorCodes.AlreadyExists,
                            $"Idempotency key '{key}' was already used for job '{prior.Outcome}' with a different workflow or input.",
                            new JsonObject { ["job_id"] = prior.Outcome, ["idempotency_key"] = key });
                    }

                    var existing = await tx.GetJobAsync(prior.Outcome, cancellationToken).ConfigureAwait(false)
                        ?? throw ArcpException.Of(ErrorCodes.DataLoss, $"Idempotency key '{key}' points at job '{prior.Outcome}', which is no longer in the store.");
                    return [Reply(envelope, MessageTypes.JobAccepted, new JobAcceptedPayload(existing.State, existing.Workflow) { Name = existing.Name, Existing = true }, existing.JobId)];
                }

                var jobId = ArcpId.NewJobId();
                var accepted = Reply(envelope, MessageTypes.JobAccepted, new JobAcceptedPayload(JobStates.Accepted, start.Workflow) { Name = start.Name }, jobId) with
                {
                    Extensions = watch is null
                        ? new JsonObject { [MessageTypes.DriverExtension] = "client" }
                        : new JsonObject { [MessageTypes.DriverExtension] = "runtime", [MessageTypes.SubscriptionExtension] = watch },
                };
                // Correlated like job.accepted, so a retransmitted workflow.start gets both answers again (§6.4).
                var started = Reply(envelope, MessageTypes.JobStarted, new JobStartedPayload(start.Workflow) { Name = start.Name }, jobId) with { CausationId = envelope.Id };
                await tx.InsertJobAsync(
                    new JobRecord
                    {
                        JobId = jobId,
                        Principal = principal!,
                        Workflow = start.Workflow,
                        Name = start.Name,
                        State = JobStates.Running,
                        Inputs = inputs,
                        IdempotencyKey = envelope.IdempotencyKey,
                        LastMessageId = started.Id,
                        CreatedAt = now,
                        UpdatedAt = now,
                        // A runtime-driven job is claimed by its driver's own session a moment later.
                        Lease = driver is null ? NewLease(now) : null,
                    },
                    cancellationToken).ConfigureAwait(false);
                if (envelope.IdempotencyKey is { } newKey)
                {
                    await tx.InsertLedgerEntryAsync(new LedgerEntry(principal!, newKey, requestHash, jobId, now, now + runtime.Options.IdempotencyHorizon), cancellationToken).ConfigureAwait(false);
                }

                drivenJob = driver is null ? null : jobId;
                return [accepted, started];
            },
            cancellationToken).ConfigureAwait(false);
        if (drivenJob is not null)
        {
            // The starting session watches the job it does not run, through an implicit job subscription.
            WatchJob(drivenJob, watch!);
            await AwaitClaimAsync(runtime.Drive(drivenJob, principal!, driver!), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RecordJobEventAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = envelope.JobId ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs a 'job_id'.");
        var durability = envelope.Type is MessageTypes.JobProgress or MessageTypes.JobHeartbeat or MessageTypes.Log or MessageTypes.StreamOpen or MessageTypes.StreamChunk or MessageTypes.StreamClose
            ? CommitDurability.ProcessSafe
            : CommitDurability.Durable;

        // Any event from an owner proves it alive (§10.3); one that owns nothing is dropped by the watchdog.
        runtime.Liveness.Seen(sessionId!);

        // Parse before touching the store so a malformed payload is refused without side effects.
        JobCheckpointPayload? checkpoint = null;
        string? resultText = null;
        string? errorText = null;
        switch (envelope.Type)
        {
            case MessageTypes.JobProgress:
                envelope.PayloadAs<JobProgressPayload>();
                break;
            case MessageTypes.JobHeartbeat:
                envelope.PayloadAs<JobHeartbeatPayload>();
                break;
            case MessageTypes.Log:
                var log = envelope.PayloadAs<LogPayload>();
                if (!LogLevels.IsValid(log.Level) || log.Message is null)
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, "log needs a 'message' and a 'level' of trace, debug, info, warn, error or critical.");
                }

                break;
            case MessageTypes.StreamOpen:
                if (string.IsNullOrEmpty(envelope.StreamId) || string.IsNullOrEmpty(envelope.PayloadAs<StreamOpenPayload>().Kind))
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, "stream.open needs a 'stream_id' and a 'kind'.");
                }

                break;
            case MessageTypes.StreamChunk:
            case MessageTypes.StreamClose:
                if (string.IsNullOrEmpty(envelope.StreamId))
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs a 'stream_id'.");
                }

                break;
            case MessageTypes.JobCheckpoint:
                checkpoint = envelope.PayloadAs<JobCheckpointPayload>();
                if (string.IsNullOrWhiteSpace(checkpoint.CheckpointId) || string.IsNullOrWhiteSpace(checkpoint.Label) || checkpoint.Snapshot is null)
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, "job.checkpoint needs 'checkpoint_id', 'label' and 'snapshot'.");
                }

                break;
            case MessageTypes.JobCompleted:
                resultText = ArcpJson.ToText(envelope.PayloadAs<JobCompletedPayload>().Result);
                break;
            case MessageTypes.JobFailed:
            case MessageTypes.JobCancelled:
                var error = envelope.PayloadAs<ArcpError>();
                if (string.IsNullOrEmpty(error.Code) || error.Message is null)
                {
                    throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs an error with 'code' and 'message'.");
                }

                errorText = ArcpJson.Serialize(error);
                break;
        }

        await RespondAsync(
            envelope,
            frame,
            // Heartbeats are liveness, not history: logged, but kept out of what a resume replays.
            envelope.Type == MessageTypes.JobHeartbeat ? null : jobId,
            durability,
            async tx =>
            {
                var now = runtime.Now;
                var job = await OwnedJobAsync(tx, jobId, cancellationToken).ConfigureAwait(false);
                var ack = new AckPayload(envelope.Id) { MessageId = envelope.Id };
                var updated = job with { UpdatedAt = now, Lease = NewLease(now) };
                if (envelope.Type != MessageTypes.JobHeartbeat)
                {
                    updated = updated with { LastMessageId = envelope.Id };
                }

                if (checkpoint is not null)
                {
                    var key = envelope.IdempotencyKey ?? checkpoint.CheckpointId;
                    if (await tx.FindCheckpointByKeyAsync(jobId, key, cancellationToken).ConfigureAwait(false) is { } recorded)
                    {
                        // §6.4: the same logical step again; answer with the recorded outcome and record nothing new.
                        throw new DuplicateStepException(recorded);
                    }

                    await tx.InsertCheckpointAsync(
                        new CheckpointRecord(checkpoint.CheckpointId, jobId, checkpoint.Snapshot.StepIndex, checkpoint.Label, envelope.Id, key, now, ArcpJson.ToText(checkpoint.Snapshot.Output))
                        {
                            DefinitionVersion = checkpoint.Snapshot.DefinitionVersion,
                        },
                        cancellationToken).ConfigureAwait(false);
                    updated = updated with { LastCheckpointId = checkpoint.CheckpointId };
                    ack = ack with { CheckpointId = checkpoint.CheckpointId };
                }
                else if (MessageTypes.IsTerminalJobEvent(envelope.Type))
                {
                    updated = updated with
                    {
                        State = envelope.Type switch
                        {
                            MessageTypes.JobCompleted => JobStates.Completed,
                            MessageTypes.JobFailed => JobStates.Failed,
                            _ => JobStates.Cancelled,
                        },
                        Result = resultText,
                        Error = errorText,
                        Lease = null,
                    };
                }

                await tx.UpdateJobAsync(updated, cancellationToken).ConfigureAwait(false);
                return [Reply(envelope, MessageTypes.Ack, ack)];
            },
            cancellationToken).ConfigureAwait(false);
        if (!MessageTypes.IsTerminalJobEvent(envelope.Type))
        {
            await RelayCancellationAsync(jobId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// §10.4 cancel of a job. A job nobody drives (interrupted) is cancelled here and now. A job with a live
    /// owner is cancelled cooperatively: the request is recorded in the job's stream, where the owner's session
    /// (in this runtime or another one over the same store) finds it on the owner's next event (a heartbeat at
    /// the latest) and relays it to the owner, which stops at a clean checkpoint and emits <c>job.cancelled</c>.
    /// Escalation after <c>deadline_ms</c> (§10.4's MAY) is not implemented: the deadline is passed on to the owner.
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

        if (request.Target != "job")
        {
            await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Refused(CancelRefusals.NotCancellable, $"This runtime cancels jobs only, not a '{request.Target}'.")), cancellationToken).ConfigureAwait(false);
            return;
        }

        var jobId = request.TargetId;
        var job = await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        EnsureVisible(job, jobId);
        if (JobStates.IsTerminal(job!.State))
        {
            await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Refused(CancelRefusals.AlreadyTerminal, $"Job '{jobId}' is already {job.State}.")), cancellationToken).ConfigureAwait(false);
            return;
        }

        await RespondAsync(
            envelope,
            frame,
            jobId,
            CommitDurability.Durable,
            async tx =>
            {
                var current = await tx.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw NotFound(jobId);
                if (JobStates.IsTerminal(current.State))
                {
                    return [Refused(CancelRefusals.AlreadyTerminal, $"Job '{jobId}' is already {current.State}.")];
                }

                var now = runtime.Now;
                if (ArcpRuntime.IsLive(current.Lease, now))
                {
                    return [Reply(envelope, MessageTypes.CancelAccepted, new CancelAcceptedPayload(request.Target, jobId) { State = current.State }, jobId)];
                }

                var error = ArcpError.Create(
                    ErrorCodes.Cancelled,
                    $"Cancelled ({request.Reason ?? "no reason given"}) while no process was running it.",
                    new JsonObject { ["reason"] = request.Reason, ["cancel_id"] = envelope.Id, ["last_checkpoint_id"] = current.LastCheckpointId });
                var cancelled = Envelope.Create(MessageTypes.JobCancelled, error, sessionId, jobId) with { CausationId = envelope.Id };
                await tx.UpdateJobAsync(
                    current with { State = JobStates.Cancelled, Error = ArcpJson.Serialize(error), Lease = null, UpdatedAt = now, LastMessageId = cancelled.Id },
                    cancellationToken).ConfigureAwait(false);
                return [Reply(envelope, MessageTypes.CancelAccepted, new CancelAcceptedPayload(request.Target, jobId) { State = JobStates.Cancelled }, jobId), cancelled];
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Relays cancel requests recorded in the stream of a job this session drives to its owner, once each.</summary>
    private async Task RelayCancellationAsync(string jobId, CancellationToken cancellationToken)
    {
        cancelScan.TryGetValue(jobId, out var scanned);
        var events = await store.ReadJobStreamAsync(jobId, scanned, cancellationToken).ConfigureAwait(false);
        if (events.Count == 0)
        {
            return;
        }

        cancelScan[jobId] = events[^1].Sequence;
        var requests = events.Where(e => e.Type == MessageTypes.Cancel && e.Direction == EventDirection.Inbound).ToList();
        if (requests.Count == 0 || (await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false))?.Lease?.SessionId != sessionId)
        {
            return;
        }

        foreach (var recorded in requests)
        {
            if (relayedCancels.Add(recorded.MessageId))
            {
                var request = EnvelopeCodec.Parse(recorded.Envelope);
                var relay = Envelope.Create(MessageTypes.Cancel, request.PayloadAs<CancelPayload>(), sessionId, jobId) with { CausationId = request.Id };
                await PersistAndSendAsync([relay], cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ResumeAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = envelope.JobId ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, "resume needs a 'job_id'.");
        var request = envelope.PayloadAs<ResumePayload>();
        var job = await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        EnsureVisible(job, jobId);

        long afterSequence = 0;
        if (request.AfterMessageId is { } afterId)
        {
            var after = await store.FindEventAsync(afterId, cancellationToken).ConfigureAwait(false);
            if (after is null)
            {
                // Once retention purged part of the job's stream, a missing message may be one of those: replay
                // what is left and report DATA_LOSS below (§19) instead of refusing.
                if (job!.PurgedThroughSequence == 0)
                {
                    throw ArcpException.Of(ErrorCodes.NotFound, $"Message '{afterId}' is not in the event log.", new JsonObject { ["after_message_id"] = afterId });
                }
            }
            else if (after.JobId != jobId)
            {
                throw ArcpException.Of(ErrorCodes.InvalidArgument, $"Message '{afterId}' is not part of job '{jobId}'s event stream.", new JsonObject { ["after_message_id"] = afterId });
            }
            else
            {
                afterSequence = after.Sequence;
            }
        }

        CheckpointRecord? anchor;
        if (request.CheckpointId is { } checkpointId)
        {
            anchor = await store.FindCheckpointAsync(jobId, checkpointId, cancellationToken).ConfigureAwait(false)
                ?? throw ArcpException.Of(ErrorCodes.NotFound, $"Checkpoint '{checkpointId}' does not exist for job '{jobId}'.", new JsonObject { ["checkpoint_id"] = checkpointId });
        }
        else
        {
            var checkpoints = await store.ListCheckpointsAsync(jobId, cancellationToken).ConfigureAwait(false);
            anchor = checkpoints.Count == 0 ? null : checkpoints[^1];
        }

        var replay = await store.ReadJobStreamAsync(jobId, afterSequence, cancellationToken).ConfigureAwait(false);
        var runtimeDriver = RequestedRuntimeDriver(envelope, job!.Workflow);
        var watch = runtimeDriver is null ? null : "sub_" + ArcpId.NewUlid();
        if (runtimeDriver is null)
        {
            // Before the answer goes out: from then on the new owner's heartbeat deadlines run (§10.3).
            runtime.Liveness.Seen(sessionId!);
        }

        JobRecord? claimed = null;
        var frames = await RespondAsync(
            envelope,
            frame,
            null,
            CommitDurability.ProcessSafe,
            async tx =>
            {
                var current = await tx.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw NotFound(jobId);
                var now = runtime.Now;
                if (!JobStates.IsTerminal(current.State))
                {
                    if (current.Lease is { } lease && lease.SessionId != sessionId && ArcpRuntime.IsLive(lease, now))
                    {
                        throw ArcpException.Of(
                            ErrorCodes.Aborted,
                            $"Job '{jobId}' is being driven by process {lease.ProcessId} on '{lease.Host}' (session {lease.SessionId}); its lease runs until {ArcpJson.FormatTimestamp(lease.ExpiresAt)}.",
                            new JsonObject
                            {
                                ["job_id"] = jobId,
                                ["owner"] = new JsonObject { ["session_id"] = lease.SessionId, ["host"] = lease.Host, ["process_id"] = lease.ProcessId, ["lease_expires_at"] = ArcpJson.FormatTimestamp(lease.ExpiresAt) },
                            });
                    }

                    // A job blocked by lost heartbeats (§10.3) runs again under its new owner.
                    // A runtime-driven resume leaves the lease to the driver's own session.
                    current = current with { Lease = runtimeDriver is null ? NewLease(now) : null, UpdatedAt = now, State = JobStates.Running };
                    await tx.UpdateJobAsync(current, cancellationToken).ConfigureAwait(false);
                }

                claimed = current;
                var ack = Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id));
                return [watch is null ? ack : ack with { Extensions = new JsonObject { [MessageTypes.DriverExtension] = "runtime", [MessageTypes.SubscriptionExtension] = watch } }];
            },
            cancellationToken).ConfigureAwait(false);
        if (frames is null || claimed is null)
        {
            return;
        }

        // The claim read the watermark after the replay was read, so a purge racing this resume is not missed.
        if (afterSequence < claimed.PurgedThroughSequence)
        {
            // §19: part of what the client asked to replay fell to retention. Say so (not retryable) before replaying
            // the rest; checkpoints outlive event retention, so the client can usually carry on (its decision).
            var lost = ArcpError.Create(
                ErrorCodes.DataLoss,
                $"Events of job '{jobId}' up to sequence {claimed.PurgedThroughSequence} were purged by retention; the replay starts at {(replay.Count == 0 ? "the end of the stream" : $"message '{replay[0].MessageId}'")}.",
                new JsonObject { ["job_id"] = jobId, ["purged_through_sequence"] = claimed.PurgedThroughSequence, ["oldest_retained_message_id"] = replay.Count == 0 ? null : replay[0].MessageId });
            await PersistAndSendAsync([Reply(envelope, MessageTypes.EventEmit, new EventEmitPayload(MessageTypes.DataLossEvent, JsonSerializer.SerializeToNode(lost, ArcpJson.Options)!.AsObject()), jobId)], cancellationToken).ConfigureAwait(false);
        }

        foreach (var replayed in replay)
        {
            await connection.SendAsync(replayed.Envelope, cancellationToken).ConfigureAwait(false);
        }

        var marker = Reply(
            envelope,
            MessageTypes.EventEmit,
            new EventEmitPayload(
                MessageTypes.ReplayCompleteEvent,
                JsonSerializer.SerializeToNode(
                    new ReplayComplete(runtime.Summarize(claimed), replay.Count, replay.Count == 0 ? request.AfterMessageId : replay[^1].MessageId, anchor is null ? null : ArcpRuntime.Summarize(anchor, includeOutput: true), ArcpJson.ParseNode(claimed.Inputs)),
                    ArcpJson.Options)!.AsObject()),
            jobId);
        await PersistAndSendAsync([marker], cancellationToken).ConfigureAwait(false);
        if (runtimeDriver is not null && !JobStates.IsTerminal(claimed.State))
        {
            WatchJob(jobId, watch!);
            await AwaitClaimAsync(runtime.Drive(jobId, principal!, runtimeDriver), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task LookupStepAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = envelope.JobId ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs a 'job_id'.");
        var lookup = envelope.PayloadAs<StepLookupPayload>();
        if (string.IsNullOrEmpty(lookup.IdempotencyKey))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "Step lookup needs an 'idempotency_key'.");
        }

        EnsureVisible(await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false), jobId);
        var recorded = await store.FindCheckpointByKeyAsync(jobId, lookup.IdempotencyKey, cancellationToken).ConfigureAwait(false);
        var outcome = new StepOutcomePayload(recorded is not null, recorded is null ? null : ArcpRuntime.Summarize(recorded, includeOutput: true));
        await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.StepOutcome, outcome, jobId)), cancellationToken).ConfigureAwait(false);
    }

    private async Task QueryJobsAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var query = envelope.PayloadAs<JobQueryPayload>();
        IEnumerable<JobRecord> jobs;
        if (query.JobId is { } jobId)
        {
            var job = await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
            jobs = job is not null && job.Principal == principal ? [job] : [];
        }
        else
        {
            jobs = await store.ListJobsAsync(principal!, cancellationToken).ConfigureAwait(false);
        }

        var summaries = jobs.Select(runtime.Summarize).Where(s => query.States is null || query.States.Contains(OperatorState(s), StringComparer.OrdinalIgnoreCase)).ToList();
        for (var i = 0; i < summaries.Count; i++)
        {
            // Operators read "where is it" as a step name; the job row only keeps the checkpoint id.
            if (summaries[i].LastCheckpointId is { } checkpointId && await store.FindCheckpointAsync(summaries[i].JobId, checkpointId, cancellationToken).ConfigureAwait(false) is { } last)
            {
                summaries[i] = summaries[i] with { LastCheckpointStep = last.Step };
            }
        }

        await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.JobList, new JobListPayload(summaries))), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The §10.2 state, except that a running job nobody drives any more reads "interrupted".</summary>
    internal static string OperatorState(JobSummary summary) => summary.Interrupted ? "interrupted" : summary.State;

    private async Task QueryCheckpointsAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = envelope.JobId ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs a 'job_id'.");
        var query = envelope.PayloadAs<CheckpointQueryPayload>();
        EnsureVisible(await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false), jobId);
        var checkpoints = await store.ListCheckpointsAsync(jobId, cancellationToken).ConfigureAwait(false);
        var selected = checkpoints.Where(c => query.CheckpointId is null || c.CheckpointId == query.CheckpointId).Select(c => ArcpRuntime.Summarize(c, includeOutput: true)).ToList();
        if (query.CheckpointId is { } wanted && selected.Count == 0)
        {
            throw ArcpException.Of(ErrorCodes.NotFound, $"Checkpoint '{wanted}' does not exist for job '{jobId}'.", new JsonObject { ["checkpoint_id"] = wanted });
        }

        await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.CheckpointList, new CheckpointListPayload(selected), jobId)), cancellationToken).ConfigureAwait(false);
    }

    private async Task QueryEventsAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = envelope.JobId ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs a 'job_id'.");
        var query = envelope.PayloadAs<EventQueryPayload>();
        EnsureVisible(await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false), jobId);
        long afterSequence = 0;
        if (query.AfterMessageId is { } afterId)
        {
            var after = await store.FindEventAsync(afterId, cancellationToken).ConfigureAwait(false);
            if (after is null || after.JobId != jobId)
            {
                throw ArcpException.Of(ErrorCodes.NotFound, $"Message '{afterId}' is not part of job '{jobId}'s event stream.", new JsonObject { ["after_message_id"] = afterId });
            }

            afterSequence = after.Sequence;
        }

        var events = (await store.ReadJobStreamAsync(jobId, afterSequence, cancellationToken).ConfigureAwait(false))
            .Select(e => new EventSummary(e.Sequence, e.MessageId, e.Type, ArcpJson.FormatTimestamp(e.CreatedAt), e.Envelope))
            .ToList();
        await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.EventList, new EventListPayload(events), jobId)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Logs the inbound envelope and runs <paramref name="handle"/> in one transaction, then sends what it
    /// returned. A retransmitted message id is not handled again: its earlier answers are sent instead (§6.4).
    /// </summary>
    /// <returns>The frames sent, or null when the message was a retransmission.</returns>
    private async Task<IReadOnlyList<string>?> RespondAsync(
        Envelope envelope,
        string frame,
        string? jobStream,
        CommitDurability durability,
        Func<IStoreTransaction, Task<IReadOnlyList<Envelope>>> handle,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<string> frames;
        var transaction = await store.BeginAsync(durability, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            pendingPublish.Clear();
            var inbound = new EventDraft(envelope.Id, envelope.Type, EventDirection.Inbound, sessionId, jobStream, envelope.CorrelationId, runtime.Now, frame);
            if (!await transaction.TryAppendEventAsync(inbound, cancellationToken).ConfigureAwait(false))
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
                await ResendEarlierAnswersAsync(envelope, cancellationToken).ConfigureAwait(false);
                return null;
            }

            if (jobStream is not null)
            {
                pendingPublish.Add(new PublishedEvent(envelope.Id, envelope.Type, sessionId, jobStream, principal!, frame));
            }

            IReadOnlyList<Envelope> replies;
            try
            {
                replies = await handle(transaction).ConfigureAwait(false);
            }
            catch (DuplicateStepException duplicate)
            {
                // Undo the job-stream append, keep the inbound id for transport-level dedupe.
                await transaction.DisposeAsync().ConfigureAwait(false);
                var recorded = duplicate.Recorded;
                var ack = Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id) { Duplicate = true, MessageId = recorded.MessageId, CheckpointId = recorded.CheckpointId });
                return await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(ack), cancellationToken).ConfigureAwait(false);
            }
            catch (ArcpException ex)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
                return await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Nack(envelope, ex.Error)), cancellationToken).ConfigureAwait(false);
            }

            frames = await AppendOutboundAsync(transaction, replies, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        PublishCommitted();
        foreach (var outbound in frames)
        {
            await connection.SendAsync(outbound, cancellationToken).ConfigureAwait(false);
        }

        return frames;
    }

    private async Task PersistAndSendAsync(IReadOnlyList<Envelope> envelopes, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> frames;
        var transaction = await store.BeginAsync(CommitDurability.ProcessSafe, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            pendingPublish.Clear();
            frames = await AppendOutboundAsync(transaction, envelopes, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        PublishCommitted();

        foreach (var outbound in frames)
        {
            await connection.SendAsync(outbound, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<string>> AppendOutboundAsync(IStoreTransaction transaction, IReadOnlyList<Envelope> envelopes, CancellationToken cancellationToken)
    {
        var frames = new List<string>(envelopes.Count);
        foreach (var outbound in envelopes)
        {
            var text = EnvelopeCodec.Serialize(outbound);
            // A job.cancelled the runtime emits itself (for a job nobody drives) belongs to the job's stream too.
            var inJobStream = (outbound.Type is MessageTypes.JobAccepted or MessageTypes.JobStarted && outbound.Payload.TryGetProperty("existing", out _) is false)
                || outbound.Type == MessageTypes.JobCancelled;
            var draft = new EventDraft(outbound.Id, outbound.Type, EventDirection.Outbound, sessionId, inJobStream ? outbound.JobId : null, outbound.CorrelationId, runtime.Now, text);
            await transaction.TryAppendEventAsync(draft, cancellationToken).ConfigureAwait(false);
            if (draft.JobId is { } job)
            {
                pendingPublish.Add(new PublishedEvent(draft.MessageId, draft.Type, sessionId, job, principal!, text));
            }

            frames.Add(text);
        }

        return frames;
    }

    private async Task ResendEarlierAnswersAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        foreach (var answer in await store.ReadResponsesAsync(envelope.Id, cancellationToken).ConfigureAwait(false))
        {
            await connection.SendAsync(answer.Envelope, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendRejectionAsync(Envelope envelope, ArcpError error, CancellationToken cancellationToken)
    {
        var rejected = Envelope.Create(MessageTypes.SessionRejected, error, correlationId: envelope.Id);
        await PersistAndSendAsync([rejected], cancellationToken).ConfigureAwait(false);
    }

    private async Task SendUnloggedNackAsync(string? ackFor, ArcpError error, CancellationToken cancellationToken)
    {
        // A frame we could not parse has no trustworthy id to log it under; the nack itself is still logged.
        var nack = Envelope.Create(MessageTypes.Nack, NackPayload.From(ackFor, error), sessionId, correlationId: ackFor);
        await PersistAndSendAsync([nack], cancellationToken).ConfigureAwait(false);
    }

    private async Task<JobRecord> OwnedJobAsync(IStoreTransaction tx, string jobId, CancellationToken cancellationToken)
    {
        var job = await tx.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        EnsureVisible(job, jobId);
        if (JobStates.IsTerminal(job!.State))
        {
            throw ArcpException.Of(ErrorCodes.FailedPrecondition, $"Job '{jobId}' is already {job.State}.", new JsonObject { ["job_id"] = jobId, ["state"] = job.State });
        }

        if (job.Lease?.SessionId != sessionId)
        {
            // Fencing: a session that lost its lease (expired and claimed elsewhere, or released) records nothing more.
            var holder = job.Lease is { } lease ? $"session {lease.SessionId} (process {lease.ProcessId} on '{lease.Host}')" : "no session (it is interrupted; resume it first)";
            throw ArcpException.Of(ErrorCodes.PermissionDenied, $"This session does not own job '{jobId}'; it is held by {holder}.", new JsonObject { ["job_id"] = jobId });
        }

        return job;
    }

    private void EnsureVisible(JobRecord? job, string jobId)
    {
        if (job is null)
        {
            throw NotFound(jobId);
        }

        if (job.Principal != principal)
        {
            throw ArcpException.Of(ErrorCodes.PermissionDenied, $"Job '{jobId}' belongs to another principal.", new JsonObject { ["job_id"] = jobId });
        }
    }

    private static ArcpException NotFound(string jobId) =>
        ArcpException.Of(ErrorCodes.NotFound, $"Job '{jobId}' does not exist in this store.", new JsonObject { ["job_id"] = jobId });

    private JobLease NewLease(DateTimeOffset now) => new(sessionId!, owner.Host, owner.ProcessId, owner.StartedAt, now + runtime.Options.LeaseDuration);

    private async Task ReleaseLeasesAsync()
    {
        if (sessionId is null)
        {
            return;
        }

        try
        {
            // Not cancellable: this runs on the way out, including after the session's token fired.
            var transaction = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                foreach (var job in await transaction.ListJobsLeasedByAsync(sessionId, CancellationToken.None).ConfigureAwait(false))
                {
                    await transaction.UpdateJobAsync(job with { Lease = null, UpdatedAt = runtime.Now }, CancellationToken.None).ConfigureAwait(false);
                }

                await transaction.CloseSessionAsync(sessionId, runtime.Now, CancellationToken.None).ConfigureAwait(false);
                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is StoreException or InvalidOperationException or ObjectDisposedException or Microsoft.Data.Sqlite.SqliteException)
        {
            // The leases lapse on their own; a failed release only delays takeover until expiry.
            runtime.Options.Diagnostics?.Invoke($"Could not release the leases of session {sessionId}: {ex.Message}");
        }
    }

    private static ProcessIdentity? ReadProcess(Envelope envelope)
    {
        if (envelope.Extensions?[ArcpRuntime.ProcessExtension] is not JsonObject process)
        {
            return null;
        }

        try
        {
            var host = process["host"]?.GetValue<string>();
            var pid = process["pid"]?.GetValue<int>() ?? 0;
            var started = process["started_at"]?.GetValue<string>();
            return host is not null && ArcpJson.TryParseTimestamp(started, out var startedAt) ? new ProcessIdentity(host, pid, startedAt) : null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private Envelope Reply<TPayload>(Envelope request, string type, TPayload payload, string? jobId = null) =>
        Envelope.Create(type, payload, sessionId, jobId ?? request.JobId, request.Id) with { TraceId = request.TraceId };

    private Envelope Nack(Envelope request, ArcpError error) => Reply(request, MessageTypes.Nack, NackPayload.From(request.Id, error));

    private static Task<IReadOnlyList<Envelope>> One(Envelope envelope) => Task.FromResult<IReadOnlyList<Envelope>>([envelope]);

    /// <summary>Carries a recorded checkpoint out of a transaction that must be rolled back.</summary>
    private sealed class DuplicateStepException(CheckpointRecord recorded) : Exception("The step outcome is already recorded.")
    {
        public CheckpointRecord Recorded { get; } = recorded;
    }

    /// <summary>The registered workflow when a <c>resume</c> asks the runtime (not this session) to drive the job on.</summary>
    private Steps.WorkflowDefinition? RequestedRuntimeDriver(Envelope request, string workflow) =>
        request.Extensions?[MessageTypes.DriverExtension] is JsonValue value && value.TryGetValue(out string? driver) && driver == "runtime"
            ? runtime.DriverFor(request, workflow)
            : null;

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
}
