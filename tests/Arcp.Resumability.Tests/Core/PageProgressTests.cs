using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Core;

/// <summary>A runtime whose page answers point nowhere new cannot keep a paging reader asking without end.</summary>
public sealed class PageProgressTests : IDisposable
{
    private readonly TestStore folder = new();

    [Theory]
    [InlineData("arcpx.resumability.checkpoint_list.v1", "checkpoints")]
    [InlineData("arcpx.resumability.event_list.v1", "events")]
    public async Task A_page_whose_next_is_not_its_last_item_is_refused_instead_of_followed(string listType, string itemsField)
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { AllowAnonymous = true });
        var (clientEnd, serverEnd) = InMemoryTransport.CreatePair();
        _ = Task.Run(() => runtime.ServeAsync(serverEnd, CancellationToken.None));
        await using var client = await ArcpClient.ConnectAsync(new EmptyPagesWithNext(clientEnd, listType, itemsField), new ClientOptions(), CancellationToken.None);
        var workflow = new CountingWorkflow("paged", ["one", "two", "three"]);
        var jobId = (await new StepRunner(client).StartAsync(workflow.Definition, null, null, null, null, CancellationToken.None)).JobId;

        var refused = await Assert.ThrowsAsync<ArcpException>(() => listType == MessageTypes.CheckpointList
            ? client.QueryCheckpointPageAsync(jobId, null, 2, CancellationToken.None)
            : client.QueryEventPageAsync(jobId, null, 2, CancellationToken.None));

        Assert.Equal(ErrorCodes.Internal, refused.Code);
        Assert.Contains("not the last item of its page", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => folder.Dispose();

    /// <summary>Empties every page of one list type the runtime sends while keeping a <c>next</c> on it.</summary>
    private sealed class EmptyPagesWithNext(IArcpConnection inner, string listType, string itemsField) : IArcpConnection
    {
        public ValueTask SendAsync(string frame, CancellationToken cancellationToken) => inner.SendAsync(frame, cancellationToken);

        public async ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken)
        {
            var frame = await inner.ReceiveAsync(cancellationToken);
            if (frame is null || JsonNode.Parse(frame) is not JsonObject envelope || (string?)envelope["type"] != listType)
            {
                return frame;
            }

            envelope["payload"]![itemsField] = new JsonArray();
            envelope["payload"]!["next"] = "msg_01J0000000000000000000000";
            return envelope.ToJsonString();
        }

        public void Close() => inner.Close();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
