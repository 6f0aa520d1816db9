using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Steps;

/// <summary>
/// Drives a workflow on a client session, as in the seed example: every step ends with a
/// <c>job.progress</c> and a durable <c>job.checkpoint</c>; a resume continues after the last checkpoint
/// and re-issued steps get their recorded outcome instead of running again.
/// </summary>
public sealed class StepRunner(ArcpClient client)
{
    /// <summary>
    /// How long recording the checkpoint of a step whose body has finished may go on once the run is stopped: long
    /// enough for any commit, short enough that a runtime which does not answer cannot hold up a Ctrl+C for long.
    /// </summary>
    public static readonly TimeSpan FinishedStepGrace = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Runs once the job exists (created, or found by its idempotency key) and before any step: where a caller
    /// records what it needs to resume the job later, so that record is durable before the first step can crash.
    /// </summary>
    public Func<string, CancellationToken, Task>? JobStarted { get; init; }

    public async Task<JobRunResult> StartAsync(WorkflowDefinition workflow, JsonNode? input, string? name, string? idempotencyKey, IStepObserver? observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        var started = await client.StartWorkflowAsync(workflow.Name, input, name, idempotencyKey, cancellationToken).ConfigureAwait(false);
        if (JobStarted is { } jobStarted)
        {
            await jobStarted(started.JobId, cancellationToken).ConfigureAwait(false);
        }

        if (started.Existing)
        {
            // The same logical start again: continue (or report) the job it created, never a second one.
            var resumed = await ResumeAsync(workflow, started.JobId, null, null, observer, cancellationToken).ConfigureAwait(false);
            return resumed with { ExistingJob = true };
        }

        return await RunAsync(workflow, started.JobId, 0, input, null, null, observer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Retries a failed or cancelled job as a new job linked to it (§10.2 keeps the original terminal). The anchor is
    /// the original's checkpoint <paramref name="checkpointId"/>, else its latest; the new job first records the anchor
    /// (with its output) as its own, so a crash of the retry resumes after it, then runs the steps after it. Without
    /// any checkpoint the retry runs from the first step with the original's input.
    /// </summary>
    /// <param name="allowDefinitionChange">Continue even if the anchor was recorded by another version of the workflow.</param>
    public async Task<JobRunResult> RetryAsync(WorkflowDefinition workflow, string originalJobId, string? checkpointId, IStepObserver? observer, CancellationToken cancellationToken, bool allowDefinitionChange = false)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        // Reading the original through a resume changes nothing: a terminal job is reported, never claimed.
        var plan = (await client.ResumeAsync(originalJobId, null, checkpointId, cancellationToken).ConfigureAwait(false)).Complete;
        var original = plan.Job;
        if (original.State is not (JobStates.Failed or JobStates.Cancelled))
        {
            throw ArcpException.Of(
                ErrorCodes.FailedPrecondition,
                $"Job '{originalJobId}' is {original.State}{(original.Interrupted ? " (interrupted)" : string.Empty)}; only a failed or cancelled job is retried. Resume an interrupted job instead.",
                new JsonObject { ["job_id"] = originalJobId, ["state"] = original.State });
        }

        var (anchor, inputs) = (plan.Checkpoint, plan.Inputs);
        var index = anchor is null ? 0 : workflow.IndexOf(anchor.Step);
        if (anchor is not null)
        {
            CheckAnchor(workflow, original.JobId, anchor, index, allowDefinitionChange);
        }

        var started = await client.StartRetryAsync(workflow.Name, inputs, original.Name, originalJobId, cancellationToken).ConfigureAwait(false);
        if (JobStarted is { } jobStarted)
        {
            await jobStarted(started.JobId, cancellationToken).ConfigureAwait(false);
        }

        if (anchor is null)
        {
            return await RunAsync(workflow, started.JobId, 0, inputs, null, null, observer, cancellationToken).ConfigureAwait(false);
        }

        // The carried checkpoint's key names where it came from, so it can never collide with a step key of the retry.
        var carriedKey = StepKeys.For(workflow.Name, started.JobId, anchor.Step, $"retry-of:{originalJobId}:{anchor.CheckpointId}");
        await client.EmitAsync(
            MessageTypes.JobCheckpoint,
            started.JobId,
            new JobCheckpointPayload(ArcpId.NewCheckpointId(), anchor.Step, new CheckpointSnapshot(anchor.Step, index, workflow.Steps.Count, anchor.Output) { DefinitionVersion = workflow.Version }),
            carriedKey,
            cancellationToken).ConfigureAwait(false);
        var after = new StepContext(started.JobId, workflow.Name, anchor.Step, index, workflow.Steps.Count, anchor.Output, carriedKey);
        var result = await RunAsync(workflow, started.JobId, index, anchor.Output, after, null, observer, cancellationToken).ConfigureAwait(false);
        return result with { ResumedAfterStep = anchor.Step };
    }

    /// <param name="allowDefinitionChange">Continue even if the checkpoint to continue from was recorded by another version of the workflow.</param>
    public async Task<JobRunResult> ResumeAsync(WorkflowDefinition workflow, string jobId, string? afterMessageId, string? checkpointId, IStepObserver? observer, CancellationToken cancellationToken, bool allowDefinitionChange = false)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        // The runner continues from the marker's checkpoint, never from the replay: without an after_message_id it only
        // needs what follows that checkpoint, so the resume costs the same for 10 or 100,000 recorded steps.
        var resume = afterMessageId is null
            ? await client.ResumeAfterCheckpointAsync(jobId, checkpointId, cancellationToken).ConfigureAwait(false)
            : await client.ResumeAsync(jobId, afterMessageId, checkpointId, cancellationToken).ConfigureAwait(false);
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

        // A replay of everything after the anchor holds every step recorded since, so no step needs a lookup of its own.
        var recorded = afterMessageId is null && resume.DataLoss is null
            ? RecordedSteps.FromReplayAfterAnchor(client, jobId, resume.ReplayedFrames)
            : RecordedSteps.Lookup(client, jobId);

        // The runtime's marker names the checkpoint to continue after (the one asked for, else the latest recorded).
        var anchor = resume.Complete.Checkpoint;
        if (anchor is null)
        {
            var fromStart = await RunAsync(workflow, jobId, 0, resume.Complete.Inputs, null, recorded, observer, cancellationToken).ConfigureAwait(false);
            return fromStart with { DataLoss = resume.DataLoss };
        }

        var index = workflow.IndexOf(anchor.Step);
        CheckAnchor(workflow, jobId, anchor, index, allowDefinitionChange);

        // The step after the anchor is whatever its transition picks for the recorded output (the next one unless it loops).
        var after = new StepContext(jobId, workflow.Name, anchor.Step, index, workflow.Steps.Count, anchor.Output, anchor.IdempotencyKey);
        var result = await RunAsync(workflow, jobId, index, anchor.Output, after, recorded, observer, cancellationToken).ConfigureAwait(false);
        return result with { ResumedAfterStep = anchor.Step, DataLoss = resume.DataLoss };
    }

