using System.Globalization;
using System.Management.Automation;
using Arcp.Resumability.Client;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Waits until jobs are finished (completed, failed or cancelled) and writes them; an interrupted job ends the wait with an error.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "ArcpJob")]
[OutputType(typeof(ArcpJob))]
public sealed class WaitArcpJobCommand : ArcpCmdlet
{
    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    private readonly List<(string Store, string JobId)> waiting = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [ValidateNotNullOrEmpty]
    [Alias("Id")]
    public string[] JobId { get; set; } = [];

    /// <summary>Seconds to wait for all the jobs; -1 (the default) waits as long as it takes.</summary>
    [Parameter]
    [Alias("TimeoutSec")]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        waiting.AddRange(JobId.Select(id => (store, id)));
    }

    protected override void EndProcessing()
    {
        // The runtime pushes each job's end, and its interruption when the owner stops driving it, on a subscription.
        var deadline = Timeout >= 0 ? DateTimeOffset.UtcNow.AddSeconds(Timeout) : (DateTimeOffset?)null;
        var outcomes = new Dictionary<(string, string), JobWaitOutcome>();
        foreach (var group in waiting.Distinct().GroupBy(entry => entry.Store, StringComparer.Ordinal))
        {
            try
            {
                foreach (var (jobId, outcome) in WaitForJobs(group.Key, group.Select(entry => entry.JobId).ToList(), JobWaitTarget.FinishedOrInterrupted, deadline))
                {
                    outcomes[(group.Key, jobId)] = outcome;
                }
            }
            catch (Exception ex) when (IsReportable(ex))
            {
                // The store itself could not be opened (a missing store, say): every job waited on there gets that error.
                foreach (var entry in group)
                {
                    outcomes[entry] = new JobWaitOutcome(null, ex);
                }
            }
        }

        foreach (var entry in waiting.Distinct())
        {
            switch (outcomes[entry])
            {
                case { Failure: { } failure }:
                    WriteArcpError(failure, entry.JobId);
                    break;
                case { Job: { IsFinished: true } job }:
                    WriteObject(job);
                    break;
                case { Job: { } interrupted }:
                    // Like Wait-Job with a suspended job: the wait ends, since nothing moves the job on by itself.
                    WriteError(InterruptedError(interrupted, "its owner stopped driving it (the process ended or its lease ran out) before it finished."));
                    break;
                default:
                    var timeout = ArcpException.Of(
                        ErrorCodes.DeadlineExceeded,
                        string.Create(CultureInfo.InvariantCulture, $"Job '{entry.JobId}' did not finish within {Timeout} s; it is still running."),
                        new System.Text.Json.Nodes.JsonObject { ["job_id"] = entry.JobId });
                    WriteError(ArcpErrors.Record(
                        timeout.Error,
                        timeout,
                        entry.JobId,
                        $"Wait again with a larger -Timeout (-1 waits as long as it takes), follow its progress with 'Get-ArcpEvent -JobId {entry.JobId} -Follow', or stop it with 'Stop-ArcpJob -JobId {entry.JobId}'."));
                    break;
            }
        }
    }
}
