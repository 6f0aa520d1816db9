using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Client;

/// <summary>
/// An ARCP client session. Commands are matched to their answers by <c>correlation_id</c>; a
/// <c>nack</c> becomes an <see cref="ArcpException"/> carrying the runtime's structured error.
/// </summary>
public sealed class ArcpClient : IAsyncDisposable
{
    private readonly IArcpConnection connection;
    private readonly ClientOptions options;
    private readonly ConcurrentDictionary<string, PendingRequest> pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource receiveStop = new();
    private readonly SemaphoreSlim resumeGate = new(1, 1);
    private readonly ConcurrentDictionary<string, Channel<Envelope>> subscriptionEvents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancelRequest> cancelRequests = new(StringComparer.Ordinal);
    private Task receiveLoop = Task.CompletedTask;
    private Exception? connectionFault;

    private ArcpClient(IArcpConnection connection, ClientOptions options)
    {
        this.connection = connection;
        this.options = options;
    }

    public string SessionId { get; private set; } = string.Empty;

    public JsonObject RuntimeCapabilities { get; private set; } = [];

    public RuntimeIdentity? RuntimeIdentity { get; private set; }

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
            var answer = await client.RequestAsync(open, cancellationToken).ConfigureAwait(false);
            if (answer.Type == MessageTypes.SessionRejected)
            {
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

    /// <summary>
    /// Starts a job the runtime runs itself (it must have <paramref name="workflow"/> registered). Its events
    /// arrive on <see cref="Subscription"/>(<see cref="StartedJob.SubscriptionId"/>).
    /// </summary>
    public Task<StartedJob> StartOnRuntimeAsync(string workflow, JsonNode? inputs, string? name, string? idempotencyKey, CancellationToken cancellationToken) =>
        StartAsync(workflow, inputs, name, idempotencyKey, "runtime", cancellationToken);

    /// <summary>§13.1: subscribes (with a backfill when <paramref name="request"/> has <c>since</c>); events arrive on the returned reader.</summary>
    public async Task<ArcpSubscription> SubscribeAsync(SubscribePayload request, CancellationToken cancellationToken)
    {
        var answer = await RequestAsync(NewCommand(MessageTypes.Subscribe, request), cancellationToken).ConfigureAwait(false);
        var id = Expect(answer, MessageTypes.SubscribeAccepted).PayloadAs<SubscribeAcceptedPayload>().SubscriptionId;
        return Subscription(id);
    }

    public async Task UnsubscribeAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        Expect(await RequestAsync(NewCommand(MessageTypes.Unsubscribe, new UnsubscribePayload { SubscriptionId = subscriptionId }) with { SubscriptionId = subscriptionId }, cancellationToken).ConfigureAwait(false), MessageTypes.Ack);
        if (subscriptionEvents.TryRemove(subscriptionId, out var events))
        {
            events.Writer.TryComplete();
        }
    }

    /// <summary>The events delivered under <paramref name="subscriptionId"/> (explicit, or the implicit one of a runtime-driven job).</summary>
    public ArcpSubscription Subscription(string subscriptionId) => new(subscriptionId, EventsOf(subscriptionId).Reader);

    private async Task<StartedJob> StartAsync(string workflow, JsonNode? inputs, string? name, string? idempotencyKey, string driver, CancellationToken cancellationToken)
    {
        var command = NewCommand(MessageTypes.WorkflowStart, new WorkflowStartPayload(workflow, inputs) { Name = name }) with
        {
            IdempotencyKey = idempotencyKey,
            Extensions = new JsonObject { [MessageTypes.DriverExtension] = driver },
        };
        var answer = await RequestAsync(command, cancellationToken).ConfigureAwait(false);
        var accepted = Expect(answer, MessageTypes.JobAccepted).PayloadAs<JobAcceptedPayload>();
        return new StartedJob(answer.JobId ?? throw Malformed(answer, "job_id"), accepted.Existing == true, accepted.State, answer.Id)
        {
            SubscriptionId = answer.Extensions?[MessageTypes.SubscriptionExtension]?.GetValue<string>(),
        };
    }

