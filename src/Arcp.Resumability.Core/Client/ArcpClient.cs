using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Transports;
using Polly;

namespace Arcp.Resumability.Client;

/// <summary>
/// An ARCP client session. Commands are matched to their answers by <c>correlation_id</c> (a <c>nack</c>
/// without one by its <c>payload.ack_for</c>, as some peers send them); a <c>nack</c> becomes an
/// <see cref="ArcpException"/> carrying the runtime's structured error.
/// </summary>
public sealed partial class ArcpClient : IAsyncDisposable
{
    private readonly IArcpConnection connection;
    private readonly ClientOptions options;
    /// <summary>Built at the first throttling refusal (see <see cref="WaitOutThrottlingAsync"/>).</summary>
    private ResiliencePipeline? throttleRetry;
    private readonly ConcurrentDictionary<string, PendingRequest> pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource receiveStop = new();
    private readonly SemaphoreSlim resumeGate = new(1, 1);
    private readonly ConcurrentDictionary<string, ArcpSubscription> subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancelRequest> cancelRequests = new(StringComparer.Ordinal);
    private Task receiveLoop = Task.CompletedTask;
    private Exception? connectionFault;

    /// <summary>A refusal of a message no request waited for, when it is the last frame the runtime sent.</summary>
    private ArcpError? lastWord;
    private string? openingId;

    /// <summary>
    /// The replay of the resume being answered, if any (the resume gate allows one at a time): uncorrelated frames
    /// between its ack and its marker belong to it. A field, so the frames of every step (a progress's ack) are not
    /// checked against a copy of all pending requests.
    /// </summary>
    private ReplayCollector? activeReplay;

    private ArcpClient(IArcpConnection connection, ClientOptions options)
    {
        this.connection = connection;
        this.options = options;
        options.ThrottleRetry?.Validate();
    }

    public string SessionId { get; private set; } = string.Empty;

    /// <summary>False once the connection to the runtime has ended (closed by either side, or broken): the session serves nothing more.</summary>
    public bool IsConnected => !receiveLoop.IsCompleted;

    public JsonObject RuntimeCapabilities { get; private set; } = [];

    public RuntimeIdentity? RuntimeIdentity { get; private set; }

    /// <summary>
    /// Whether the runtime advertised <see cref="MessageTypes.ResumabilityExtension"/>. Without it the extension's
    /// messages, runtime-driven jobs and §19 resume (whose replay only our extension's marker ends) fail at once
    /// with FAILED_PRECONDITION instead of waiting for an answer that will not come.
    /// </summary>
    public bool SupportsResumability =>
        RuntimeCapabilities["extensions"] is JsonArray extensions
        && extensions.Any(e => e is JsonValue v && v.TryGetValue(out string? name) && name == MessageTypes.ResumabilityExtension);

