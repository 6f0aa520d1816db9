using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// One accepted session: an adapter between the envelopes of one peer and the <see cref="JobService"/>. This part
/// dispatches each message to its handler and maps failures to answers; the handlers live in the other parts
/// (jobs, resume, queries, subscriptions) and every answer goes out through the persist-and-reply pipeline.
/// </summary>
internal sealed partial class RuntimeSession
{
    private readonly ArcpRuntime runtime;
    private readonly IArcpConnection connection;
    private readonly IArcpStore store;
    private readonly JobService jobs;
    private readonly JobHolder holder;
    private readonly string sessionId;
    private readonly string principal;

    // §10.4 relay, per job this session drives and has not ended.
    private readonly Dictionary<string, CancelRelay> cancelRelays = new(StringComparer.Ordinal);

    public RuntimeSession(ArcpRuntime runtime, IArcpConnection connection, JobHolder holder, CancellationTokenSource stop)
    {
        this.runtime = runtime;
        this.connection = connection;
        this.holder = holder;
        store = runtime.Store;
        jobs = runtime.Jobs;
        sessionId = holder.SessionId;
        principal = holder.Principal;
        sessionStop = stop;
    }

    public string SessionId => sessionId;

    /// <summary>Registers the session and answers the <c>session.open</c> it was opened by.</summary>
    /// <param name="resumed">True when this reopens an ended session under its old id (§9); its row is already open again.</param>
    public async Task AcceptAsync(Envelope open, string frame, string? clientKind, bool resumed, CancellationToken cancellationToken)
    {
        runtime.SessionOpened(sessionId, principal);
        var accepted = Envelope.Create(MessageTypes.SessionAccepted, new SessionAcceptedPayload(sessionId, runtime.Options.Identity, runtime.Capabilities()) { Resumed = resumed ? true : null }, sessionId, correlationId: open.Id);
        await RespondAsync(
            open,
            frame,
            null,
            CommitDurability.ProcessSafe,
            async tx =>
            {
                if (!resumed)
                {
                    await jobs.RecordSessionAsync(tx, holder, clientKind, cancellationToken).ConfigureAwait(false);
                }

                return [accepted];
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <returns>False when the session is over.</returns>
    public async Task<bool> HandleAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        // Over quota: refused before anything is written, and the refusal is not logged either (logging it would
        // let the flood keep growing the store). A session.close always goes through, so a throttled peer can leave.
        if (envelope.Type != MessageTypes.SessionClose && runtime.Quotas?.TryAdmit(principal, System.Text.Encoding.UTF8.GetByteCount(frame)) is { } retryAfter)
        {
            var details = new JsonObject { ["retry_after_ms"] = (long)Math.Ceiling(retryAfter.TotalMilliseconds) };
            var error = ArcpError.Create(ErrorCodes.ResourceExhausted, $"Principal '{principal}' is sending faster than this runtime's quota allows; retry after {details["retry_after_ms"]} ms.", details);
            await connection.SendAsync(EnvelopeCodec.Serialize(Nack(envelope, error)), cancellationToken).ConfigureAwait(false);
            return true;
        }

        try
        {
            if (HasHeldEvents && !JoinsHeldEvents(envelope))
            {
                await FlushHeldEventsAsync(cancellationToken).ConfigureAwait(false);
            }

            return await DispatchAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
        }
        catch (ArcpException ex)
        {
            await RespondAsync(envelope, frame, jobStream: null, CommitDurability.ProcessSafe, _ => One(Nack(envelope, ex.Error)), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (JsonException ex)
        {
            var error = ArcpError.Create(ErrorCodes.InvalidArgument, $"Payload of '{envelope.Type}' does not match its schema{EnvelopeCodec.AtPath(ex)}.");
            await RespondAsync(envelope, frame, jobStream: null, CommitDurability.ProcessSafe, _ => One(Nack(envelope, error)), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StoreException ex)
        {
            // The store failed (database server unreachable, disk full): nothing can be recorded, not even this
            // refusal, so it goes out unlogged and the session ends; leases that cannot be released lapse on their own.
            await connection.SendAsync(EnvelopeCodec.Serialize(Nack(envelope, ex.ToArcpError())), cancellationToken).ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>Ends subscriptions, forgets the session and releases its leases; runs once, on the way out.</summary>
    public async Task EndAsync()
    {
        try
        {
            await FlushHeldEventsAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StoreException or IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            // Held events are progress, not checkpoints: losing them with a broken store or connection loses no step.
            runtime.Options.Diagnostics?.Invoke($"Could not record the held events of session {sessionId}: {ex.Message}");
        }

        await EndSubscriptionsAsync().ConfigureAwait(false);
        runtime.SessionClosed(sessionId);
        try
        {
            // Not cancellable: this runs on the way out, including after the session's token fired.
            await jobs.ReleaseLeasesAsync(sessionId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StoreException or InvalidOperationException or ObjectDisposedException)
        {
            // The leases lapse on their own; a failed release only delays takeover by other processes until expiry.
            LeaseLiveness.SessionAbandoned(sessionId);
            runtime.Options.Diagnostics?.Invoke($"Could not release the leases of session {sessionId}: {ex.Message}");
        }
    }

    private async Task<bool> DispatchAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        if (ExtensionNegotiation.UnknownFields(envelope) is { Count: > 0 } unknown && envelope.Type != MessageTypes.SessionClose)
        {
            // §21.2: an extension the runtime does not advertise is refused, unless the sender marked the message optional.
            throw ArcpException.Of(ErrorCodes.Unimplemented, $"This runtime does not support the extension field(s) {string.Join(", ", unknown.Select(key => FrameValidator.Printable(key)))}; mark the message 'extensions.optional: true' to have them ignored.");
        }

        switch (envelope.Type)
        {
            case MessageTypes.WorkflowStart:
                await StartWorkflowAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                return true;
            case MessageTypes.ToolInvoke:
                await InvokeToolAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
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
                await RespondToQueryAsync(envelope, frame, Reply(envelope, MessageTypes.Pong, new JsonObject()), cancellationToken).ConfigureAwait(false);
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
        if (!runtime.Options.AdminPrincipals.Contains(principal))
        {
            throw ArcpException.Of(ErrorCodes.PermissionDenied, $"Principal '{principal}' may not shut this runtime down.");
        }

        await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id))), cancellationToken).ConfigureAwait(false);
        runtime.RequestShutdown();
        return true;
    }

    private void EnsureVisible(JobRecord? job, string jobId) => JobService.EnsureVisible(job, jobId, principal);
}
