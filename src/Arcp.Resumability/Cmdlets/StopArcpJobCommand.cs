using System.Management.Automation;
using Arcp.Resumability.Client;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Cancels jobs (ARCP cancel): a running job stops at its next clean checkpoint, an interrupted one at once.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "ArcpJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ArcpJob))]
public sealed class StopArcpJobCommand : ArcpCmdlet
{
    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [ValidateNotNullOrEmpty]
    [Alias("Id")]
    public string[] JobId { get; set; } = [];

    /// <summary>Why the job is stopped; recorded in the cancel request and the job's error.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Reason { get; set; } = "user_aborted";

    /// <summary>How long the job's owner gets to reach a clean checkpoint, in seconds; also how long this command waits.</summary>
    [Parameter]
    [ValidateRange(0, 86_400)]
    [Alias("Deadline")]
    public int DeadlineSeconds { get; set; } = 60;

    /// <summary>Write the job once it has stopped (or once the wait ends).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        foreach (var id in JobId)
        {
            try
            {
                var job = FetchJob(store, id);
                if (!ShouldProcess($"{id} ({job.Name ?? job.Workflow}, {job.State})", "Cancel ARCP job"))
                {
                    continue;
                }

                var deadline = TimeSpan.FromSeconds(DeadlineSeconds);
                var outcome = Run(store, (client, ct) => client.CancelJobAsync(id, Reason, deadline, ct));
                if (!outcome.Accepted)
                {
                    if (outcome.RefusedReason != CancelRefusals.AlreadyTerminal)
                    {
                        throw ArcpException.Of(ErrorCodes.FailedPrecondition, $"The runtime refused to cancel job '{id}' ({outcome.RefusedReason}): {outcome.Message}");
                    }

                    // Stopping a finished job is a no-op, as with Stop-Job.
                    WriteVerbose($"Job {id} is already {job.State}; nothing to stop.");
                }
                else
                {
                    job = WaitUntilStopped(store, id, deadline);
                    if (job.State is ArcpJobState.Running or ArcpJobState.Interrupted)
                    {
                        WriteWarning($"Job {id} was asked to stop; it is still {job.State} after {DeadlineSeconds} s and stops at its next checkpoint.");
                    }
                    else if (job.State != ArcpJobState.Cancelled)
                    {
                        WriteWarning($"Job {id} {job.State.ToString().ToLowerInvariant()} before it could be cancelled.");
                    }
                }

                if (PassThru)
                {
                    WriteObject(FetchJob(store, id));
                }
            }
            catch (Exception ex) when (IsReportable(ex))
            {
                WriteArcpError(ex, id);
            }
        }
    }

    /// <summary>Waits on a subscription for the job's end, at most <paramref name="deadline"/>; the job as it is then.</summary>
    private ArcpJob WaitUntilStopped(string store, string id, TimeSpan deadline)
    {
        var outcome = WaitForJobs(store, [id], JobWaitTarget.Finished, DateTimeOffset.UtcNow + deadline)[id];
        return outcome.Failure is { } failure ? throw failure : outcome.Job ?? FetchJob(store, id);
    }
}