    /// <summary>The advertised heartbeat interval (§10.3; 30 seconds when not advertised).</summary>
    public TimeSpan HeartbeatInterval =>
        RuntimeCapabilities["heartbeat_interval_seconds"] is JsonValue v && v.TryGetValue(out int seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(30);

    /// <summary>Opens a session over <paramref name="connection"/> (§8.1) and starts receiving.</summary>
    public static async Task<ArcpClient> ConnectAsync(IArcpConnection connection, ClientOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        var client = new ArcpClient(connection, options);
        client.receiveLoop = Task.Run(() => client.ReceiveLoopAsync(client.receiveStop.Token), CancellationToken.None);
        try
        {
            var capabilities = new JsonObject { ["durable_jobs"] = true, ["checkpoints"] = true };
            if (options.Auth.Scheme == "none")
            {
                capabilities["anonymous"] = true;
            }

            var open = Envelope.Create(MessageTypes.SessionOpen, new SessionOpenPayload(options.Auth, options.Identity, capabilities)) with
            {
                Extensions = new JsonObject
                {
                    [MessageTypes.ProcessExtension] = ProcessIdentity.Current.ToExtension(),
                },
            };
            client.openingId = open.Id;
            var answer = await client.RequestAsync(open, cancellationToken).ConfigureAwait(false);
            if (answer.Type == MessageTypes.SessionRejected)
            {
                // Not waited out even when RATE_LIMITED: that wait is the failed-authentication throttle's, and it
                // is aimed at guessers; the caller decides whether to connect again.
                throw new ArcpException(answer.PayloadAs<ArcpError>());
            }

            var accepted = answer.PayloadAs<SessionAcceptedPayload>();
            client.SessionId = accepted.SessionId;
            client.RuntimeCapabilities = accepted.Capabilities;
            client.RuntimeIdentity = accepted.Runtime;
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Sends <c>workflow.start</c> for a job this client runs itself; a repeated idempotency key with the
    /// same input returns the existing job.
    /// </summary>
    public Task<StartedJob> StartWorkflowAsync(string workflow, JsonNode? inputs, string? name, string? idempotencyKey, CancellationToken cancellationToken) =>
        StartAsync(workflow, inputs, name, idempotencyKey, "client", cancellationToken);

    /// <summary>Starts a new job, driven by this client, that retries the failed or cancelled job <paramref name="retryOf"/>.</summary>
    public Task<StartedJob> StartRetryAsync(string workflow, JsonNode? inputs, string? name, string retryOf, CancellationToken cancellationToken) =>
        StartAsync(workflow, inputs, name, null, "client", cancellationToken, retryOf);

    /// <summary>
    /// Starts a job the runtime runs itself (it must have <paramref name="workflow"/> registered); follow it with
    /// <see cref="SubscribeAsync"/> or <see cref="JobWaits.WaitForJobAsync"/>.
    /// </summary>
    public Task<StartedJob> StartOnRuntimeAsync(string workflow, JsonNode? inputs, string? name, string? idempotencyKey, CancellationToken cancellationToken) =>
        StartAsync(workflow, inputs, name, idempotencyKey, "runtime", cancellationToken);

    /// <summary>
    /// §13.1: opens a subscription (with a backfill when <paramref name="request"/> has <c>since</c>). Its events
    /// are read from the result until it is disposed (which unsubscribes) or the session ends.
    /// </summary>
    public async Task<ArcpSubscription> SubscribeAsync(SubscribePayload request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var answer = await RequestAsync(NewCommand(MessageTypes.Subscribe, request), cancellationToken).ConfigureAwait(false);
        var id = Expect(answer, MessageTypes.SubscribeAccepted).PayloadAs<SubscribeAcceptedPayload>().SubscriptionId;

        // Registered by the receive loop as the answer arrived, so the events right behind it were kept.
        return subscriptions.TryGetValue(id, out var subscription) ? subscription : throw Malformed(answer, "subscription_id");
    }

    private async Task<StartedJob> StartAsync(string workflow, JsonNode? inputs, string? name, string? idempotencyKey, string driver, CancellationToken cancellationToken, string? retryOf = null)
    {
        if (driver == "runtime")
        {
            RequireResumability("a job the runtime runs itself (workflow.start with the driver extension)");
        }

        var command = NewCommand(MessageTypes.WorkflowStart, new WorkflowStartPayload(workflow, inputs) { Name = name, RetryOf = retryOf }) with
        {
            IdempotencyKey = idempotencyKey,
            Extensions = new JsonObject { [MessageTypes.DriverExtension] = driver },
        };
        var answer = await RequestAsync(command, cancellationToken).ConfigureAwait(false);
        var accepted = Expect(answer, MessageTypes.JobAccepted).PayloadAs<JobAcceptedPayload>();
        return new StartedJob(answer.JobId ?? throw Malformed(answer, "job_id"), accepted.Existing == true, accepted.State, answer.Id);
    }

    /// <summary>
    /// §19 resume: the runtime replays the job's stream after <paramref name="afterMessageId"/>, byte for
    /// byte, then ends with the <c>resume.replay_complete</c> marker naming the checkpoint to continue from.
    /// </summary>
    public Task<ResumeResult> ResumeAsync(string jobId, string? afterMessageId, string? checkpointId, CancellationToken cancellationToken) =>
        ResumeAsync(jobId, afterMessageId, checkpointId, onRuntime: false, cancellationToken);

    /// <summary>
    /// Resumes a job for the runtime to drive on (it must have the job's workflow registered): the replay
    /// comes back as usual; follow the job's new events with <see cref="SubscribeAsync"/>.
    /// </summary>
    public Task<ResumeResult> ResumeOnRuntimeAsync(string jobId, CancellationToken cancellationToken) =>
        ResumeAsync(jobId, null, null, onRuntime: true, cancellationToken);

    /// <summary>
    /// Resumes a job replaying only what follows the anchor checkpoint (<paramref name="checkpointId"/>, else the
    /// latest), not its whole history, for a client that continues from the marker's checkpoint anyway.
    /// </summary>
    public Task<ResumeResult> ResumeAfterCheckpointAsync(string jobId, string? checkpointId, CancellationToken cancellationToken) =>
        ResumeAsync(jobId, null, checkpointId, onRuntime: false, cancellationToken, afterCheckpoint: true);

    private async Task<ResumeResult> ResumeAsync(string jobId, string? afterMessageId, string? checkpointId, bool onRuntime, CancellationToken cancellationToken, bool afterCheckpoint = false)
    {
        RequireResumability("resume (its replay ends with the extension's resume.replay_complete marker)");

        // One replay at a time: frames between the ack and the marker belong to it.
        await resumeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = NewCommand(MessageTypes.Resume, new ResumePayload { AfterMessageId = afterMessageId, CheckpointId = checkpointId, IncludeOpenStreams = false }) with
            {
                JobId = jobId,
                Extensions = onRuntime
                    ? new JsonObject { [MessageTypes.DriverExtension] = "runtime" }
                    : afterCheckpoint
                        // Optional (§21.2): a runtime that does not know it ignores it and replays the whole stream.
                        ? new JsonObject { [MessageTypes.ReplayExtension] = MessageTypes.ReplayAfterCheckpoint, ["optional"] = true }
                        : null,
            };
            var replay = new ReplayCollector();
            var answer = await RequestAsync(command, replay, cancellationToken).ConfigureAwait(false);
            Expect(answer, MessageTypes.EventEmit);
            var marker = answer.PayloadAs<EventEmitPayload>();
            if (!marker.Is(MessageTypes.ReplayCompleteEvent) || marker.Data is null)
            {
                throw Malformed(answer, "payload.data (resume.replay_complete)");
            }

            var complete = marker.Data.Deserialize<ReplayComplete>(ArcpJson.Options) ?? throw Malformed(answer, "payload.data");
            return new ResumeResult(replay.Frames, complete) { DataLoss = replay.DataLoss };
        }
        finally
        {
            resumeGate.Release();
        }
    }

    /// <summary>Asks whether a step outcome is recorded under <paramref name="idempotencyKey"/>.</summary>
    public async Task<StepOutcomePayload> LookupStepAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken)
    {
        var command = NewCommand(MessageTypes.StepLookup, new StepLookupPayload(idempotencyKey)) with { JobId = jobId };
        return Expect(await RequestAsync(command, cancellationToken).ConfigureAwait(false), MessageTypes.StepOutcome).PayloadAs<StepOutcomePayload>();
    }

    public async Task<IReadOnlyList<JobSummary>> QueryJobsAsync(JobQueryPayload query, CancellationToken cancellationToken)
    {
        var answer = await RequestAsync(NewCommand(MessageTypes.JobQuery, query), cancellationToken).ConfigureAwait(false);
        return Expect(answer, MessageTypes.JobList).PayloadAs<JobListPayload>().Jobs;
    }

    public Task<IReadOnlyList<CheckpointSummary>> QueryCheckpointsAsync(string jobId, string? checkpointId, CancellationToken cancellationToken) =>
        QueryCheckpointsAsync(jobId, checkpointId, null, cancellationToken);

    /// <param name="last">Only the job's last this many checkpoints (null: all of them).</param>
    public async Task<IReadOnlyList<CheckpointSummary>> QueryCheckpointsAsync(string jobId, string? checkpointId, int? last, CancellationToken cancellationToken)
    {
        var command = NewCommand(MessageTypes.CheckpointQuery, new CheckpointQueryPayload { CheckpointId = checkpointId, Last = last }) with { JobId = jobId };
        return CheckpointListReader.Read(Expect(await RequestAsync(command, cancellationToken).ConfigureAwait(false), MessageTypes.CheckpointList).Payload).Checkpoints;
    }

    /// <summary>
    /// One page of the job's checkpoints (outputs included) after <paramref name="afterCheckpointId"/>, from the first
    /// when null: continue with <c>Next</c> as <paramref name="afterCheckpointId"/> while it is set. A runtime that does
    /// not page answers with every checkpoint and no <c>Next</c>.
    /// </summary>
    public async Task<CheckpointListPayload> QueryCheckpointPageAsync(string jobId, string? afterCheckpointId, int? limit, CancellationToken cancellationToken)
    {
        // 'limit' is what asks for a page: a first page names no checkpoint to continue after.
        var command = NewCommand(MessageTypes.CheckpointQuery, new CheckpointQueryPayload { AfterCheckpointId = afterCheckpointId, Limit = limit ?? CheckpointQueryPayload.MaxLimit }) with { JobId = jobId };
        var page = CheckpointListReader.Read(Expect(await RequestAsync(command, cancellationToken).ConfigureAwait(false), MessageTypes.CheckpointList).Payload);
        RequirePageProgress(MessageTypes.CheckpointList, page.Next, page.Checkpoints.Count == 0 ? null : page.Checkpoints[^1].CheckpointId);
        return page;
    }

    /// <summary>
    /// §10.4: asks the runtime to cancel a job. Accepted means a <c>job.cancelled</c> follows: at once for a job
    /// nobody drives, else when its owner reaches a clean checkpoint. A refusal (already terminal, not cancellable)
    /// is an answer, not an error; a job of another principal is refused with PERMISSION_DENIED.
    /// </summary>
    public async Task<CancelOutcome> CancelJobAsync(string jobId, string? reason, TimeSpan? deadline, CancellationToken cancellationToken)
    {
        var payload = new CancelPayload("job", jobId) { Reason = reason, DeadlineMs = deadline is { } d ? (long)d.TotalMilliseconds : null };
        var answer = await RequestAsync(NewCommand(MessageTypes.Cancel, payload), cancellationToken).ConfigureAwait(false);
        return answer.Type switch
        {
            MessageTypes.CancelAccepted => new CancelOutcome(true, answer.PayloadAs<CancelAcceptedPayload>().State, null, null),
            MessageTypes.CancelRefused when answer.PayloadAs<CancelRefusedPayload>() is var refused => new CancelOutcome(false, null, refused.Reason, refused.Message),
            _ => throw Malformed(answer, "cancel.accepted or cancel.refused"),
        };
    }

    /// <summary>
    /// Fires when the runtime relays a §10.4 cancel for <paramref name="jobId"/> to this session (it drives the job);
    /// a request that arrived before the call is reported too.
    /// </summary>
    public CancelRequest CancellationFor(string jobId) => cancelRequests.GetOrAdd(jobId, _ => new CancelRequest());

    /// <summary>How many jobs this session watches for a relayed cancel (tests: it must not grow with the jobs it ended).</summary>
    internal int CancelWatches => cancelRequests.Count;

    /// <summary>
    /// The job's canonical event stream after <paramref name="afterMessageId"/> (all of it when null), in order,
    /// following the runtime's pages.
    /// </summary>
    public async Task<IReadOnlyList<EventSummary>> QueryEventsAsync(string jobId, string? afterMessageId, CancellationToken cancellationToken)
    {
        var events = new List<EventSummary>();
        var after = afterMessageId;
        do
        {
            var page = await QueryEventPageAsync(jobId, after, null, cancellationToken).ConfigureAwait(false);
            events.AddRange(page.Events);
            after = page.Next;
        }
        while (after is not null);

        return events;
    }

    /// <summary>One page of the job's event stream: continue with <c>Next</c> as <paramref name="afterMessageId"/> while it is set.</summary>
    public async Task<EventListPayload> QueryEventPageAsync(string jobId, string? afterMessageId, int? limit, CancellationToken cancellationToken)
    {
        var command = NewCommand(MessageTypes.EventQuery, new EventQueryPayload { AfterMessageId = afterMessageId, Limit = limit }) with { JobId = jobId };
        var page = Expect(await RequestAsync(command, cancellationToken).ConfigureAwait(false), MessageTypes.EventList).PayloadAs<EventListPayload>();
        RequirePageProgress(MessageTypes.EventList, page.Next, page.Events.Count == 0 ? null : page.Events[^1].MessageId);
        return page;
    }

    /// <summary>
    /// A page's <c>next</c> must name its own last item: a runtime answering otherwise (an empty page with a
    /// <c>next</c>, or a <c>next</c> pointing back) would keep a reader that follows it paging without end.
    /// </summary>
    private static void RequirePageProgress(string type, string? next, string? lastOnPage)
    {
        if (next is not null && !string.Equals(next, lastOnPage, StringComparison.Ordinal))
        {
            throw new ArcpException(ArcpError.Create(ErrorCodes.Internal, $"The runtime's '{type}' names next '{next}', which is not the last item of its page; paging stopped."));
        }
    }

    /// <summary>Emits a job event the session owns and waits until the runtime has persisted it.</summary>
    public async Task<AckPayload> EmitAsync<TPayload>(string type, string jobId, TPayload payload, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var envelope = NewCommand(type, payload) with { JobId = jobId, IdempotencyKey = idempotencyKey };
        var ack = Expect(await RequestAsync(envelope, cancellationToken).ConfigureAwait(false), MessageTypes.Ack).PayloadAs<AckPayload>();
        if (MessageTypes.IsTerminalJobEvent(type))
        {
            // The job is over and never driven again, so its cancel watch goes: a session that drives job after job
            // (a worker slot) keeps nothing per finished job. Not disposed: the run that ended it may still read it.
            cancelRequests.TryRemove(jobId, out _);
        }

        return ack;
    }

    /// <summary>
    /// Posts one job event (no ack awaited, as <see cref="PostAsync"/>) and emits another right behind it, waiting until
    /// the runtime has persisted the second; the transport may hand both over together. A step's progress and its
    /// checkpoint: the runtime records them in one transaction, and finds the checkpoint at once instead of waiting
    /// for it with the progress held. Not for a terminal event (see <see cref="EmitAsync"/> for what ending a job drops).
    /// </summary>
    internal async Task<AckPayload> PostThenEmitAsync<TPosted, TPayload>(string postedType, TPosted posted, string type, string jobId, TPayload payload, string? idempotencyKey, CancellationToken cancellationToken)
    {
        ThrowIfFaulted();
        var first = EnvelopeCodec.Serialize(NewHeader(postedType) with { JobId = jobId }, posted);
        var header = NewHeader(type) with { JobId = jobId, IdempotencyKey = idempotencyKey };
        var frame = EnvelopeCodec.Serialize(header, payload);
        return Expect(await RequestAsync(header, null, cancellationToken, first, frame).ConfigureAwait(false), MessageTypes.Ack).PayloadAs<AckPayload>();
    }

    /// <summary>Emits an event on one of the job's streams (§11) and waits until the runtime has persisted it.</summary>
    public async Task<AckPayload> EmitOnStreamAsync<TPayload>(string type, string jobId, string streamId, TPayload payload, CancellationToken cancellationToken)
    {
        var envelope = NewCommand(type, payload) with { JobId = jobId, StreamId = streamId };
        return Expect(await RequestAsync(envelope, cancellationToken).ConfigureAwait(false), MessageTypes.Ack).PayloadAs<AckPayload>();
    }

    /// <summary>
    /// Emits a job event without waiting for its acknowledgement. Ordering on the session still holds,
    /// so a later awaited event proves this one was persisted; a refusal surfaces on that later event.
    /// </summary>
    public async Task PostAsync<TPayload>(string type, string jobId, TPayload payload, CancellationToken cancellationToken)
    {
        ThrowIfFaulted();
        await connection.SendAsync(EnvelopeCodec.Serialize(NewHeader(type) with { JobId = jobId }, payload), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a command and waits for its first correlated answer.</summary>
    public Task<Envelope> RequestAsync(Envelope command, CancellationToken cancellationToken) => RequestAsync(command, null, cancellationToken);

    /// <summary>Closes the session gracefully (§9); jobs it still drives become resumable at once.</summary>
    public Task CloseAsync(CancellationToken cancellationToken) =>
        connectionFault is null && SessionId.Length > 0
            ? RequestAsync(NewCommand(MessageTypes.SessionClose, new JsonObject()), cancellationToken)
            : Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        connection.Close();
        await receiveStop.CancelAsync().ConfigureAwait(false);
        try
        {
            await receiveLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Expected: the loop was stopped.
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        FailPending(new ObjectDisposedException(nameof(ArcpClient)));
        foreach (var request in cancelRequests.Values)
        {
            request.Dispose();
        }

        receiveStop.Dispose();
        resumeGate.Dispose();
    }
}
