namespace Arcp.Resumability.Store;

/// <summary>
/// <see cref="IStoreTransaction.TryRecordOwnerEventsAndCommitAsync"/> made of the transaction's single calls, one after
/// another: what a store whose statements cost no round trip does (SQLite, in process), and the PostgreSQL store's way
/// for drafts its one-batch path does not take.
/// </summary>
internal static class OwnerEventsInTurn
{
    public static async Task<OwnerEventsRecorded?> RecordAndCommitAsync(IStoreTransaction transaction, IReadOnlyList<EventDraft> drafts, OwnerJobWrite write, long? cancelsAfterSequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        var appended = await transaction.TryAppendJobEventsAsync(drafts, write.JobId, cancelsAfterSequence, cancellationToken).ConfigureAwait(false);
        if (appended?.Job is not { } job || !write.IsHeldIn(job))
        {
            return null;
        }

        if (write.Checkpoint is { } checkpoint)
        {
            if (!await transaction.TryInsertCheckpointAndUpdateJobAsync(checkpoint, write.ApplyTo(job), cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
        else
        {
            await transaction.UpdateJobAsync(write.ApplyTo(job), cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new OwnerEventsRecorded(appended.Cancels, appended.LastSequence);
    }
}
