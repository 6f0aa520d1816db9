using System.Management.Automation;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Removes a cron schedule from the store; jobs it already queued stay.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Unregister, "ArcpSchedule", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class UnregisterArcpScheduleCommand : ArcpCmdlet
{
    /// <summary>The schedule's name; binds from piped schedules.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        if (!ShouldProcess($"schedule '{Name}' in '{StoreFactory.Redact(store)}'", "Unregister"))
        {
            return;
        }

        try
        {
            RunOnStore(store, async (jobs, ct) =>
            {
                await new JobSchedules(new QueuedJobs(jobs)).UnregisterAsync(RuntimeOptions.LocalPrincipal, Name, ct).ConfigureAwait(false);
                return true;
            });
            WriteVerbose($"Schedule '{Name}' removed.");
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, Name);
        }
    }
}
