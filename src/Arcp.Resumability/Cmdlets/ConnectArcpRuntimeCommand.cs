using System.Management.Automation;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>What Connect-ArcpRuntime reports about the runtime it reached.</summary>
public sealed class ArcpRuntimeInfo
{
    internal ArcpRuntimeInfo(Uri runtime, string sessionId, RuntimeIdentity? identity, string capabilities)
    {
        Runtime = runtime;
        SessionId = sessionId;
        Kind = identity?.Kind;
        Version = identity?.Version;
        Capabilities = capabilities;
    }

    public Uri Runtime { get; }

    /// <summary>The session that checked the connection (closed again; every command opens its own).</summary>
    public string SessionId { get; }

    public string? Kind { get; }

    public string? Version { get; }

    /// <summary>The capabilities the runtime advertised, as JSON.</summary>
    public string Capabilities { get; }
}

/// <summary>
/// <para type="synopsis">Makes a remote runtime the default for this runspace's ARCP commands (after checking that the token is accepted).</para>
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "ArcpRuntime")]
[OutputType(typeof(ArcpRuntimeInfo))]
public sealed class ConnectArcpRuntimeCommand : ArcpCmdlet
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        try
        {
            if (Runtime is null)
            {
                throw ArcpException.Of(ErrorCodes.InvalidArgument, "Connect-ArcpRuntime needs -Runtime (a ws:// or wss:// address).");
            }

            var address = new Uri(ResolvedStore);
            var settings = RemoteSettings(address);
            var info = Dispatcher.Run(
                async ct =>
                {
                    var client = await ConnectRemoteAsync(settings, ct).ConfigureAwait(false);
                    try
                    {
                        return (Info: new ArcpRuntimeInfo(address, client.SessionId, client.RuntimeIdentity, client.RuntimeCapabilities.ToJsonString()), client.SupportsResumability);
                    }
                    finally
                    {
                        await CloseAsync(client, client).ConfigureAwait(false);
                    }
                },
                CancellationToken.None);
            RuntimeConnections.Set(settings);
            if (!info.SupportsResumability)
            {
                WriteWarning(
                    $"The runtime at {address} does not advertise the '{MessageTypes.ResumabilityExtension}' extension. Get-ArcpJob, Get-ArcpCheckpoint, "
                    + "Get-ArcpEvent, Show-ArcpJob, Wait-ArcpJob, Receive-ArcpJob, Resume-ArcpJob, Stop-ArcpRuntime and Start-ArcpJob for a workflow the "
                    + "runtime runs itself will fail on it with FAILED_PRECONDITION.");
            }

            if (PassThru)
            {
                WriteObject(info.Info);
            }
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, Runtime);
        }
    }
}

/// <summary>
/// <para type="synopsis">Forgets this runspace's default runtime; commands use the embedded runtime and -Store again.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Disconnect, "ArcpRuntime")]
[OutputType(typeof(void))]
public sealed class DisconnectArcpRuntimeCommand : PSCmdlet
{
    protected override void EndProcessing()
    {
        if (!RuntimeConnections.Clear())
        {
            WriteVerbose("No default ARCP runtime was set in this runspace.");
        }
    }
}

/// <summary>
/// <para type="synopsis">Asks a runtime host to shut down gracefully: it stops accepting, ends its sessions and leaves their jobs resumable. Needs an admin token.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "ArcpRuntime", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class StopArcpRuntimeCommand : ArcpCmdlet
{
    protected override void EndProcessing()
    {
        try
        {
            var target = ResolvedStore;
            if (!Client.RemoteArcp.IsRuntimeAddress(target))
            {
                throw ArcpException.Of(ErrorCodes.InvalidArgument, "Stop-ArcpRuntime needs -Runtime (or a runtime set with Connect-ArcpRuntime); the embedded runtime stops with its command.");
            }

            if (!ShouldProcess(target, "Shut down the ARCP runtime"))
            {
                return;
            }

            Run(target, (client, ct) => client.RequestAsync(Envelope.Create(MessageTypes.Shutdown, new System.Text.Json.Nodes.JsonObject(), client.SessionId), ct));
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, Runtime);
        }
    }
}
