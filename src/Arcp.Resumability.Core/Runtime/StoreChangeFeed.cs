using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// Brings what other processes commit to the shared store into this runtime's <see cref="EventBus"/>, so a
/// §13 subscription sees a job's events whichever process drives it (every PowerShell process runs its own
/// embedded runtime over the same file). It tails the log by sequence and, for the jobs subscriptions name,
/// reads the job row to notice what no event announces: a lease released, expired or left by a dead process.
/// Events this runtime published itself come round again; subscriptions drop them by message id.
/// </summary>
internal sealed class StoreChangeFeed : IAsyncDisposable
{
    /// <summary>How often the store is read while the feed runs; a cross-process change is seen within about this long.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private const int BatchSize = 500;
    private const int MaxRememberedPrincipals = 10_000;

    private readonly ArcpRuntime runtime;
    private readonly SemaphoreSlim startGate = new(1, 1);
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentDictionary<string, int> watchers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, JobStatus> published = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> principals = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim tickGate = new(1, 1);
    private long cursor;
    private volatile bool started;
    private Task loop = Task.CompletedTask;

    public StoreChangeFeed(ArcpRuntime runtime) => this.runtime = runtime;

    /// <summary>
    /// Starts tailing from the log's current end, once; completes when the starting point is read, so a
    /// subscription registered afterwards misses nothing committed later.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (started)
        {
            return;
        }

        await startGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!started)
            {
                cursor = await runtime.Store.GetLastSequenceAsync(cancellationToken).ConfigureAwait(false);
                loop = Task.Run(() => RunAsync(stop.Token), CancellationToken.None);
                started = true;
            }
        }
        finally
        {
            startGate.Release();
        }
    }

    /// <summary>
    /// Reports the status of <paramref name="jobIds"/> (state, and whether the job is interrupted) as a
    /// <see cref="MessageTypes.JobStatusEvent"/> on the next pass and on every change after, until disposed.
    /// </summary>
    public IDisposable WatchStatus(IReadOnlyList<string> jobIds)
    {
        foreach (var jobId in jobIds)
        {
            watchers.AddOrUpdate(jobId, 1, (_, count) => count + 1);

            // A new watcher has seen no status yet: report the current one again.
            published.TryRemove(jobId, out _);
        }

        return new StatusWatch(this, jobIds);
    }

    /// <summary>One pass: publishes new job events, then the status of watched jobs that changed. The loop calls it; tests may too.</summary>
    internal async Task TickAsync(CancellationToken cancellationToken)
    {
        await tickGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await PublishNewEventsAsync(cancellationToken).ConfigureAwait(false);
            await PublishStatusChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            tickGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        stop.Dispose();
        startGate.Dispose();
        tickGate.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Interval, runtime.Options.Clock, cancellationToken).ConfigureAwait(false);
                try
                {
                    await TickAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (StoreException ex)
                {
                    // A busy or briefly unreachable store: the next pass picks up from the same cursor.
                    runtime.Options.Diagnostics?.Invoke($"The store change feed could not read the store: {ex.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The runtime is being disposed.
        }
        catch (ObjectDisposedException)
        {
            // The store was closed under a runtime nobody disposed: nothing left to watch.
        }
    }

    private async Task PublishNewEventsAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var batch = await runtime.Store.ReadJobEventsAfterAsync(cursor, BatchSize, cancellationToken).ConfigureAwait(false);
            foreach (var stored in batch)
            {
                cursor = stored.Sequence;
                if (await PrincipalOfAsync(stored.JobId!, cancellationToken).ConfigureAwait(false) is { } principal)
                {
                    runtime.Events.Publish(new PublishedEvent(stored.MessageId, stored.Type, stored.SessionId, stored.JobId!, principal, stored.Envelope));
                }
            }

            if (batch.Count < BatchSize)
            {
                return;
            }
        }
    }

    private async Task PublishStatusChangesAsync(CancellationToken cancellationToken)
    {
        foreach (var jobId in watchers.Keys)
        {
            var job = await runtime.Store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (job is null)
            {
                continue;
            }

            var status = new JobStatus(job.State, !JobStates.IsTerminal(job.State) && !LeaseLiveness.IsLive(job.Lease, runtime.Now));
            if (published.TryGetValue(jobId, out var previous) && previous == status)
            {
                continue;
            }

            published[jobId] = status;
            var data = new JsonObject { ["job_id"] = jobId, ["state"] = status.State, ["interrupted"] = status.Interrupted };
            var notice = Envelope.Create(MessageTypes.EventEmit, new EventEmitPayload(MessageTypes.JobStatusEvent, data), jobId: jobId);
            runtime.Events.Publish(new PublishedEvent(notice.Id, notice.Type, null, jobId, job.Principal, EnvelopeCodec.Serialize(notice)));
        }
    }

    private async Task<string?> PrincipalOfAsync(string jobId, CancellationToken cancellationToken)
    {
        if (principals.TryGetValue(jobId, out var known))
        {
            return known;
        }

        // A job deleted since its event was logged has nobody left to tell.
        if (await runtime.Store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) is not { } job)
        {
            return null;
        }

        if (principals.Count >= MaxRememberedPrincipals)
        {
            principals.Clear();
        }

        principals[jobId] = job.Principal;
        return job.Principal;
    }

    private void Unwatch(IReadOnlyList<string> jobIds)
    {
        foreach (var jobId in jobIds)
        {
            if (watchers.AddOrUpdate(jobId, 0, (_, count) => count - 1) <= 0)
            {
                watchers.TryRemove(new KeyValuePair<string, int>(jobId, 0));
                published.TryRemove(jobId, out _);
            }
        }
    }

    private readonly record struct JobStatus(string State, bool Interrupted);

    private sealed class StatusWatch(StoreChangeFeed feed, IReadOnlyList<string> jobIds) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                feed.Unwatch(jobIds);
            }
        }
    }
}
