using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;

namespace Arcp.Resumability.Steps;

/// <summary>
/// Drives a workflow on a client session, as in the seed example: every step ends with a
/// <c>job.progress</c> and a durable <c>job.checkpoint</c>; a resume continues after the last checkpoint
/// and re-issued steps get their recorded outcome instead of running again.
/// </summary>
public sealed class StepRunner(ArcpClient client)
{
    public async Task<JobRunResult> StartAsync(WorkflowDefinition workflow, JsonNode? input, string? name, string? idempotencyKey, IStepObserver? observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        var started = await client.StartWorkflowAsync(workflow.Name, input, name, idempotencyKey, cancellationToken).ConfigureAwait(false);
        if (started.Existing)
        {
            // The same logical start again: continue (or report) the job it created, never a second one.
            var resumed = await ResumeAsync(workflow, started.JobId, null, null, observer, cancellationToken).ConfigureAwait(false);
            return resumed with { ExistingJob = true };
        }

        return await RunAsync(workflow, started.JobId, 0, input, reissue: false, observer, cancellationToken).ConfigureAwait(false);
    }

    public async Task<JobRunResult> ResumeAsync(WorkflowDefinition workflow, string jobId, string? afterMessageId, string? checkpointId, IStepObserver? observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        var resume = await client.ResumeAsync(jobId, afterMessageId, checkpointId, cancellationToken).ConfigureAwait(false);
        var job = resume.Complete.Job;
        if (job.Workflow != workflow.Name)
        {
            throw ArcpException.Of(
                ErrorCodes.FailedPrecondition,
                $"Job '{jobId}' runs workflow '{job.Workflow}', not '{workflow.Name}'; resume it with the workflow it was started with.",
                new JsonObject { ["job_id"] = jobId, ["workflow"] = job.Workflow });
        }

        if (JobStates.IsTerminal(job.State))
        {
            return new JobRunResult(jobId, job.State, job.Result, job.Error) { AlreadyTerminal = true, DataLoss = resume.DataLoss };
        }

        // An explicit checkpoint wins; otherwise the last checkpoint the replay showed, else the latest recorded one.
        var anchor = checkpointId is null ? LastReplayedCheckpoint(resume.ReplayedFrames) ?? resume.Complete.Checkpoint : resume.Complete.Checkpoint;
        if (anchor is null)
        {
            var fromStart = await RunAsync(workflow, jobId, 0, resume.Complete.Inputs, reissue: true, observer, cancellationToken).ConfigureAwait(false);
            return fromStart with { DataLoss = resume.DataLoss };
        }

        var index = workflow.IndexOf(anchor.Step);
        if (index < 0)
        {
            throw ArcpException.Of(
                ErrorCodes.FailedPrecondition,
                $"Checkpoint '{anchor.CheckpointId}' is labelled '{anchor.Step}', which is not a step of workflow '{workflow.Name}'.",
                new JsonObject { ["checkpoint_id"] = anchor.CheckpointId, ["label"] = anchor.Step });
        }

        var result = await RunAsync(workflow, jobId, index + 1, anchor.Output, reissue: true, observer, cancellationToken).ConfigureAwait(false);
        return result with { ResumedAfterStep = anchor.Step, DataLoss = resume.DataLoss };
    }

