using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Polly;
using Polly.Retry;

namespace Arcp.Resumability.Client;

/// <summary>
/// The Polly pipeline behind <see cref="ThrottleRetryOptions"/>. Resending the same envelope id is safe: a runtime
/// refuses an over-quota message before logging it, so §6.4 dedupe has nothing to match the resend against.
/// </summary>
internal static class ThrottleRetry
{
    private static readonly ResiliencePropertyKey<TimeSpan> Waited = new("arcp.throttle-waited");
    private static readonly ResiliencePropertyKey<TimeSpan> NextWait = new("arcp.throttle-next-wait");

    /// <param name="options">Already validated (the client does so when it is created).</param>
    public static ResiliencePipeline Build(ThrottleRetryOptions options) =>
        new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is ArcpException refused && TakeFromBudget(args.Context, RetryAfter(refused.Error), options.MaxTotalWait)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Context.Properties.GetValue(NextWait, TimeSpan.Zero)),
            })
            .Build();

    /// <returns>The wait the runtime asked for when <paramref name="error"/> is a throttling refusal, else null.</returns>
    public static TimeSpan? RetryAfter(ArcpError error) =>
        error.Code is ErrorCodes.ResourceExhausted or ErrorCodes.RateLimited
        && error.Details?["retry_after_ms"] is JsonValue value && value.TryGetValue(out long milliseconds) && milliseconds >= 0
            ? TimeSpan.FromMilliseconds(Math.Min(milliseconds, MaxHonouredWait.TotalMilliseconds))
            : null;

    /// <summary>A hostile or broken peer's wait is cut here before any arithmetic; any budget this large is already spent.</summary>
    private static TimeSpan MaxHonouredWait { get; } = TimeSpan.FromDays(1);

    private static bool TakeFromBudget(ResilienceContext context, TimeSpan? asked, TimeSpan budget)
    {
        if (asked is not { } wait)
        {
            return false;
        }

        // Everyone refused at the same moment is told the same wait; a little spread keeps them from colliding again.
        wait *= 1 + (Random.Shared.NextDouble() * 0.25);
        var waited = context.Properties.GetValue(Waited, TimeSpan.Zero);
        if (waited + wait > budget)
        {
            return false;
        }

        context.Properties.Set(Waited, waited + wait);
        context.Properties.Set(NextWait, wait);
        return true;
    }
}
