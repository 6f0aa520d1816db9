using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// What a runtime shares between its sessions: the event bus, the directory of open sessions, the
/// jobs it drives itself, and the §10.3 heartbeat watchdog.
/// </summary>
public sealed partial class ArcpRuntime : IAsyncDisposable
{
    /// <summary>§10.3 default N: consecutive missed heartbeat deadlines before recovery applies.</summary>
    public const int MissedHeartbeats = 2;

    private readonly ConcurrentDictionary<string, string> openSessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> drivers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource driversStop = new();

    internal EventBus Events { get; } = new();

    internal HeartbeatWatchdog Liveness => liveness ??= new HeartbeatWatchdog(this);

    /// <summary>Other processes' commits to the store, for subscriptions; started by the first subscription.</summary>
    internal StoreChangeFeed Changes => LazyInitializer.EnsureInitialized(ref changes, () => new StoreChangeFeed(this));

    private HeartbeatWatchdog? liveness;
    private StoreChangeFeed? changes;

    /// <summary>Jobs this runtime is running itself right now.</summary>
    public int DrivenJobs => drivers.Count;

    /// <summary>Ends every runtime-driven job's session (the jobs stay resumable from their last checkpoint) and the watchdog.</summary>
    public async ValueTask DisposeAsync()
    {
        await driversStop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(drivers.Values).ConfigureAwait(false);
        liveness?.Dispose();
        if (changes is not null)
        {
            await changes.DisposeAsync().ConfigureAwait(false);
        }

        driversStop.Dispose();
    }

    private long unauthenticatedFrames;

    /// <summary>Frames answered but not recorded because no session was open yet (junk, refused <c>session.open</c>).</summary>
    public long UnauthenticatedFrames => Interlocked.Read(ref unauthenticatedFrames);

    internal void CountUnauthenticatedFrame() => Interlocked.Increment(ref unauthenticatedFrames);

    internal void SessionOpened(string sessionId, string principal) => openSessions[sessionId] = principal;

    internal void SessionClosed(string sessionId)
    {
        openSessions.TryRemove(sessionId, out _);
        liveness?.Forget(sessionId);
    }

    internal string? SessionPrincipal(string sessionId) => openSessions.TryGetValue(sessionId, out var principal) ? principal : null;

    /// <summary>Whether the runtime itself should run <paramref name="workflow"/> for this request (false when a client drives).</summary>
    internal bool RuntimeDrives(Envelope request, string workflow)
    {
        var declared = MessageTypes.DeclaredDriver(request.Extensions);
        if (declared == "client")
        {
            return false;
        }

        var registered = Options.Driver is { } driver && driver.Workflows.Contains(workflow, StringComparer.Ordinal);
        if (declared == "runtime" && !registered)
        {
            throw ArcpException.Of(ErrorCodes.FailedPrecondition, $"This runtime has no workflow '{workflow}' registered to run itself.", new JsonObject { ["workflow"] = workflow });
        }

        return registered;
    }

