using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>
/// Second chances: RFC 0001 §10.2 keeps a failed or cancelled job terminal, so a retry is a new job linked to it
/// (<see cref="JobRecord.RetryOf"/>); the original is never changed.
/// </summary>
public sealed partial class JobService
{
    private static async Task CheckRetryableAsync(IStoreTransaction tx, JobStart start, string original, CancellationToken cancellationToken)
    {
        var job = EnsureVisible(await tx.GetJobAsync(original, cancellationToken).ConfigureAwait(false), original, start.Principal);
        if (job.State is not (JobStates.Failed or JobStates.Cancelled))
        {
            throw ArcpException.Of(
                ErrorCodes.FailedPrecondition,
                $"Job '{original}' is {job.State}; only a failed or cancelled job is retried (a running or interrupted job is resumed, a completed one is done).",
                new JsonObject { ["job_id"] = original, ["state"] = job.State });
        }

        if (job.Workflow != start.Workflow)
        {
            throw ArcpException.Of(
                ErrorCodes.InvalidArgument,
                $"Job '{original}' ran workflow '{job.Workflow}'; its retry must run the same workflow, not '{start.Workflow}'.",
                new JsonObject { ["job_id"] = original, ["workflow"] = job.Workflow });
        }
    }
}
