using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.PowerShell.Workers;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Runs a worker in the foreground: resumes interrupted jobs, runs queued jobs and fires schedules until Ctrl+C.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "ArcpWorker")]
[OutputType(typeof(ArcpWorkerReport))]
public sealed class StartArcpWorkerCommand : ArcpCmdlet, IWorkerLog
{
    private static readonly string ModuleManifest = Path.Combine(Path.GetDirectoryName(typeof(StartArcpWorkerCommand).Assembly.Location)!, "Arcp.Resumability.psd1");

    private readonly CancellationTokenSource stop = new();

    /// <summary>How many jobs run at once, each in its own runspace.</summary>
    [Parameter]
    [ValidateRange(1, 32)]
    public int Concurrency { get; set; } = 1;

    /// <summary>Only take jobs of these workflows.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(WorkflowCompleter))]
    public string[]? Workflow { get; set; }

    /// <summary>Only take jobs from these queues (and interrupted jobs that came from them).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Queue { get; set; }

    /// <summary>Seconds between looks at the store when nothing finishes.</summary>
    [Parameter]
    [ValidateRange(0.1, 3600)]
    public double PollSeconds { get; set; } = 2;

    /// <summary>Leave schedules to other workers.</summary>
    [Parameter]
    public SwitchParameter NoSchedule { get; set; }

    /// <summary>Return once nothing is running and nothing is left to resume or claim (drain, then exit).</summary>
    [Parameter]
    public SwitchParameter ExitWhenIdle { get; set; }

    void IWorkerLog.Line(string kind, string text)
    {
        var line = $"{DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} {text}";
        Write(() => WriteInformation(new HostInformationMessage { Message = line }, ["PSHOST", "ArcpWorker", kind]), line);
    }

    void IWorkerLog.Detail(string text) => Write(() => WriteVerbose(text), null);

    void IWorkerLog.Warning(string text) => Write(() => WriteWarning(text), $"WARNING: {text}");

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        try
        {
            if (Client.RemoteArcp.IsRuntimeAddress(store))
            {
                throw ArcpException.Of(ErrorCodes.InvalidArgument, $"A worker works on a store directly, not through a runtime ({store}); pass -Store, on a machine that reaches the store.");
            }

            var filter = new WorkFilter(RuntimeOptions.LocalPrincipal, Queue, Workflow);
            var settings = new WorkerSettings(store, filter, Concurrency, TimeSpan.FromSeconds(PollSeconds), !NoSchedule, ExitWhenIdle);
            var runspaceState = InitialSessionState.CreateDefault2();
            runspaceState.ImportPSModule([ModuleManifest]);
            using var worker = new ArcpWorker(settings, Dispatcher, this);
            worker.Run(runspaceState, stop.Token);
            WriteObject(worker.Report);
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, store);
        }
    }

    /// <summary>
    /// Once Ctrl+C stopped the pipeline its streams refuse writes, yet the lines about the jobs released on the way
    /// out matter most: those go to the host directly.
    /// </summary>
    private void Write(Action toStream, string? toHost)
    {
        try
        {
            toStream();
        }
        catch (PipelineStoppedException) when (toHost is not null)
        {
            Host.UI.WriteLine(toHost);
        }
        catch (PipelineStoppedException)
        {
            // A verbose detail after Ctrl+C is not worth a line nobody asked for.
        }
    }

    protected override void StopProcessing()
    {
        stop.Cancel();
        base.StopProcessing();
    }
}
