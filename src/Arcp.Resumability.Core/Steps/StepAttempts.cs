using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Polly.Timeout;

namespace Arcp.Resumability.Steps;

/// <summary>
/// Runs one step under its <see cref="StepPolicy"/>: every failed attempt that will be retried is recorded as a
/// durable log event (attempt number, error, the delay chosen) before the wait; the last failure carries the attempt count.
/// </summary>
internal static class StepAttempts
{
    /// <summary>The attribute that marks a log event as a failed attempt of a step.</summary>
    public const string AttemptFailedEvent = "step.attempt_failed";

    public static async Task<JsonNode?> RunAsync(StepDefinition step, StepContext context, CancellationToken cancellationToken)
    {
        if (step.Policy.MaxAttempts == 1 && step.Policy.Timeout is null)
        {
            return await step.Body(context, cancellationToken).ConfigureAwait(false);
        }

        var attempt = 0;
        var pipeline = step.Policy.BuildPipeline<JsonNode?>(
            (ex, number, delay, token) => RecordAsync(context, number, Describe(ex, context, step.Policy), delay, token),
            ex => Describe(ex, context, step.Policy));
        try
        {
            return await pipeline.ExecuteAsync(
                async token =>
                {
                    attempt++;
                    return await step.Body(context, token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
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
