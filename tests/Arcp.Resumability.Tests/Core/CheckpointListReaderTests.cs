using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Tests.Core;

/// <summary>The client's read of a checkpoint_list page is the serializer's, field for field.</summary>
public sealed class CheckpointListReaderTests
{
    [Fact]
    public void A_page_reads_as_the_serializer_reads_it()
    {
        CheckpointSummary[] checkpoints =
        [
            new("chk_1", "job_1", "first", 0, "msg_1", "key-1", "2026-12-03T08:00:00.123Z")
            {
                Output = JsonNode.Parse("{\"step\":1,\"text\":\"caf\\u00e9\",\"list\":[1,2.5,true,null,{\"x\":\"y\"}]}"),
                DefinitionVersion = "v1",
                StartedAt = "2026-12-03T07:59:59.123Z",
                Attempts = 2,
                DurationMs = 5_000_000_000,
            },
            new("chk_2", "job_1", "stép \"2\"", 1, "msg_2", "key-2", "2026-12-03T08:00:01.000Z") { Output = JsonValue.Create("text") },
            new("chk_3", "job_1", "third", 2, "msg_3", "key-3", "2026-12-03T08:00:02.000Z") { Output = new JsonArray(1, 2) },
            new("chk_4", "job_1", "fourth", 3, "msg_4", "key-4", "2026-12-03T08:00:03.000Z") { Output = JsonValue.Create(42) },
            new("chk_5", "job_1", "fifth", 4, "msg_5", "key-5", "2026-12-03T08:00:04.000Z"),
        ];
        var payload = ArcpJson.ToElement(new CheckpointListPayload(checkpoints) { Next = "chk_5" });
        // An unknown field is ignored, as the serializer ignores it.
        var withUnknown = JsonDocument.Parse(payload.GetRawText().Replace("\"step\":\"first\"", "\"step\":\"first\",\"later\":{\"a\":[1]}", StringComparison.Ordinal)).RootElement;

        var expected = ArcpJson.Deserialize<CheckpointListPayload>(withUnknown);
        var read = CheckpointListReader.Read(withUnknown);

        Assert.Equal(expected.Next, read.Next);
        Assert.Equal(expected.Checkpoints.Count, read.Checkpoints.Count);
        for (var i = 0; i < expected.Checkpoints.Count; i++)
        {
            Assert.Equal(expected.Checkpoints[i] with { Output = null }, read.Checkpoints[i] with { Output = null });
            Assert.Equal(ArcpJson.ToText(expected.Checkpoints[i].Output), ArcpJson.ToText(read.Checkpoints[i].Output));
            Assert.Equal(expected.Checkpoints[i].Output?.GetValueKind(), read.Checkpoints[i].Output?.GetValueKind());
        }
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"checkpoints\":{}}")]
    [InlineData("{\"checkpoints\":[1]}")]
    [InlineData("{\"checkpoints\":[{\"checkpoint_id\":1}]}")]
    [InlineData("{\"checkpoints\":[{\"step_index\":\"1\"}]}")]
    [InlineData("{\"checkpoints\":[{\"step_index\":null}]}")]
    [InlineData("{\"checkpoints\":[{\"step_index\":1.5}]}")]
    [InlineData("{\"checkpoints\":[{\"attempts\":4294967296}]}")]
    [InlineData("{\"checkpoints\":[{\"duration_ms\":true}]}")]
    [InlineData("{\"checkpoints\":[],\"next\":7}")]
    public void A_field_of_the_wrong_kind_is_refused_as_the_serializer_refuses_it(string payload)
    {
        var element = JsonDocument.Parse(payload).RootElement;

        Assert.ThrowsAny<JsonException>(() => ArcpJson.Deserialize<CheckpointListPayload>(element));
        Assert.ThrowsAny<JsonException>(() => CheckpointListReader.Read(element));
    }

    [Fact]
    public void A_list_without_checkpoints_is_refused()
    {
        Assert.ThrowsAny<JsonException>(() => CheckpointListReader.Read(JsonDocument.Parse("{\"next\":null}").RootElement));
    }
}
