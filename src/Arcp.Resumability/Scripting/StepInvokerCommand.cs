using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// The one command of the nested pipeline a script step runs in: runs the step runner in a scope of its own, as
/// <c>&amp; $runner @arguments</c> would, its output written to this command's output as it comes. A compiled command,
/// added to the pipeline by its <see cref="CmdletInfo"/>, because a script command (<c>AddScript</c>) is parsed and
/// compiled again on every invocation, which was a third of the pipeline thread's time per step. Internal: not
/// exported, reached only through <see cref="Info"/>.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ArcpStepRunner")]
internal sealed class StepInvokerCommand : PSCmdlet
{
    // Runs the step with $_ and $ArcpStep injected and merges every stream into the output, which goes straight to
    // this command's output. Verbose and Information are switched on for the step so they are always recorded; whether
    // the caller sees them is decided by the caller's own preferences when the cmdlet forwards them. PowerShell keeps
    // the parsed runner by its text, so it is compiled once per process.
    private const string RunnerText = """
        param($__ArcpScript, $__ArcpVariables, $__ArcpArguments)
        $VerbosePreference = 'Continue'
        $InformationPreference = 'Continue'
        # A failing method call is only statement-terminating; rethrow so the step fails instead of the error being merged into the output.
        try { $__ArcpScript.InvokeWithContext($null, $__ArcpVariables, $__ArcpArguments) *>&1 } catch { throw }
        """;

    public static CmdletInfo Info { get; } = new("Invoke-ArcpStepRunner", typeof(StepInvokerCommand));

    /// <summary>The step's script block, the variables it gets and its arguments.</summary>
    [Parameter(Mandatory = true)]
    public object?[] Arguments { get; set; } = [];

    // Output (not Error) to this command's pipe: the runner merges the step's streams itself, and what it throws ends the step.
    protected override void EndProcessing() => InvokeCommand.InvokeScript(RunnerText, useNewScope: true, PipelineResultTypes.Output, input: null, Arguments);
}
