using System.Management.Automation;
using Arcp.Resumability.Client;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets what finished jobs produced: the result of a completed job, the error of a failed or cancelled one.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "ArcpJob")]
[OutputType(typeof(object))]
public sealed class ReceiveArcpJobCommand : ArcpCmdlet
{
    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [ValidateNotNullOrEmpty]
    [Alias("Id")]
    public string[] JobId { get; set; } = [];

    /// <summary>Wait for unfinished jobs instead of reporting them.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        foreach (var id in JobId)
        {
            try
            {
                var job = Wait ? WaitForJob(store, id) : FetchJob(store, id);

                switch (job.State)
                {
                    case ArcpJobState.Completed:
                        // Like Receive-Job: a result that is a list is written item by item.
                        WriteObject(job.Result, enumerateCollection: true);
                        break;
                    case ArcpJobState.Failed or ArcpJobState.Cancelled:
                        var error = job.Error is { } recorded ? recorded.Source : ArcpError.Create(ErrorCodes.Unknown, $"Job '{id}' is {job.State} without a recorded error.");
                        WriteError(ArcpErrors.Record(error, null, job));
                        break;
                    case ArcpJobState.Interrupted:
                        WriteError(InterruptedError(job, "it has no result, because its owner stopped driving it (the process ended or its lease ran out) before it finished."));
                        break;
                    default:
                        throw ArcpException.Of(ErrorCodes.FailedPrecondition, $"Job '{id}' is {job.State}; it has no result yet. Use -Wait or Wait-ArcpJob.");
                }
            }
            catch (Exception ex) when (IsReportable(ex))
            {
                WriteArcpError(ex, id);
            }
        }
    }

    /// <summary>Waits on a subscription until the job finishes or is interrupted (nothing would move it on then).</summary>
    private ArcpJob WaitForJob(string store, string id)
    {
        return WaitForJobs(store, [id], JobWaitTarget.FinishedOrInterrupted, null)[id] switch
        {
            { Job: { } job } => job,
            { Failure: { } failure } => throw failure,
            _ => FetchJob(store, id),
        };
    }
}
