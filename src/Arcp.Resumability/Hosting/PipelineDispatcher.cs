using System.Collections.Concurrent;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>
/// Runs async core work off the pipeline thread while executing callbacks (script blocks, Write-*)
/// on it: PowerShell only allows those on the thread that runs the cmdlet.
/// </summary>
internal sealed class PipelineDispatcher : IDisposable
{
    private readonly BlockingCollection<Action?> queue = [];
    private int pipelineThreadId;

    /// <summary>Runs <paramref name="work"/> to completion, pumping callbacks on the calling (pipeline) thread.</summary>
    public T Run<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        pipelineThreadId = Environment.CurrentManagedThreadId;
        var task = Task.Run(() => work(cancellationToken), CancellationToken.None);
        _ = task.ContinueWith(_ => queue.Add(null), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        foreach (var callback in queue.GetConsumingEnumerable(CancellationToken.None))
        {
            if (callback is null)
            {
                break;
            }

            callback();
        }

        return task.GetAwaiter().GetResult();
    }

    /// <summary>Runs <paramref name="callback"/> on the pipeline thread and completes with its result.</summary>
    public Task<T> InvokeAsync<T>(Func<T> callback)
    {
        if (Environment.CurrentManagedThreadId == pipelineThreadId)
        {
            return Task.FromResult(callback());
        }

        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Add(() =>
        {
            try
            {
                completion.SetResult(callback());
            }
            catch (Exception ex)
            {
                completion.SetException(ex);
            }
        });
        return completion.Task;
    }

    public Task InvokeAsync(Action callback) => InvokeAsync(() =>
    {
        callback();
        return true;
    });

    public void Dispose() => queue.Dispose();
}