    /// <param name="after">When set, the run continues after this (checkpointed) step, whose output is <paramref name="input"/>.</param>
    /// <param name="recorded">Set when the run re-issues steps of a resumed job: their recorded outcomes are reused.</param>
    private async Task<JobRunResult> RunAsync(WorkflowDefinition workflow, string jobId, int firstStep, JsonNode? input, StepContext? after, RecordedSteps? recorded, IStepObserver? observer, CancellationToken cancellationToken)
    {
        // Both kept as runs of one step and the loop check bounded, so a job's length does not grow the process.
        var ran = new StepSequence();
        var reused = new StepSequence();
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var heartbeatTimer = new PeriodicTimer(client.HeartbeatInterval);
        var heartbeat = HeartbeatAsync(jobId, heartbeatTimer, heartbeatStop.Token);
        var thoughts = new ThoughtStream(client, jobId);
        var cancelRequest = client.CancellationFor(jobId);
        string? lastStep = null;
        try
        {
            var count = workflow.Steps.Count;
            // Steps may loop back (transitions); a step that would run again with the same input would loop forever.
            var loops = new LoopGuard();
            var index = firstStep;
            if (after is not null)
            {
                var next = await AdvanceAsync(workflow, after, input, cancellationToken).ConfigureAwait(false);
                if (next.Failure is { } failure)
                {
                    return await FailAsync(jobId, failure, thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                }

                index = next.Index;
                lastStep = after.Step;
            }

            while (index < count)
            {
                // A stop takes effect here, where the previous step's checkpoint is durable.
                cancellationToken.ThrowIfCancellationRequested();
                var step = workflow.Steps[index];
                if (cancelRequest.IsRequested)
                {
                    // §10.4: the previous step's checkpoint is durable, so this is a clean place to stop.
                    return await CancelAsync(jobId, cancelRequest, lastStep, thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                }

                var inputText = ArcpJson.ToText(input);
                var context = new StepContext(jobId, workflow.Name, step.Name, index, count, input, StepKeys.For(workflow.Name, jobId, step.Name, inputText));
                context = context with { Reporter = new StepReporter(client, context, thoughts), JobCancellation = cancelRequest.Token };
                if (!loops.TryEnter(context.IdempotencyKey))
                {
                    return await FailAsync(jobId, LoopWithoutProgress(context), thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                }

                if (recorded is not null && await recorded.FindAsync(context.IdempotencyKey, cancellationToken).ConfigureAwait(false) is { } outcome)
                {
                    if (!loops.TryReuse(context.IdempotencyKey))
                    {
                        return await FailAsync(jobId, LoopWithoutProgress(context), thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                    }

                    reused.Add(step.Name);
                    if (observer is not null)
                    {
                        await observer.StepReusedAsync(context, outcome, cancellationToken).ConfigureAwait(false);
                    }

                    input = outcome.Output;
                    lastStep = step.Name;
                    var afterReused = await AdvanceAsync(workflow, context, input, cancellationToken).ConfigureAwait(false);
                    if (afterReused.Failure is { } reusedFailure)
                    {
                        return await FailAsync(jobId, reusedFailure, thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                    }

                    index = afterReused.Index;
                    continue;
                }

                if (observer is not null)
                {
                    await observer.StepStartingAsync(context, cancellationToken).ConfigureAwait(false);
                }

                JsonNode? output;
                int attempts;
                var startedAt = DateTimeOffset.UtcNow;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                // A cancel past its deadline stops the step, whether or not the body watches JobCancellation.
                using var stepStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cancelRequest.Overdue);
                try
                {
                    (output, attempts) = await StepAttempts.RunAsync(step, context, recorded, stepStop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested || ex is StepInterruptedException)
                {
                    // Stopped, not failed: the job stays resumable at this step.
                    throw;
                }
                catch (Exception) when (cancelRequest.IsRequested && !cancellationToken.IsCancellationRequested)
                {
                    // The step gave up because the job is being cancelled: abandon it; the last checkpoint stands.
                    return await CancelAsync(jobId, cancelRequest, lastStep, thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not ArcpException)
                {
                    var error = ex is StepFailedException failed ? failed.Error : StepError(ErrorCodes.Unknown, ex.Message, context, ex);
                    error = error with { Details = MergeStepDetails(error.Details, context, ex) };
                    return await FailAsync(jobId, error, thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                }

                ran.Add(step.Name);
                var checkpointId = ArcpId.NewCheckpointId();

                // A finished body's outcome is recorded even when the run is stopped meanwhile: dropped, the step would run
                // again on resume, side effects and all. The stop takes effect right after the commit, or once
                // FinishedStepGrace has passed if the runtime does not answer.
                using var recording = new CancellationTokenSource();
                using var graceOnStop = cancellationToken.Register(static state => ((CancellationTokenSource)state!).CancelAfter(FinishedStepGrace), recording);

                // The progress goes over with the checkpoint, so the runtime records both in one commit at once.
                var ack = await client.PostThenEmitAsync(
                    MessageTypes.JobProgress,
                    new JobProgressPayload(Math.Round((index + 1) * 100.0 / count, 2), $"{step.Name} done ({(index + 1).ToString(CultureInfo.InvariantCulture)}/{count.ToString(CultureInfo.InvariantCulture)})")
                    {
                        Step = step.Name,
                        StepIndex = index,
                        StepCount = count,
                    },
                    MessageTypes.JobCheckpoint,
                    jobId,
                    new JobCheckpointPayload(checkpointId, step.Name, new CheckpointSnapshot(step.Name, index, count, output)
                    {
                        DefinitionVersion = workflow.Version,
                        StartedAt = ArcpJson.FormatTimestamp(startedAt),
                        Attempts = attempts,
                        DurationMs = clock.ElapsedMilliseconds,
                    }),
                    context.IdempotencyKey,
                    recording.Token).ConfigureAwait(false);
                if (ack.Duplicate == true)
                {
                    if (!loops.TryReuse(context.IdempotencyKey))
                    {
                        return await FailAsync(jobId, LoopWithoutProgress(context), thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                    }

                    // Someone recorded this step first (or this run did, a cycle ago); its outcome is the truth, ours is discarded.
                    var prior = await client.LookupStepAsync(jobId, context.IdempotencyKey, cancellationToken).ConfigureAwait(false);
                    output = prior.Checkpoint?.Output;
                }

                if (observer is not null)
                {
                    // The runtime's ack carries the checkpoint as stored (a duplicate's: as first recorded); its output is ours or the recorded one.
                    var stored = ack.Checkpoint ?? throw ArcpException.Of(ErrorCodes.Internal, $"The runtime acknowledged checkpoint '{checkpointId}' of job '{jobId}' without describing it.");
                    var summary = stored with { Output = output };
                    await observer.CheckpointRecordedAsync(context, summary, cancellationToken).ConfigureAwait(false);
                }

                input = output;
                lastStep = step.Name;
                var advanced = await AdvanceAsync(workflow, context, output, cancellationToken).ConfigureAwait(false);
                if (advanced.Failure is { } transitionFailure)
                {
                    return await FailAsync(jobId, transitionFailure, thoughts, ran, reused, cancellationToken).ConfigureAwait(false);
                }

                index = advanced.Index;
            }

            await thoughts.CloseAsync("completed", cancellationToken).ConfigureAwait(false);
            await client.EmitAsync(MessageTypes.JobCompleted, jobId, new JobCompletedPayload(input), null, cancellationToken).ConfigureAwait(false);
            return new JobRunResult(jobId, JobStates.Completed, input, null) { StepsRun = ran, StepsReused = reused };
        }
        finally
        {
            // A disposed timer ends the heartbeat's wait with false rather than an OperationCanceledException, which
            // every job paid at its end; the cancellation still stops a heartbeat being sent at that moment.
            heartbeatTimer.Dispose();
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
        }
    }

    /// <summary>FAILED_PRECONDITION when the checkpoint to continue after is not a step of this workflow or (unless allowed) was recorded by another version.</summary>
    private static void CheckAnchor(WorkflowDefinition workflow, string jobId, CheckpointSummary anchor, int index, bool allowDefinitionChange)
    {
        if (index < 0)
        {
            throw ArcpException.Of(
                ErrorCodes.FailedPrecondition,
                $"Checkpoint '{anchor.CheckpointId}' is labelled '{anchor.Step}', which is not a step of workflow '{workflow.Name}'.",
                new JsonObject { ["checkpoint_id"] = anchor.CheckpointId, ["label"] = anchor.Step });
        }

        if (!allowDefinitionChange && anchor.DefinitionVersion is { } recordedVersion && workflow.Version is { } version && recordedVersion != version)
        {
            throw ArcpException.Of(
                ErrorCodes.FailedPrecondition,
                $"Job '{jobId}' was checkpointed by version '{recordedVersion}' of workflow '{workflow.Name}', but this definition is version '{version}'. Resume with the definition it was started with, or force the resume to continue with this one.",
                new JsonObject { ["job_id"] = jobId, ["recorded_version"] = recordedVersion, ["version"] = version, ["checkpoint_id"] = anchor.CheckpointId });
        }
    }

    /// <summary>Runs the step's transition; a transition that throws fails the job like a step would.</summary>
    private static async Task<(int Index, ArcpError? Failure)> AdvanceAsync(WorkflowDefinition workflow, StepContext context, JsonNode? output, CancellationToken cancellationToken)
    {
        try
        {
            return (await workflow.NextIndexAsync(context, output, cancellationToken).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not ArcpException)
        {
            var error = ex is StepFailedException failed ? failed.Error : ArcpError.Create(ErrorCodes.Unknown, $"The transition after step '{context.Step}' failed: {ex.Message}");
            return (-1, error with { Details = MergeStepDetails(error.Details, context, ex) });
        }
    }

    private async Task<JobRunResult> FailAsync(string jobId, ArcpError error, ThoughtStream thoughts, StepSequence ran, StepSequence reused, CancellationToken cancellationToken)
    {
        await thoughts.CloseAsync("failed", cancellationToken).ConfigureAwait(false);
        await client.EmitAsync(MessageTypes.JobFailed, jobId, error, null, cancellationToken).ConfigureAwait(false);
        return new JobRunResult(jobId, JobStates.Failed, null, error) { StepsRun = ran, StepsReused = reused };
    }

    private async Task<JobRunResult> CancelAsync(string jobId, CancelRequest request, string? lastStep, ThoughtStream thoughts, StepSequence ran, StepSequence reused, CancellationToken cancellationToken)
    {
        var where = lastStep is null ? "before its first step" : $"after step '{lastStep}'";
        var error = ArcpError.Create(
            ErrorCodes.Cancelled,
            $"Cancelled ({request.Reason ?? "no reason given"}) {where}.",
            new JsonObject { ["reason"] = request.Reason, ["last_step"] = lastStep });
        await thoughts.CloseAsync("cancelled", cancellationToken).ConfigureAwait(false);
        await client.EmitAsync(MessageTypes.JobCancelled, jobId, error, null, cancellationToken).ConfigureAwait(false);
        return new JobRunResult(jobId, JobStates.Cancelled, null, error) { StepsRun = ran, StepsReused = reused };
    }

    /// <summary>Keeps the job's lease alive while a long step runs (§10.3).</summary>
    private async Task HeartbeatAsync(string jobId, PeriodicTimer timer, CancellationToken cancellationToken)
    {
        var interval = timer.Period;
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

    private static ArcpError LoopWithoutProgress(StepContext context) => ArcpError.Create(
        ErrorCodes.FailedPrecondition,
        $"Step '{context.Step}' would run again with the same input; the workflow's transitions loop without progress.",
        new JsonObject { ["step"] = context.Step, ["idempotency_key"] = context.IdempotencyKey });

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
}
