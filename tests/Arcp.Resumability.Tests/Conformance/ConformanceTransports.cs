using System.IO.Pipelines;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Runtime.Hosting;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>The conformance cases over the stdio transport: newline-delimited JSON through a pair of pipes.</summary>
public sealed class StdioConformanceTests : ConformanceTests
{
    private readonly List<Task> sessions = [];

    protected override Task<IArcpConnection> ConnectAsync()
    {
        var toRuntime = new Pipe();
        var toClient = new Pipe();
        var server = new StreamConnection(toRuntime.Reader.AsStream(), toClient.Writer.AsStream(), Transport);
        sessions.Add(Task.Run(async () =>
        {
            await using (server)
            {
                await Runtime.ServeAsync(server, CancellationToken.None);
            }
        }));
        return Task.FromResult<IArcpConnection>(new StreamConnection(toClient.Reader.AsStream(), toRuntime.Writer.AsStream(), Transport));
    }

    protected override async Task StopServingAsync() => await Task.WhenAll(sessions).WaitAsync(RawPeer.Timeout);
}

/// <summary>The conformance cases over WebSocket: a real loopback server, one text message per envelope.</summary>
public sealed class WebSocketConformanceTests : ConformanceTests
{
    private ArcpWebSocketHost? host;

    protected override async Task<IArcpConnection> ConnectAsync()
    {
        host ??= ArcpWebSocketHost.Start(Runtime, new Uri("ws://127.0.0.1:0/arcp"), null, Transport);
        return await WebSocketConnection.ConnectAsync(host.Address, Transport, null, CancellationToken.None);
    }

    protected override async Task StopServingAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }
}
