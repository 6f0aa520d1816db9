using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// The frame loop of one connection: frames go to the <see cref="SessionHandshake"/> until it yields an open
/// <see cref="RuntimeSession"/>, then to that session, strictly in arrival order (which is what gives a job's
/// events their order and lets a resume delimit its replay).
/// </summary>
internal sealed class SessionConnection(ArcpRuntime runtime, IArcpConnection connection, string? preAuthenticatedPrincipal)
{
    public async Task RunAsync(CancellationToken runtimeStop)
    {
        // Linked so an overflowing outbox (a subscriber too slow for its events) can end just this session.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(runtimeStop);
        var cancellationToken = stop.Token;
        var handshake = new SessionHandshake(runtime, connection, preAuthenticatedPrincipal, stop);
        RuntimeSession? session = null;
        try
        {
            while (true)
            {
                string? frame;
                try
                {
                    frame = await ReceiveAsync(session, cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidFrameException ex)
                {
                    // The transport skipped the frame, so no id can be read from it; answer and go on.
                    var error = ArcpError.Create(ErrorCodes.InvalidArgument, ex.Message, ex.MaxFrameBytes is { } limit ? new JsonObject { ["max_frame_bytes"] = limit, ["frame_bytes"] = ex.FrameBytes } : null);
                    await SendUnloggedNackAsync(session, null, error, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (frame is null)
                {
                    break;
                }

                Envelope envelope;
                try
                {
                    envelope = EnvelopeCodec.Parse(frame);
                }
                catch (EnvelopeFormatException ex)
                {
                    await SendUnloggedNackAsync(session, ex.MessageId, ArcpError.Create(ErrorCodes.InvalidArgument, ex.Message), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                try
                {
                    if (session is null)
                    {
                        session = await handshake.HandleAsync(envelope, frame, cancellationToken).ConfigureAwait(false);
                    }
                    else if (!await session.HandleAsync(envelope, frame, cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (Exception ex) when (ex is not (OperationCanceledException or IOException))
                {
                    // A process must survive any single frame: whatever a handler did not expect (a store failure
                    // during the handshake, a bug) is answered without .NET names and the connection lives on.
                    runtime.Options.Diagnostics?.Invoke($"Frame '{FrameValidator.Printable(envelope.Type)}' ({FrameValidator.Printable(envelope.Id)}) failed: {ex.GetType().Name}: {FrameValidator.Printable(ex.Message)}");
                    var error = ex is StoreException store ? store.ToArcpError() : ArcpError.Create(ErrorCodes.Internal, "The runtime could not handle this message; nothing was recorded for it.");
                    await SendUnloggedAsync(Envelope.Create(MessageTypes.Nack, NackPayload.From(envelope.Id, error), session?.SessionId, correlationId: envelope.Id), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: in-flight jobs keep their checkpoints and become resumable below.
        }
        catch (IOException)
        {
            // The peer vanished; same as a close without session.close.
        }
        finally
        {
            if (session is not null)
            {
                await session.EndAsync().ConfigureAwait(false);
            }

            connection.Close();
        }
    }

    /// <summary>
    /// The next frame. While the session holds process-safe events (a step's progress) it waits a moment for the
    /// frame that may join them (the step's checkpoint) and records them on their own when none comes.
    /// </summary>
    // Pooled: the loop awaits one receive at a time, four per embedded step.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<string?> ReceiveAsync(RuntimeSession? session, CancellationToken cancellationToken)
    {
        var next = connection.ReceiveAsync(cancellationToken);
        if (session is null || !session.HasHeldEvents || next.IsCompleted)
        {
            return await next.ConfigureAwait(false);
        }

        var pending = next.AsTask();
        // Its timer is dropped as soon as the frame comes (a step's checkpoint, right behind its progress), so the
        // wait costs no timer firing per step, as a Task.Delay raced against the frame did. A lapsed window is read from
        // the frame's task rather than caught as a TimeoutException: every step longer than the window lets it lapse,
        // and a new process paid for its first such throw in the job's wall time.
        await ((Task)pending).WaitAsync(RuntimeSession.HoldWindow, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!pending.IsCompleted)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await session.FlushHeldEventsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (StoreException ex)
            {
                // Nothing more can be recorded; the session ends as it does when a handler meets a store failure.
                runtime.Options.Diagnostics?.Invoke($"Session {session.SessionId} could not record its held events: {ex.Message}");
                return null;
            }
        }

        return await pending.ConfigureAwait(false);
    }

    private Task SendUnloggedNackAsync(RuntimeSession? session, string? ackFor, ArcpError error, CancellationToken cancellationToken)
    {
        // A frame we could not parse has no trustworthy id to log it under; within a session the nack itself is
        // still logged. Before authentication nothing is written to the store (§ finding 9): it is only counted.
        var nack = Envelope.Create(MessageTypes.Nack, NackPayload.From(ackFor, error), session?.SessionId, correlationId: ackFor);
        if (session is not null)
        {
            return session.PersistAndSendAsync([nack], cancellationToken);
        }

        runtime.CountUnauthenticatedFrame();
        return SendUnloggedAsync(nack, cancellationToken);
    }

    private async Task SendUnloggedAsync(Envelope envelope, CancellationToken cancellationToken) =>
        await connection.SendAsync(EnvelopeCodec.Serialize(envelope), cancellationToken).ConfigureAwait(false);
}
