using System.Management.Automation;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Deletes a job and its whole history: events, checkpoints and idempotency records.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ArcpJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveArcpJobCommand : ArcpCmdlet
{
    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [ValidateNotNullOrEmpty]
    [Alias("Id")]
    public string JobId { get; set; } = string.Empty;

    /// <summary>Remove the job even while a live process drives it; that process stops at its next step.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        if (!ShouldProcess($"Job {JobId} in {StoreFactory.Redact(store)}", "Delete the job with its events, checkpoints and idempotency records"))
        {
            return;
        }

        try
        {
            var removed = RunOnStore(store, (jobs, ct) => jobs.RemoveJobAsync(JobId, Force, DateTimeOffset.UtcNow, ct));
            WriteVerbose($"Job {JobId} removed: {removed.Events} event(s), {removed.Checkpoints} checkpoint(s), {removed.LedgerEntries} idempotency record(s).");
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, JobId);
        }
    }
}
