using System.IO.Pipelines;
using System.Text;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Transports;

public sealed class StreamConnectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Frames_are_split_on_newlines_whatever_the_read_boundaries()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"a\":1}\n\n{\"b\":\"ü€😀\"}\r\n{\"c\":3}\n{\"trunc");
        var connection = new StreamConnection(new TrickleStream(bytes, chunk: 3), Stream.Null);
        await using var _ = connection;

        Assert.Equal("{\"a\":1}", await connection.ReceiveAsync(CancellationToken.None));
        Assert.Equal("{\"b\":\"ü€😀\"}", await connection.ReceiveAsync(CancellationToken.None));
        Assert.Equal("{\"c\":3}", await connection.ReceiveAsync(CancellationToken.None));
        // Bytes after the last newline at end of stream are a truncated frame: dropped, then end.
        Assert.Null(await connection.ReceiveAsync(CancellationToken.None));
        Assert.Null(await connection.ReceiveAsync(CancellationToken.None));
    }

    [Fact]
    public async Task An_oversized_frame_is_skipped_without_buffering_and_the_next_frame_still_arrives()
    {
        var big = new string('x', 5000);
        var bytes = Encoding.UTF8.GetBytes($"{{\"big\":\"{big}\"}}\n{{\"ok\":true}}\n");
        var connection = new StreamConnection(new TrickleStream(bytes, chunk: 700), Stream.Null, new TransportOptions { MaxFrameBytes = 1024 });
        await using var _ = connection;

        var ex = await Assert.ThrowsAsync<InvalidFrameException>(() => connection.ReceiveAsync(CancellationToken.None).AsTask());
        Assert.Equal(1024, ex.MaxFrameBytes);
        Assert.Equal(big.Length + 10, ex.FrameBytes);
        Assert.Equal("{\"ok\":true}", await connection.ReceiveAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_frame_exactly_at_the_limit_is_accepted()
    {
        var frame = "{\"p\":\"" + new string('y', 100 - 8) + "\"}";
        Assert.Equal(100, frame.Length);
        var connection = new StreamConnection(new MemoryStream(Encoding.UTF8.GetBytes(frame + "\n")), Stream.Null, new TransportOptions { MaxFrameBytes = 100 });
        await using var _ = connection;

        Assert.Equal(frame, await connection.ReceiveAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Invalid_utf8_is_refused_as_a_frame_and_the_connection_goes_on()
    {
        var bytes = new byte[] { (byte)'{', 0xC3, 0x28, (byte)'}', (byte)'\n' }.Concat(Encoding.UTF8.GetBytes("{}\n")).ToArray();
        var connection = new StreamConnection(new MemoryStream(bytes), Stream.Null);
        await using var _ = connection;

        await Assert.ThrowsAsync<InvalidFrameException>(() => connection.ReceiveAsync(CancellationToken.None).AsTask());
        Assert.Equal("{}", await connection.ReceiveAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Sent_frames_arrive_in_order_as_utf8_lines_and_close_ends_the_peer_stream()
    {
        var pipe = new Pipe();
        var sender = new StreamConnection(Stream.Null, pipe.Writer.AsStream());
        var receiver = new StreamConnection(pipe.Reader.AsStream(), Stream.Null);
        await using var s = sender;
        await using var r = receiver;

        for (var i = 0; i < 200; i++)
        {
            await sender.SendAsync($"{{\"n\":{i},\"t\":\"ß\"}}", CancellationToken.None);
        }

        sender.Close();
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal($"{{\"n\":{i},\"t\":\"ß\"}}", await receiver.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        }

        Assert.Null(await receiver.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        await Assert.ThrowsAsync<IOException>(() => sender.SendAsync("{}", CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task A_frame_with_a_raw_newline_is_refused_before_it_reaches_the_wire()
    {
        await using var connection = new StreamConnection(Stream.Null, Stream.Null);
        await Assert.ThrowsAsync<ArgumentException>(() => connection.SendAsync("{\n}", CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task A_peer_that_never_reads_gets_its_connection_closed_once_the_queue_stays_full()
    {
        var options = new TransportOptions { SendQueueCapacity = 2, SendTimeout = TimeSpan.FromMilliseconds(200) };
        await using var connection = new StreamConnection(Stream.Null, new BlockingStream(), options);

        var ex = await Assert.ThrowsAsync<IOException>(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await connection.SendAsync("{}", CancellationToken.None).AsTask().WaitAsync(Timeout);
            }
        });
        Assert.Contains("read nothing", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<IOException>(() => connection.SendAsync("{}", CancellationToken.None).AsTask());
    }

    /// <summary>Hands out at most <c>chunk</c> bytes per read, to put frame boundaries anywhere.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }

    /// <summary>A peer that never reads: every write blocks until the stream is disposed.</summary>
    private sealed class BlockingStream : Stream
    {
        private readonly TaskCompletionSource disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await disposed.Task.WaitAsync(cancellationToken);
            throw new ObjectDisposedException(nameof(BlockingStream));
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            disposed.TrySetResult();
            base.Dispose(disposing);
        }
    }
}
