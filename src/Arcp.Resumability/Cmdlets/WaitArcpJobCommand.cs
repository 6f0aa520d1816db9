using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Waits until jobs are finished (completed, failed or cancelled) and writes them.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "ArcpJob")]
[OutputType(typeof(ArcpJob))]
public sealed class WaitArcpJobCommand : ArcpCmdlet
{
    private readonly List<(string Store, string JobId)> waiting = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] JobId { get; set; } = [];

    /// <summary>Seconds to wait for all the jobs; -1 (the default) waits as long as it takes.</summary>
    [Parameter]
    [Alias("TimeoutSec")]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <summary>How often the store is polled, in milliseconds.</summary>
    [Parameter]
    [ValidateRange(50, 60_000)]
    public int PollIntervalMilliseconds { get; set; } = 250;

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        waiting.AddRange(JobId.Select(id => (store, id)));
    }

    protected override void EndProcessing()
    {
        var clock = Stopwatch.StartNew();
        var pending = new List<(string Store, string JobId)>(waiting);
        var finished = new Dictionary<(string, string), ArcpJob>();
        while (true)
        {
            foreach (var entry in pending.ToList())
            {
                try
                {
                    var job = FetchJob(entry.Store, entry.JobId);
                    if (job.IsFinished)
                    {
                        finished[entry] = job;
                        pending.Remove(entry);
                    }
                }
                catch (Exception ex) when (IsReportable(ex))
                {
                    WriteArcpError(ex, entry.JobId);
                    pending.Remove(entry);
                }
            }

            if (pending.Count == 0 || (Timeout >= 0 && clock.Elapsed >= TimeSpan.FromSeconds(Timeout)))
            {
                break;
            }

            Sleep(TimeSpan.FromMilliseconds(PollIntervalMilliseconds));
        }

        foreach (var entry in waiting.Distinct())
        {
            if (finished.TryGetValue(entry, out var job))
            {
                WriteObject(job);
            }
            else if (pending.Contains(entry))
            {
                var timeout = ArcpException.Of(
                    ErrorCodes.DeadlineExceeded,
                    string.Create(CultureInfo.InvariantCulture, $"Job '{entry.JobId}' did not finish within {Timeout} s."),
                    new System.Text.Json.Nodes.JsonObject { ["job_id"] = entry.JobId });
                WriteArcpError(timeout, entry.JobId);
            }
        }
    }
}
