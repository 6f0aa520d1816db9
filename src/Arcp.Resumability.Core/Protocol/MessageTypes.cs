using System.Text.Json.Nodes;

namespace Arcp.Resumability.Protocol;

/// <summary>Message type names used by this implementation (RFC 0001 §6.2 plus our namespaced extension).</summary>
public static class MessageTypes
{
    public const string SessionOpen = "session.open";
    public const string SessionAccepted = "session.accepted";
    public const string SessionRejected = "session.rejected";
    public const string SessionClose = "session.close";

    public const string Ping = "ping";
    public const string Pong = "pong";
    public const string Ack = "ack";
    public const string Nack = "nack";
    public const string Resume = "resume";

    public const string WorkflowStart = "workflow.start";
    public const string ToolInvoke = "tool.invoke";
    public const string JobAccepted = "job.accepted";
    public const string JobStarted = "job.started";
    public const string JobProgress = "job.progress";
    public const string JobHeartbeat = "job.heartbeat";
    public const string JobCheckpoint = "job.checkpoint";
    public const string JobCompleted = "job.completed";
    public const string JobFailed = "job.failed";
    public const string JobCancelled = "job.cancelled";

    public const string Subscribe = "subscribe";
    public const string SubscribeAccepted = "subscribe.accepted";
    public const string SubscribeEvent = "subscribe.event";
    public const string Unsubscribe = "unsubscribe";

    public const string Log = "log";
    public const string EventEmit = "event.emit";

    public const string Cancel = "cancel";
    public const string CancelAccepted = "cancel.accepted";
    public const string CancelRefused = "cancel.refused";

    public const string StreamOpen = "stream.open";
    public const string StreamChunk = "stream.chunk";
    public const string StreamClose = "stream.close";

    /// <summary>The extension this runtime advertises in <c>capabilities.extensions</c>.</summary>
    public const string ResumabilityExtension = "arcpx.resumability.v1";

    /// <summary>Asks whether a step outcome is recorded under an idempotency key (the re-issue check of §6.4).</summary>
    public const string StepLookup = "arcpx.resumability.step_lookup.v1";

    /// <summary>Answer to <see cref="StepLookup"/>.</summary>
    public const string StepOutcome = "arcpx.resumability.step_outcome.v1";

    /// <summary>Lists the caller's jobs; the protocol has no query message, so operators' views go through this.</summary>
    public const string JobQuery = "arcpx.resumability.job_query.v1";

    /// <summary>Answer to <see cref="JobQuery"/>.</summary>
    public const string JobList = "arcpx.resumability.job_list.v1";

    /// <summary>Lists a job's checkpoints in step order.</summary>
    public const string CheckpointQuery = "arcpx.resumability.checkpoint_query.v1";

    /// <summary>Answer to <see cref="CheckpointQuery"/>.</summary>
    public const string CheckpointList = "arcpx.resumability.checkpoint_list.v1";

    /// <summary>Reads a job's canonical event stream (progress, logs, thoughts, checkpoints) without taking it over, unlike <see cref="Resume"/>.</summary>
    public const string EventQuery = "arcpx.resumability.event_query.v1";

    /// <summary>Answer to <see cref="EventQuery"/>.</summary>
    public const string EventList = "arcpx.resumability.event_list.v1";

    /// <summary>The synthetic <c>event.emit</c> type that ends a subscription's backfill (§13.3).</summary>
    public const string BackfillCompleteEvent = "subscription.backfill_complete";

    /// <summary>
    /// Envelope extension on <c>workflow.start</c>/<c>resume</c> (and echoed on <c>job.accepted</c>): <c>"client"</c> when the
    /// client runs the steps itself, <c>"runtime"</c> to have a runtime that registered the workflow run them.
    /// </summary>
    public const string DriverExtension = "arcpx.resumability.driver.v1";

    /// <summary>The name <see cref="DriverExtension"/> had before §21.1 naming; still read from older clients of ours, never sent.</summary>
    public const string LegacyDriverExtension = "arcpx.resumability.driver";

    /// <summary>Envelope extension on <c>session.open</c> naming the peer's process (see <see cref="ProcessIdentity"/>), recorded with every lease it takes.</summary>
    public const string ProcessExtension = "arcpx.resumability.process.v1";

