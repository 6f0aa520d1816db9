using System.Globalization;
using System.Management.Automation.Runspaces;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Workers;

/// <summary>What a worker takes and how it paces itself.</summary>
internal sealed record WorkerSettings(string Store, WorkFilter Filter, int Concurrency, TimeSpan PollInterval, bool FireSchedules, bool ExitWhenIdle);

/// <summary>Where a worker's operator lines go (the cmdlet's streams); called on the pipeline thread only.</summary>
internal interface IWorkerLog
{
    /// <summary>One line per job start, resume, completion and failure, and per scheduled run.</summary>
    void Line(string kind, string text);

    void Detail(string text);

    void Warning(string text);
}

/// <summary>
/// The worker loop, on the pipeline thread: fire due schedules, resume interrupted jobs it can resolve, claim queued
/// jobs, each run in a free one of <see cref="WorkerSettings.Concurrency"/> long-lived slots (<see cref="WorkerSlot"/>:
/// a runspace and a session each, reused job after job); wait for a run to end or the poll interval; repeat until
/// stopped. Stopping stops the runs in flight (their slots close their sessions, which releases the leases, so the
/// jobs stay resumable) and gives up this worker's queue claims.
/// </summary>
internal sealed class ArcpWorker(WorkerSettings settings, PipelineDispatcher dispatcher, IWorkerLog log) : IDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

    private readonly List<WorkerRun> runs = [];
    private readonly Dictionary<string, DateTimeOffset> restingUntil = new(StringComparer.Ordinal);
    private readonly HashSet<string> unresolvable = new(StringComparer.Ordinal);
    private readonly ParsedWorkflows workflows = new();
    private readonly CancellationTokenSource warming = new();
    private DateTimeOffset nextResumableLook = DateTimeOffset.MinValue;
    private int warmAtFill;
    private WorkerSlot[] slots = [];
    private IArcpStore? store;
    private JobService? jobs;
    private QueuedJobs? queued;
    private JobSchedules? schedules;

    public ArcpWorkerReport Report { get; } = new(QueuedJobs.NewClaimerId(), StoreFactory.Redact(settings.Store));

    private string WorkerId => Report.WorkerId;

    public void Run(InitialSessionState runspaceState, CancellationToken stop)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        store = dispatcher.Run(ct => StoreFactory.OpenAsync(settings.Store, ct), stop);
        jobs = new JobService(store, new JobServiceOptions());
        queued = new QueuedJobs(jobs);
        schedules = new JobSchedules(queued);
        slots = Enumerable.Range(0, settings.Concurrency).Select(_ => new WorkerSlot(runspaceState, settings.Store)).ToArray();
        log.Detail($"Worker {WorkerId} on '{StoreFactory.Redact(settings.Store)}': up to {settings.Concurrency} job(s) at once.");
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var ended = Reap();
                var idle = false;
                try
                {
                    if (settings.FireSchedules)
                    {
                        FireSchedules(stop);
                    }

                    var (launched, resumableLeft) = Fill(stop);
                    // A slot warming was started for work waiting (a queued job, or an interrupted one to resume). A job
                    // left for lack of a slot keeps the worker on even when that slot's warm-up has ended since: on a
                    // loaded machine it can end before this check, which then ended the worker with the job not resumed.
                    idle = settings.ExitWhenIdle && runs.Count == 0 && launched == 0 && !resumableLeft && ended == 0 && !slots.Any(s => s.Warming is not null)
                        && !dispatcher.Run(ct => queued!.HasQueuedWorkAsync(settings.Filter, ct), stop);
                }
                catch (Exception ex) when (ex is StoreException or ArcpException)
                {
                    // A store that is briefly unavailable must not end the worker: the runs in flight go on, and the
                    // next pass tries again.
                    log.Warning($"Worker {WorkerId}: {ex.Message} Trying again in {settings.PollInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.");
                }

                if (idle)
                {
                    log.Detail($"Worker {WorkerId}: nothing left to run.");
                    return;
                }

                if (ended > 0 && runs.Count == 0)
                {
                    // The last runs just ended and nothing took their slots: look again at once (with -ExitWhenIdle, to
                    // find the queue empty) rather than a poll interval later.
                    continue;
                }

                // A slot that ends its warm-up is a free slot too: the wait ends with it. The warm-ups still running are
                // taken first and the count checked after, so one that ended since Fill counted is never missed.
                // At most Concurrency + 1 handles: runs take warm slots only.
                var warmUps = slots.Select(s => s.Warming).OfType<IAsyncResult>().Select(w => w.AsyncWaitHandle).ToList();
                if (slots.Count(s => s.IsWarm) != warmAtFill)
                {
                    continue;
                }

                WaitHandle.WaitAny([.. runs.Select(r => r.Finished), .. warmUps, stop.WaitHandle], settings.PollInterval);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Ctrl+C while talking to the store: nothing was half done, the transaction rolled back.
        }
        finally
        {
            // A slot still warming has no job to wait for: its session's open is given up.
            warming.Cancel();
            StopRuns();
            Report.Duration = clock.Elapsed;
        }
    }

    public void Dispose()
    {
        foreach (var run in runs)
        {
            run.Dispose();
        }

        dispatcher.Run(
            async _ =>
            {
                foreach (var slot in slots)
                {
                    await slot.DisposeAsync().ConfigureAwait(false);
                }

                if (store is not null)
                {
                    await store.DisposeAsync().ConfigureAwait(false);
                }

                return true;
            },
            CancellationToken.None);
        warming.Dispose();
    }

    private int Reap()
    {
        var ended = runs.Where(r => r.IsFinished).ToList();
        foreach (var run in ended)
        {
            Account(run);
            runs.Remove(run);
            run.Dispose();
        }

        return ended.Count;
    }

    private void Account(WorkerRun run)
    {
        var (end, message) = run.Outcome();
        var what = Describe(run.Job);
        var took = run.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture);
        switch (end)
        {
            case WorkerRunEnd.Completed:
                Report.Completed++;
                log.Line("Completed", $"completed {what} in {took} s");
                break;
            case WorkerRunEnd.Failed:
                Report.Failed++;
                log.Line("Failed", $"failed {what} after {took} s: {message}");
                Rest(run.Job.JobId);
                break;
            case WorkerRunEnd.Cancelled:
                log.Line("Cancelled", $"cancelled {what} after {took} s: {message}");
                break;
            case WorkerRunEnd.TakenElsewhere:
                log.Detail($"Job {run.Job.JobId} is driven elsewhere: {message}");
                Rest(run.Job.JobId);
                break;
            default:
                Report.Released++;
                log.Line("Released", $"released {what} after {took} s; it stays resumable");
                Rest(run.Job.JobId);
                break;
        }
    }

    private void FireSchedules(CancellationToken stop)
    {
        foreach (var run in dispatcher.Run(ct => schedules!.FireDueAsync(ArcpId.NewJobId, ArcpId.NewMessageId, ct), stop))
        {
            Report.Scheduled += run.Existing ? 0 : 1;
            log.Line("Scheduled", run.Existing
                ? $"schedule '{run.Schedule}' at {ArcpJson.FormatTimestamp(run.FireTime)} had already queued job {run.Job.JobId}"
                : $"schedule '{run.Schedule}' queued job {run.Job.JobId} ({run.Job.Workflow}) for {ArcpJson.FormatTimestamp(run.FireTime)}");
        }
    }

    /// <returns>How many jobs it started, and whether a job it could resume was left for lack of a free slot.</returns>
    private (int Launched, bool ResumableLeft) Fill(CancellationToken stop)
    {
        var launched = 0;
        warmAtFill = slots.Count(s => s.IsWarm);
        if (runs.Count >= settings.Concurrency)
        {
            return (launched, false);
        }

        // Jobs are claimed only for slots that can start them now: a claim held for a slot still opening would keep
        // the job from a worker that could run it.
        var capacity = warmAtFill;
        var canWarm = slots.Any(s => s.IsCold) && !slots.Any(s => s.Warming is not null);
        var resumableLeft = false;
        var now = DateTimeOffset.UtcNow;
        var busy = runs.Select(r => r.Job.JobId).ToHashSet(StringComparer.Ordinal);
        var candidates = LookForResumable(now, stop)
            .Where(j => !busy.Contains(j.JobId) && !unresolvable.Contains(j.JobId) && !(restingUntil.TryGetValue(j.JobId, out var until) && until > now))
            .ToList();
        foreach (var job in candidates)
        {
            if (runs.Count >= capacity)
            {
                // No slot free for it: whether it could run here decides whether a slot is warmed for it. With a slot
                // warming already, it waits for that one.
                resumableLeft = resumableLeft || !canWarm || TryResolve(job, stop, out _);
                continue;
            }

            // A job from a queue takes a slot of its queue's fleet-wide limit first; a full queue leaves it for later.
            if (TryResolve(job, stop, out var recorded) && dispatcher.Run(ct => queued!.ClaimResumeAsync(WorkerId, job, ct), stop) is { } slotted)
            {
                Launch(slotted, recorded, fromQueue: false);
                launched++;
            }
        }

        while (runs.Count < capacity && dispatcher.Run(ct => queued!.ClaimNextAsync(WorkerId, settings.Filter, ct), stop) is { } claimed)
        {
            if (TryResolve(claimed, stop, out var recorded))
            {
                Launch(claimed, recorded, fromQueue: true);
                launched++;
            }
            else
            {
                // Claimed but not runnable here: give the claim up so a worker that knows the workflow resumes it at once.
                dispatcher.Run(async ct => { await queued!.ReleaseClaimAsync(WorkerId, claimed.JobId, ct).ConfigureAwait(false); return true; }, stop);
            }
        }

        if (canWarm && runs.Count >= capacity)
        {
            WarmNextSlot(resumableLeft, stop);
        }

        return (launched, resumableLeft);
    }

    /// <summary>
    /// The jobs to resume, looked for once per poll interval, and on every pass that could end an idle worker: a job
    /// becomes resumable only when its driver stops or its lease runs out, which polling finds, while the look (every
    /// unfinished job and its queue entry, under the store's write lock) on every job's end cost a draining worker a
    /// store transaction per job and held up the commits of every other session on the store.
    /// </summary>
    private IReadOnlyList<JobRecord> LookForResumable(DateTimeOffset now, CancellationToken stop)
    {
        if (runs.Count > 0 && now < nextResumableLook)
        {
            return [];
        }

        nextResumableLook = now + settings.PollInterval;
        return dispatcher.Run(ct => queued!.ListResumableAsync(WorkerId, settings.Filter, ct), stop);
    }

    /// <summary>
    /// Starts warming a cold slot when every warm one is busy and jobs still wait: one slot at a time, so the first
    /// slot runs jobs while the next one opens (see <see cref="WorkerSlot"/>), and a worker with less work than slots
    /// never opens the slots it does not need.
    /// </summary>
    private void WarmNextSlot(bool resumableLeft, CancellationToken stop)
    {
        if (resumableLeft)
        {
            // Warmed for a job to resume: the pass after the warm-up ends looks for it again rather than a poll interval later.
            nextResumableLook = DateTimeOffset.MinValue;
        }

        if (resumableLeft || dispatcher.Run(ct => queued!.HasQueuedWorkAsync(settings.Filter, ct), stop))
        {
            slots.First(s => s.IsCold).Warm(warming.Token);
        }
    }

    /// <summary>
    /// The one place the worker reads a job's recorded definition (null when it has none) and turns it into a
    /// definition, to learn whether it can run the job here; the run gets what was read here.
    /// </summary>
    private bool TryResolve(JobRecord job, CancellationToken stop, out JobDefinitionRecord? recorded)
    {
        recorded = null;
        if (unresolvable.Contains(job.JobId))
        {
            return false;
        }

        try
        {
            // The worker runs the local principal's jobs, so their recorded definitions (file, inline) are its to use; never -Force.
            recorded = dispatcher.Run(ct => jobs!.GetRecordedDefinitionAsync(RuntimeOptions.LocalPrincipal, job, ct), stop);
            DefinitionResolver.ForRecordedJob(job.JobId, job.Workflow, recorded, force: false, workflows);
            return true;
        }
        catch (ArcpException ex)
        {
            unresolvable.Add(job.JobId);
            log.Detail($"Skipping {Describe(job)}: {ex.Message}");
            return false;
        }
    }

    private void Launch(JobRecord job, JobDefinitionRecord? recorded, bool fromQueue)
    {
        _ = fromQueue ? Report.Started++ : Report.Resumed++;
        log.Line(fromQueue ? "Started" : "Resumed", $"{(fromQueue ? "started" : "resuming")} {Describe(job)}");
        var busy = runs.Select(r => r.Slot).ToHashSet();
        runs.Add(new WorkerRun(job, recorded, fromQueue, slots.First(s => s.IsWarm && !busy.Contains(s))));
    }

    private void StopRuns()
    {
        foreach (var run in runs)
        {
            run.Stop();
        }

        var deadline = DateTimeOffset.UtcNow + StopGrace;
        foreach (var run in runs)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            run.Finished.WaitOne(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        using var cleanup = new CancellationTokenSource(StopGrace);
        foreach (var run in runs.Where(r => r.IsFinished).ToList())
        {
            Account(run);
            if (run.FromQueue || run.Job.Lease?.SessionId == WorkerId)
            {
                dispatcher.Run(async ct => { await queued!.ReleaseClaimAsync(WorkerId, run.Job.JobId, ct).ConfigureAwait(false); return true; }, cleanup.Token);
            }

            runs.Remove(run);
            run.Dispose();
        }
    }

    private void Rest(string jobId) => restingUntil[jobId] = DateTimeOffset.UtcNow + (settings.PollInterval * 5);

    private static string Describe(JobRecord job) => job.Name is { } name ? $"job {job.JobId} '{name}' ({job.Workflow})" : $"job {job.JobId} ({job.Workflow})";
}
