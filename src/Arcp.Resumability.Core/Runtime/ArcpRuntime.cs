using System.Text.Json.Nodes;
using Arcp.Resumability.Jobs;
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
    private readonly TaskCompletionSource shutdownRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ArcpRuntime(IArcpStore store, RuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        Store = store;
        Options = options;
        Quotas = options.Quota is { } quota ? new PrincipalQuotas(quota, options.Clock) : null;
        Jobs = new JobService(store, new JobServiceOptions { LeaseDuration = options.LeaseDuration, IdempotencyHorizon = options.IdempotencyHorizon, Clock = options.Clock });
    }

    public IArcpStore Store { get; }

    public RuntimeOptions Options { get; }

    internal PrincipalQuotas? Quotas { get; }

    /// <summary>Every job decision and read the runtime's sessions make goes through this service.</summary>
    public JobService Jobs { get; }

    /// <summary>Completes when an admin principal asked the runtime to shut down; the host watching it stops.</summary>
    public Task ShutdownRequested => shutdownRequested.Task;

    internal void RequestShutdown() => shutdownRequested.TrySetResult();

    /// <summary>Serves one session until the peer closes the connection or <paramref name="cancellationToken"/> fires.</summary>
    public Task ServeAsync(IArcpConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new SessionConnection(this, connection, preAuthenticatedPrincipal: null).RunAsync(cancellationToken);
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
        [MessageTypes.WorkflowsCapability] = new JsonArray((Options.Driver?.Workflows ?? []).Order(StringComparer.Ordinal).Select(name => JsonValue.Create(name)).ToArray<JsonNode?>()),
    };

    internal DateTimeOffset Now => Options.Clock.GetUtcNow();
}
