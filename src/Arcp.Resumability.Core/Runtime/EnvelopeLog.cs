using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>Every envelope the runtime sends is logged before it goes out; this is how it is logged.</summary>
internal static class EnvelopeLog
{
    /// <summary>Appends outbound envelopes to the log inside <paramref name="transaction"/>.</summary>
    /// <returns>What was logged, in order, with the exact frame to send.</returns>
    public static async Task<IReadOnlyList<EventDraft>> AppendOutboundAsync(IStoreTransaction transaction, IReadOnlyList<Envelope> envelopes, string? sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var drafts = new List<EventDraft>(envelopes.Count);
        foreach (var outbound in envelopes)
        {
            var text = EnvelopeCodec.Serialize(outbound);
            // A job.cancelled the runtime emits itself (for a job nobody drives) belongs to the job's stream too.
            var inJobStream = (outbound.Type is MessageTypes.JobAccepted or MessageTypes.JobStarted && outbound.Payload.TryGetProperty("existing", out _) is false)
                || outbound.Type == MessageTypes.JobCancelled;
            var draft = new EventDraft(outbound.Id, outbound.Type, EventDirection.Outbound, sessionId, inJobStream ? outbound.JobId : null, outbound.CorrelationId, now, text);
            await transaction.AppendEventAsync(draft, cancellationToken).ConfigureAwait(false);
            drafts.Add(draft);
        }

        return drafts;
    }
}
