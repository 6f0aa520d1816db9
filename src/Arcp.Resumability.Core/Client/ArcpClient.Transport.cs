using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Transports;
using Polly;

namespace Arcp.Resumability.Client;

/// <summary>
/// The wire half of the client: sending a command and matching its answer (by <c>correlation_id</c>, else a nack's
/// <c>ack_for</c>), the receive loop, routing of subscription events and failing what is pending when the session ends.
/// </summary>
public sealed partial class ArcpClient
{
    /// <param name="before">
    /// A frame no answer is awaited for, sent together with the first attempt only (a refused one is dropped, as a
    /// <see cref="PostAsync"/>'s is); null for none.
    /// </param>
    /// <param name="frame">
    /// The command as sent, when the caller wrote it already (a header and its payload, see
    /// <see cref="EnvelopeCodec.Serialize{TPayload}"/>); null to serialize <paramref name="command"/>. Every attempt sends the same text.
    /// </param>
    private async Task<Envelope> RequestAsync(Envelope command, ReplayCollector? replay, CancellationToken cancellationToken, string? before = null, string? frame = null)
    {
        ThrowIfFaulted();
        if (command.Type.StartsWith(ExtensionPrefix, StringComparison.Ordinal))
        {
            RequireResumability($"'{command.Type}'");
        }

        // As the retry pipeline does before each attempt: a request already cancelled is not sent.
        cancellationToken.ThrowIfCancellationRequested();
        frame ??= EnvelopeCodec.Serialize(command);
        try
        {
            return await AttemptAsync(command, frame, replay, before, cancellationToken).ConfigureAwait(false);
        }
        catch (ArcpException refused) when (options.ThrottleRetry is { } throttling && ThrottleRetry.RetryAfter(refused.Error) is not null)
        {
            return await WaitOutThrottlingAsync(throttling, command, frame, replay, refused, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The retry pipeline, entered only once a runtime asked this client to wait: nearly every request is answered at
    /// the first attempt, and a new process would otherwise compile Polly's generic code for its first request. The
    /// first attempt's refusal is the pipeline's first outcome, so its waits, budget and resend count are as before.
    /// </summary>
    private async Task<Envelope> WaitOutThrottlingAsync(ThrottleRetryOptions throttling, Envelope command, string frame, ReplayCollector? replay, ArcpException refused, CancellationToken cancellationToken)
    {
        var pipeline = LazyInitializer.EnsureInitialized(ref throttleRetry, () => ThrottleRetry.Build(throttling));
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            return await pipeline.ExecuteAsync(
                static (context, attempt) => attempt.NextAsync(context.CancellationToken),
                context,
                new ThrottledRequest(this, command, frame, replay, refused)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>One send of <paramref name="command"/> (as <paramref name="frame"/>) and its answer; a <c>nack</c> throws.</summary>
    private async ValueTask<Envelope> AttemptAsync(Envelope command, string frame, ReplayCollector? replay, string? before, CancellationToken cancellationToken)
    {
        ThrowIfFaulted();
        var request = new PendingRequest(replay);
        if (!pending.TryAdd(command.Id, request))
        {
            throw new InvalidOperationException($"A request with id '{command.Id}' is already pending.");
        }

        if (replay is not null)
        {
            Volatile.Write(ref activeReplay, replay);
        }

        try
        {
            if (before is not null)
            {
                await connection.SendAllAsync([before, frame], cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await connection.SendAsync(frame, cancellationToken).ConfigureAwait(false);
            }

            var answer = await request.Answer.Task.WaitAsync(options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            if (answer.Type == MessageTypes.Nack)
            {
                throw new ArcpException(answer.PayloadAs<NackPayload>().ToError());
            }

            return answer;
        }
        catch (TimeoutException ex)
        {
            throw new ArcpException(
                ArcpError.Create(
                    ErrorCodes.DeadlineExceeded,
                    $"The peer did not answer '{command.Type}' ({command.Id}) within {options.RequestTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (ClientOptions.RequestTimeout).",
                    new JsonObject { ["request_type"] = command.Type, ["request_id"] = command.Id }),
                ex);
        }
        finally
        {
            pending.TryRemove(command.Id, out _);
            if (replay is not null)
            {
                Volatile.Write(ref activeReplay, null);
            }
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                string? frame;
                try
                {
                    frame = await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidFrameException)
                {
                    // A frame we cannot read answers nothing we wait for; its request times out if it mattered.
                    continue;
                }

                if (frame is null)
                {
                    break;
                }

                Route(frame);
            }

            // A runtime whose store failed refuses the frame it could not record and ends the session; when that frame was
            // one nobody waits for (job.progress), its refusal is the reason the requests still pending will not be answered.
            FailPending(new ArcpException(lastWord is { } refusal
                ? refusal with { Message = $"The runtime closed the connection after refusing a message: {refusal.Message}" }
                : ArcpError.Create(ErrorCodes.Unavailable, "The runtime closed the connection.")));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposal.
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            FailPending(new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, $"The connection to the runtime failed: {ex.Message}"), ex));
        }
    }

    private void Route(string frame)
    {
        Envelope envelope;
        try
        {
            envelope = EnvelopeCodec.Parse(frame);
        }
        catch (EnvelopeFormatException)
        {
            // A runtime that sends garbage cannot be reasoned with; the pending requests time out or fail on close.
            return;
        }

        lastWord = null;
        if (AnswerTo(envelope) is { } correlation && pending.TryGetValue(correlation, out var request))
        {
            if (request.Replay is { } replay && envelope.Type == MessageTypes.Ack)
            {
                replay.Started = true;
                return;
            }

            if (envelope.Type == MessageTypes.SubscribeAccepted)
            {
                var id = envelope.PayloadAs<SubscribeAcceptedPayload>().SubscriptionId;
                subscriptions[id] = new ArcpSubscription(id, UnsubscribeAsync);
            }

            if (request.Replay is { Started: true } lossy && envelope.Type == MessageTypes.EventEmit
                && envelope.PayloadAs<EventEmitPayload>() is { Type: MessageTypes.DataLossEvent, Data: { } lost })
            {
                lossy.DataLoss = lost.Deserialize<ArcpError>(ArcpJson.Options);
                return;
            }

            request.Answer.TrySetResult(envelope);
            return;
        }

        if (envelope.Type == MessageTypes.SubscribeEvent)
        {
            Deliver(envelope);
            return;
        }

        if (envelope.Type == MessageTypes.Cancel && envelope.JobId is { } cancelledJob)
        {
            var cancel = envelope.PayloadAs<CancelPayload>();
            CancellationFor(cancelledJob).Request(cancel.Reason, cancel.DeadlineMs is { } ms && ms >= 0 ? TimeSpan.FromMilliseconds(ms) : null);
            return;
        }

        if (Volatile.Read(ref activeReplay) is { Started: true } replaying)
        {
            replaying.Frames.Add(frame);
            return;
        }

        if (envelope.Type == MessageTypes.Nack && envelope.Payload.ValueKind == JsonValueKind.Object)
        {
            try
            {
                lastWord = envelope.PayloadAs<NackPayload>().ToError();
            }
            catch (JsonException)
            {
                // A nack without a readable error explains nothing.
            }
        }
    }

    /// <summary>
    /// Hands a <c>subscribe.event</c> to its subscription. Events of subscriptions this client did not open (the
    /// implicit one a runtime-driven job's starter gets) or already closed are dropped.
    /// </summary>
    private void Deliver(Envelope wrapper)
    {
        if (wrapper.SubscriptionId is not { } id || !subscriptions.TryGetValue(id, out var subscription)
            || wrapper.Payload.ValueKind != JsonValueKind.Object || !wrapper.Payload.TryGetProperty("event", out var inner))
        {
            return;
        }

        Envelope unwrapped;
        try
        {
            unwrapped = EnvelopeCodec.Parse(inner.GetRawText());
        }
        catch (EnvelopeFormatException)
        {
            return;
        }

        if (!subscription.Deliver(unwrapped) && subscriptions.TryRemove(id, out _))
        {
            subscription.Close(new ArcpException(ArcpError.Create(ErrorCodes.BackpressureOverflow, $"Subscription {id} fell {ArcpSubscription.Capacity} events behind its reader and was closed.", new JsonObject { ["subscription_id"] = id })));
            _ = Task.Run(() => SendUnsubscribeAsync(id), CancellationToken.None);
        }
    }

    private Task UnsubscribeAsync(ArcpSubscription subscription) =>
        subscriptions.TryRemove(subscription.Id, out _) ? SendUnsubscribeAsync(subscription.Id) : Task.CompletedTask;

    private async Task SendUnsubscribeAsync(string id)
    {
        try
        {
            var command = NewCommand(MessageTypes.Unsubscribe, new UnsubscribePayload { SubscriptionId = id }) with { SubscriptionId = id };
            Expect(await RequestAsync(command, CancellationToken.None).ConfigureAwait(false), MessageTypes.Ack);
        }
        catch (Exception ex) when (ex is ArcpException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The session is gone or going, and its subscriptions with it.
        }
    }

    private void FailPending(Exception error)
    {
        connectionFault ??= error;
        foreach (var request in pending.Values)
        {
            request.Answer.TrySetException(error);
        }

        var ended = error as ArcpException ?? new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, "The session ended."), error);
        foreach (var id in subscriptions.Keys)
        {
            if (subscriptions.TryRemove(id, out var subscription))
            {
                subscription.Close(ended);
            }
        }
    }

    /// <summary>
    /// The request a frame answers: its <c>correlation_id</c>; for a <c>nack</c> without one, its <c>payload.ack_for</c>;
    /// for a <c>session.accepted</c>/<c>session.rejected</c> without one (as §8.3's example shows it), the <c>session.open</c>.
    /// </summary>
    private string? AnswerTo(Envelope envelope) =>
        envelope.CorrelationId
        ?? envelope.Type switch
        {
            MessageTypes.Nack when envelope.Payload.ValueKind == JsonValueKind.Object
                && envelope.Payload.TryGetProperty("ack_for", out var ackFor) && ackFor.ValueKind == JsonValueKind.String => ackFor.GetString(),
            MessageTypes.SessionAccepted or MessageTypes.SessionRejected => openingId,
            _ => null,
        };

    private void RequireResumability(string what)
    {
        if (!SupportsResumability)
        {
            throw new ArcpException(ArcpError.Create(
                ErrorCodes.FailedPrecondition,
                $"The runtime does not advertise the '{MessageTypes.ResumabilityExtension}' extension, so {what} is not available on it.",
                new JsonObject { ["extension"] = MessageTypes.ResumabilityExtension }));
        }
    }

    private void ThrowIfFaulted()
    {
        if (connectionFault is { } fault)
        {
            throw fault is ArcpException arcp ? new ArcpException(arcp.Error, fault) : new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, fault.Message), fault);
        }
    }