    /// <summary>
    /// Runs <paramref name="jobId"/> in this process: the injected <see cref="IJobDriver"/> resumes it over an
    /// in-process session on behalf of the job's principal, so the runtime's own steps are persisted, fenced and
    /// fanned out exactly like a client's.
    /// </summary>
    /// <returns>Completes once the driver holds the job (or gave up), so the caller's next answer shows it owned.</returns>
    internal Task Drive(string jobId, string principal, string workflow)
    {
        if (Options.Driver is not { } driver || driversStop.IsCancellationRequested || drivers.ContainsKey(jobId))
        {
            return Task.CompletedTask;
        }

        var claimed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Task.Run(() => DriveAsync(driver, jobId, principal, workflow, claimed, driversStop.Token), CancellationToken.None);
        drivers[jobId] = run;
        _ = run.ContinueWith(_ => drivers.TryRemove(jobId, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return claimed.Task;
    }

    private async Task DriveAsync(IJobDriver driver, string jobId, string principal, string workflow, TaskCompletionSource claimed, CancellationToken cancellationToken)
    {
        var (clientEnd, serverEnd) = InMemoryTransport.CreatePair();
        var serving = new SessionConnection(this, serverEnd, principal).RunAsync(cancellationToken);
        try
        {
            await driver.DriveAsync(new JobDrive(jobId, workflow, clientEnd, () => claimed.TrySetResult()), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Runtime shutdown: the job is left at its last checkpoint for the next driver.
        }
        catch (ArcpException ex)
        {
            Options.Diagnostics?.Invoke($"Runtime-driven job {jobId} stopped: {ex.Error}");
        }
        finally
        {
            claimed.TrySetResult();
            clientEnd.Close();
            await serving.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Hands every interrupted job of a workflow the driver runs to the driver, as a runtime-driven resume would, so
    /// a restarted runtime carries on with its jobs without anyone asking. Each drive's resume claims the job (the
    /// fence), so a job someone else resumes meanwhile is not run twice. A job that came from a queue first takes a
    /// slot of its queue's fleet-wide limit, as a worker's resume does (<see cref="QueuedJobs.ClaimResumeAsync"/>);
    /// when its queue is full it is left interrupted for the workers of that queue (or the runtime's next start),
    /// which resume it once a slot frees: the runtime does not watch queues.
    /// </summary>
    /// <returns>The ids of the jobs handed over.</returns>
    public async Task<IReadOnlyList<string>> ResumeInterruptedAsync(CancellationToken cancellationToken)
    {
        if (Options.Driver is not { } driver || driver.Workflows.Count == 0)
        {
            return [];
        }

        var queued = new QueuedJobs(Jobs);
        var claimer = QueuedJobs.NewClaimerId();
        var handedOver = new List<string>();
        var waiting = new List<string>();
        foreach (var job in await queued.ListResumableAsync(claimer, new WorkFilter(null, null, driver.Workflows), cancellationToken).ConfigureAwait(false))
        {
            if (await queued.ClaimResumeAsync(claimer, job, cancellationToken).ConfigureAwait(false) is null)
            {
                waiting.Add(job.JobId);
                continue;
            }

            // Not awaited: the driver may run its jobs one at a time, and the runtime must start serving meanwhile.
            _ = Drive(job.JobId, job.Principal, job.Workflow);
            handedOver.Add(job.JobId);
        }

        if (waiting.Count > 0)
        {
            Options.Diagnostics?.Invoke($"not resuming {waiting.Count} interrupted job(s): their queue is at its concurrency limit (its workers resume them once a slot frees) or someone took them meanwhile: {string.Join(", ", waiting)}");
        }

        return handedOver;
    }

    /// <summary>§10.3 recovery for a silent session: its jobs are blocked and the <c>job.blocked</c> events fanned out.</summary>
    internal async Task BlockJobsOfAsync(string sessionId, CancellationToken cancellationToken)
    {
        foreach (var (job, emitted, frame) in await Jobs.BlockJobsOfAsync(sessionId, MissedHeartbeats, cancellationToken).ConfigureAwait(false))
        {
            Events.Publish(new PublishedEvent(emitted.Id, emitted.Type, null, job.JobId, job.Principal, frame));
        }
    }
}

/// <summary>
/// Tracks when each job-owning session was last heard from and applies §10.3 recovery to sessions silent
/// for <see cref="ArcpRuntime.MissedHeartbeats"/> heartbeat intervals. The timer runs only while some
/// session is tracked, on the runtime's <see cref="TimeProvider"/>.
/// </summary>
internal sealed class HeartbeatWatchdog(ArcpRuntime runtime) : IDisposable
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> lastSeen = new(StringComparer.Ordinal);
    private readonly object timerLock = new();
    private ITimer? timer;

    public void Seen(string sessionId)
    {
        lastSeen[sessionId] = runtime.Now;
        lock (timerLock)
        {
            var period = runtime.Options.HeartbeatInterval / 2;
            timer ??= runtime.Options.Clock.CreateTimer(_ => _ = CheckAsync(), null, period, period);
        }
    }

    public void Forget(string sessionId) => lastSeen.TryRemove(sessionId, out _);

    /// <summary>Blocks the jobs of every session past its deadline; the timer calls this, tests may too.</summary>
    public async Task CheckAsync()
    {
        var deadline = runtime.Now - (runtime.Options.HeartbeatInterval * ArcpRuntime.MissedHeartbeats);
        foreach (var (sessionId, seen) in lastSeen)
        {
            if (seen < deadline && lastSeen.TryRemove(new KeyValuePair<string, DateTimeOffset>(sessionId, seen)))
            {
                try
                {
                    await runtime.BlockJobsOfAsync(sessionId, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is StoreException or InvalidOperationException or ObjectDisposedException)
                {
                    runtime.Options.Diagnostics?.Invoke($"Could not block the jobs of silent session {sessionId}: {ex.Message}");
                }
            }
        }

        lock (timerLock)
        {
            if (lastSeen.IsEmpty)
            {
                timer?.Dispose();
                timer = null;
            }
        }
    }

    public void Dispose()
    {
        lock (timerLock)
        {
            timer?.Dispose();
            timer = null;
        }
    }
}
