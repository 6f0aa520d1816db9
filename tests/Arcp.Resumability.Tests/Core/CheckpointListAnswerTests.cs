using System.Text.Json;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Tests.Core;

/// <summary>The checkpoint_list frame written from stored rows is the one the serializer writes from their summaries.</summary>
public sealed class CheckpointListAnswerTests
{
    private static readonly DateTimeOffset Recorded = new(2026, 12, 2, 13, 0, 0, 123, TimeSpan.Zero);

    public static TheoryData<string> Outputs => new()
    {
        "{\"step\":1,\"text\":\"caf\\u00e9 \\ud83d\\ude00\",\"list\":[1,2.5,true,null,{\"x\":\"y\"}]}",
        "\"text with \\\"quotes\\\" and \\n\"",
        "42",
        "[]",
        "null",
        "{ \"spaced\" : [ 1 , 2 ] }",
    };

    [Theory]
    [MemberData(nameof(Outputs))]
    public void A_stored_output_goes_into_the_payload_as_the_serializer_would_write_it(string output)
    {
        CheckpointRecord[] rows =
        [
            new("chk_1", "job_1", 0, "first", "msg_1", "key-1", Recorded, output)
            {
                DefinitionVersion = "v1",
                StartedAt = Recorded.AddSeconds(-1),
                Attempts = 2,
                DurationMs = 1000,
            },
            new("chk_2", "job_1", 1, "stép \"2\"", "msg_2", "key-2", Recorded, "{\"last\":true}"),
        ];

        var header = Envelope.Header(MessageTypes.CheckpointList, "ses_1", "job_1", "msg_query") with { TraceId = "trace-1" };

        var answer = EnvelopeCodec.Parse(CheckpointListAnswer.Frame(header, rows, "chk_2"));

        var expected = new CheckpointListPayload([.. rows.Select(r => JobSummaries.Of(r, includeOutput: true))]) { Next = "chk_2" };
        Assert.Equal(Canonical(ArcpJson.ToElement(expected)), Canonical(answer.Payload));
        Assert.Equal(header with { Payload = answer.Payload }, answer);
        var read = ArcpJson.Deserialize<CheckpointListPayload>(answer.Payload);
        Assert.Equal(ArcpJson.ToText(expected.Checkpoints[0].Output), ArcpJson.ToText(read.Checkpoints[0].Output));
        Assert.Equal("chk_2", read.Next);
    }

    [Fact]
    public void An_output_nested_deeper_than_its_place_in_a_frame_allows_is_refused_not_sent_as_a_frame_the_client_drops()
    {
        var fits = new string('[', ArcpJson.MaxDepth - 4) + new string(']', ArcpJson.MaxDepth - 4);
        var tooDeep = '[' + fits + ']';

        var header = Envelope.Header(MessageTypes.CheckpointList, "ses_1", "job_1", "msg_query");
        var sent = EnvelopeCodec.Parse(CheckpointListAnswer.Frame(header, [Row(fits)], null));
        Assert.Equal(ArcpJson.MaxDepth - 4, Depth(sent.Payload.GetProperty("checkpoints")[0].GetProperty("output")));

        var refused = Assert.Throws<ArcpException>(() => CheckpointListAnswer.Frame(header, [Row(tooDeep)], null));
        Assert.Equal(ErrorCodes.DataLoss, refused.Code);
        Assert.Contains("chk_deep", refused.Message, StringComparison.Ordinal);
    }

    private static CheckpointRecord Row(string output) => new("chk_deep", "job_1", 0, "deep", "msg_1", "key-1", Recorded, output);

    private static int Depth(JsonElement element) => element.ValueKind == JsonValueKind.Array && element.GetArrayLength() > 0 ? 1 + Depth(element[0]) : element.ValueKind == JsonValueKind.Array ? 1 : 0;

    /// <summary>The same JSON text for equal values, whatever the spacing or escaping of the input.</summary>
    private static string Canonical(JsonElement element) => JsonSerializer.Serialize(element);
}
