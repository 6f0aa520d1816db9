using System.Text.Json.Nodes;
using System.Threading.Channels;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// §13 subscriptions and the fan-out of other sessions' job events to this one. Live events reach the
/// connection through a bounded outbox drained by its own task; a subscriber that lets it overflow loses
/// its session rather than slowing the publisher.
/// </summary>
internal sealed partial class RuntimeSession
{
    private const int OutboxCapacity = 4096;
    private readonly List<PublishedEvent> pendingPublish = [];
    private readonly Dictionary<string, Subscription> subscriptions = new(StringComparer.Ordinal);
    private readonly Channel<string> outbox = Channel.CreateBounded<string>(new BoundedChannelOptions(OutboxCapacity) { SingleReader = true });
    private readonly CancellationTokenSource sessionStop;
    private volatile bool ending;
    private Task? outboxPump;

    /// <summary>
    /// Adds a subscription, starting the outbox's pump with the first: only a subscription's events go through the
    /// outbox, and most sessions (a script's embedded one) never subscribe, so they never start or stop a pump task.
    /// Runs on the session's frame loop, as <see cref="EndSubscriptionsAsync"/> does, so the pump starts at most once.
    /// </summary>
    private void Register(Subscription subscription)
    {
        lock (subscriptions)
        {
            subscriptions[subscription.Id] = subscription;
        }

        outboxPump ??= Task.Run(PumpOutboxAsync, CancellationToken.None);
    }

