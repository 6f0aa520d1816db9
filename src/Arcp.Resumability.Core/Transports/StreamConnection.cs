using System.Text;

namespace Arcp.Resumability.Transports;

/// <summary>
/// The stdio transport (RFC 0001 §22): newline-delimited JSON over a pair of byte streams — stdin and
/// stdout, a child process's pipes, or any other stream. One envelope per line, UTF-8 without BOM; a
/// trailing <c>\r</c> is tolerated, blank lines are skipped, and bytes after the last newline at end of
/// stream are a truncated frame and dropped.
/// </summary>
public sealed class StreamConnection : QueuedConnection
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly Stream input;
    private readonly Stream output;
    private readonly bool ownsStreams;
    private readonly byte[] readBuffer = new byte[16 * 1024];
    private readonly MemoryStream line = new();
    private int readStart;
    private int readEnd;
    private bool endOfInput;

    public StreamConnection(Stream input, Stream output, TransportOptions? options = null, bool ownsStreams = true)
        : base(options ?? new TransportOptions())
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        this.input = input;
        this.output = output;
        this.ownsStreams = ownsStreams;
    }

    /// <summary>Serves this process's stdin and stdout (nothing else may write to stdout meanwhile).</summary>
    public static StreamConnection ForConsole(TransportOptions? options = null) =>
        new(Console.OpenStandardInput(), Console.OpenStandardOutput(), options);

    public override async ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var (complete, oversizedBytes) = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (!complete)
            {
                return null;
            }

            if (oversizedBytes > 0)
            {
                throw InvalidFrameException.TooLarge(oversizedBytes, Options.MaxFrameBytes);
            }

            var length = (int)line.Length;
            var bytes = line.GetBuffer();
            if (length > 0 && bytes[length - 1] == (byte)'\r')
            {
                length--;
            }

            if (length == 0)
            {
                continue;
            }

            try
            {
                return StrictUtf8.GetString(bytes, 0, length);
            }
            catch (DecoderFallbackException ex)
            {
                throw new InvalidFrameException("Frame is not valid UTF-8; it was discarded.", ex);
            }
        }
    }

    protected override void ValidateOutbound(string frame)
    {
        // A raw newline would split the frame in two on the wire; serialized JSON never needs one.
        if (frame.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException("A stdio frame must not contain a raw newline.", nameof(frame));
        }
    }

    protected override async ValueTask WriteFrameAsync(string frame, CancellationToken cancellationToken)
    {
        var bytes = StrictUtf8.GetBytes(frame + "\n");
        await output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async ValueTask CompleteOutputAsync(CancellationToken cancellationToken)
    {
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (ownsStreams)
        {
            // Closing our end is how the peer learns the session's output is over.
            await output.DisposeAsync().ConfigureAwait(false);
        }
    }

    protected override void Abort()
    {
        if (ownsStreams)
        {
            output.Dispose();
            input.Dispose();
        }
    }

    protected override async ValueTask DisposeTransportAsync()
    {
        if (ownsStreams)
        {
            await output.DisposeAsync().ConfigureAwait(false);
            await input.DisposeAsync().ConfigureAwait(false);
        }

        await line.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Reads up to the next newline into <see cref="line"/>. Past the frame limit the rest of the line is
    /// skipped, not buffered, and its total size is returned instead.
    /// </summary>
    /// <returns>Whether a whole line was read (false at end of input), and the size of an oversized line.</returns>
    private async ValueTask<(bool Complete, long OversizedBytes)> ReadLineAsync(CancellationToken cancellationToken)
    {
        line.SetLength(0);
        long total = 0;
        var oversized = false;
        while (true)
        {
            if (readStart == readEnd)
            {
                if (endOfInput)
                {
                    return (false, 0);
                }

                readStart = 0;
                using var readStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Failed);
                try
                {
                    readEnd = await input.ReadAsync(readBuffer, readStop.Token).ConfigureAwait(false);
                }
                catch (ObjectDisposedException ex)
                {
                    throw new IOException("The connection was closed.", Fault ?? ex);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new IOException("The connection failed.", Fault ?? ex);
                }

                if (readEnd == 0)
                {
                    endOfInput = true;
                    return (false, 0);
                }
            }

            var span = readBuffer.AsSpan(readStart, readEnd - readStart);
            var newline = span.IndexOf((byte)'\n');
            var chunk = newline < 0 ? span : span[..newline];
            total += chunk.Length;
            if (!oversized && total > Options.MaxFrameBytes)
            {
                oversized = true;
                line.SetLength(0);
            }

            if (!oversized)
            {
                line.Write(chunk);
            }

            readStart += newline < 0 ? span.Length : newline + 1;
            if (newline >= 0)
            {
                return (true, oversized ? total : 0);
            }
        }
    }
}
