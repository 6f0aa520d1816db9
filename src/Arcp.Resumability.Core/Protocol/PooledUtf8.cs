using System.Buffers;
using System.Text;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// A string's UTF-8 bytes in a buffer rented from <see cref="ArrayPool{T}.Shared"/> and given back on dispose: for
/// text that is only looked at, such as the frames every step sends, whose copy would otherwise be a new array each
/// time (a large object for a big frame). Nothing may keep a reference into it once it is disposed.
/// </summary>
internal readonly struct PooledUtf8 : IDisposable
{
    private readonly byte[] buffer;
    private readonly int length;

    public PooledUtf8(string text)
    {
        buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetByteCount(text));
        length = Encoding.UTF8.GetBytes(text, buffer);
    }

    public ReadOnlyMemory<byte> Memory => buffer.AsMemory(0, length);

    public ReadOnlySpan<byte> Span => buffer.AsSpan(0, length);

    public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);
}
