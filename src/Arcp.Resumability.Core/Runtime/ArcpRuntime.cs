using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// An ARCP runtime over one store. Each connection is served as one session; the runtime persists
/// every envelope before delivering it and answers only through envelopes.
/// </summary>
public sealed partial class ArcpRuntime
{
    public const string ProcessExtension = "arcpx.resumability.process.v1";

    private readonly TaskCompletionSource shutdownRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ArcpRuntime(IArcpStore store, RuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        Store = store;
        Options = options;
    }

    public IArcpStore Store { get; }

    public RuntimeOptions Options { get; }

    /// <summary>Completes when an admin principal asked the runtime to shut down; the host watching it stops.</summary>
    public Task ShutdownRequested => shutdownRequested.Task;

    internal void RequestShutdown() => shutdownRequested.TrySetResult();

    /// <summary>Serves one session until the peer closes the connection or <paramref name="cancellationToken"/> fires.</summary>
    public async Task ServeAsync(IArcpConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var session = new RuntimeSession(this, connection);
        await session.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    internal JsonObject Capabilities() => new()
    {
        ["durable_jobs"] = true,
        ["checkpoints"] = true,
        ["anonymous"] = Options.AllowAnonymous,
        ["heartbeat_interval_seconds"] = (int)Options.HeartbeatInterval.TotalSeconds,
        ["heartbeat_recovery"] = "block",
        ["subscriptions"] = true,
        ["interrupt"] = false,
        ["scheduled_jobs"] = false,
        ["extensions"] = new JsonArray(MessageTypes.ResumabilityExtension),
        [MessageTypes.WorkflowsCapability] = new JsonArray(Options.Workflows.Keys.Order(StringComparer.Ordinal).Select(name => JsonValue.Create(name)).ToArray<JsonNode?>()),
    };

    internal DateTimeOffset Now => Options.Clock.GetUtcNow();

    /// <summary>A lease holds while it has not expired and its process is not provably gone.</summary>
    internal static bool IsLive(JobLease? lease, DateTimeOffset now) =>
        lease is not null && lease.ExpiresAt > now && !new ProcessIdentity(lease.Host, lease.ProcessId, lease.ProcessStartedAt).IsProvablyDead();

    internal JobSummary Summarize(JobRecord job)
    {
        var now = Now;
        var terminal = job.State is JobStates.Completed or JobStates.Failed or JobStates.Cancelled;
        var live = IsLive(job.Lease, now);
        return new JobSummary(job.JobId, job.Workflow, job.State, !terminal && !live, ArcpJson.FormatTimestamp(job.CreatedAt), ArcpJson.FormatTimestamp(job.UpdatedAt))
        {
            Name = job.Name,
            LastCheckpointId = job.LastCheckpointId,
            LastMessageId = job.LastMessageId,
            Result = job.Result is null ? null : ArcpJson.ParseNode(job.Result),
            Error = job.Error is null ? null : System.Text.Json.JsonSerializer.Deserialize<ArcpError>(job.Error, ArcpJson.Options),
            IdempotencyKey = job.IdempotencyKey,
            Owner = live && job.Lease is { } lease ? new JobOwner(lease.SessionId, lease.Host, lease.ProcessId, ArcpJson.FormatTimestamp(lease.ExpiresAt)) : null,
        };
    }

    internal static CheckpointSummary Summarize(CheckpointRecord checkpoint, bool includeOutput) =>
        new(checkpoint.CheckpointId, checkpoint.JobId, checkpoint.Step, checkpoint.StepIndex, checkpoint.MessageId, checkpoint.IdempotencyKey, ArcpJson.FormatTimestamp(checkpoint.CreatedAt))
        {
            Output = includeOutput ? ArcpJson.ParseNode(checkpoint.Output) : null,
            DefinitionVersion = checkpoint.DefinitionVersion,
        };
}

/// <summary>RFC 0001 §10.2 state names as stored and sent.</summary>
public static class JobStates
{
    public const string Accepted = "accepted";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>§10.2: waiting; here, a job whose owner missed its heartbeats, until someone resumes it.</summary>
    public const string Blocked = "blocked";

    public static bool IsTerminal(string state) => state is Completed or Failed or Cancelled;
}
