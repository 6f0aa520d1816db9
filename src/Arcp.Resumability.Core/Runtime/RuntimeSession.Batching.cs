using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// One durable commit per step. An owner's process-safe job events (progress, logs, stream chunks) are held until
/// the next message of the session: when that is an event of the same job, all of them are recorded in its
/// transaction (a step's <c>job.progress</c> rides with its <c>job.checkpoint</c>); otherwise, or when no frame
/// follows within <see cref="HoldWindow"/>, they are recorded on their own first. Order on the session is kept:
/// held events are appended before the event that joins them, and nothing is answered before it is committed.
/// The acknowledgement of a recorded job event is not logged: a retransmission gets it derived from the log.
/// </summary>
internal sealed partial class RuntimeSession
{
    /// <summary>How long a held event waits for a next frame; a step's checkpoint follows its progress at once.</summary>
    internal static readonly TimeSpan HoldWindow = TimeSpan.FromMilliseconds(2);

    // Bounds what a chatty step (thousands of log lines, no checkpoint) keeps in memory and unanswered.
    private const int MaxHeld = 64;

    private readonly List<HeldJobEvent> held = [];

    /// <summary>Whether process-safe job events are waiting for the next frame.</summary>
    public bool HasHeldEvents => held.Count > 0;

    /// <summary>Records the held events in one process-safe transaction of their own.</summary>
    public async Task FlushHeldEventsAsync(CancellationToken cancellationToken)
    {
        if (held.Count == 0)
        {
            return;
        }

        var batch = held.ToList();
        held.Clear();
        try
        {
            await RecordBatchAsync(batch, CommitDurability.ProcessSafe, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreException ex)
        {
            // Nothing can be recorded, not even this refusal: it goes out unlogged, so an owner whose session now ends
            // learns why (disk full, store read-only) instead of only seeing the connection close.
            await connection.SendAsync(EnvelopeCodec.Serialize(Nack(batch[^1].Envelope, ex.ToArcpError())), cancellationToken).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Whether <paramref name="envelope"/> may be recorded together with the held events.</summary>
    private bool JoinsHeldEvents(Envelope envelope) =>
        held.Count > 0
        && envelope.Type != MessageTypes.JobHeartbeat
        && MessageTypes.IsOwnerEmittedJobEvent(envelope.Type)
        && envelope.JobId == held[0].JobId;

    /// <summary>Holds a process-safe event, or records it with the held ones when it must be durable.</summary>
    private async Task RecordOrHoldAsync(Envelope envelope, string frame, string jobId, JobEvent recorded, CommitDurability durability, CancellationToken cancellationToken)
    {
        if (held.Count > 0 && held[0].JobId != jobId)
        {
            await FlushHeldEventsAsync(cancellationToken).ConfigureAwait(false);
        }

        held.Add(new HeldJobEvent(envelope, frame, jobId, recorded));
        if (durability == CommitDurability.Durable || held.Count >= MaxHeld)
        {
            var batch = held.ToList();
            held.Clear();
            await RecordBatchAsync(batch, durability, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Logs the events of one job in one transaction; the job layer sees the last one (fencing, lease, checkpoint,
    /// terminal state: the job row is written once). Anything unusual (a retransmitted id, a refused event) sends
    /// every event of the batch down the one-at-a-time path instead, which answers each as before.
    /// </summary>
    private async Task RecordBatchAsync(IReadOnlyList<HeldJobEvent> batch, CommitDurability durability, CancellationToken cancellationToken)
    {
        var last = batch[^1];
        var loggedAt = runtime.Now;
        OwnerEventsCommitted? committed;
        var transaction = await store.BeginAsync(durability, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            pendingPublish.Clear();
            var drafts = batch.Select(item => new EventDraft(item.Envelope.Id, item.Envelope.Type, EventDirection.Inbound, sessionId, item.JobId, item.Envelope.CorrelationId, loggedAt, item.Frame)).ToList();

            // The events, the job's row with the checkpoint, the cancel scan and the commit in one request (a step's
            // whole transaction); a terminal event needs no scan, its job ends.
            long? cancelsAfter = MessageTypes.IsTerminalJobEvent(last.Envelope.Type) ? null : CancelsScannedThrough(last.JobId);
            committed = await jobs.TryRecordAndCommitAsync(transaction, holder, last.JobId, drafts, last.Recorded, cancelsAfter, cancellationToken).ConfigureAwait(false);
        }

        if (committed is null)
        {
            foreach (var item in batch)
            {
                await RecordOneAsync(item.Envelope, item.Frame, item.JobId, item.Recorded, durability, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        pendingPublish.AddRange(batch.Select(item => new PublishedEvent(item.Envelope.Id, item.Envelope.Type, sessionId, item.JobId, principal, item.Frame)));
        PublishCommitted();

        // Recorded, so this session holds the job's lease: every cancel found is its to relay. Before the acks: an owner
        // that reads a cancel before its checkpoint's ack stops at that clean checkpoint instead of starting the next
        // step (the held progress used to carry the relay ahead of the checkpoint).
        var cancels = MessageTypes.IsTerminalJobEvent(last.Envelope.Type) ? JobEnded(last.JobId) : new PendingCancels(last.JobId, committed.Cancels, committed.LastSequence, JobEnded: false);
        await RelayCancellationAsync(cancels, cancellationToken).ConfigureAwait(false);

        foreach (var item in batch)
        {
            var summary = ReferenceEquals(item, last) && committed.Checkpoint is { } checkpoint ? JobSummaries.Of(checkpoint, includeOutput: false) : null;
            await connection.SendAsync(JobEventAck(item.Envelope, sessionId, loggedAt, summary), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The acknowledgement a recorded job event was answered with, derived from the log for a retransmission
    /// (§6.4), since it was not logged; null when the event is not one recorded that way.
    /// </summary>
    private async Task<string?> DerivedAckAsync(StoredEvent earlier, CancellationToken cancellationToken)
    {
        if (earlier.Direction != EventDirection.Inbound || earlier.JobId is not { } jobId || !MessageTypes.IsOwnerEmittedJobEvent(earlier.Type))
        {
            return null;
        }

        var request = EnvelopeCodec.Parse(earlier.Envelope);
        CheckpointSummary? summary = null;
        if (earlier.Type == MessageTypes.JobCheckpoint && request.PayloadAs<JobCheckpointPayload>().CheckpointId is { Length: > 0 } checkpointId)
        {
            summary = JobSummaries.Of((await jobs.ReadCheckpointsAsync(principal, jobId, checkpointId, cancellationToken).ConfigureAwait(false))[0], includeOutput: false);
        }

        return JobEventAck(request, earlier.SessionId, earlier.CreatedAt, summary);
    }

    /// <summary>
    /// The frame of the ack of a recorded job event, a function of what the log holds (the request, its session and when it was
    /// logged, the checkpoint row), so the one derived for a retransmission is the one first sent, byte for byte.
    /// </summary>
    private static string JobEventAck(Envelope request, string? answeringSession, DateTimeOffset loggedAt, CheckpointSummary? checkpoint)
    {
        var ack = new AckPayload(request.Id) { MessageId = request.Id };
        if (checkpoint is not null)
        {
            ack = ack with { CheckpointId = checkpoint.CheckpointId, Checkpoint = checkpoint };
        }

        var header = new Envelope
        {
            Id = ArcpId.DerivedMessageId(loggedAt, "ack\u001f" + request.Id),
            Type = MessageTypes.Ack,
            Timestamp = ArcpJson.FormatTimestamp(loggedAt),
            SessionId = answeringSession,
            JobId = request.JobId,
            CorrelationId = request.Id,
            TraceId = request.TraceId,
        };
        return EnvelopeCodec.Serialize(header, ack);
    }

    private sealed record HeldJobEvent(Envelope Envelope, string Frame, string JobId, JobEvent Recorded);
}
