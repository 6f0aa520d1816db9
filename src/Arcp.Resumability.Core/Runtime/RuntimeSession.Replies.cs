using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>The persist-and-reply pipeline: nothing goes out before it is logged, and a retransmission gets the logged answers.</summary>
internal sealed partial class RuntimeSession
{
    /// <summary>
    /// Logs the inbound envelope and runs <paramref name="handle"/> in one transaction, then sends what it
    /// returned. A retransmitted message id is not handled again: its earlier answers are sent instead (§6.4).
    /// </summary>
    /// <returns>The frames sent, or null when the message was a retransmission.</returns>
    private Task<IReadOnlyList<string>?> RespondAsync(
        Envelope envelope,
        string frame,
        string? jobStream,
        CommitDurability durability,
        Func<IStoreTransaction, Task<IReadOnlyList<Envelope>>> handle,
        CancellationToken cancellationToken) =>
        RespondAsync(envelope, frame, jobStream, durability, null, (tx, _) => handle(tx), cancellationToken);

    /// <summary>
    /// <see cref="RespondAsync(Envelope, string, string?, CommitDurability, Func{IStoreTransaction, Task{IReadOnlyList{Envelope}}}, CancellationToken)"/>
    /// for a handler that starts by locking job <paramref name="lockJob"/>: the store locks it with the inbound append
    /// (on PostgreSQL, in the same round trip) and <paramref name="handle"/> gets it as locked (null when there is no such job).
    /// </summary>
    /// <param name="afterTheAnswer">
    /// Sends what goes between the first reply (the answer) and the replies after it, which are logged in the
    /// answer's transaction but sent only then: a resume's replay, before the marker that ends it.
    /// </param>
    private async Task<IReadOnlyList<string>?> RespondAsync(
        Envelope envelope,
        string frame,
        string? jobStream,
        CommitDurability durability,
        string? lockJob,
        Func<IStoreTransaction, JobRecord?, Task<IReadOnlyList<Envelope>>> handle,
        CancellationToken cancellationToken,
        Func<CancellationToken, Task>? afterTheAnswer = null)
    {
        IReadOnlyList<string> frames;
        var transaction = await store.BeginAsync(durability, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            pendingPublish.Clear();
            var inbound = new EventDraft(envelope.Id, envelope.Type, EventDirection.Inbound, sessionId, jobStream, envelope.CorrelationId, runtime.Now, frame);
            var (appended, locked) = lockJob is null
                ? (await transaction.TryAppendEventAsync(inbound, cancellationToken).ConfigureAwait(false), null)
                : await transaction.TryAppendJobEventsAsync([inbound], lockJob, null, cancellationToken).ConfigureAwait(false) is { } logged
                    ? (true, logged.Job)
                    : (false, null);
            if (!appended)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
                await ResendEarlierAnswersAsync(envelope, cancellationToken).ConfigureAwait(false);
                return null;
            }

            if (jobStream is not null)
            {
                pendingPublish.Add(new PublishedEvent(envelope.Id, envelope.Type, sessionId, jobStream, principal, frame));
            }

            IReadOnlyList<Envelope> replies;
            try
            {
                replies = await handle(transaction, locked).ConfigureAwait(false);
            }
            catch (DuplicateStepException duplicate)
            {
                // Undo the job-stream append, keep the inbound id for transport-level dedupe.
                await transaction.DisposeAsync().ConfigureAwait(false);
                var recorded = duplicate.Recorded;
                var ack = Reply(envelope, MessageTypes.Ack, new AckPayload(envelope.Id) { Duplicate = true, MessageId = recorded.MessageId, CheckpointId = recorded.CheckpointId, Checkpoint = JobSummaries.Of(recorded, includeOutput: false) });
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
        for (var i = 0; i < frames.Count; i++)
        {
            await connection.SendAsync(frames[i], cancellationToken).ConfigureAwait(false);
            if (i == 0 && afterTheAnswer is not null)
            {
                await afterTheAnswer(cancellationToken).ConfigureAwait(false);
            }
        }

        return frames;
    }

    /// <summary>Sends the answer to a read-only query (pong, step outcome, job/event lists), once the query is logged (<see cref="LogQueryAsync"/>).</summary>
    private Task RespondToQueryAsync(Envelope envelope, string frame, Envelope answer, CancellationToken cancellationToken) =>
        RespondToQueryAsync(envelope, frame, EnvelopeCodec.Serialize(answer), cancellationToken);

    /// <summary>Sends an answer already written as a frame (a checkpoint list) to a read-only query, once the query is logged.</summary>
    private async Task RespondToQueryAsync(Envelope envelope, string frame, string answer, CancellationToken cancellationToken)
    {
        if (await LogQueryAsync(envelope, frame, cancellationToken).ConfigureAwait(false))
        {
            await connection.SendAsync(answer, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Logs a read-only query. Only the inbound envelope is logged, so its id is still deduplicated (§6.4); the answer
    /// is not, because it can be as large as the data it reads and is cheap to compute again: a retransmitted query is
    /// answered by running it again, for the session that sent it (the caller computed the answer before logging, so a
    /// query that fails is nacked, and that small nack logged, by the usual path).
    /// </summary>
    /// <returns>False when the id was used before by another sender, which has been refused: the answer is not to be sent.</returns>
    private async Task<bool> LogQueryAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        bool logged;
        var transaction = await store.BeginAsync(CommitDurability.ProcessSafe, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var inbound = new EventDraft(envelope.Id, envelope.Type, EventDirection.Inbound, sessionId, null, envelope.CorrelationId, runtime.Now, frame);
            logged = await transaction.TryAppendEventAsync(inbound, cancellationToken).ConfigureAwait(false);
            if (logged)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        // Checked after the transaction is gone: the store serialises its readers with its writer.
        if (!logged && !await SentEarlierBySameSenderAsync(envelope.Id, cancellationToken).ConfigureAwait(false))
        {
            await RefuseReusedIdAsync(envelope, cancellationToken).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>Logs and sends envelopes the runtime emits on its own (not as the answer to one inbound message).</summary>
    public async Task PersistAndSendAsync(IReadOnlyList<Envelope> envelopes, CancellationToken cancellationToken)
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
        var logged = await EnvelopeLog.AppendOutboundAsync(transaction, envelopes, sessionId, runtime.Now, cancellationToken).ConfigureAwait(false);
        foreach (var draft in logged)
        {
            if (draft.JobId is { } job)
            {
                pendingPublish.Add(new PublishedEvent(draft.MessageId, draft.Type, sessionId, job, principal, draft.Envelope));
            }
        }

        return logged.Select(draft => draft.Envelope).ToList();
    }

    /// <summary>
    /// §6.4 dedupe, scoped to the sender: only the session that sent the id first (or another open session of the
    /// same principal) gets the stored answers again. Anyone else reusing an id learns nothing from the answer,
    /// which reads the same whoever used the id before.
    /// </summary>
    private async Task ResendEarlierAnswersAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        var earlier = await store.FindEventAsync(envelope.Id, cancellationToken).ConfigureAwait(false);
        if (earlier is null || !IsSameSender(earlier))
        {
            await RefuseReusedIdAsync(envelope, cancellationToken).ConfigureAwait(false);
            return;
        }

        var answers = await store.ReadResponsesAsync(envelope.Id, cancellationToken).ConfigureAwait(false);
        if (answers.Count == 0 && await DerivedAckAsync(earlier, cancellationToken).ConfigureAwait(false) is { } derived)
        {
            await connection.SendAsync(derived, cancellationToken).ConfigureAwait(false);
            return;
        }

        foreach (var answer in answers)
        {
            await connection.SendAsync(answer.Envelope, cancellationToken).ConfigureAwait(false);
        }
    }

    private bool IsSameSender(StoredEvent earlier) =>
        earlier.SessionId is { } earlierSession && (earlierSession == sessionId || runtime.SessionPrincipal(earlierSession) == principal);

    /// <summary>§6.4 dedupe is scoped to the sender: this session, or another open session of the same principal.</summary>
    private async Task<bool> SentEarlierBySameSenderAsync(string messageId, CancellationToken cancellationToken)
    {
        var earlier = await store.FindEventAsync(messageId, cancellationToken).ConfigureAwait(false);
        return earlier is not null && IsSameSender(earlier);
    }

    private async Task RefuseReusedIdAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        var refusal = Nack(envelope, ArcpError.Create(ErrorCodes.InvalidArgument, $"Message id '{envelope.Id}' cannot be used again; send each new message with a fresh id."));
        await connection.SendAsync(EnvelopeCodec.Serialize(refusal), cancellationToken).ConfigureAwait(false);
    }

    private Envelope Reply<TPayload>(Envelope request, string type, TPayload payload, string? jobId = null) =>
        ReplyHeader(request, type, jobId) with { Payload = ArcpJson.ToElement(payload) };

    /// <summary>A reply's envelope without its payload, for a frame written with the payload in it.</summary>
    private Envelope ReplyHeader(Envelope request, string type, string? jobId = null) =>
        Envelope.Header(type, sessionId, jobId ?? request.JobId, request.Id) with { TraceId = request.TraceId };

    private Envelope Nack(Envelope request, ArcpError error) => Reply(request, MessageTypes.Nack, NackPayload.From(request.Id, error));

    private static Task<IReadOnlyList<Envelope>> One(Envelope envelope) => Task.FromResult<IReadOnlyList<Envelope>>([envelope]);
}
