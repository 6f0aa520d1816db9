using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
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

    internal void SessionOpened(string sessionId, string principal) => openSessions[sessionId] = principal;

    internal void SessionClosed(string sessionId)
    {
        openSessions.TryRemove(sessionId, out _);
        liveness?.Forget(sessionId);
    }

    internal string? SessionPrincipal(string sessionId) => openSessions.TryGetValue(sessionId, out var principal) ? principal : null;

    /// <summary>The registered workflow the runtime should run for this request, or null when a client drives.</summary>
    internal WorkflowDefinition? DriverFor(Envelope request, string workflow)
    {
        var declared = request.Extensions?[MessageTypes.DriverExtension] is JsonValue value && value.TryGetValue(out string? text) ? text : null;
        if (declared == "client")
        {
            return null;
        }

        var registered = Options.Workflows.GetValueOrDefault(workflow);
        if (declared == "runtime" && registered is null)
        {
            throw ArcpException.Of(ErrorCodes.FailedPrecondition, $"This runtime has no workflow '{workflow}' registered to run itself.", new JsonObject { ["workflow"] = workflow });
        }

        return registered;
    }

    /// <summary>
    /// Runs <paramref name="jobId"/> in this process: an in-process session on behalf of the job's
    /// principal resumes it with the step runner, so the runtime's own steps are persisted, fenced and
    /// fanned out exactly like a client's.
    /// </summary>
    /// <returns>Completes once the driver holds the job (or gave up), so the caller's next answer shows it owned.</returns>
    internal Task Drive(string jobId, string principal, WorkflowDefinition workflow)
    {
        if (driversStop.IsCancellationRequested || drivers.ContainsKey(jobId))
        {
            return Task.CompletedTask;
        }

        var claimed = new ClaimSignal();
        var run = Task.Run(() => DriveAsync(jobId, principal, workflow, claimed, driversStop.Token), CancellationToken.None);
        drivers[jobId] = run;
        _ = run.ContinueWith(_ => drivers.TryRemove(jobId, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return claimed.Task;
    }

    private async Task DriveAsync(string jobId, string principal, WorkflowDefinition workflow, ClaimSignal claimed, CancellationToken cancellationToken)
    {
        var (clientEnd, serverEnd) = InMemoryTransport.CreatePair();
        var serving = new RuntimeSession(this, serverEnd, principal).RunAsync(cancellationToken);
        try
        {
            var client = await ArcpClient.ConnectAsync(clientEnd, new ClientOptions { Identity = new ClientIdentity("arcp-resumability-runtime-driver", Options.Identity.Version) }, cancellationToken).ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                await new StepRunner(client).ResumeAsync(workflow, jobId, null, null, claimed, cancellationToken).ConfigureAwait(false);
                await client.CloseAsync(cancellationToken).ConfigureAwait(false);
            }
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
            claimed.Signal();
            clientEnd.Close();
            await serving.ConfigureAwait(false);
        }
    }

    /// <summary>Completes when the driver reaches its first step, which it only does holding the job's lease.</summary>
    private sealed class ClaimSignal : IStepObserver
    {
        private readonly TaskCompletionSource claimed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Task => claimed.Task;

        public void Signal() => claimed.TrySetResult();

        public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken)
        {
            Signal();
            return ValueTask.CompletedTask;
        }

        public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken)
        {
            Signal();
            return ValueTask.CompletedTask;
        }

        public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    /// <summary>
    /// §10.3 with <c>heartbeat_recovery: "block"</c>: the jobs of a session that missed its heartbeat
    /// deadlines are marked <c>blocked</c>, lose their lease (so anyone may resume them) and get a
    /// <c>job.blocked</c> event in their stream.
    /// </summary>
    internal async Task BlockJobsOfAsync(string sessionId, CancellationToken cancellationToken)
    {
        var blocked = new List<PublishedEvent>();
        var transaction = await Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var now = Now;
            foreach (var job in await transaction.ListJobsLeasedByAsync(sessionId, cancellationToken).ConfigureAwait(false))
            {
                if (JobStates.IsTerminal(job.State))
                {
                    continue;
                }

                var error = ArcpError.Create(ErrorCodes.HeartbeatLost, $"The job's owner (session {sessionId}) missed {MissedHeartbeats} heartbeat deadlines; the job is blocked until someone resumes it.", new JsonObject { ["session_id"] = sessionId });
                var emitted = Envelope.Create(MessageTypes.EventEmit, new EventEmitPayload(MessageTypes.JobBlockedEvent, JsonNodeOf(error)), jobId: job.JobId);
                var text = EnvelopeCodec.Serialize(emitted);
                await transaction.TryAppendEventAsync(new EventDraft(emitted.Id, emitted.Type, EventDirection.Outbound, null, job.JobId, null, now, text), cancellationToken).ConfigureAwait(false);
                await transaction.UpdateJobAsync(job with { State = JobStates.Blocked, Lease = null, UpdatedAt = now, LastMessageId = emitted.Id }, cancellationToken).ConfigureAwait(false);
                blocked.Add(new PublishedEvent(emitted.Id, emitted.Type, null, job.JobId, job.Principal, text));
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var published in blocked)
        {
            Events.Publish(published);
        }
    }

    private static JsonObject JsonNodeOf(ArcpError error) => System.Text.Json.JsonSerializer.SerializeToNode(error, ArcpJson.Options)!.AsObject();
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