    /// <summary>Capability listing the workflows a runtime can run itself.</summary>
    public const string WorkflowsCapability = "arcpx.resumability.workflows.v1";

    /// <summary>Envelope extension naming the implicit subscription that carries a runtime-driven job's events.</summary>
    public const string SubscriptionExtension = "arcpx.resumability.subscription_id.v1";

    /// <summary>
    /// On a <c>resume</c> without <c>after_message_id</c>, <c>"after_checkpoint"</c> asks for the replay of only what
    /// follows the anchor checkpoint's event (§19 leaves the default open; ours stays the whole stream), so a resume
    /// costs the same whatever the job's history. Runtimes that do not know it replay the whole stream.
    /// </summary>
    public const string ReplayExtension = "arcpx.resumability.replay.v1";

    /// <summary>The <see cref="ReplayExtension"/> value asking for the replay after the anchor checkpoint only.</summary>
    public const string ReplayAfterCheckpoint = "after_checkpoint";

    /// <summary>Whether a <c>resume</c> asks for the replay after its anchor checkpoint only.</summary>
    public static bool WantsReplayAfterCheckpoint(JsonObject? extensions) => ReadString(extensions, ReplayExtension) == ReplayAfterCheckpoint;

    /// <summary>
    /// The driver a frame declares in <see cref="DriverExtension"/> (or, from older clients of ours, in
    /// <see cref="LegacyDriverExtension"/>); null when it declares none or not as a string.
    /// </summary>
    public static string? DeclaredDriver(JsonObject? extensions) =>
        ReadString(extensions, DriverExtension) ?? ReadString(extensions, LegacyDriverExtension);

    private static string? ReadString(JsonObject? extensions, string key) =>
        extensions?[key] is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    /// <summary>The <c>event.emit</c> type the runtime records when a job's owner missed its heartbeats (§10.3 "block").</summary>
    public const string JobBlockedEvent = "job.blocked";

    /// <summary>
    /// The <c>event.emit</c> payload type a runtime sends (never stores) to subscriptions that name a job in
    /// <c>filter.job_id</c>: the job's state and whether it is interrupted (not finished, and nobody holds a live
    /// lease on it). Sent once when the subscription starts and again on every change, including the ones no
    /// event announces (a lease released, expired, or left behind by a process that died).
    /// </summary>
    public const string JobStatusEvent = "arcpx.resumability.job_status";

    /// <summary>Asks a hosted runtime to shut down gracefully; only principals in the runtime's admin list may send it.</summary>
    public const string Shutdown = "arcpx.resumability.shutdown.v1";

    /// <summary>The <c>event.emit</c> payload type that closes a resume replay (the RFC leaves the marker open).</summary>
    public const string ReplayCompleteEvent = "resume.replay_complete";

    /// <summary>
    /// The <c>event.emit</c> payload type, correlated to a <c>resume</c>, that carries a DATA_LOSS error when
    /// retention purged part of the requested replay (§19); it comes before the replayed frames.
    /// </summary>
    public const string DataLossEvent = "resume.data_loss";

    /// <summary>Job events a job's owning session emits and the runtime persists into the job's canonical stream.</summary>
    public static bool IsOwnerEmittedJobEvent(string type) =>
        type is JobProgress or JobHeartbeat or JobCheckpoint or JobCompleted or JobFailed or JobCancelled or Log or StreamOpen or StreamChunk or StreamClose;

    public static bool IsTerminalJobEvent(string type) => type is JobCompleted or JobFailed or JobCancelled;

    private static readonly string[] CorePrefixes =
    [
        "session.", "job.", "workflow.", "tool.", "stream.", "human.", "permission.", "lease.", "subscribe", "artifact.", "agent.", "checkpoint.", "trace.",
    ];

    private static readonly HashSet<string> CoreBareTypes = new(StringComparer.Ordinal)
    {
        Ping, Pong, Ack, Nack, Cancel, CancelAccepted, CancelRefused, "interrupt", Resume, "backpressure", "unsubscribe", EventEmit, Log, "metric",
    };

    /// <summary>True for types in the core namespace (§21.3 answers those with UNIMPLEMENTED rather than dropping them).</summary>
    public static bool IsCoreType(string type) =>
        CoreBareTypes.Contains(type) || CorePrefixes.Any(p => type.StartsWith(p, StringComparison.Ordinal));
}
