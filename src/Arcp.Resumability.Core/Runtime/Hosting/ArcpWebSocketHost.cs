using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime.Hosting;

/// <summary>
/// Serves a runtime over WebSocket: every accepted connection becomes one session, run on its own task
/// with its own bounded send queue, so a slow or dead peer only ever stalls (and eventually loses) its
/// own session. A connection that has not opened a session by the deadline is closed. Stopping stops
/// accepting, ends every session (which releases its job leases, leaving in-flight jobs resumable) and
/// waits for them.
/// </summary>
public sealed class ArcpWebSocketHost : IAsyncDisposable
{
    private readonly ArcpRuntime runtime;
    private readonly WebSocketListener listener;
    private readonly CancellationTokenSource acceptStop = new();
    private readonly CancellationTokenSource sessionStop = new();
    private readonly ConcurrentDictionary<int, Task> sessions = new();
    private readonly Task acceptLoop;
    private readonly SemaphoreSlim stopGate = new(1, 1);
    private readonly TimeSpan sessionOpenTimeout;
    private readonly FailedAuthenticationThrottle authenticationThrottle;
    private int nextSession;
    private bool stopped;

    private ArcpWebSocketHost(ArcpRuntime runtime, WebSocketListener listener, TimeSpan sessionOpenTimeout, AuthenticationThrottleOptions authenticationThrottle)
    {
        this.runtime = runtime;
        this.listener = listener;
        this.sessionOpenTimeout = sessionOpenTimeout;
        this.authenticationThrottle = new FailedAuthenticationThrottle(authenticationThrottle, runtime.Options.Clock);
        acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
    }

    /// <summary>How long an upgraded connection has to get a <c>session.accepted</c> when no other value is given.</summary>
    public static TimeSpan DefaultSessionOpenTimeout { get; } = TimeSpan.FromSeconds(15);

    /// <summary>Where clients connect (with the real port when the listen address used port 0).</summary>
    public Uri Address => listener.Address;

    public int ActiveSessions => sessions.Count;

    /// <summary>TCP connections open now, handshaking or upgraded.</summary>
    public int OpenConnections => listener.OpenConnections;

    /// <summary>
    /// Starts listening on <paramref name="listen"/>; TLS when <paramref name="certificate"/> is given (wss://).
    /// <paramref name="limits"/> caps connections and allows browser origins; an upgraded connection without an
    /// accepted session after <paramref name="sessionOpenTimeout"/> (default <see cref="DefaultSessionOpenTimeout"/>) is closed.
    /// <paramref name="authenticationThrottle"/> bounds failed authentications per remote address (the defaults of
    /// <see cref="AuthenticationThrottleOptions"/> when null).
    /// </summary>
    public static ArcpWebSocketHost Start(ArcpRuntime runtime, Uri listen, X509Certificate2? certificate, TransportOptions? transport, WebSocketListenerOptions? limits = null, TimeSpan? sessionOpenTimeout = null, AuthenticationThrottleOptions? authenticationThrottle = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var deadline = sessionOpenTimeout ?? DefaultSessionOpenTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(deadline, TimeSpan.Zero, nameof(sessionOpenTimeout));
        var throttle = authenticationThrottle ?? new AuthenticationThrottleOptions();
        throttle.Validate();
        return new ArcpWebSocketHost(runtime, WebSocketListener.Start(listen, certificate, transport, limits), deadline, throttle);
    }

    /// <summary>Serves until <paramref name="cancellationToken"/> fires or an admin asks the runtime to shut down, then stops.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (cancellationToken.Register(() => cancelled.TrySetResult()).ConfigureAwait(false))
        {
            await Task.WhenAny(cancelled.Task, runtime.ShutdownRequested, acceptLoop).ConfigureAwait(false);
        }

        await StopAsync().ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        await stopGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (stopped)
            {
                return;
            }

            stopped = true;
            await acceptStop.CancelAsync().ConfigureAwait(false);
            await listener.DisposeAsync().ConfigureAwait(false);
            await acceptLoop.ConfigureAwait(false);
            await sessionStop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(sessions.Values).ConfigureAwait(false);
        }
        finally
        {
            stopGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        acceptStop.Dispose();
        sessionStop.Dispose();
        stopGate.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!acceptStop.IsCancellationRequested)
        {
            WebSocketConnection connection;
            try
            {
                connection = await listener.AcceptAsync(runtime.Options.Diagnostics, acceptStop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException && acceptStop.IsCancellationRequested)
            {
                return;
            }

            var id = Interlocked.Increment(ref nextSession);
            var session = ServeAsync(id, connection);
            sessions[id] = session;
            _ = session.ContinueWith(_ => sessions.TryRemove(id, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(int id, WebSocketConnection connection)
    {
        // Off the accept loop at once, so a client slow to open its session never delays the next accept.
        await Task.Yield();
        var guarded = new SessionOpenDeadline(connection, sessionOpenTimeout);
        using var session = CancellationTokenSource.CreateLinkedTokenSource(sessionStop.Token, guarded.Expired);
        using var report = guarded.Expired.Register(() => runtime.Options.Diagnostics?.Invoke($"Connection {id} opened no session within {sessionOpenTimeout.TotalSeconds:0.#} s; closing it."));
        try
        {
            var gated = new AuthenticationGate(guarded, connection.RemoteAddress, authenticationThrottle, runtime);
            await runtime.ServeAsync(gated, session.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // One session's failure must never take the host and every other session down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            runtime.Options.Diagnostics?.Invoke($"Session {id} ended with an error: {ex}");
        }
        finally
        {
            await guarded.DisposeAsync().ConfigureAwait(false);
        }
    }
}