    private Channel<Envelope> EventsOf(string subscriptionId) =>
        subscriptionEvents.GetOrAdd(subscriptionId, _ => Channel.CreateBounded<Envelope>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true }));

    /// <summary>
    /// §19 resume: the runtime replays the job's stream after <paramref name="afterMessageId"/>, byte for
    /// byte, then ends with the <c>resume.replay_complete</c> marker naming the checkpoint to continue from.
    /// </summary>
    public Task<ResumeResult> ResumeAsync(string jobId, string? afterMessageId, string? checkpointId, CancellationToken cancellationToken) =>
        ResumeAsync(jobId, afterMessageId, checkpointId, onRuntime: false, cancellationToken);

    /// <summary>
    /// Resumes a job for the runtime to drive on (it must have the job's workflow registered): the replay
    /// comes back as usual, then the job's new events arrive on the subscription named in the result.
    /// </summary>
    public Task<ResumeResult> ResumeOnRuntimeAsync(string jobId, CancellationToken cancellationToken) =>
        ResumeAsync(jobId, null, null, onRuntime: true, cancellationToken);

    private async Task<ResumeResult> ResumeAsync(string jobId, string? afterMessageId, string? checkpointId, bool onRuntime, CancellationToken cancellationToken)
    {
        // One replay at a time: frames between the ack and the marker belong to it.
        await resumeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = NewCommand(MessageTypes.Resume, new ResumePayload { AfterMessageId = afterMessageId, CheckpointId = checkpointId, IncludeOpenStreams = false }) with
            {
                JobId = jobId,
                Extensions = onRuntime ? new JsonObject { [MessageTypes.DriverExtension] = "runtime" } : null,
            };
            var replay = new ReplayCollector();
            var answer = await RequestAsync(command, replay, cancellationToken).ConfigureAwait(false);
            Expect(answer, MessageTypes.EventEmit);
            var marker = answer.PayloadAs<EventEmitPayload>();
            if (marker.Type != MessageTypes.ReplayCompleteEvent || marker.Data is null)
            {
                throw Malformed(answer, "payload.data (resume.replay_complete)");
            }

            var complete = marker.Data.Deserialize<ReplayComplete>(ArcpJson.Options) ?? throw Malformed(answer, "payload.data");
            return new ResumeResult(replay.Frames, complete) { SubscriptionId = replay.SubscriptionId, DataLoss = replay.DataLoss };
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

    public async Task<IReadOnlyList<CheckpointSummary>> QueryCheckpointsAsync(string jobId, string? checkpointId, CancellationToken cancellationToken)
    {
        var command = NewCommand(MessageTypes.CheckpointQuery, new CheckpointQueryPayload { CheckpointId = checkpointId }) with { JobId = jobId };
        return Expect(await RequestAsync(command, cancellationToken).ConfigureAwait(false), MessageTypes.CheckpointList).PayloadAs<CheckpointListPayload>().Checkpoints;
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

    /// <summary>The job's canonical event stream after <paramref name="afterMessageId"/> (all of it when null), in order.</summary>
    public async Task<IReadOnlyList<EventSummary>> QueryEventsAsync(string jobId, string? afterMessageId, CancellationToken cancellationToken)
    {
        var command = NewCommand(MessageTypes.EventQuery, new EventQueryPayload { AfterMessageId = afterMessageId }) with { JobId = jobId };
        return Expect(await RequestAsync(command, cancellationToken).ConfigureAwait(false), MessageTypes.EventList).PayloadAs<EventListPayload>().Events;
    }

    /// <summary>Emits a job event the session owns and waits until the runtime has persisted it.</summary>
    public async Task<AckPayload> EmitAsync<TPayload>(string type, string jobId, TPayload payload, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var envelope = NewCommand(type, payload) with { JobId = jobId, IdempotencyKey = idempotencyKey };
        return Expect(await RequestAsync(envelope, cancellationToken).ConfigureAwait(false), MessageTypes.Ack).PayloadAs<AckPayload>();
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
        var envelope = NewCommand(type, payload) with { JobId = jobId };
        await connection.SendAsync(EnvelopeCodec.Serialize(envelope), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a command and waits for its first correlated answer.</summary>
    public Task<Envelope> RequestAsync(Envelope command, CancellationToken cancellationToken) => RequestAsync(command, null, cancellationToken);

    /// <summary>Closes the session gracefully (§9); jobs it still drives become resumable at once.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        if (connectionFault is null && SessionId.Length > 0)
        {
            await RequestAsync(NewCommand(MessageTypes.SessionClose, new JsonObject()), cancellationToken).ConfigureAwait(false);
        }
    }

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

    private async Task<Envelope> RequestAsync(Envelope command, ReplayCollector? replay, CancellationToken cancellationToken)
    {
        ThrowIfFaulted();
        var request = new PendingRequest(replay);
        if (!pending.TryAdd(command.Id, request))
        {
            throw new InvalidOperationException($"A request with id '{command.Id}' is already pending.");
        }

        try
        {
            await connection.SendAsync(EnvelopeCodec.Serialize(command), cancellationToken).ConfigureAwait(false);
            var answer = await request.Answer.Task.WaitAsync(options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            if (answer.Type == MessageTypes.Nack)
            {
                throw new ArcpException(answer.PayloadAs<NackPayload>().ToError());
            }

            return answer;
        }
        catch (TimeoutException ex)
        {
            throw new ArcpException(
                ArcpError.Create(ErrorCodes.DeadlineExceeded, $"No answer to '{command.Type}' ({command.Id}) within {options.RequestTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s."),
                ex);
        }
        finally
        {
            pending.TryRemove(command.Id, out _);
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                string? frame;
                try
                {
                    frame = await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidFrameException)
                {
                    // A frame we cannot read answers nothing we wait for; its request times out if it mattered.
                    continue;
                }

                if (frame is null)
                {
                    break;
                }

                Route(frame);
            }

            FailPending(new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, "The runtime closed the connection.")));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposal.
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            FailPending(new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, $"The connection to the runtime failed: {ex.Message}"), ex));
        }
    }

    private void Route(string frame)
    {
        Envelope envelope;
        try
        {
            envelope = EnvelopeCodec.Parse(frame);
        }
        catch (EnvelopeFormatException)
        {
            // A runtime that sends garbage cannot be reasoned with; the pending requests time out or fail on close.
            return;
        }

        if (envelope.CorrelationId is { } correlation && pending.TryGetValue(correlation, out var request))
        {
            if (request.Replay is { } replay && envelope.Type == MessageTypes.Ack)
            {
                replay.SubscriptionId = envelope.Extensions?[MessageTypes.SubscriptionExtension]?.GetValue<string>();
                replay.Started = true;
                return;
            }

            if (request.Replay is { Started: true } lossy && envelope.Type == MessageTypes.EventEmit
                && envelope.PayloadAs<EventEmitPayload>() is { Type: MessageTypes.DataLossEvent, Data: { } lost })
            {
                lossy.DataLoss = lost.Deserialize<ArcpError>(ArcpJson.Options);
                return;
            }

            request.Answer.TrySetResult(envelope);
            return;
        }

        if (envelope.Type == MessageTypes.SubscribeEvent && envelope.SubscriptionId is { } subscription)
        {
            EventsOf(subscription).Writer.TryWrite(envelope);
            return;
        }

        if (envelope.Type == MessageTypes.Cancel && envelope.JobId is { } cancelledJob)
        {
            CancellationFor(cancelledJob).Request(envelope.PayloadAs<CancelPayload>().Reason);
            return;
        }

        foreach (var waiting in pending.Values)
        {
            if (waiting.Replay is { Started: true } replay)
            {
                replay.Frames.Add(frame);
                return;
            }
        }
    }

    private void FailPending(Exception error)
    {
        connectionFault ??= error;
        foreach (var request in pending.Values)
        {
            request.Answer.TrySetException(error);
        }
    }

    private void ThrowIfFaulted()
    {
        if (connectionFault is { } fault)
        {
            throw fault is ArcpException arcp ? new ArcpException(arcp.Error, fault) : new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, fault.Message), fault);
        }
    }

    private Envelope NewCommand<TPayload>(string type, TPayload payload) => Envelope.Create(type, payload, SessionId.Length == 0 ? null : SessionId);

    private static Envelope Expect(Envelope answer, string type) =>
        answer.Type == type ? answer : throw new ArcpException(ArcpError.Create(ErrorCodes.Internal, $"Expected '{type}' but the runtime answered '{answer.Type}' ({answer.Id})."));

    private static ArcpException Malformed(Envelope answer, string field) =>
        new(ArcpError.Create(ErrorCodes.Internal, $"The runtime's '{answer.Type}' ({answer.Id}) lacks '{field}'."));

    private sealed class PendingRequest(ReplayCollector? replay)
    {
        public TaskCompletionSource<Envelope> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ReplayCollector? Replay { get; } = replay;
    }

    private sealed class ReplayCollector
    {
        public bool Started { get; set; }

        public string? SubscriptionId { get; set; }

        public List<string> Frames { get; } = [];

        public ArcpError? DataLoss { get; set; }
    }
}

