using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Commands;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Workers;

/// <summary>Start-ArcpJob -Queue: the job is recorded on the store directly, queued for a worker, and returned at once.</summary>
internal static class QueuedStarts
{
    public static ArcpJob Enqueue(ArcpCmdlet cmdlet, string store, JobStart start, string queue, int priority)
    {
        var (job, existing, summary) = cmdlet.RunOnStore(store, async (jobs, ct) =>
        {
            var (record, found) = await new QueuedJobs(jobs).EnqueueAsync(start, queue, priority, ct).ConfigureAwait(false);
            return (record, found, jobs.Summarize(record));
        });
        if (existing)
        {
            cmdlet.WriteVerbose($"Idempotency key matched existing job {job.JobId} ({summary.State}).");
        }

        return new ArcpJob(summary, store);
    }
}
