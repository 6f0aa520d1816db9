using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>How a <see cref="JobService"/> times leases and idempotency outcomes.</summary>
public sealed record JobServiceOptions
{
    /// <summary>How long a job's owner may stay silent before anyone may take the job over.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long <c>(principal, idempotency_key)</c> outcomes are kept (§6.4 asks for at least the lease horizon).</summary>
    public TimeSpan IdempotencyHorizon { get; init; } = TimeSpan.FromDays(30);

    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>The session that holds (or asks for) a job: who it acts for and the process behind it.</summary>
public sealed record JobHolder(string SessionId, string Principal, ProcessIdentity Process);

/// <summary>
/// The one road into job data. Every decision about a job (start, claim, record an owner's event, cancel,
/// block, release, remove, retention) and every read of one is made here, in store transactions. Methods
/// taking an <see cref="IStoreTransaction"/> act inside the caller's transaction, so the runtime can log the
/// envelope that caused the change in the same commit.
/// </summary>
public sealed partial class JobService(IArcpStore store, JobServiceOptions options)
{
    public IArcpStore Store { get; } = store ?? throw new ArgumentNullException(nameof(store));

    public JobServiceOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    public DateTimeOffset Now => Options.Clock.GetUtcNow();

    public JobSummary Summarize(JobRecord job) => JobSummaries.Of(job, Now);

    public JobLease NewLease(JobHolder holder, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(holder);
        return new(holder.SessionId, holder.Process.Host, holder.Process.ProcessId, holder.Process.StartedAt, now + Options.LeaseDuration);
    }

    /// <summary>The job, if it exists and belongs to <paramref name="principal"/>; NOT_FOUND or PERMISSION_DENIED otherwise.</summary>
    public async Task<JobRecord> GetVisibleJobAsync(string principal, string jobId, CancellationToken cancellationToken) =>
        EnsureVisible(await Store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false), jobId, principal);

    public static ArcpException NotFound(string jobId) =>
        ArcpException.Of(ErrorCodes.NotFound, $"Job '{jobId}' does not exist in this store.", new JsonObject { ["job_id"] = jobId });

    /// <summary>
    /// NOT_FOUND unless <paramref name="job"/> exists and belongs to <paramref name="principal"/>: another
    /// principal's job reads exactly like a missing one, so the answer does not tell that it exists.
    /// </summary>
    public static JobRecord EnsureVisible(JobRecord? job, string jobId, string principal) =>
        job is not null && job.Principal == principal ? job : throw NotFound(jobId);

    private static ArcpException Owned(string jobId, JobLease lease, string suffix) =>
        ArcpException.Of(
            ErrorCodes.Aborted,
            $"Job '{jobId}' is being driven by process {lease.ProcessId} on '{lease.Host}' (session {lease.SessionId}); its lease runs until {ArcpJson.FormatTimestamp(lease.ExpiresAt)}.{suffix}",
            new JsonObject
            {
                ["job_id"] = jobId,
                ["owner"] = new JsonObject { ["session_id"] = lease.SessionId, ["host"] = lease.Host, ["process_id"] = lease.ProcessId, ["lease_expires_at"] = ArcpJson.FormatTimestamp(lease.ExpiresAt) },
            });
}