/// <summary>The answer to a cancel: accepted (with the job's state then) or refused with a §10.4 reason.</summary>
public sealed record CancelOutcome(bool Accepted, string? State, string? RefusedReason, string? Message);

/// <summary>A cancel request the runtime relayed for a job this session drives.</summary>
public sealed class CancelRequest : IDisposable
{
    private readonly CancellationTokenSource source = new();

    public CancellationToken Token => source.Token;

    public bool IsRequested => source.IsCancellationRequested;

    public string? Reason { get; private set; }

    internal void Request(string? reason)
    {
        Reason ??= reason;
        source.Cancel();
    }

    public void Dispose() => source.Dispose();
}

public sealed record StartedJob(string JobId, bool Existing, string State, string AcceptedMessageId)
{
    /// <summary>For a runtime-driven job: the implicit subscription its events arrive on.</summary>
    public string? SubscriptionId { get; init; }
}

/// <summary>A subscription's <c>subscribe.event</c> envelopes, in arrival order (the original event is <c>payload.event</c>).</summary>
public sealed record ArcpSubscription(string Id, ChannelReader<Envelope> Events);

/// <summary>What a resume returned: the replayed frames verbatim and the end-of-replay marker.</summary>
public sealed record ResumeResult(IReadOnlyList<string> ReplayedFrames, ReplayComplete Complete)
{
    /// <summary>For a runtime-driven resume: the implicit subscription the job's new events arrive on.</summary>
    public string? SubscriptionId { get; init; }

    /// <summary>Set when retention purged part of the requested replay (§19 DATA_LOSS); the replay holds what was left.</summary>
    public ArcpError? DataLoss { get; init; }
}
