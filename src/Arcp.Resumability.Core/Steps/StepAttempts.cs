using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Polly.Timeout;

namespace Arcp.Resumability.Steps;

/// <summary>
/// Runs one step under its <see cref="StepPolicy"/>: every failed attempt that will be retried is recorded as a
/// durable log event (attempt number, error, the delay chosen) before the wait; the last failure carries the attempt count.
/// A resumed step reads those events back: it waits out what is left of the recorded delay and continues the count.
/// </summary>
internal static class StepAttempts
{
    /// <summary>The attribute that marks a log event as a failed attempt of a step.</summary>
    public const string AttemptFailedEvent = "step.attempt_failed";

    /// <param name="recorded">Set when the step is re-run by a resume: earlier attempts of it may be recorded there.</param>
    /// <returns>The step's output and the number of attempts it took, earlier recorded attempts included.</returns>
    public static async Task<(JsonNode? Output, int Attempts)> RunAsync(StepDefinition step, StepContext context, RecordedSteps? recorded, CancellationToken cancellationToken)
    {
        if (step.Policy.MaxAttempts == 1 && step.Policy.Timeout is null)
        {
            return (await step.Body(context, cancellationToken).ConfigureAwait(false), 1);
        }

        var (attempt, retryAt) = recorded is null ? (0, null) : await recorded.AttemptsAsync(context.IdempotencyKey, cancellationToken).ConfigureAwait(false);
        if (retryAt is { } due && due - DateTimeOffset.UtcNow is { } remaining && remaining > TimeSpan.Zero)
        {
            // The process died during the wait: honour what is left of the delay that was chosen and recorded.
            await Task.Delay(remaining, cancellationToken).ConfigureAwait(false);
        }

        var earlier = attempt;
        var pipeline = (step.Policy with { MaxAttempts = Math.Max(1, step.Policy.MaxAttempts - earlier) }).BuildPipeline<JsonNode?>(
            (ex, number, delay, token) => RecordAsync(context, earlier + number, Describe(ex, context, step.Policy), delay, token),
            ex => Describe(ex, context, step.Policy));
        try
        {
            var output = await pipeline.ExecuteAsync(
                async token =>
                {
                    attempt++;
                    return await step.Body(context, token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
            return (output, attempt);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not ArcpException)
        {
            var error = Describe(ex, context, step.Policy);
            var details = error.Details?.DeepClone().AsObject() ?? [];
            details["attempts"] = attempt;
            throw new StepFailedException(error with { Details = details }, ex);
        }
    }

    private static ArcpError Describe(Exception ex, StepContext context, StepPolicy policy) => ex switch
    {
        StepFailedException failed => failed.Error,
        TimeoutRejectedException => ArcpError.Create(
            ErrorCodes.DeadlineExceeded,
            $"Step '{context.Step}' did not finish within its timeout of {policy.Timeout?.ToString("c", CultureInfo.InvariantCulture)}.",
            new JsonObject { ["timeout_ms"] = (long?)policy.Timeout?.TotalMilliseconds }),
        _ => ArcpError.Create(ErrorCodes.Unknown, $"Step '{context.Step}' failed: {ex.Message}"),
    };

    private static async ValueTask RecordAsync(StepContext context, int attempt, ArcpError error, TimeSpan delay, CancellationToken cancellationToken)
    {
        if (context.Reporter is not { } reporter)
        {
            return;
        }

        var attributes = new JsonObject
        {
            ["event"] = AttemptFailedEvent,
            ["idempotency_key"] = context.IdempotencyKey,
            ["attempt"] = attempt,
            ["error_code"] = error.Code,
            ["error_message"] = error.Message,
            ["delay_ms"] = (long)delay.TotalMilliseconds,
            ["retry_at"] = DateTimeOffset.UtcNow.Add(delay).ToString("O", CultureInfo.InvariantCulture),
        };
        await reporter.LogAsync(
            LogLevels.Warn,
            $"Step '{context.Step}' attempt {attempt.ToString(CultureInfo.InvariantCulture)} failed ({error.Code}: {error.Message}); next attempt in {delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s.",
            attributes,
            cancellationToken).ConfigureAwait(false);
    }
}
