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
        StoreException store => Record(store.ToArcpError(), store, target),
        _ => new ErrorRecord(exception, ErrorCodes.Internal, ErrorCategory.NotSpecified, target),
    };

    /// <summary>An ErrorRecord for <paramref name="error"/>; <paramref name="recommendedAction"/> replaces the one that goes with its code.</summary>
    public static ErrorRecord Record(ArcpError error, Exception? exception, object? target, string? recommendedAction = null)
    {
        var record = new ErrorRecord(exception ?? new ArcpException(error), error.Code, Category(error.Code), target);
        record.ErrorDetails = new ErrorDetails($"{error.Code}: {error.Message}") { RecommendedAction = recommendedAction ?? RecommendedAction(error.Code) };
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

    private static string RecommendedAction(string code) => code switch
    {
        ErrorCodes.NotFound => "Check the id with Get-ArcpJob or Get-ArcpCheckpoint, and that -Store points at the store the job was started in.",
        ErrorCodes.AlreadyExists => "Use a new -IdempotencyKey for a different input, or repeat the original input to get the existing job.",
        ErrorCodes.Aborted => "Another process drives this job. Wait for it to finish or for its lease to expire, then resume.",
        ErrorCodes.InvalidArgument => "Correct the argument and run the command again; nothing was recorded for the rejected input.",
        ErrorCodes.FailedPrecondition => "Check the job's state and workflow with Get-ArcpJob.",
        ErrorCodes.DataLoss => "The recorded history is incomplete; inspect the store and its backups.",
        ErrorCodes.Unavailable => "Check that the store is reachable: a SQLite path writable and the file undamaged, or the PostgreSQL server up and the credentials ($env:ARCP_PG_PASSWORD or $env:PGPASSWORD) right.",
        // A failed job is terminal (RFC 0001 §10.2): Resume-ArcpJob only reports it, so do not send people there.
        ErrorCodes.Unknown => "Inspect the job's Error (Get-ArcpJob) and fix the step. A failed job is final (Resume-ArcpJob will not run it again); its recorded step outputs stay readable with Get-ArcpCheckpoint.",
        _ => "See the error message and the ARCP error code.",
    };
}
