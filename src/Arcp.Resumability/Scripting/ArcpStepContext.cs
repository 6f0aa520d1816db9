namespace Arcp.Resumability.PowerShell;

/// <summary>
/// What a running step sees as <c>$ArcpStep</c>. The idempotency key is stable across retries and
/// resumes of this step with this input, so it can be handed to external systems for exactly-once effects.
/// </summary>
public sealed class ArcpStepContext
{
    internal ArcpStepContext(string jobId, string workflow, string step, int stepIndex, int stepCount, string idempotencyKey, object? previousOutput)
    {
        JobId = jobId;
        Workflow = workflow;
        Step = step;
        StepIndex = stepIndex;
        StepCount = stepCount;
        IdempotencyKey = idempotencyKey;
        PreviousOutput = previousOutput;
    }

    public string JobId { get; }

    public string Workflow { get; }

    public string Step { get; }

    public int StepIndex { get; }

    public int StepCount { get; }

    public string IdempotencyKey { get; }

    public object? PreviousOutput { get; }
}