    private async Task<JobRunResult> RunAsync(WorkflowDefinition workflow, string jobId, int firstStep, JsonNode? input, bool reissue, IStepObserver? observer, CancellationToken cancellationToken)
    {
        var ran = new List<string>();
        var reused = new List<string>();
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeat = HeartbeatAsync(jobId, heartbeatStop.Token);
        try
        {
            var count = workflow.Steps.Count;
            for (var index = firstStep; index < count; index++)
            {
                var step = workflow.Steps[index];
                var inputText = ArcpJson.ToText(input);
                var context = new StepContext(jobId, workflow.Name, step.Name, index, count, input, StepKeys.For(workflow.Name, jobId, step.Name, inputText));
                if (reissue && await client.LookupStepAsync(jobId, context.IdempotencyKey, cancellationToken).ConfigureAwait(false) is { Recorded: true, Checkpoint: { } recorded })
                {
                    reused.Add(step.Name);
                    if (observer is not null)
                    {
                        await observer.StepReusedAsync(context, recorded, cancellationToken).ConfigureAwait(false);
                    }

                    input = recorded.Output;
                    continue;
                }

                if (observer is not null)
                {
                    await observer.StepStartingAsync(context, cancellationToken).ConfigureAwait(false);
                }

                JsonNode? output;
                try
                {
                    output = await step.Body(context, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested || ex is StepInterruptedException)
                {
                    // Stopped, not failed: the job stays resumable at this step.
                    throw;
                }
                catch (Exception ex) when (ex is not ArcpException)
                {
                    var error = ex is StepFailedException failed ? failed.Error : StepError(ErrorCodes.Unknown, ex.Message, context, ex);
                    error = error with { Details = MergeStepDetails(error.Details, context, ex) };
                    await client.EmitAsync(MessageTypes.JobFailed, jobId, error, null, cancellationToken).ConfigureAwait(false);
                    return new JobRunResult(jobId, JobStates.Failed, null, error) { StepsRun = ran, StepsReused = reused };
                }

                ran.Add(step.Name);
                await client.PostAsync(
                    MessageTypes.JobProgress,
                    jobId,
                    new JobProgressPayload(Math.Round((index + 1) * 100.0 / count, 2), $"{step.Name} done ({(index + 1).ToString(CultureInfo.InvariantCulture)}/{count.ToString(CultureInfo.InvariantCulture)})")
                    {
                        Step = step.Name,
                        StepIndex = index,
                        StepCount = count,
                    },
                    cancellationToken).ConfigureAwait(false);
                var checkpointId = ArcpId.NewCheckpointId();
                var ack = await client.EmitAsync(
                    MessageTypes.JobCheckpoint,
                    jobId,
                    new JobCheckpointPayload(checkpointId, step.Name, new CheckpointSnapshot(step.Name, index, count, output)),
                    context.IdempotencyKey,
                    cancellationToken).ConfigureAwait(false);
                if (ack.Duplicate == true)
                {
                    // Someone recorded this step first; its outcome is the truth, ours is discarded.
                    var prior = await client.LookupStepAsync(jobId, context.IdempotencyKey, cancellationToken).ConfigureAwait(false);
                    output = prior.Checkpoint?.Output;
                }

                if (observer is not null)
                {
                    var summary = new CheckpointSummary(ack.CheckpointId ?? checkpointId, jobId, step.Name, index, ack.MessageId ?? string.Empty, context.IdempotencyKey, ArcpJson.FormatTimestamp(DateTimeOffset.UtcNow)) { Output = output };
                    await observer.CheckpointRecordedAsync(context, summary, cancellationToken).ConfigureAwait(false);
                }

                input = output;
            }

            await client.EmitAsync(MessageTypes.JobCompleted, jobId, new JobCompletedPayload(input), null, cancellationToken).ConfigureAwait(false);
            return new JobRunResult(jobId, JobStates.Completed, input, null) { StepsRun = ran, StepsReused = reused };
        }
        finally
        {
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
        }
    }

    /// <summary>Keeps the job's lease alive while a long step runs (§10.3).</summary>
    private async Task HeartbeatAsync(string jobId, CancellationToken cancellationToken)
    {
        var interval = client.HeartbeatInterval;
        using var timer = new PeriodicTimer(interval);
        long sequence = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var payload = new JobHeartbeatPayload(++sequence, (long)(interval.TotalMilliseconds * 2), JobStates.Running);
                await client.PostAsync(MessageTypes.JobHeartbeat, jobId, payload, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
        catch (ArcpException)
        {
            // The connection is gone; the step's own next message reports that.
        }
    }

    private static ArcpError StepError(string code, string message, StepContext context, Exception ex) =>
        ArcpError.Create(code, $"Step '{context.Step}' failed: {message}", MergeStepDetails(null, context, ex));

    private static JsonObject MergeStepDetails(JsonObject? details, StepContext context, Exception ex)
    {
        var merged = details?.DeepClone().AsObject() ?? [];
        merged["step"] = context.Step;
        merged["step_index"] = context.StepIndex;
        merged["exception_type"] ??= (ex.InnerException is not null && ex is StepFailedException ? ex.InnerException : ex).GetType().FullName;
        return merged;
    }

    private static CheckpointSummary? LastReplayedCheckpoint(IReadOnlyList<string> frames)
    {
        for (var i = frames.Count - 1; i >= 0; i--)
        {
            var envelope = EnvelopeCodec.Parse(frames[i]);
            if (envelope.Type == MessageTypes.JobCheckpoint && envelope.JobId is { } jobId)
            {
                var checkpoint = envelope.PayloadAs<JobCheckpointPayload>();
                return new CheckpointSummary(checkpoint.CheckpointId, jobId, checkpoint.Label, checkpoint.Snapshot.StepIndex, envelope.Id, envelope.IdempotencyKey ?? checkpoint.CheckpointId, envelope.Timestamp)
                {
                    Output = checkpoint.Snapshot.Output,
                };
            }
        }

        return null;
    }
}
