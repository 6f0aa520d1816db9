using Arcp.Resumability.Protocol;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Arcp.Resumability.Steps;

/// <summary>How the wait between attempts grows.</summary>
public enum StepBackoff
{
    Constant,
    Linear,
    Exponential,
}

/// <summary>Decides whether a failed attempt is worth another one; it sees the error the attempt would fail the job with.</summary>
public delegate ValueTask<bool> StepRetryPredicate(ArcpError error, CancellationToken cancellationToken);

/// <summary>
/// A step's second chances: how many attempts, the wait between them and how long one attempt may run.
/// The default is one attempt without a timeout, which is how a step behaved before policies existed.
/// </summary>
public sealed record StepPolicy
{
    public static StepPolicy Default { get; } = new();

    /// <summary>Attempts in total, the first included (1 = no retry).</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>The wait before the second attempt; later waits grow by <see cref="Backoff"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public StepBackoff Backoff { get; init; } = StepBackoff.Constant;

    /// <summary>The longest single wait, however far the backoff has grown; null leaves it unbounded.</summary>
    public TimeSpan? MaxRetryDelay { get; init; }

    /// <summary>How long one attempt may run before it is stopped and counted as failed with DEADLINE_EXCEEDED; null = no limit.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Null retries every failure (until <see cref="MaxAttempts"/>).</summary>
    public StepRetryPredicate? RetryOn { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (MaxAttempts < 1)
        {
            throw new ArgumentException($"MaxAttempts must be at least 1, not {MaxAttempts}.", nameof(MaxAttempts));
        }

        if (RetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"RetryDelay must not be negative ({RetryDelay}).", nameof(RetryDelay));
        }

        if (MaxRetryDelay is { } max && max < TimeSpan.Zero)
        {
            throw new ArgumentException($"MaxRetryDelay must not be negative ({max}).", nameof(MaxRetryDelay));
        }

        if (Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Timeout must be positive ({timeout}).", nameof(Timeout));
        }

        if (!Enum.IsDefined(Backoff))
        {
            throw new ArgumentException($"Backoff '{Backoff}' is not one of Constant, Linear, Exponential.", nameof(Backoff));
        }
    }

    /// <summary>
    /// The Polly pipeline for this policy: retry outside, timeout inside, so each attempt gets its own deadline.
    /// <paramref name="onRetry"/> runs before each wait and is where the runner records the failed attempt.
    /// </summary>
    internal ResiliencePipeline<TResult> BuildPipeline<TResult>(Func<Exception, int, TimeSpan, CancellationToken, ValueTask> onRetry, Func<Exception, ArcpError> describe, TimeProvider? timeProvider = null)
    {
        Validate();
        var builder = new ResiliencePipelineBuilder<TResult>();
        if (timeProvider is not null)
        {
            builder.TimeProvider = timeProvider;
        }

        if (MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<TResult>
            {
                MaxRetryAttempts = MaxAttempts - 1,
                Delay = RetryDelay,
                MaxDelay = MaxRetryDelay,
                BackoffType = Backoff switch
                {
                    StepBackoff.Linear => DelayBackoffType.Linear,
                    StepBackoff.Exponential => DelayBackoffType.Exponential,
                    _ => DelayBackoffType.Constant,
                },
                // Jitter spreads exponential retries so many jobs failing together do not retry in lock step.
                UseJitter = Backoff == StepBackoff.Exponential,
                ShouldHandle = async args =>
                {
                    if (args.Outcome.Exception is not { } ex || ex is StepInterruptedException || ex is ArcpException)
                    {
                        return false;
                    }

                    if (ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)
                    {
                        return false;
                    }

                    return RetryOn is null || await RetryOn(describe(ex), args.Context.CancellationToken).ConfigureAwait(false);
                },
                OnRetry = args => onRetry(args.Outcome.Exception!, args.AttemptNumber + 1, args.RetryDelay, args.Context.CancellationToken),
            });
        }

        if (Timeout is { } timeout)
        {
            builder.AddTimeout(new TimeoutStrategyOptions { Timeout = timeout });
        }

        return builder.Build();
    }
}
