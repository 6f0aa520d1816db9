using System.Collections.Concurrent;
using Arcp.Resumability.PowerShell.Hosting;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>
/// Each test plays the pipeline thread on a thread of its own, so the thread identity is known and a dispatcher
/// that deadlocks fails the test within a bounded wait instead of hanging the run.
/// </summary>
public sealed class PipelineDispatcherTests
{
    private static readonly TimeSpan DeadlockLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public void Callbacks_from_the_work_run_on_the_pipeline_thread_in_order_and_Run_returns_the_work_result()
    {
        var threads = new ConcurrentQueue<(string Name, int Thread)>();

        var (pipelineThread, result) = OnPipelineThread(dispatcher => dispatcher.Run(
            async _ =>
            {
                var worker = Environment.CurrentManagedThreadId;
                await dispatcher.InvokeAsync(() => threads.Enqueue(("first", Environment.CurrentManagedThreadId)));
                var second = await dispatcher.InvokeAsync(() => Environment.CurrentManagedThreadId);
                threads.Enqueue(("second", second));
                return worker;
            },
            default));

        Assert.NotEqual(pipelineThread, result);
        Assert.Equal([("first", pipelineThread), ("second", pipelineThread)], threads);
    }

    [Fact]
    public void Posted_callbacks_run_on_the_pipeline_thread_in_order_with_awaited_ones_and_before_Run_returns()
    {
        var seen = new ConcurrentQueue<(string Name, int Thread)>();

        var (pipelineThread, _) = OnPipelineThread(dispatcher => dispatcher.Run(
            async _ =>
            {
                await Task.Yield();
                dispatcher.Post(() => seen.Enqueue(("posted first", Environment.CurrentManagedThreadId)));
                await dispatcher.InvokeAsync(() => seen.Enqueue(("awaited", Environment.CurrentManagedThreadId)));
                // Posted as the work's last act: Run must still run it before it returns.
                dispatcher.Post(() => seen.Enqueue(("posted last", Environment.CurrentManagedThreadId)));
                return true;
            },
            default));

        Assert.Equal([("posted first", pipelineThread), ("awaited", pipelineThread), ("posted last", pipelineThread)], seen);
    }

    [Fact]
    public void A_posted_callback_that_throws_ends_the_run_with_its_exception_once_the_work_has_ended()
    {
        var workEnded = false;

        var thrown = Assert.Throws<InvalidOperationException>(() => OnPipelineThread(dispatcher => dispatcher.Run(
            async _ =>
            {
                await Task.Yield();
                dispatcher.Post(() => throw new FormatException("posted callback failed"));
                await dispatcher.InvokeAsync(() => true);
                workEnded = true;
                return true;
            },
            default)));

        // OnPipelineThread wraps what the pipeline thread threw.
        var failure = Assert.IsType<FormatException>(thrown.InnerException);
        Assert.Equal("posted callback failed", failure.Message);
        Assert.True(workEnded);
    }