    private Envelope NewCommand<TPayload>(string type, TPayload payload) => Envelope.Create(type, payload, SessionId.Length == 0 ? null : SessionId);

    /// <summary>A command's envelope without its payload, for a frame written with the payload in it (<see cref="EnvelopeCodec.Serialize{TPayload}"/>).</summary>
    private Envelope NewHeader(string type) => Envelope.Header(type, SessionId.Length == 0 ? null : SessionId);

    private static Envelope Expect(Envelope answer, string type) =>
        answer.Type == type ? answer : throw new ArcpException(ArcpError.Create(ErrorCodes.Internal, $"Expected '{type}' but the runtime answered '{answer.Type}' ({answer.Id})."));

    private static ArcpException Malformed(Envelope answer, string field) =>
        new(ArcpError.Create(ErrorCodes.Internal, $"The runtime's '{answer.Type}' ({answer.Id}) lacks '{field}'."));

    private const string ExtensionPrefix = "arcpx.resumability.";

    private sealed class PendingRequest(ReplayCollector? replay)
    {
        public TaskCompletionSource<Envelope> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ReplayCollector? Replay { get; } = replay;
    }

    /// <summary>The attempts of one throttled request: the refusal already received, then resends.</summary>
    private sealed class ThrottledRequest(ArcpClient client, Envelope command, string frame, ReplayCollector? replay, ArcpException firstRefusal)
    {
        private ArcpException? refusal = firstRefusal;

        public ValueTask<Envelope> NextAsync(CancellationToken cancellationToken)
        {
            if (refusal is { } first)
            {
                refusal = null;
                return ValueTask.FromException<Envelope>(first);
            }

            return client.AttemptAsync(command, frame, replay, before: null, cancellationToken);
        }
    }

    private sealed class ReplayCollector
    {
        public bool Started { get; set; }

        public List<string> Frames { get; } = [];

        public ArcpError? DataLoss { get; set; }
    }
}
