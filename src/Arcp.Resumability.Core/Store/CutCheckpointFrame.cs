using System.Buffers;
using System.Text;

namespace Arcp.Resumability.Store;

/// <summary>
/// A <c>job.checkpoint</c> frame cut as <see cref="CheckpointOutputs.Cut"/> cuts it, kept as UTF-8 in one buffer rented
/// from <see cref="ArrayPool{T}.Shared"/>: the frame without its output, then the output. A store that binds UTF-8
/// writes both from here, so a step makes no strings of its frame; the buffer goes back on dispose, and nothing may
/// keep a reference into it after that.
/// </summary>
internal sealed class CutCheckpointFrame : IDisposable
{
    private readonly byte[] buffer;
    private readonly int remainderLength;
    private readonly int outputLength;
    private bool returned;

    private CutCheckpointFrame(byte[] buffer, int remainderLength, int outputLength, int at)
    {
        this.buffer = buffer;
        this.remainderLength = remainderLength;
        this.outputLength = outputLength;
        At = at;
    }

    /// <summary>Where the output was cut from the frame, in UTF-16 units (as <see cref="CheckpointOutputs.Cut"/> gives it).</summary>
    public int At { get; }

    /// <summary>The frame's UTF-8 without its output.</summary>
    public ReadOnlySpan<byte> Remainder => Live().AsSpan(0, remainderLength);

    /// <summary>The output's exact UTF-8, as it stood in the frame.</summary>
    public ReadOnlySpan<byte> Output => Live().AsSpan(remainderLength + outputLength, outputLength);

    /// <summary>Cuts the output out of the frame <paramref name="envelope"/>; null when it has none.</summary>
    public static CutCheckpointFrame? Of(string envelope)
    {
        var length = Encoding.UTF8.GetByteCount(envelope);
        // Room for the frame and, past it, a copy of its output (never longer than the frame).
        var buffer = ArrayPool<byte>.Shared.Rent(length * 2);
        var json = buffer.AsSpan(0, Encoding.UTF8.GetBytes(envelope, buffer));
        if (CheckpointOutputs.Locate(json) is not var (start, end))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return null;
        }

        // The output is copied past the frame, then the frame's tail moves down over the gap it left.
        var outputLength = end - start;
        var remainderLength = length - outputLength;
        json[start..end].CopyTo(buffer.AsSpan(remainderLength + outputLength));
        json[end..].CopyTo(buffer.AsSpan(start));
        return new CutCheckpointFrame(buffer, remainderLength, outputLength, Encoding.UTF8.GetCharCount(json[..start]));
    }

    public void Dispose()
    {
        if (!returned)
        {
            returned = true;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] Live() => returned ? throw new ObjectDisposedException(nameof(CutCheckpointFrame)) : buffer;
}
