using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Arcp.Resumability.Bench;

/// <summary>
/// Per round, for one build's module: seconds to queue the jobs with the cmdlet, and to drain them with 1 and with 4
/// worker processes; the warm figures are the seconds a whole round would take at the pace of the drain's second half.
/// </summary>
internal sealed record CmdletFleetFigures(string Store, string Module, int JobsPerRound, Summary Enqueue, Summary OneWorker, Summary FourWorkers, Summary OneWorkerWarm, Summary FourWorkersWarm);

/// <summary>
/// The fleet through the cmdlets, as an operator runs it (issue 11): a fresh pwsh queues the round's 5-step no-op
/// jobs with <c>Start-ArcpJob -Workflow &lt;name&gt; -Queue</c> (found through ARCP_WORKFLOW_PATH), then 1 and then 4 fresh pwsh processes each run
/// <c>Start-ArcpWorker -Concurrency 4 -ExitWhenIdle</c> until the queue is empty. Each process reports its own clock
/// readings after <c>Import-Module</c>, so process start and import are outside the figures: the drain is timed from
/// the first worker's start of <c>Start-ArcpWorker</c> to the last worker's return, and every job must be completed.
/// With several modules (this build and a baseline) each round runs them in turn, so load swings hit both alike, each
/// on a store of its own (a newer build may migrate its store to a schema an older build refuses).
/// A fresh process spends its first seconds compiling (PowerShell's own code is not precompiled in the pwsh tool
/// package), which the whole drain carries; so after each drain a fresh pwsh reads the jobs' completion times with
/// <c>Get-ArcpJob</c>, and the pace from the median completion to the last is the fleet's rate once warm.
/// </summary>
internal static partial class CmdletFleetBenchmark
{
    /// <summary>Fewest jobs per round: the second half of the drain must time at least two completions after its first.</summary>
    public const int MinimumJobs = 4;

    private const string Queue = "bench-cmdlets";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    private const string EnqueueScript =
        """
        param([Parameter(Mandatory)][string]$Module, [Parameter(Mandatory)][string]$Store, [Parameter(Mandatory)][int]$Jobs, [Parameter(Mandatory)][string]$Queue, [Parameter(Mandatory)][string]$Workflow)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $clock = [Diagnostics.Stopwatch]::StartNew()
        for ($i = 0; $i -lt $Jobs; $i++) {
            $job = Start-ArcpJob -Workflow $Workflow -Queue $Queue -Store $Store
            if ("$($job.State)" -ne 'Queued') { throw "Job $($job.JobId) is '$($job.State)', not 'Queued'." }
        }
        [Console]::Out.WriteLine([string]::Format([cultureinfo]::InvariantCulture, 'enqueue_ms={0:F3}', $clock.Elapsed.TotalMilliseconds))
        """;

    // -Queue takes a workflow name, not inline -Step: a file of five no-op steps that every process finds by name
    // through ARCP_WORKFLOW_PATH, as workers resolve it (a queued job's path is never run).
    private const string WorkflowFile =
        """
        @{
            Name  = 'bench-cmdlet-fleet'
            Steps = [ordered]@{ a = { 1 }; b = { 2 }; c = { 3 }; d = { 4 }; e = { 5 } }
        }
        """;

    private const string WorkerScript =
        """
        param([Parameter(Mandatory)][string]$Module, [Parameter(Mandatory)][string]$Store, [Parameter(Mandatory)][string]$Queue)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $started = [DateTime]::UtcNow.Ticks
        $report = Start-ArcpWorker -Store $Store -Queue $Queue -Concurrency 4 -ExitWhenIdle -NoSchedule 6>$null
        [Console]::Out.WriteLine("worker start=$started end=$([DateTime]::UtcNow.Ticks) completed=$($report.Completed) failed=$($report.Failed)")
        """;

    private const string CompletionsScript =
        """
        param([Parameter(Mandatory)][string]$Module, [Parameter(Mandatory)][string]$Store, [Parameter(Mandatory)][long]$Since)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $ticks = foreach ($job in Get-ArcpJob -Store $Store -State Completed) { if ($job.UpdatedAt.UtcTicks -ge $Since) { $job.UpdatedAt.UtcTicks } }
        [Console]::Out.WriteLine('completed_at=' + ($ticks -join ','))
        """;

