using System.Management.Automation;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>
/// Maps ARCP errors to ErrorRecords: the ARCP code is the error id (so it leads the
/// FullyQualifiedErrorId), with a fitting category and a recommended action.
/// </summary>
internal static class ArcpErrors
{
    public static ErrorRecord ToRecord(Exception exception, object? target) => exception switch
    {
        ArcpException arcp => Record(arcp.Error, arcp, target),
        StoreException { Kind: StoreErrorKind.NotFound } store => Record(store.ToArcpError(), store, target, MissingStoreAction),
        StoreException store => Record(store.ToArcpError(), store, target),
        _ => new ErrorRecord(exception, ErrorCodes.Internal, ErrorCategory.NotSpecified, target),
    };

    /// <summary>What to do about a named store that does not exist (reading commands never create one).</summary>
    internal const string MissingStoreAction = "Check the -Store path (or $env:ARCP_STORE): reading commands never create a store; only Start-ArcpJob and Start-ArcpRuntime do.";

    /// <summary>An ErrorRecord for <paramref name="error"/>; <paramref name="recommendedAction"/> replaces the one that goes with its code.</summary>
    public static ErrorRecord Record(ArcpError error, Exception? exception, object? target, string? recommendedAction = null)
    {
        var record = new ErrorRecord(exception ?? new ArcpException(error), error.Code, Category(error.Code), target);
        record.ErrorDetails = new ErrorDetails($"{error.Code}: {error.Message}") { RecommendedAction = recommendedAction ?? RecommendedAction(error) };
        return record;
    }

    private static ErrorCategory Category(string code) => code switch
    {
        ErrorCodes.InvalidArgument or ErrorCodes.OutOfRange => ErrorCategory.InvalidArgument,
        ErrorCodes.NotFound => ErrorCategory.ObjectNotFound,
        ErrorCodes.AlreadyExists => ErrorCategory.ResourceExists,
        ErrorCodes.PermissionDenied => ErrorCategory.PermissionDenied,
        ErrorCodes.Unauthenticated => ErrorCategory.AuthenticationError,
        ErrorCodes.FailedPrecondition => ErrorCategory.InvalidOperation,
        ErrorCodes.Aborted => ErrorCategory.ResourceBusy,
        ErrorCodes.DataLoss => ErrorCategory.InvalidData,
        ErrorCodes.Unavailable => ErrorCategory.ConnectionError,
        ErrorCodes.DeadlineExceeded => ErrorCategory.OperationTimeout,
        ErrorCodes.Unimplemented => ErrorCategory.NotImplemented,
        ErrorCodes.Cancelled => ErrorCategory.OperationStopped,
        ErrorCodes.ResourceExhausted or ErrorCodes.RateLimited => ErrorCategory.LimitsExceeded,
        ErrorCodes.Unknown => ErrorCategory.NotSpecified,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>The recommendation for <paramref name="error"/>: by code, refined by what its details say it is about.</summary>
    internal static string RecommendedAction(ArcpError error) => error switch
    {
        { Code: ErrorCodes.NotFound, Details: { } details } when details.ContainsKey("workflow") =>
            "Check the -Workflow name against the built-in ones the message lists, or pass the path of a workflow .ps1 file; nothing was recorded.",
        { Code: ErrorCodes.NotFound, Details: { } details } when details.ContainsKey("schedule") =>
            "Check the schedule's name with Get-ArcpSchedule, and that -Store points at the store it was registered in.",
        { Code: ErrorCodes.FailedPrecondition, Details: { } details } when details["state"]?.GetValue<string>() is "Failed" =>
            "The job failed and is final: inspect its Error with Get-ArcpJob and its recorded step outputs with Get-ArcpCheckpoint, fix the cause, then Resume-ArcpJob -Retry starts a new attempt that continues after its last checkpoint.",
        _ => ActionFor(error.Code) ?? "See the error message and the ARCP error code.",
    };

    /// <summary>The recommendation for each ARCP code; every code has its own (a table test holds this to ErrorCodes).</summary>
    internal static string? ActionFor(string code) => code switch
    {
        ErrorCodes.NotFound => "Check the id with Get-ArcpJob or Get-ArcpCheckpoint, and that -Store points at the store the job was started in.",
        ErrorCodes.AlreadyExists => "Use a new -IdempotencyKey for a different input, or repeat the original input to get the existing job.",
        ErrorCodes.Aborted => "Another process drives this job. Wait for it to finish or for its lease to expire, then resume.",
        ErrorCodes.InvalidArgument => "Correct the argument and run the command again; nothing was recorded for the rejected input.",
        ErrorCodes.OutOfRange => "Use a value inside the range the message gives and run the command again; nothing was recorded for the rejected input.",
        ErrorCodes.FailedPrecondition => "Check the job's state and workflow with Get-ArcpJob. If the workflow definition changed since the job started and the change is safe, Resume-ArcpJob -Force resumes it with the new definition.",
        ErrorCodes.DataLoss => "The recorded history is incomplete; inspect the store and its backups.",
        ErrorCodes.Unavailable => "Check that the store is reachable: a SQLite path writable and the file undamaged, or the PostgreSQL server up and the credentials ($env:ARCP_PG_PASSWORD or $env:PGPASSWORD) right.",
        ErrorCodes.DeadlineExceeded => "The job or the wait ran out of time. Check its progress with Get-ArcpEvent; wait again with a larger -Timeout, or resume it with Resume-ArcpJob if it was interrupted.",
        ErrorCodes.Cancelled => "The job was cancelled (Stop-ArcpJob) and is final; Resume-ArcpJob -Retry starts a new attempt that continues after its last checkpoint.",
        ErrorCodes.Unauthenticated => "Pass a valid -Token (or set $env:ARCP_TOKEN, or Connect-ArcpRuntime -Token) for the runtime.",
        ErrorCodes.PermissionDenied => "The job belongs to another principal or your token lacks the right; use the principal's own token.",
        ErrorCodes.ResourceExhausted => "The store or runtime is out of room (disk, quota or connections); free space or raise the limit, then run the command again.",
        ErrorCodes.RateLimited => "Too many requests; wait a moment and run the command again.",
        ErrorCodes.Unimplemented => "The runtime does not support this operation; upgrade the runtime or use a local -Store.",
        // A failed job is terminal (RFC 0001 §10.2): Resume-ArcpJob only reports it, so do not send people there.
        ErrorCodes.Unknown => "Inspect the job's Error (Get-ArcpJob) and fix the step. A failed job is final; after the fix, Resume-ArcpJob -Retry starts a new attempt that continues after its last checkpoint, and the recorded step outputs stay readable with Get-ArcpCheckpoint.",
        ErrorCodes.Internal => "This is a bug in the runtime; report it with the error message. The recorded history is kept.",
        ErrorCodes.HeartbeatLost or ErrorCodes.LeaseExpired or ErrorCodes.LeaseRevoked => "The connection or the lease on the job was lost; the job stays at its last checkpoint. Resume it with Resume-ArcpJob.",
        ErrorCodes.BackpressureOverflow => "The client read events too slowly; run the command again (Get-ArcpEvent pages through long histories).",
        _ => null,
    };
}
