using System.Buffers;
using System.Text;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// Text's UTF-8 bytes in a buffer rented from the shared pool. A frame is encoded for its check and its parse and
/// then dropped; a large one (a page of checkpoints is hundreds of KB) would otherwise be a new large object per
/// frame, and those set off full collections. Dispose returns the buffer: nothing may read the bytes after that.
/// </summary>
internal sealed class PooledUtf8 : IDisposable
{
    private byte[]? buffer;

    private PooledUtf8(byte[] buffer, int length)
    {
        this.buffer = buffer;
        Memory = buffer.AsMemory(0, length);
    }

    public ReadOnlyMemory<byte> Memory { get; private set; }

    /// <param name="text">Well-formed Unicode (no lone surrogate), so the bytes are its exact UTF-8 form.</param>
    public static PooledUtf8 Encode(string text)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetByteCount(text));
        return new PooledUtf8(buffer, Encoding.UTF8.GetBytes(text, buffer));
    }

    public void Dispose()
    {
        if (buffer is { } rented)
        {
            buffer = null;
            Memory = ReadOnlyMemory<byte>.Empty;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
