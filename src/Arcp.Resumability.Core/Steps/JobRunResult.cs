using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Steps;

/// <summary>How a start or resume ended.</summary>
public sealed record JobRunResult(string JobId, string State, JsonNode? Result, ArcpError? Error)
{
    /// <summary>Steps whose bodies ran in this invocation.</summary>
    public IReadOnlyList<string> StepsRun { get; init; } = [];

    /// <summary>Steps whose recorded outcome was reused instead of running the body.</summary>
    public IReadOnlyList<string> StepsReused { get; init; } = [];

    /// <summary>The checkpointed step this invocation continued after, if it resumed.</summary>
    public string? ResumedAfterStep { get; init; }

    /// <summary>True when the job was already terminal and nothing ran.</summary>
    public bool AlreadyTerminal { get; init; }

    /// <summary>True when a repeated job-level idempotency key returned an existing job.</summary>
    public bool ExistingJob { get; init; }

    /// <summary>
    /// The DATA_LOSS the runtime reported when the resume reached into history retention had purged. The run
    /// continued from the latest checkpoint (checkpoints outlive event retention) and the job's recorded input.
    /// </summary>
    public ArcpError? DataLoss { get; init; }
}
