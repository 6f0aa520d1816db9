using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Runtime.Hosting;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Security;

/// <summary>Issue 9, finding 12: a client that makes the runtime write or send more than it should.</summary>
[Trait("Category", "Security")]
public sealed class QueryReplyAttackTests : IDisposable
{
    private static readonly Dictionary<string, string> Tokens = new() { ["tok-a"] = "alice", ["tok-b"] = "bob" };
    private readonly TestStore folder = new();

    [Fact]
    public async Task Reading_a_stream_over_one_mebibyte_over_websocket_follows_pages_and_repeated_queries_do_not_grow_the_store()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens });
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null, null);
        await using var alice = await ConnectAsync(host, "tok-a");
        var jobId = (await alice.StartWorkflowAsync("flood", null, null, null, CancellationToken.None)).JobId;
        var line = new string('x', 60 * 1024);
        for (var i = 0; i < 24; i++)
        {
            await alice.EmitAsync(MessageTypes.Log, jobId, new LogPayload("info", $"{i}:{line}"), null, CancellationToken.None);
        }

        var first = await alice.QueryEventPageAsync(jobId, null, null, CancellationToken.None);
        Assert.NotNull(first.Next);
        Assert.True(first.Events.Sum(e => e.Envelope.Length) < TransportOptions.DefaultMaxFrameBytes / 2, "one page is not well under the frame limit");
        var limited = await alice.QueryEventPageAsync(jobId, null, 1, CancellationToken.None);
        Assert.Single(limited.Events);
        Assert.Equal(limited.Events[0].MessageId, limited.Next);

        var sizeBefore = StoreBytes();
        var all = await alice.QueryEventsAsync(jobId, null, CancellationToken.None);
        var again = await alice.QueryEventsAsync(jobId, null, CancellationToken.None);
        var grown = StoreBytes() - sizeBefore;

        var streamBytes = all.Sum(e => (long)e.Envelope.Length);
        Assert.True(streamBytes > 1024 * 1024, $"the stream is only {streamBytes} bytes");
        Assert.Equal(26, all.Count); // job.accepted, job.started and the 24 logs
        Assert.Equal(all.Select(e => e.MessageId), again.Select(e => e.MessageId));
        Assert.Equal(all.Select(e => e.Sequence).Order(), all.Select(e => e.Sequence));
        // Stored in full, the two reads' answers would add at least twice the stream; only the small inbound
        // queries are logged now (their WAL pages are what growth is left).
        Assert.True(grown < streamBytes / 2, $"two full reads of a {streamBytes}-byte stream grew the store by {grown} bytes");
    }

    [Fact]
    public async Task A_retransmitted_event_query_is_answered_again_without_its_answer_being_stored()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens });
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null, null);
        await using var alice = await ConnectAsync(host, "tok-a");
        var jobId = (await alice.StartWorkflowAsync("flood", null, null, null, CancellationToken.None)).JobId;
        await alice.EmitAsync(MessageTypes.Log, jobId, new LogPayload("info", "hello"), null, CancellationToken.None);

        var query = Envelope.Create(MessageTypes.EventQuery, new EventQueryPayload(), alice.SessionId, jobId);
        var answer = await alice.RequestAsync(query, CancellationToken.None);
        var retransmitted = await alice.RequestAsync(query, CancellationToken.None);

        Assert.Equal(MessageTypes.EventList, answer.Type);
        Assert.Equal(MessageTypes.EventList, retransmitted.Type);
        Assert.Equal(answer.PayloadAs<EventListPayload>().Events.Select(e => e.MessageId), retransmitted.PayloadAs<EventListPayload>().Events.Select(e => e.MessageId));
        Assert.Empty(await store.ReadResponsesAsync(query.Id, CancellationToken.None));
        Assert.NotNull(await store.FindEventAsync(query.Id, CancellationToken.None));
    }

    public void Dispose() => folder.Dispose();

    private static async Task<ArcpClient> ConnectAsync(ArcpWebSocketHost host, string token) =>
        await ArcpClient.ConnectAsync(
            await WebSocketConnection.ConnectAsync(host.Address, null, null, CancellationToken.None),
            new ClientOptions { Auth = new AuthBlock("bearer", token), RequestTimeout = TimeSpan.FromSeconds(30) },
            CancellationToken.None);

    private long StoreBytes() =>
        Directory.EnumerateFiles(folder.Folder, "arcp.db*").Sum(f => new FileInfo(f).Length);
}
