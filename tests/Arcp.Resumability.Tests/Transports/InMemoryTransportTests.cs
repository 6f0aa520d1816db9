using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Transports;

public sealed class InMemoryTransportTests
{
    [Fact]
    public async Task Frames_sent_together_are_read_in_order_the_second_without_waiting()
    {
        var (client, server) = InMemoryTransport.CreatePair();
        await using var _ = client;
        await using var __ = server;

        await client.SendAsync("one", CancellationToken.None);
        await client.SendAllAsync(["two", "three", "four"], CancellationToken.None);
        await client.SendAllAsync(["five"], CancellationToken.None);
        await client.SendAllAsync([], CancellationToken.None);
        client.Close();

        Assert.Equal("one", await server.ReceiveAsync(CancellationToken.None));
        Assert.Equal("two", await server.ReceiveAsync(CancellationToken.None));

        Assert.Equal("three", await server.ReceiveAsync(CancellationToken.None));
        Assert.Equal("four", await server.ReceiveAsync(CancellationToken.None));
        Assert.Equal("five", await server.ReceiveAsync(CancellationToken.None));
        Assert.Null(await server.ReceiveAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_receive_woken_by_the_first_frame_of_a_batch_finds_the_next_one_already_there()
    {
        var (client, server) = InMemoryTransport.CreatePair();
        await using var _ = client;
        await using var __ = server;
        var first = server.ReceiveAsync(CancellationToken.None).AsTask();
        Assert.False(first.IsCompleted);

        // Runs inside the send, as the runtime's frame loop does: a step's checkpoint must be there when it has
        // handled the progress, or it would hold the progress and wait for the checkpoint.
        var second = first.ContinueWith(_ => server.ReceiveAsync(CancellationToken.None).AsTask(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await client.SendAllAsync(["progress", "checkpoint"], CancellationToken.None);

        Assert.Equal("progress", await first);
        var next = await second;
        Assert.True(next.IsCompletedSuccessfully);
        Assert.Equal("checkpoint", await next);
    }

    [Fact]
    public async Task A_waiting_receive_goes_on_in_the_senders_thread()
    {
        var (client, server) = InMemoryTransport.CreatePair();
        await using var _ = client;
        await using var __ = server;
        var pending = server.ReceiveAsync(CancellationToken.None);
        Assert.False(pending.IsCompleted);
        var received = pending.AsTask();
        var receivedOn = received.ContinueWith(_ => Environment.CurrentManagedThreadId, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        var sentOn = await Task.Run(async () =>
        {
            await client.SendAsync("frame", CancellationToken.None);
            return Environment.CurrentManagedThreadId;
        });

        Assert.Equal("frame", await received);
        Assert.Equal(sentOn, await receivedOn);
    }

    [Fact]
    public async Task Sending_to_a_closed_peer_fails_with_an_io_error()
    {
        var (client, server) = InMemoryTransport.CreatePair();
        await using var _ = client;
        await server.DisposeAsync();
        client.Close();

        // The client's outbound channel is completed by its own Close.
        await Assert.ThrowsAsync<IOException>(() => client.SendAsync("late", CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<IOException>(() => client.SendAllAsync(["a", "b"], CancellationToken.None).AsTask());
    }
}
