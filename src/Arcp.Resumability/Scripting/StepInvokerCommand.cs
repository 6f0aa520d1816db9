using System.Management.Automation;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// The one command of the nested pipeline a script step runs in: calls the step runner in a scope of its own, as
/// <c>&amp; $runner @arguments</c> would. A compiled command, added to the pipeline by its <see cref="CmdletInfo"/>,
/// because a script command (<c>AddScript</c>) is parsed and compiled again on every invocation, which was a third of
/// the pipeline thread's time per step. Internal: not exported, reached only through <see cref="Info"/>.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ArcpStepRunner")]
internal sealed class StepInvokerCommand : PSCmdlet
{
    public static CmdletInfo Info { get; } = new("Invoke-ArcpStepRunner", typeof(StepInvokerCommand));

    [Parameter(Mandatory = true, Position = 0)]
    public ScriptBlock Runner { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1)]
    public object?[] Arguments { get; set; } = [];

    protected override void EndProcessing() => InvokeCommand.InvokeScript(useLocalScope: true, Runner, input: null, Arguments);
}
