namespace Arcp.Resumability.Transports;

/// <summary>
/// A frame was received whole but cannot be delivered (too large, not UTF-8, binary). The transport
/// has already skipped past it, so the connection stays usable and the receiver can answer with a nack.
/// </summary>
public sealed class InvalidFrameException : Exception
{
    public InvalidFrameException()
    {
    }

    public InvalidFrameException(string message)
        : base(message)
    {
    }

    public InvalidFrameException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InvalidFrameException(string message, long frameBytes, int maxFrameBytes)
        : base(message)
    {
        FrameBytes = frameBytes;
        MaxFrameBytes = maxFrameBytes;
    }

    /// <summary>Bytes received for the frame (at least the limit plus one when it was too large).</summary>
    public long? FrameBytes { get; }

    /// <summary>The limit that was exceeded, when the frame was too large.</summary>
    public int? MaxFrameBytes { get; }

    internal static InvalidFrameException TooLarge(long frameBytes, int maxFrameBytes) =>
        new($"Frame of {frameBytes} bytes exceeds the limit of {maxFrameBytes} bytes; it was discarded.", frameBytes, maxFrameBytes);
}
