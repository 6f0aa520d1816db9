using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>§10.4 escalation: a cooperative cancel whose deadline passed ends the job with <c>ABORTED</c>.</summary>
public sealed partial class JobService
{
    /// <summary>
    /// Ends <paramref name="jobId"/> as cancelled with an <c>ABORTED</c> <c>job.cancelled</c> in its stream (caused by
    /// the cancel <paramref name="cancelId"/>) and revokes its lease, unless it reached a terminal state meanwhile.
    /// </summary>
    /// <returns>The job and the stored frame of its terminal event; null when the owner finished first.</returns>
    public async Task<(JobRecord Job, Envelope Event, string Frame)?> AbortOverdueCancelAsync(string jobId, string cancelId, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var transaction = await Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var job = await transaction.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (job is null || JobStates.IsTerminal(job.State))
            {
                return null;
            }

            var now = Now;
            var error = ArcpError.Create(
                ErrorCodes.Aborted,
                $"The job did not end within the cancel's deadline ({(long)deadline.TotalMilliseconds} ms); the runtime ended it and revoked its owner's lease.",
                new JsonObject { ["cancel_id"] = cancelId, ["deadline_ms"] = (long)deadline.TotalMilliseconds, ["last_checkpoint_id"] = job.LastCheckpointId });
            var emitted = Envelope.Create(MessageTypes.JobCancelled, error, jobId: jobId) with { CausationId = cancelId };
            var text = EnvelopeCodec.Serialize(emitted);
            await transaction.TryAppendEventAsync(new EventDraft(emitted.Id, emitted.Type, EventDirection.Outbound, null, jobId, null, now, text), cancellationToken).ConfigureAwait(false);
            var updated = job with { State = JobStates.Cancelled, Error = ArcpJson.Serialize(error), Lease = null, UpdatedAt = now, LastMessageId = emitted.Id };
            await transaction.UpdateJobAsync(updated, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return (updated, emitted, text);
        }
    }
}