    public static async Task<IReadOnlyList<CmdletFleetFigures>> RunAsync(string label, Func<int, string> storeOfModule, string host, string pwshDll, IReadOnlyList<(string Label, string Path)> modules, string folder, int jobs, int rounds, CancellationToken cancellationToken)
    {
        var enqueueScript = Path.Combine(folder, "fleet-enqueue.ps1");
        var workerScript = Path.Combine(folder, "fleet-worker.ps1");
        await File.WriteAllTextAsync(enqueueScript, EnqueueScript, cancellationToken);
        await File.WriteAllTextAsync(workerScript, WorkerScript, cancellationToken);
        var completionsScript = Path.Combine(folder, "fleet-completions.ps1");
        await File.WriteAllTextAsync(completionsScript, CompletionsScript, cancellationToken);
        var workflowFile = Path.Combine(folder, "bench-cmdlet-fleet.ps1");
        await File.WriteAllTextAsync(workflowFile, WorkflowFile, cancellationToken);
        var samples = modules.Select(_ => (Enqueue: new List<double>(), One: new List<double>(), Four: new List<double>(), OneWarm: new List<double>(), FourWarm: new List<double>())).ToList();
        for (var round = 0; round < rounds; round++)
        {
            for (var m = 0; m < modules.Count; m++)
            {
                var modulePath = modules[m].Path;
                var storeSpec = storeOfModule(m);
                foreach (var (workers, drains, warmDrains) in new[] { (1, samples[m].One, samples[m].OneWarm), (4, samples[m].Four, samples[m].FourWarm) })
                {
                    var output = await RunAsync(Start(host, pwshDll, enqueueScript, "-Module", modulePath, "-Store", storeSpec, "-Jobs", jobs.ToString(CultureInfo.InvariantCulture), "-Queue", Queue, "-Workflow", "bench-cmdlet-fleet"), cancellationToken);
                    var queued = EnqueueTime().Match(output);
                    samples[m].Enqueue.Add(queued.Success
                        ? double.Parse(queued.Groups["ms"].Value, CultureInfo.InvariantCulture) / 1000
                        : throw new InvalidOperationException($"The enqueue script printed no timing; its output was: {output.Trim()}"));
                    var (first, last) = await DrainAsync(host, pwshDll, workerScript, modulePath, storeSpec, workers, jobs, cancellationToken);
                    drains.Add(TimeSpan.FromTicks(last - first).TotalSeconds);
                    var completions = await RunAsync(Start(host, pwshDll, completionsScript, "-Module", modulePath, "-Store", storeSpec, "-Since", first.ToString(CultureInfo.InvariantCulture)), cancellationToken);
                    warmDrains.Add(SecondHalfPace(CompletedAt(completions), jobs));
                }
            }
        }

        return modules.Select((module, m) => new CmdletFleetFigures(label, module.Label, jobs, Summary.Of(samples[m].Enqueue), Summary.Of(samples[m].One), Summary.Of(samples[m].Four), Summary.Of(samples[m].OneWarm), Summary.Of(samples[m].FourWarm))).ToList();
    }

    /// <summary>The seconds the whole round would take at the pace from the median completion to the last.</summary>
    private static double SecondHalfPace(List<long> completedTicks, int jobs)
    {
        if (completedTicks.Count != jobs)
        {
            throw new InvalidOperationException($"The store holds {completedTicks.Count} jobs completed in the drain, not the {jobs} queued.");
        }

        var sorted = completedTicks.Order().ToArray();
        var median = sorted.Length / 2;
        var span = TimeSpan.FromTicks(sorted[^1] - sorted[median]).TotalSeconds;
        return span > 0
            ? span * jobs / (sorted.Length - 1 - median)
            : throw new InvalidOperationException($"The drain's second half of {sorted.Length - median} jobs completed within one clock reading.");
    }

    private static List<long> CompletedAt(string output)
    {
        var match = CompletionTimes().Match(output);
        return match.Success
            ? match.Groups["ticks"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => long.Parse(t, CultureInfo.InvariantCulture)).ToList()
            : throw new InvalidOperationException($"The completions script printed no times; its output was: {output.Trim()}");
    }

    /// <returns>The ticks (UTC) of the first worker's start of Start-ArcpWorker and of the last worker's return.</returns>
    private static async Task<(long First, long Last)> DrainAsync(string host, string pwshDll, string script, string modulePath, string storeSpec, int workers, int jobs, CancellationToken cancellationToken)
    {
        var outputs = await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => RunAsync(Start(host, pwshDll, script, "-Module", modulePath, "-Store", storeSpec, "-Queue", Queue), cancellationToken)));
        var reports = outputs.Select(o => WorkerReport().Match(o)).ToList();
        if (reports.FirstOrDefault(r => !r.Success) is not null)
        {
            throw new InvalidOperationException($"A worker printed no report; the outputs were: {string.Join(" | ", outputs.Select(o => o.Trim()))}");
        }

        var completed = reports.Sum(r => int.Parse(r.Groups["completed"].Value, CultureInfo.InvariantCulture));
        if (completed != jobs || reports.Any(r => r.Groups["failed"].Value != "0"))
        {
            throw new InvalidOperationException($"{workers} worker(s) completed {completed} of {jobs} queued jobs: {string.Join(" | ", outputs.Select(o => o.Trim()))}");
        }

        return (reports.Min(r => long.Parse(r.Groups["start"].Value, CultureInfo.InvariantCulture)), reports.Max(r => long.Parse(r.Groups["end"].Value, CultureInfo.InvariantCulture)));
    }

    private static ProcessStartInfo Start(string host, string pwshDll, string script, params string[] scriptArgs)
    {
        var start = ChildRun.Pwsh(host, pwshDll, script, scriptArgs);
        start.Environment["NO_COLOR"] = "1";
        start.Environment["ARCP_WORKFLOW_PATH"] = Path.GetDirectoryName(script);
        return start;
    }

    private static async Task<string> RunAsync(ProcessStartInfo start, CancellationToken cancellationToken)
    {
        var description = $"A fleet pwsh ({Path.GetFileName(start.ArgumentList[4])})";
        var run = await ChildRun.RunAsync(start, RunTimeout, description, cancellationToken);
        return run.ExitCode == 0
            ? run.Output
            : throw new InvalidOperationException($"{description} exited with {run.ExitCode}: {run.Error.Trim()} {run.Output.Trim()}");
    }

    [GeneratedRegex(@"enqueue_ms=(?<ms>[0-9.]+)")]
    private static partial Regex EnqueueTime();

    [GeneratedRegex(@"completed_at=(?<ticks>[0-9,]*)")]
    private static partial Regex CompletionTimes();

    [GeneratedRegex(@"worker start=(?<start>[0-9]+) end=(?<end>[0-9]+) completed=(?<completed>[0-9]+) failed=(?<failed>[0-9]+)")]
    private static partial Regex WorkerReport();
}
