using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>§9 durable sessions: reopening an ended session under its old id and what its resume replays.</summary>
public sealed partial class JobService
{
    private const int SessionReplayPage = 500;

    /// <summary>Reopens an ended session of <paramref name="holder"/>'s principal under its old id.</summary>
    /// <returns>False when the principal has no ended session with that id (unknown, another principal's, or still open).</returns>
    public async Task<bool> ReopenSessionAsync(JobHolder holder, string? clientKind, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var transaction = await Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var session = new SessionRecord(holder.SessionId, holder.Principal, clientKind, holder.Process.Host, holder.Process.ProcessId, Now);
            var reopened = await transaction.ReopenSessionAsync(session, cancellationToken).ConfigureAwait(false);
            if (reopened)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            return reopened;
        }
    }

    /// <summary>
    /// What a session-scoped resume replays: the job-stream events logged in <paramref name="sessionId"/> after
    /// <paramref name="afterMessageId"/>, which must be a message of that session, in log order.
    /// </summary>
    public async Task<IReadOnlyList<StoredEvent>> ReadSessionReplayAsync(string sessionId, string afterMessageId, CancellationToken cancellationToken)
    {
        var after = await Store.FindEventAsync(afterMessageId, cancellationToken).ConfigureAwait(false);
        if (after is null || after.SessionId != sessionId)
        {
            // The same words for a message of another session (whoever's) as for one that never existed.
            throw ArcpException.Of(ErrorCodes.NotFound, $"Message '{afterMessageId}' is not a message of session '{sessionId}'.", new JsonObject { ["after_message_id"] = afterMessageId });
        }

        // Read by sequence (the log's key), so the cost follows how much happened since, not how big the log is.
        var replay = new List<StoredEvent>();
        var position = after.Sequence;
        while (true)
        {
            var page = await Store.ReadJobEventsAfterAsync(position, SessionReplayPage, cancellationToken).ConfigureAwait(false);
            replay.AddRange(page.Where(e => e.SessionId == sessionId));
            if (page.Count < SessionReplayPage)
            {
                return replay;
            }

            position = page[^1].Sequence;
        }
    }
}