    [Fact]
    public async Task A_nested_Run_ends_on_its_own_work_even_when_the_outer_work_ends_first()
    {
        var outerEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<string>? nested = null;

        async Task<string> OuterAsync(PipelineDispatcher dispatcher)
        {
            await Task.Yield();
            // Not awaited: the outer work ends while the nested run is still pumping on the pipeline thread.
            nested = dispatcher.InvokeAsync(() => dispatcher.Run(
                async _ =>
                {
                    await outerEnded.Task;
                    var thread = await dispatcher.InvokeAsync(() => Environment.CurrentManagedThreadId);
                    return $"inner on {thread}";
                },
                default));
            return "outer";
        }

        var (pipelineThread, outer) = OnPipelineThread(dispatcher => dispatcher.Run(
            cancellationToken =>
            {
                var work = OuterAsync(dispatcher);
                _ = work.ContinueWith(_ => outerEnded.SetResult(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return work;
            },
            default));

        Assert.Equal("outer", outer);
        Assert.NotNull(nested);
        Assert.True(nested.IsCompletedSuccessfully);
        Assert.Equal($"inner on {pipelineThread}", await nested);
    }

    [Fact]
    public void Callbacks_of_the_outer_work_run_while_a_nested_Run_pumps()
    {
        var outerCallbackRan = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        var (pipelineThread, result) = OnPipelineThread(dispatcher => dispatcher.Run(
            async _ =>
            {
                var nested = dispatcher.InvokeAsync(() => dispatcher.Run(_ => outerCallbackRan.Task, default));
                // The pipeline thread is inside the nested run, which waits for this callback: it must run there.
                await dispatcher.InvokeAsync(() => outerCallbackRan.SetResult(Environment.CurrentManagedThreadId));
                return await nested;
            },
            default));

        Assert.Equal(pipelineThread, result);
    }

    [Fact]
    public void An_exception_of_the_work_leaves_Run_as_itself_after_the_queued_callbacks_ran()
    {
        var ran = false;

        var (_, thrown) = OnPipelineThread(dispatcher => Assert.Throws<InvalidOperationException>(() => dispatcher.Run<int>(
            async cancellationToken =>
            {
                _ = dispatcher.InvokeAsync(() => ran = true);
                await Task.Yield();
                throw new InvalidOperationException("step exploded");
            },
            default)));

        Assert.Equal("step exploded", thrown.Message);
        Assert.True(ran);
    }

    [Fact]
    public void An_exception_of_a_callback_faults_its_task_for_the_work_and_the_dispatcher_keeps_working()
    {
        var (_, results) = OnPipelineThread(dispatcher =>
        {
            var first = dispatcher.Run(
                async _ =>
                {
                    var failure = await Assert.ThrowsAsync<ArgumentException>(() => dispatcher.InvokeAsync(() => throw new ArgumentException("bad callback")));
                    return failure.Message;
                },
                default);
            var second = dispatcher.Run(async _ => await dispatcher.InvokeAsync(() => "second run"), default);
            return (first, second);
        });

        Assert.Equal(("bad callback", "second run"), results);
    }

    [Fact]
    public void Cancellation_reaches_the_work_and_Run_pumps_its_cleanup_callbacks_before_rethrowing()
    {
        using var cancellation = new CancellationTokenSource();
        var cleanedUpOn = -1;

        var (pipelineThread, thrown) = OnPipelineThread(dispatcher => Assert.ThrowsAny<OperationCanceledException>(() => dispatcher.Run<int>(
            async token =>
            {
                await dispatcher.InvokeAsync(cancellation.Cancel);
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                    return 0;
                }
                finally
                {
                    await dispatcher.InvokeAsync(() => cleanedUpOn = Environment.CurrentManagedThreadId);
                }
            },
            cancellation.Token)));

        Assert.Equal(cancellation.Token, thrown.CancellationToken);
        Assert.Equal(pipelineThread, cleanedUpOn);
    }

    [Fact]
    public void Run_refuses_any_thread_but_the_one_that_created_the_dispatcher()
    {
        var (_, dispatcher) = OnPipelineThread(_ => new PipelineDispatcher());

        var refused = Assert.Throws<InvalidOperationException>(() => dispatcher.Run(_ => Task.FromResult(1), default));

        Assert.Contains("pipeline thread", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_callback_with_no_Run_to_pump_it_fails_at_once_instead_of_waiting_forever()
    {
        var (_, dispatcher) = OnPipelineThread(_ => new PipelineDispatcher());

        Assert.Throws<InvalidOperationException>(() =>
        {
            _ = dispatcher.InvokeAsync(() => 1);
        });
    }

    [Fact]
    public void A_callback_from_the_pipeline_thread_runs_inline()
    {
        var (pipelineThread, ranOn) = OnPipelineThread(dispatcher =>
        {
            var task = dispatcher.InvokeAsync(() => Environment.CurrentManagedThreadId);
            Assert.True(task.IsCompletedSuccessfully);
            return task.Result;
        });

        Assert.Equal(pipelineThread, ranOn);
    }

    [Fact]
    public void The_work_goes_on_on_the_pipeline_thread_after_an_awaited_callback_until_it_waits_for_something_else()
    {
        var (pipelineThread, threads) = OnPipelineThread(dispatcher => dispatcher.Run(
            async cancellationToken =>
            {
                var before = Environment.CurrentManagedThreadId;

                // The callback is held until the await below has registered its continuation: a callback that has
                // already run when the work awaits it leaves nothing to go on on the pipeline thread.
                using var awaited = new ManualResetEventSlim();
                var callback = dispatcher.InvokeAsync(() => awaited.Wait(cancellationToken));
                var afterCallback = ThreadAfter(callback);
                awaited.Set();
                var after = await afterCallback.ConfigureAwait(false);

                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
                return (Before: before, After: after, AfterWaiting: Environment.CurrentManagedThreadId);
            },
            default));

        Assert.NotEqual(pipelineThread, threads.Before);
        // The step's checkpoint follows its body here instead of waking a thread-pool thread for it.
        Assert.Equal(pipelineThread, threads.After);
        Assert.NotEqual(pipelineThread, threads.AfterWaiting);
    }

    private static async Task<int> ThreadAfter(Task task)
    {
        await task.ConfigureAwait(false);
        return Environment.CurrentManagedThreadId;
    }

    /// <summary>Creates a dispatcher on a new thread and runs <paramref name="body"/> there.</summary>
    private static (int PipelineThread, T Result) OnPipelineThread<T>(Func<PipelineDispatcher, T> body)
    {
        var pipelineThread = -1;
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            pipelineThread = Environment.CurrentManagedThreadId;
            try
            {
                using var dispatcher = new PipelineDispatcher();
                result = body(dispatcher);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        {
            IsBackground = true,
        };
        thread.Start();

        Assert.True(thread.Join(DeadlockLimit), $"The pipeline thread did not finish within {DeadlockLimit.TotalSeconds} s (deadlock).");
        if (failure is not null)
        {
            throw new InvalidOperationException("The pipeline thread failed.", failure);
        }

        return (pipelineThread, result!);
    }
}
