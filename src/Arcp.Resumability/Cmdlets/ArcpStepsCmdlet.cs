using System.Collections;
using System.Management.Automation;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// A cmdlet that runs either a named workflow or inline steps (Start-ArcpJob, Resume-ArcpJob, Register-ArcpSchedule):
/// the one declaration of -Step, so its parameter set and validation cannot drift apart between them. What -Step
/// means to each cmdlet is described in its help (docs/help).
/// </summary>
public abstract class ArcpStepsCmdlet : ArcpCmdlet
{
    protected const string WorkflowSet = "Workflow";
    protected const string StepSet = "Step";

    /// <summary>The steps inline: an ordered dictionary of step name to script block (or step policy hashtable).</summary>
    [Parameter(Mandatory = true, ParameterSetName = StepSet)]
    [ValidateNotNull]
    public IDictionary Step { get; set; } = new Hashtable();
}
