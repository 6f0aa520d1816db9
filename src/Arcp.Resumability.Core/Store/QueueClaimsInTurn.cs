using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Store;

/// <summary>
/// <see cref="IQueueTransaction.TryClaimNextAsync"/> made of the transaction's single calls, one after another: what a
/// store whose statements cost no round trip does (SQLite, in process).
/// </summary>
internal static class QueueClaimsInTurn
{
    public static async Task<QueueClaimOutcome> TryClaimNextAsync(IStoreTransaction transaction, QueueClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var limit = await transaction.LockQueueAsync(claim.Queue, cancellationToken).ConfigureAwait(false);
        if (!claim.SlotFree && limit is { } max && await transaction.CountActiveAsync(claim.Queue, claim.Now, claim.ClaimedSince, cancellationToken).ConfigureAwait(false) >= max)
        {
            return new QueueClaimOutcome(limit, Full: true, null);
        }

        var entries = await transaction.ListClaimableAsync(claim.Queue, claim.Principal, claim.Workflows, 1, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0)
        {
            return new QueueClaimOutcome(limit, Full: false, null);
        }

        var job = await transaction.GetJobAsync(entries[0].JobId, cancellationToken).ConfigureAwait(false)
            ?? throw new StoreException(StoreErrorKind.Corrupt, $"Queue entry of job '{entries[0].JobId}' has no job.");
        var claimed = job with { State = JobStates.Running, Lease = claim.Lease, UpdatedAt = claim.Now };
        await transaction.UpdateJobAsync(claimed, cancellationToken).ConfigureAwait(false);
        await transaction.MarkClaimedAsync(job.JobId, claim.ClaimedBy, claim.Now, cancellationToken).ConfigureAwait(false);
        return new QueueClaimOutcome(limit, Full: false, claimed);
    }

    public static async Task<QueueClaimOutcome> TryClaimNextAndCommitAsync(IStoreTransaction transaction, QueueClaim claim, CancellationToken cancellationToken)
    {
        var outcome = await TryClaimNextAsync(transaction, claim, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return outcome;
    }
}
