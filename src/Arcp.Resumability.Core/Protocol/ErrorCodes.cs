namespace Arcp.Resumability.Protocol;

/// <summary>The canonical error taxonomy of RFC 0001 §18.2.</summary>
public static class ErrorCodes
{
    public const string Ok = "OK";
    public const string Cancelled = "CANCELLED";
    public const string Unknown = "UNKNOWN";
    public const string InvalidArgument = "INVALID_ARGUMENT";
    public const string DeadlineExceeded = "DEADLINE_EXCEEDED";
    public const string NotFound = "NOT_FOUND";
    public const string AlreadyExists = "ALREADY_EXISTS";
    public const string PermissionDenied = "PERMISSION_DENIED";
    public const string ResourceExhausted = "RESOURCE_EXHAUSTED";
    public const string RateLimited = "RATE_LIMITED";
    public const string FailedPrecondition = "FAILED_PRECONDITION";
    public const string Aborted = "ABORTED";
    public const string OutOfRange = "OUT_OF_RANGE";
    public const string Unimplemented = "UNIMPLEMENTED";
    public const string Internal = "INTERNAL";
    public const string Unavailable = "UNAVAILABLE";
    public const string DataLoss = "DATA_LOSS";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string HeartbeatLost = "HEARTBEAT_LOST";
    public const string LeaseExpired = "LEASE_EXPIRED";
    public const string LeaseRevoked = "LEASE_REVOKED";
    public const string BackpressureOverflow = "BACKPRESSURE_OVERFLOW";

    /// <summary>§18.3 defaults; anything not listed there (including namespaced codes) is treated as non-retryable.</summary>
    public static bool IsRetryableByDefault(string code) => code switch
    {
        ResourceExhausted or RateLimited or Unavailable or DeadlineExceeded or Internal or Aborted => true,
        _ => false,
    };
}
