using System.Management.Automation;

namespace Arcp.Resumability.PowerShell.Workers;

/// <summary>
/// The one command of the pipeline a worker slot runs a job in: calls the run's delegate on the slot's pipeline
/// thread, so step bodies run there. A compiled command, added by its <see cref="CmdletInfo"/>: a one-line script
/// (<c>AddScript</c>) would be parsed and compiled again for every job. Internal: not exported, reached only through
/// <see cref="Info"/>.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ArcpSlotRun")]
internal sealed class SlotRunCommand : PSCmdlet
{
    public static CmdletInfo Info { get; } = new("Invoke-ArcpSlotRun", typeof(SlotRunCommand));

    [Parameter(Mandatory = true, Position = 0)]
    public Action Run { get; set; } = null!;

    protected override void EndProcessing() => Run();
}
