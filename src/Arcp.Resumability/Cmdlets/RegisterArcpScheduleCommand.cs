using System.Management.Automation;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Registers a cron schedule in the store: at each fire time a worker queues one job of the workflow or inline steps.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "ArcpSchedule", DefaultParameterSetName = WorkflowSet)]
[OutputType(typeof(ArcpSchedule))]
public sealed class RegisterArcpScheduleCommand : ArcpStepsCmdlet
{

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    /// <summary>Five fields (minute hour day month weekday) or six with seconds first.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Cron { get; set; } = string.Empty;

    /// <summary>The time zone the expression is read in (IANA id such as Europe/Paris); daylight saving is handled.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string TimeZone { get; set; } = "UTC";

    /// <summary>The workflow each run starts, by name (a built-in or a file on $env:ARCP_WORKFLOW_PATH).</summary>
    [Parameter(Mandatory = true, ParameterSetName = WorkflowSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(WorkflowCompleter))]
    public string Workflow { get; set; } = string.Empty;

    /// <summary>The input every run starts with.</summary>
    [Parameter]
    public object? InputObject { get; set; }

    /// <summary>The queue runs are recorded on.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Queue { get; set; } = QueuedJobs.DefaultQueue;

    /// <summary>Fire times missed while no worker was up: Skip drops them, RunOnce runs once for all of them.</summary>
    [Parameter]
    public ScheduleMissedPolicy Missed { get; set; } = ScheduleMissedPolicy.Skip;

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        try
        {
            string inputs;
            try
            {
                inputs = ArcpJson.ToText(PowerShellJson.ToJsonNode(InputObject, subject: PowerShellJson.JobInput));
            }
            catch (JsonConversionException ex)
            {
                throw new ArcpException(ArcpError.Create(ErrorCodes.InvalidArgument, $"-InputObject cannot be recorded: {ex.Message}"), ex);
            }

            var definition = ParameterSetName == StepSet
                ? new ScheduleDefinition(Name, Cron, TimeZone, WorkflowLoader.InlineWorkflowName, inputs, Queue, Missed) { Steps = InlineSteps() }
                : new ScheduleDefinition(Name, Cron, TimeZone, Workflow, inputs, Queue, Missed);
            var schedule = RunOnStore(store, (jobs, ct) => new JobSchedules(new QueuedJobs(jobs)).RegisterAsync(RuntimeOptions.LocalPrincipal, definition, ct));
            WriteObject(new ArcpSchedule(schedule, store));
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, Name);
        }
    }

    /// <summary>The -Step dictionary as the script text a recorded inline definition holds (INVALID_ARGUMENT when it is not valid steps).</summary>
    private ScheduleSteps InlineSteps()
    {
        var workflow = WorkflowLoader.FromSteps(Step);
        var script = RecordedDefinitions.InlineScript(workflow);
        return new ScheduleSteps(script, RecordedDefinitions.TextHash(script), workflow.Version);
    }
}
