using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Steps;

/// <summary>A step body: receives the previous step's output (the job input for the first step) and returns its own.</summary>
public delegate ValueTask<JsonNode?> StepBody(StepContext context, CancellationToken cancellationToken);

/// <summary>
/// Chooses the step after <paramref name="context"/>'s step from its output: a step name (which may be an
/// earlier step, making a loop) or null for the next step in order. It must be deterministic, since a resume
/// evaluates it again on the recorded output.
/// </summary>
public delegate ValueTask<string?> StepTransition(StepContext context, JsonNode? output, CancellationToken cancellationToken);

public sealed record StepDefinition(string Name, StepBody Body)
{
    /// <summary>Where to go after this step; null always continues with the next step in order.</summary>
    public StepTransition? Next { get; init; }

    /// <summary>Attempts, backoff and per-attempt timeout; the default runs the body once.</summary>
    public StepPolicy Policy { get; init; } = StepPolicy.Default;
}

/// <summary>An ordered list of uniquely named steps.</summary>
public sealed record WorkflowDefinition
{
    // By name, so finding a resume's anchor or a transition's target costs the same in a workflow of any length.
    private readonly Dictionary<string, int> indexes;

    public WorkflowDefinition(string name, IReadOnlyList<StepDefinition> steps)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A workflow needs a name.", nameof(name));
        }

        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0)
        {
            throw new ArgumentException($"Workflow '{name}' has no steps.", nameof(steps));
        }

        var indexes = new Dictionary<string, int>(steps.Count, StringComparer.Ordinal);
        foreach (var step in steps)
        {
            if (string.IsNullOrWhiteSpace(step.Name))
            {
                throw new ArgumentException($"Workflow '{name}' has a step without a name.", nameof(steps));
            }

            if (!indexes.TryAdd(step.Name, indexes.Count))
            {
                // Checkpoints are labelled by step name; two steps with one name could not be told apart on resume.
                throw new ArgumentException($"Workflow '{name}' has two steps named '{step.Name}'.", nameof(steps));
            }
        }

        Name = name;
        Steps = steps;
        this.indexes = indexes;
    }

    public string Name { get; }

    /// <summary>Identifies this definition (a declared version or a content hash); recorded with every checkpoint.</summary>
    public string? Version { get; init; }

    public IReadOnlyList<StepDefinition> Steps { get; }

    /// <summary>The index of the step after <paramref name="context"/>'s step (Steps.Count when the workflow is done).</summary>
    public async ValueTask<int> NextIndexAsync(StepContext context, JsonNode? output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Steps[context.StepIndex].Next is not { } transition || await transition(context, output, cancellationToken).ConfigureAwait(false) is not { Length: > 0 } target)
        {
            return context.StepIndex + 1;
        }

        var index = IndexOf(target);
        return index >= 0
            ? index
            : throw new StepFailedException(ArcpError.Create(ErrorCodes.InvalidArgument, $"The transition after step '{context.Step}' names '{target}', which is not a step of workflow '{Name}'."));
    }

    public int IndexOf(string step) => indexes.GetValueOrDefault(step, -1);
}

/// <summary>What a step body knows about itself.</summary>
public sealed record StepContext(string JobId, string Workflow, string Step, int StepIndex, int StepCount, JsonNode? Input, string IdempotencyKey)
{
    /// <summary>Reports progress, logs and thoughts from inside the step; set by the runner for the step's run.</summary>
    public StepReporter? Reporter { get; init; }

    /// <summary>Fires when the job is being cancelled (§10.4); a step may stop early by throwing, and is then abandoned.</summary>
    public CancellationToken JobCancellation { get; init; }
}
