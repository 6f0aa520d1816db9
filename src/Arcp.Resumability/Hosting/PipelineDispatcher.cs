namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>
/// Runs async core work off the pipeline thread while executing callbacks (script blocks, Write-*)
/// on it: PowerShell only allows those on the thread that runs the cmdlet. The pipeline thread is the
/// one that creates the dispatcher (PowerShell creates a cmdlet on the thread that runs it).
/// </summary>
/// <remarks>
/// Each <see cref="Run{T}"/> pumps its own queue, closed when its work ends, so a <see cref="Run{T}"/> nested
/// inside a callback ends on its own work and never on the outer one's. Callbacks go to the innermost queue still open, and a nested run takes over the callbacks
/// already waiting in outer queues: while it pumps, the outer work's callbacks run there instead of waiting
/// for a thread that is busy.
/// </remarks>
internal sealed class PipelineDispatcher : IDisposable
{
    private readonly int pipelineThreadId = Environment.CurrentManagedThreadId;
    private readonly List<Pump> pumps = [];
    private Exception? postedFailure;
    private bool disposed;

    /// <summary>Runs <paramref name="work"/> to completion, pumping callbacks on the pipeline thread, and returns its result or rethrows its exception.</summary>
    public T Run<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (Environment.CurrentManagedThreadId != pipelineThreadId)
        {
            throw new InvalidOperationException($"{nameof(PipelineDispatcher)}.{nameof(Run)} must be called on the pipeline thread that created the dispatcher.");
        }

        var pump = new Pump();
        lock (pumps)
        {
            ObjectDisposedException.ThrowIf(disposed, this);

            // Callbacks queued for an outer run before this one started could wait for this run forever: the
            // pipeline thread is in here now, so they run here.
            foreach (var outer in pumps)
            {
                while (outer.TryTake(out var pending))
                {
                    pump.Add(pending);
                }
            }

            pumps.Add(pump);
        }

        try
        {
            var task = Task.Run(() => work(cancellationToken), CancellationToken.None);
            _ = task.ContinueWith(_ => Close(pump), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

            // Ends once the work has ended and every callback queued before that has run.
            while (pump.Take() is { } callback)
            {
                callback();
            }

            var result = task.GetAwaiter().GetResult();
            if (Interlocked.Exchange(ref postedFailure, null) is { } failure)
            {
                // A posted callback failed while the work went on without it: the run does not end as if it had not.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            return result;
        }
        finally
        {
            lock (pumps)
            {
                pumps.Remove(pump);
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="callback"/> for the pipeline thread without waiting for it: it runs after every callback
    /// queued before it and before every one queued after it (a step's body after the progress posted before it), and
    /// before the run ends. What it throws ends the run (<see cref="Run{T}"/> rethrows it once the work has ended).
    /// For what the work need not wait for, such as progress and verbose lines: each wait is a round trip to the
    /// pipeline thread and back, two thread wake-ups.
    /// </summary>
    public void Post(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (Environment.CurrentManagedThreadId == pipelineThreadId)
        {
            callback();
            return;
        }

        void Invoke()
        {
            try
            {
                callback();
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref postedFailure, ex, null);
            }
        }

        lock (pumps)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var pump = pumps.LastOrDefault(p => !p.IsClosed)
                ?? throw new InvalidOperationException("No command is running on the pipeline thread to run this callback.");
            pump.Add(Invoke);
        }
    }

    /// <summary>
    /// Runs <paramref name="callback"/> on the pipeline thread and completes with its result or its exception. What
    /// awaits the task goes on on the pipeline thread, right after the callback, until it waits for something: a
    /// step's checkpoint follows its body there instead of waking a thread-pool thread for it (on a store that commits
    /// without waiting for I/O, the whole job runs on the pipeline thread), and the thread pool's idle spinning,
    /// which took a third of its threads' time per step, has less to wake up for.
    /// </summary>
    public Task<T> InvokeAsync<T>(Func<T> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (Environment.CurrentManagedThreadId == pipelineThreadId)
        {
            return Task.FromResult(callback());
        }

        var completion = new TaskCompletionSource<T>();
        void Invoke()
        {
            T result;
            try
            {
                result = callback();
            }
            catch (Exception ex)
            {
                completion.SetException(ex);
                return;
            }

            completion.SetResult(result);
        }

        lock (pumps)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var pump = pumps.LastOrDefault(p => !p.IsClosed)
                ?? throw new InvalidOperationException("No command is running on the pipeline thread to run this callback.");
            pump.Add(Invoke);
        }

        return completion.Task;
    }

    public Task InvokeAsync(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return InvokeAsync(() =>
        {
            callback();
            return true;
        });
    }

    public void Dispose()
    {
        lock (pumps)
        {
            disposed = true;
        }
    }

    // Under the lock, so a callback is either in the queue before it closes or goes to an outer one.
    private void Close(Pump pump)
    {
        lock (pumps)
        {
            pump.Close();
        }
    }

    /// <summary>
    /// One run's callbacks. Its consumer sleeps until one arrives rather than spinning first as BlockingCollection
    /// does: the pipeline thread waits on it between every two callbacks of a step, and its spinning took the CPU
    /// from the very threads whose callbacks it was waiting for (on two cores a third of the pipeline thread's time).
    /// </summary>
    private sealed class Pump
    {
        private readonly Queue<Action> callbacks = new();
        private bool closed;

        public bool IsClosed
        {
            get
            {
                lock (callbacks)
                {
                    return closed;
                }
            }
        }

        public void Add(Action callback)
        {
            lock (callbacks)
            {
                callbacks.Enqueue(callback);
                Monitor.Pulse(callbacks);
            }
        }

        public bool TryTake(out Action callback)
        {
            lock (callbacks)
            {
                return callbacks.TryDequeue(out callback!);
            }
        }

        public void Close()
        {
            lock (callbacks)
            {
                closed = true;
                Monitor.PulseAll(callbacks);
            }
        }

        /// <summary>The next callback, waiting for one; null once the pump is closed and every callback added before has been taken.</summary>
        public Action? Take()
        {
            lock (callbacks)
            {
                while (true)
                {
                    if (callbacks.TryDequeue(out var callback))
                    {
                        return callback;
                    }

                    if (closed)
                    {
                        return null;
                    }

                    Monitor.Wait(callbacks);
                }
            }
        }
    }
}
