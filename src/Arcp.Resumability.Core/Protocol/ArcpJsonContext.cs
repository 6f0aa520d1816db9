using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Arcp.Resumability.Protocol;

/// <summary>
/// Compile-time JSON contracts for the envelope and every wire payload, so a new process serializes its first frames
/// without reflecting over the records and emitting accessor code (most of the JSON share of a first job's start-up).
/// Metadata mode only: the one serializer and <see cref="ArcpJson.Options"/> still write every byte, as before.
/// </summary>
[JsonSourceGenerationOptions(
    GenerationMode = JsonSourceGenerationMode.Metadata,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    MaxDepth = ArcpJson.MaxDepth)]
[JsonSerializable(typeof(Envelope))]
[JsonSerializable(typeof(ArcpError))]
[JsonSerializable(typeof(ProcessIdentity))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(AuthBlock))]
[JsonSerializable(typeof(ClientIdentity))]
[JsonSerializable(typeof(RuntimeIdentity))]
[JsonSerializable(typeof(SessionOpenPayload))]
[JsonSerializable(typeof(SessionAcceptedPayload))]
[JsonSerializable(typeof(AckPayload))]
[JsonSerializable(typeof(NackPayload))]
[JsonSerializable(typeof(WorkflowStartPayload))]
[JsonSerializable(typeof(ToolInvokePayload))]
[JsonSerializable(typeof(JobAcceptedPayload))]
[JsonSerializable(typeof(JobStartedPayload))]
[JsonSerializable(typeof(JobProgressPayload))]
[JsonSerializable(typeof(JobHeartbeatPayload))]
[JsonSerializable(typeof(JobCheckpointPayload))]
[JsonSerializable(typeof(CheckpointSnapshot))]
[JsonSerializable(typeof(JobCompletedPayload))]
[JsonSerializable(typeof(ResumePayload))]
[JsonSerializable(typeof(EventEmitPayload))]
[JsonSerializable(typeof(SessionReplayComplete))]
[JsonSerializable(typeof(ReplayComplete))]
[JsonSerializable(typeof(StepLookupPayload))]
[JsonSerializable(typeof(StepOutcomePayload))]
[JsonSerializable(typeof(JobQueryPayload))]
[JsonSerializable(typeof(JobListPayload))]
[JsonSerializable(typeof(CheckpointQueryPayload))]
[JsonSerializable(typeof(CheckpointListPayload))]
[JsonSerializable(typeof(JobSummary))]
[JsonSerializable(typeof(JobOwner))]
[JsonSerializable(typeof(CheckpointSummary))]
[JsonSerializable(typeof(LogPayload))]
[JsonSerializable(typeof(StreamOpenPayload))]
[JsonSerializable(typeof(ThoughtChunkPayload))]
[JsonSerializable(typeof(StreamClosePayload))]
[JsonSerializable(typeof(EventQueryPayload))]
[JsonSerializable(typeof(EventListPayload))]
[JsonSerializable(typeof(EventSummary))]
[JsonSerializable(typeof(CancelPayload))]
[JsonSerializable(typeof(CancelAcceptedPayload))]
[JsonSerializable(typeof(CancelRefusedPayload))]
[JsonSerializable(typeof(SubscribePayload))]
[JsonSerializable(typeof(SubscriptionFilter))]
[JsonSerializable(typeof(SinceCursor))]
[JsonSerializable(typeof(SubscribeAcceptedPayload))]
[JsonSerializable(typeof(UnsubscribePayload))]
internal sealed partial class ArcpJsonContext : JsonSerializerContext;
