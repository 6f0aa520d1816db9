using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Client;

/// <summary>The point a wait for a job ends at; a finished job (completed, failed, cancelled) ends every wait.</summary>
public enum JobWaitTarget
{
    /// <summary>The job finished.</summary>
    Finished,

    /// <summary>The job finished or is interrupted: nobody drives it, so it only moves on when someone resumes it.</summary>
    FinishedOrInterrupted,

    /// <summary>The job finished or nobody holds a live lease on it any more, so it may be claimed.</summary>
    Unowned,
}

/// <summary>
/// Waiting for jobs on a §13 subscription instead of polling: the runtime pushes the job's terminal event and
/// its status notices (<see cref="MessageTypes.JobStatusEvent"/>, which cover lease releases and owners that
/// died), and the job is read again only when one of those arrives.
/// </summary>
public static class JobWaits
{
    private static readonly IReadOnlyList<string> TurningPoints = [MessageTypes.JobCompleted, MessageTypes.JobFailed, MessageTypes.JobCancelled, MessageTypes.EventEmit];

    /// <summary>Waits until <paramref name="jobId"/> reaches <paramref name="target"/> and returns the job as it is then.</summary>
    /// <exception cref="ArcpException">NOT_FOUND for an unknown job; UNAVAILABLE when the session ends first.</exception>
    public static async Task<JobSummary> WaitForJobAsync(this ArcpClient client, string jobId, JobWaitTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(jobId);

        // Subscribe first, then read: a change after the read is then sure to arrive on the subscription.
        var filter = new SubscriptionFilter { JobId = [jobId], Types = TurningPoints };
        var subscription = await client.SubscribeAsync(new SubscribePayload { Filter = filter }, cancellationToken).ConfigureAwait(false);
        await using (subscription.ConfigureAwait(false))
        {
            while (true)
            {
                var job = await QueryJobAsync(client, jobId, cancellationToken).ConfigureAwait(false);
                if (Reached(job, target))
                {
                    return job;
                }

                await subscription.WaitForEventsAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits for the next batch of events on <paramref name="subscription"/>: one, and whatever else is already there.</summary>
    /// <exception cref="ArcpException">When the subscription closed before anything arrived.</exception>
    public static async Task WaitForEventsAsync(this ArcpSubscription subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        _ = await subscription.ReadAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, $"Subscription {subscription.Id} closed."));
        while (subscription.TryRead(out _))
        {
            // Drained: the caller reads the state once for all of them.
        }
    }

    /// <summary>True when <paramref name="job"/> is at <paramref name="target"/>.</summary>
    public static bool Reached(JobSummary job, JobWaitTarget target)
    {
        ArgumentNullException.ThrowIfNull(job);
        // The §10.2 terminal states.
        var finished = job.State is "completed" or "failed" or "cancelled";
        return finished || target switch
        {
            JobWaitTarget.FinishedOrInterrupted => job.Interrupted,
            JobWaitTarget.Unowned => job.Owner is null,
            _ => false,
        };
    }

    private static async Task<JobSummary> QueryJobAsync(ArcpClient client, string jobId, CancellationToken cancellationToken)
    {
        var jobs = await client.QueryJobsAsync(new JobQueryPayload { JobId = jobId }, cancellationToken).ConfigureAwait(false);
        return jobs.Count == 1 ? jobs[0] : throw ArcpException.Of(ErrorCodes.NotFound, $"Job '{jobId}' does not exist.", new System.Text.Json.Nodes.JsonObject { ["job_id"] = jobId });
    }
}
