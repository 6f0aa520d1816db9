using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Steps;

/// <summary>Hooks for progress display and operator callbacks; all are awaited before the runner moves on.</summary>
public interface IStepObserver
{
    ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken);

    /// <summary>The step's outcome was already recorded, so its body did not run.</summary>
    ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken);

    /// <summary>The step's checkpoint is durable.</summary>
    ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken);
}

/// <summary>A step failure with a structured error; anything else a body throws is reported as UNKNOWN.</summary>
public sealed class StepFailedException : Exception
{
    public StepFailedException(ArcpError error, Exception? innerException = null)
        : base(error.Message, innerException)
    {
        Error = error;
    }

    public StepFailedException()
        : this(ArcpError.Create(ErrorCodes.Unknown, "The step failed."))
    {
    }

    public StepFailedException(string message)
        : this(ArcpError.Create(ErrorCodes.Unknown, message))
    {
    }

    public StepFailedException(string message, Exception innerException)
        : this(ArcpError.Create(ErrorCodes.Unknown, message), innerException)
    {
    }

    public ArcpError Error { get; }
}

/// <summary>
/// The step's host stopped it (for example Ctrl+C in PowerShell) before it finished: the job is
/// interrupted, not failed, and a resume runs this step again.
/// </summary>
public sealed class StepInterruptedException : OperationCanceledException
{
    public StepInterruptedException()
        : base("The step was interrupted.")
    {
    }

    public StepInterruptedException(string message)
        : base(message)
    {
    }

    public StepInterruptedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