    private async Task PumpOutboxAsync()
    {
        try
        {
            await foreach (var frame in outbox.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                await connection.SendAsync(frame, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // The peer stopped reading (or vanished): end the session, whatever its receive is waiting for.
            outbox.Writer.TryComplete();
            if (!ending)
            {
                await sessionStop.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Queues a live event without waiting; an overflowing outbox ends the session.</summary>
    private bool Enqueue(string frame)
    {
        if (outbox.Writer.TryWrite(frame))
        {
            return true;
        }

        if (!ending)
        {
            Overflow($"{OutboxCapacity} events queued");
        }

        return false;
    }

    /// <summary>Called from publishing sessions' threads: must never throw into them.</summary>
    private void Overflow(string why)
    {
        runtime.Options.Diagnostics?.Invoke($"Session {sessionId} cannot keep up with its subscriptions ({why}); closing it.");
        outbox.Writer.TryComplete();
        try
        {
            sessionStop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session already ended.
        }
    }

    private void PublishCommitted()
    {
        foreach (var published in pendingPublish)
        {
            runtime.Events.Publish(published);
        }

        pendingPublish.Clear();
    }

    private async Task EndSubscriptionsAsync()
    {
        ending = true;
        lock (subscriptions)
        {
            foreach (var subscription in subscriptions.Values)
            {
                subscription.Dispose();
            }

            subscriptions.Clear();
        }

        outbox.Writer.TryComplete();
        if (outboxPump is { } pump)
        {
            await pump.ConfigureAwait(false);
        }
    }

    private async Task SubscribeAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var request = envelope.PayloadAs<SubscribePayload>();
        var filter = request.Filter ?? new SubscriptionFilter();
        if (filter.MinPriority is { } minimum && PriorityRank(minimum) < 0)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "filter.min_priority must be one of low, normal, high, critical.");
        }

        // §13.2: refuse a filter naming anything this principal may not observe.
        foreach (var jobId in filter.JobId ?? [])
        {
            EnsureVisible(await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false), jobId);
        }

        foreach (var other in filter.SessionId ?? [])
        {
            if (runtime.SessionPrincipal(other) is { } owner && owner != principal)
            {
                throw ArcpException.Of(ErrorCodes.PermissionDenied, $"Session '{other}' belongs to another principal.", new JsonObject { ["session_id"] = other });
            }
        }

        long? afterSequence = null;
        if (request.Since is { } since)
        {
            afterSequence = 0;
            if (since.AfterMessageId is { } afterId)
            {
                var after = await store.FindEventAsync(afterId, cancellationToken).ConfigureAwait(false);
                if (after?.JobId is null)
                {
                    throw ArcpException.Of(ErrorCodes.NotFound, $"Message '{afterId}' is not a job event in the log.", new JsonObject { ["after_message_id"] = afterId });
                }

                EnsureVisible(await store.GetJobAsync(after.JobId, cancellationToken).ConfigureAwait(false), after.JobId);
                afterSequence = after.Sequence;
            }
        }

        // Listen before reading the backfill, so nothing committed in between is missed; the overlap is
        // removed by message id when the subscription goes live. The change feed starts first, so what other
        // processes commit from here on reaches the bus too.
        await runtime.Changes.StartAsync(cancellationToken).ConfigureAwait(false);
        var subscription = new Subscription("sub_" + ArcpId.NewUlid(), filter, principal!, this);
        Register(subscription);

        subscription.Listen(runtime.Events);
        if (filter.JobId is { Count: > 0 } watchedJobs)
        {
            subscription.WatchStatus(runtime.Changes.WatchStatus(watchedJobs));
        }

        var accepted = await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.SubscribeAccepted, new SubscribeAcceptedPayload(subscription.Id)) with { SubscriptionId = subscription.Id }), cancellationToken).ConfigureAwait(false);
        if (accepted is null)
        {
            // A retransmitted subscribe: the first one's subscription is the one that stands.
            RemoveSubscription(subscription.Id);
            return;
        }

        var replayed = 0;
        string? last = null;
        if (afterSequence is { } fromSequence)
        {
            foreach (var stored in await BackfillAsync(filter, fromSequence, cancellationToken).ConfigureAwait(false))
            {
                var published = new PublishedEvent(stored.MessageId, stored.Type, stored.SessionId, stored.JobId!, principal!, stored.Envelope);
                if (subscription.Matches(published))
                {
                    subscription.MarkSent(stored.MessageId);
                    await connection.SendAsync(subscription.Wrap(stored.Envelope), cancellationToken).ConfigureAwait(false);
                    replayed++;
                    last = stored.MessageId;
                }
            }
        }

        var marker = Envelope.Create(MessageTypes.EventEmit, EventEmitPayload.Marker(MessageTypes.BackfillCompleteEvent, new JsonObject { ["replayed"] = replayed, ["last_message_id"] = last }), sessionId);
        await connection.SendAsync(subscription.Wrap(EnvelopeCodec.Serialize(marker)), cancellationToken).ConfigureAwait(false);
        subscription.GoLive();
    }

    private async Task<IReadOnlyList<StoredEvent>> BackfillAsync(SubscriptionFilter filter, long afterSequence, CancellationToken cancellationToken)
    {
        var jobIds = filter.JobId ?? (await store.ListJobsAsync(principal!, cancellationToken).ConfigureAwait(false)).Select(j => j.JobId).ToList();
        var events = new List<StoredEvent>();
        foreach (var jobId in jobIds)
        {
            events.AddRange(await store.ReadJobStreamAsync(jobId, afterSequence, cancellationToken).ConfigureAwait(false));
        }

        events.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return events;
    }

    private async Task UnsubscribeAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var id = envelope.SubscriptionId ?? envelope.PayloadAs<UnsubscribePayload>().SubscriptionId
            ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, "unsubscribe needs a 'subscription_id'.");
        if (!RemoveSubscription(id))
        {
            throw ArcpException.Of(ErrorCodes.NotFound, $"Subscription '{id}' is not open on this session.", new JsonObject { ["subscription_id"] = id });
        }

        await RespondAsync(envelope, frame, null, CommitDurability.ProcessSafe, _ => One(Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id)) with { SubscriptionId = id }), cancellationToken).ConfigureAwait(false);
    }

    private bool RemoveSubscription(string id)
    {
        Subscription? removed;
        lock (subscriptions)
        {
            subscriptions.Remove(id, out removed);
        }

        removed?.Dispose();
        return removed is not null;
    }

    /// <summary>Starts delivering a job's events to this session (a runtime-driven job it started or resumed) until the job ends.</summary>
    private void WatchJob(string jobId, string subscriptionId)
    {
        var subscription = new Subscription(subscriptionId, new SubscriptionFilter { JobId = [jobId] }, principal!, this) { EndsWithJob = true };
        Register(subscription);

        subscription.Listen(runtime.Events);
        subscription.GoLive();
    }

    private static int PriorityRank(string? priority) => priority switch
    {
        null or "normal" => 1,
        "low" => 0,
        "high" => 2,
        "critical" => 3,
        _ => -1,
    };

    /// <summary>One subscription: matches, de-duplicates and delivers events for its session.</summary>
    private sealed class Subscription(string id, SubscriptionFilter filter, string principal, RuntimeSession session) : IDisposable
    {
        private const int MaxPendingWhileBackfilling = 10_000;
        private readonly HashSet<string> sent = new(StringComparer.Ordinal);
        private readonly List<PublishedEvent> pending = [];
        private IDisposable? registration;
        private IDisposable? statusWatch;
        private bool live;
        private bool closed;

        public string Id { get; } = id;

        /// <summary>Closes itself after delivering the job's terminal event.</summary>
        public bool EndsWithJob { get; init; }

        public void Listen(EventBus bus) => registration = bus.Listen(Offer);

        public void WatchStatus(IDisposable watch) => statusWatch = watch;

        public void MarkSent(string messageId)
        {
            lock (sent)
            {
                sent.Add(messageId);
            }
        }

        public void GoLive()
        {
            lock (sent)
            {
                live = true;
                foreach (var published in pending)
                {
                    Deliver(published);
                }

                pending.Clear();
            }
        }

        public bool Matches(PublishedEvent published)
        {
            if (published.Principal != principal)
            {
                return false;
            }

            if ((filter.JobId is { } jobs && !jobs.Contains(published.JobId, StringComparer.Ordinal))
                || (filter.Types is { } types && !types.Contains(published.Type, StringComparer.Ordinal))
                || (filter.SessionId is { } sessions && (published.SessionId is null || !sessions.Contains(published.SessionId, StringComparer.Ordinal))))
            {
                return false;
            }

            if (filter.TraceId is null && filter.StreamId is null && filter.MinPriority is null)
            {
                return true;
            }

            var envelope = EnvelopeCodec.Parse(published.Frame);
            return (filter.TraceId is not { } traces || (envelope.TraceId is not null && traces.Contains(envelope.TraceId, StringComparer.Ordinal)))
                && (filter.StreamId is not { } streams || (envelope.StreamId is not null && streams.Contains(envelope.StreamId, StringComparer.Ordinal)))
                && PriorityRank(envelope.Priority) >= PriorityRank(filter.MinPriority);
        }

        public string Wrap(string eventFrame)
        {
            var wrapped = Envelope.Create(MessageTypes.SubscribeEvent, new JsonObject { ["event"] = JsonNode.Parse(eventFrame) }, session.sessionId) with { SubscriptionId = Id };
            return EnvelopeCodec.Serialize(wrapped);
        }

        public void Dispose()
        {
            closed = true;
            registration?.Dispose();
            statusWatch?.Dispose();
        }

        /// <returns>False to stop listening.</returns>
        private bool Offer(PublishedEvent published)
        {
            if (closed || !Matches(published))
            {
                return !closed;
            }

            lock (sent)
            {
                if (!live)
                {
                    pending.Add(published);
                    if (pending.Count > MaxPendingWhileBackfilling)
                    {
                        closed = true;
                        session.Overflow($"{MaxPendingWhileBackfilling} live events arrived during the backfill");
                    }

                    return !closed;
                }

                Deliver(published);
            }

            if (EndsWithJob && MessageTypes.IsTerminalJobEvent(published.Type))
            {
                closed = true;
            }

            return !closed;
        }

        private void Deliver(PublishedEvent published)
        {
            if (!sent.Add(published.MessageId))
            {
                return;
            }

            if (!session.Enqueue(Wrap(published.Frame)))
            {
                closed = true;
            }
        }
    }
}
