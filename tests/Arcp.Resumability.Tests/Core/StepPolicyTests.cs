using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Tests.Core;

/// <summary>Per-step policies: retries with recorded attempts, timeouts, a RetryOn filter and validation.</summary>
public sealed class StepPolicyTests : IDisposable
{
    private readonly TestStore store = new();

    [Fact]
    public async Task A_step_that_fails_twice_then_succeeds_completes_after_three_attempts_with_two_attempt_events()
    {
        var calls = 0;
        var workflow = new WorkflowDefinition("flaky", [
            new StepDefinition("fetch", (_, _) => ++calls < 3 ? throw new InvalidOperationException($"boom {calls}") : ValueTask.FromResult<JsonNode?>(JsonValue.Create("ok")))
            {
                Policy = new StepPolicy { MaxAttempts = 5, RetryDelay = TimeSpan.FromMilliseconds(10), Backoff = StepBackoff.Exponential },
            },
        ]);
        await using var arcp = await store.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Completed, result.State);
        Assert.Equal(3, calls);
        var attempts = (await arcp.Client.QueryEventsAsync(result.JobId, null, CancellationToken.None))
            .Where(e => e.Type == MessageTypes.Log)
            .Select(e => JsonNode.Parse(e.Envelope)!["payload"]!["attributes"]!)
            .Where(a => (string?)a["event"] == "step.attempt_failed")
            .ToList();
        Assert.Equal([1, 2], attempts.Select(a => a["attempt"]!.GetValue<int>()));
        Assert.Equal(["Step 'fetch' failed: boom 1", "Step 'fetch' failed: boom 2"], attempts.Select(a => (string?)a["error_message"]));
        Assert.All(attempts, a => Assert.True(a["delay_ms"]!.GetValue<long>() >= 0));
    }

    [Fact]
    public async Task A_step_that_keeps_failing_fails_the_job_with_the_attempt_count()
    {
        var calls = 0;
        var workflow = new WorkflowDefinition("broken", [
            new StepDefinition("fetch", (_, _) => throw new InvalidOperationException($"boom {++calls}"))
            {
                Policy = new StepPolicy { MaxAttempts = 3, RetryDelay = TimeSpan.Zero },
            },
        ]);
        await using var arcp = await store.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Failed, result.State);
        Assert.Equal(3, calls);
        Assert.Equal(3, result.Error!.Details!["attempts"]!.GetValue<int>());
        Assert.Contains("boom 3", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_attempt_past_its_timeout_is_stopped_and_counts_as_DEADLINE_EXCEEDED()
    {
        var stopped = 0;
        var workflow = new WorkflowDefinition("hung", [
            new StepDefinition("wait", async (_, token) =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                    return null;
                }
                finally
                {
                    stopped++;
                }
            })
            {
                Policy = new StepPolicy { MaxAttempts = 2, RetryDelay = TimeSpan.Zero, Timeout = TimeSpan.FromMilliseconds(200) },
            },
        ]);
        await using var arcp = await store.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Failed, result.State);
        Assert.Equal(ErrorCodes.DeadlineExceeded, result.Error?.Code);
        Assert.Equal(2, stopped);
    }

    [Fact]
    public async Task RetryOn_returning_false_stops_retrying_at_once()
    {
        var calls = 0;
        var workflow = new WorkflowDefinition("picky", [
            new StepDefinition("fetch", (_, _) => throw new InvalidOperationException($"fatal {++calls}"))
            {
                Policy = new StepPolicy { MaxAttempts = 5, RetryDelay = TimeSpan.Zero, RetryOn = (error, _) => ValueTask.FromResult(!error.Message.Contains("fatal", StringComparison.Ordinal)) },
            },
        ]);
        await using var arcp = await store.OpenAsync();

        var result = await new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, null, CancellationToken.None);

        Assert.Equal(JobStates.Failed, result.State);
        Assert.Equal(1, calls);
    }

    [Theory]
    [InlineData(0, 1, null, "MaxAttempts")]
    [InlineData(2, -1, null, "RetryDelay")]
    [InlineData(2, 1, -5, "Timeout")]
    public void A_policy_that_cannot_work_is_refused_naming_the_setting(int maxAttempts, int delaySeconds, int? timeoutSeconds, string setting)
    {
        var policy = new StepPolicy { MaxAttempts = maxAttempts, RetryDelay = TimeSpan.FromSeconds(delaySeconds), Timeout = timeoutSeconds is { } t ? TimeSpan.FromSeconds(t) : null };

        var error = Assert.Throws<ArgumentException>(policy.Validate);

        Assert.Equal(setting, error.ParamName);
    }

    [Fact]
    public async Task A_resume_after_a_crash_during_the_backoff_waits_out_the_rest_and_continues_the_attempt_count()
    {
        var calls = 0;
        using var crash = new CancellationTokenSource();
        var workflow = new WorkflowDefinition("backoff", [
            new StepDefinition("fetch", (_, _) =>
            {
                if (++calls == 1)
                {
                    // The process "dies" a moment into the 1.5 s wait that follows this failure.
                    crash.CancelAfter(TimeSpan.FromMilliseconds(300));
                }

                return calls < 3 ? throw new InvalidOperationException($"boom {calls}") : ValueTask.FromResult<JsonNode?>(JsonValue.Create(calls));
            })
            {
                Policy = new StepPolicy { MaxAttempts = 5, RetryDelay = TimeSpan.FromSeconds(1.5) },
            },
        ]);
        string jobId;
        await using (var arcp = await store.OpenAsync())
        {
            using var observer = new StopAfter("never");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, observer, crash.Token));
            jobId = observer.JobId!;
        }

        await using (var arcp = await store.OpenAsync())
        {
            var resumedAt = DateTimeOffset.UtcNow;
            var firstEvents = await AttemptEventsAsync(arcp, jobId);
            var due = DateTimeOffset.Parse((string)firstEvents.Single()["retry_at"]!, System.Globalization.CultureInfo.InvariantCulture);

            var result = await new StepRunner(arcp.Client).ResumeAsync(workflow, jobId, null, null, null, CancellationToken.None);

            Assert.Equal(JobStates.Completed, result.State);
            Assert.Equal(3, calls);
            // Attempt 2 ran no earlier than the recorded retry_at (a little slack for clocks), and the count went on: 1 then 2.
            Assert.Equal([1, 2], (await AttemptEventsAsync(arcp, jobId)).Select(a => a["attempt"]!.GetValue<int>()));
            Assert.True(DateTimeOffset.UtcNow - resumedAt >= due - resumedAt - TimeSpan.FromMilliseconds(100), "the rest of the recorded delay was not honoured");
        }
    }

    private static async Task<List<JsonNode>> AttemptEventsAsync(Arcp.Resumability.Embedding.EmbeddedArcp arcp, string jobId) =>
        (await arcp.Client.QueryEventsAsync(jobId, null, CancellationToken.None))
            .Where(e => e.Type == MessageTypes.Log)
            .Select(e => JsonNode.Parse(e.Envelope)!["payload"]!["attributes"]!)
            .Where(a => (string?)a["event"] == "step.attempt_failed")
            .ToList();

    public void Dispose() => store.Dispose();
}
