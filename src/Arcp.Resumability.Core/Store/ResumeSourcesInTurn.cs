namespace Arcp.Resumability.Store;

/// <summary>
/// <see cref="IArcpStore.ReadResumeSourcesAsync"/> made of the store's single reads, one after another: what a store
/// whose reads cost no round trip does (SQLite, in process), and the PostgreSQL store's way when a checkpoint was
/// recorded between its batched reads.
/// </summary>
internal static class ResumeSourcesInTurn
{
    public static async Task<ResumeSources> ReadAsync(IArcpStore store, string jobId, bool afterLatestCheckpoint, CancellationToken cancellationToken)
    {
        var job = await store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        var latest = await store.FindLatestCheckpointAsync(jobId, cancellationToken).ConfigureAwait(false);
        long afterSequence = 0;
        if (afterLatestCheckpoint && latest is not null
            && await store.FindEventAsync(latest.MessageId, cancellationToken).ConfigureAwait(false) is { } anchorEvent && anchorEvent.JobId == jobId)
        {
            afterSequence = anchorEvent.Sequence;
        }

        return new ResumeSources(job, latest, afterSequence, await store.ReadJobStreamAsync(jobId, afterSequence, cancellationToken).ConfigureAwait(false));
    }
}
