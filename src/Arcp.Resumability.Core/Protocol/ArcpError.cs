using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Arcp.Resumability.Protocol;

/// <summary>A structured error (RFC 0001 §18.1): <c>code</c> and <c>message</c> are required.</summary>
public sealed record ArcpError
{
    public ArcpError(string code, string message)
    {
        Code = code;
        Message = message;
    }

    [JsonPropertyName("code")]
    public string Code { get; init; }

    [JsonPropertyName("message")]
    public string Message { get; init; }

    [JsonPropertyName("retryable")]
    public bool? Retryable { get; init; }

    [JsonPropertyName("details")]
    public JsonObject? Details { get; init; }

    [JsonPropertyName("cause")]
    public ArcpError? Cause { get; init; }

    [JsonPropertyName("trace_id")]
    public string? TraceId { get; init; }

    /// <summary>Retryability as the sender stated it, else the §18.3 default for the code.</summary>
    [JsonIgnore]
    public bool IsRetryable => Retryable ?? ErrorCodes.IsRetryableByDefault(Code);

    public static ArcpError Create(string code, string message, JsonObject? details = null, ArcpError? cause = null) =>
        new(code, message) { Retryable = ErrorCodes.IsRetryableByDefault(code), Details = details, Cause = cause };

    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>Thrown when an ARCP operation ends in a structured error, locally or from the peer.</summary>
public sealed class ArcpException : Exception
{
    public ArcpException(ArcpError error)
        : base(error.Message)
    {
        Error = error;
    }

    public ArcpException(ArcpError error, Exception innerException)
        : base(error.Message, innerException)
    {
        Error = error;
    }

    public ArcpException()
        : this(ArcpError.Create(ErrorCodes.Unknown, "Unknown ARCP error."))
    {
    }

    public ArcpException(string message)
        : this(ArcpError.Create(ErrorCodes.Unknown, message))
    {
    }

    public ArcpException(string message, Exception innerException)
        : this(ArcpError.Create(ErrorCodes.Unknown, message), innerException)
    {
    }

    public ArcpError Error { get; }

    public string Code => Error.Code;

    public static ArcpException Of(string code, string message, JsonObject? details = null) => new(ArcpError.Create(code, message, details));
}
