using System.Text.Json;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>The one place stored job and checkpoint rows become their wire summaries.</summary>
public static class JobSummaries
{
    public static JobSummary Of(JobRecord job, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        var terminal = JobStates.IsTerminal(job.State);
        var live = LeaseLiveness.IsLive(job.Lease, now);
        // A queued job has no owner by design: it waits for a worker, it was not left behind by one.
        var interrupted = !terminal && !live && job.State != JobStates.Queued;
        return new JobSummary(job.JobId, job.Workflow, job.State, interrupted, ArcpJson.FormatTimestamp(job.CreatedAt), ArcpJson.FormatTimestamp(job.UpdatedAt))
        {
            Name = job.Name,
            LastCheckpointId = job.LastCheckpointId,
            LastMessageId = job.LastMessageId,
            Result = job.Result is null ? null : ArcpJson.ParseNode(job.Result),
            Error = job.Error is null ? null : JsonSerializer.Deserialize<ArcpError>(job.Error, ArcpJson.Options),
            IdempotencyKey = job.IdempotencyKey,
            RetryOf = job.RetryOf,
            Owner = live && job.Lease is { } lease ? new JobOwner(lease.SessionId, lease.Host, lease.ProcessId, ArcpJson.FormatTimestamp(lease.ExpiresAt)) : null,
        };
    }

    /// <summary>A recorded checkpoint as every reader sees it: the store's row, its own creation time included.</summary>
    public static CheckpointSummary Of(CheckpointRecord checkpoint, bool includeOutput)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return new(checkpoint.CheckpointId, checkpoint.JobId, checkpoint.Step, checkpoint.StepIndex, checkpoint.MessageId, checkpoint.IdempotencyKey, ArcpJson.FormatTimestamp(checkpoint.CreatedAt))
        {
            Output = includeOutput ? ArcpJson.ParseNode(checkpoint.Output) : null,
            DefinitionVersion = checkpoint.DefinitionVersion,
            StartedAt = checkpoint.StartedAt is { } started ? ArcpJson.FormatTimestamp(started) : null,
            Attempts = checkpoint.Attempts,
            DurationMs = checkpoint.DurationMs,
        };
    }

    /// <summary>The §10.2 state, except that a running job nobody drives any more reads "interrupted".</summary>
    public static string OperatorState(JobSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return summary.Interrupted ? JobStates.Interrupted : summary.State;
    }
}
