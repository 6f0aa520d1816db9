namespace Arcp.Resumability.Store;

/// <summary>
/// <see cref="IStoreTransaction.TryAppendJobEventsAsync"/> made of the transaction's single calls, one after another:
/// what a store whose statements cost no round trip does (SQLite, in process), and the PostgreSQL store's way for
/// drafts its one-batch path does not take.
/// </summary>
internal static class JobEventsInTurn
{
    public static async Task<JobEventsAppended?> AppendAsync(IStoreTransaction transaction, IReadOnlyList<EventDraft> drafts, string jobId, long? cancelsAfterSequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(drafts);
        foreach (var draft in drafts)
        {
            if (!await transaction.TryAppendEventAsync(draft, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }

        var job = await transaction.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (cancelsAfterSequence is not { } after)
        {
            return new JobEventsAppended(job, [], 0);
        }

        var (cancels, last) = await transaction.ReadJobCancelsAsync(jobId, after, cancellationToken).ConfigureAwait(false);
        return new JobEventsAppended(job, cancels, last);
    }
}
