using System.Globalization;
using System.Text.RegularExpressions;

namespace Arcp.Resumability.Bench;

/// <summary>
/// One way of resuming through the cmdlets, for one build's module: wall time of the short and the long job's resume,
/// and the CPU time the process spent meanwhile (all threads), which other processes' load disturbs far less.
/// </summary>
internal sealed record CmdletResumeFigures(string Module, string Pipeline, Summary Short, Summary Long, Summary ShortCpu, Summary LongCpu);

/// <summary>
/// The resume of issue 12 as an operator types it: a store holds an interrupted job of <see cref="ShortJob"/> steps and
/// one of <see cref="LongJob"/> steps (about 1 KB of output each, started with inline <c>-Step</c>, so each resumes
/// from its recorded definition), each with only its last step left. Every sample is a fresh pwsh that imports the
/// module (untimed) and then times one pipeline, from its first command to the job's completion: the resume reads the
/// job or its checkpoints, loads the recorded definition and runs the one remaining step. Each sample gets its own
/// copy of the pristine store (copied outside the timed interval), so every round resumes the same interrupted job.
/// Short and long jobs alternate sample by sample, so load swings hit both alike; with a baseline module its samples
/// come in turn with this build's, on stores it created itself.
/// </summary>
internal static partial class CmdletResumeBenchmark
{
    public const int ShortJob = 10;
    public const int LongJob = 5_000;

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The three pipelines the issue names; the job id and the store come from the environment.</summary>
    private static readonly IReadOnlyList<(string Label, string Command)> Pipelines =
    [
        ("Get-ArcpJob -Id <id> | Resume-ArcpJob", "Get-ArcpJob -Id $env:ARCP_BENCH_JOB | Resume-ArcpJob"),
        ("Get-ArcpCheckpoint -JobId <id> -Last 1 | Resume-ArcpJob", "Get-ArcpCheckpoint -JobId $env:ARCP_BENCH_JOB -Last 1 | Resume-ArcpJob"),
        ("Get-ArcpCheckpoint <id> | Select-Object -Last 1 | Resume-ArcpJob", "Get-ArcpCheckpoint $env:ARCP_BENCH_JOB | Select-Object -Last 1 | Resume-ArcpJob"),
    ];

    // Distinct step texts, as in a real workflow (PowerShell caches the parse of a script text it saw before). The
    // process dies by SIGKILL right after the second-to-last checkpoint, so the job is Interrupted with one step left.
    private const string SetupScript =
        """
        param([Parameter(Mandatory)][string]$Module, [Parameter(Mandatory)][string]$Store, [Parameter(Mandatory)][int]$Steps)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $definition = [ordered]@{}
        for ($i = 1; $i -lt $Steps; $i++) {
            $definition["s$i"] = [scriptblock]::Create("@{ step = $i; status = 'ok'; text = 'x' * 960 }")
        }
        $definition['last'] = { 'done' }
        $kill = $Steps - 2
        Start-ArcpJob -Step $definition -Store $Store -Name "bench-resume-$Steps" -OnCheckpoint {
            if ($_.StepIndex -eq $kill) {
                [Console]::Out.WriteLine("job_id=$($_.JobId)")
                Stop-Process -Id $PID -Force
            }
        } | Out-Null
        throw 'The job ran to its end instead of being killed before its last step.'
        """;

    private const string ResumeScript =
        """
        param([Parameter(Mandatory)][string]$Module, [Parameter(Mandatory)][string]$Pipeline)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $resume = [scriptblock]::Create($Pipeline)
        $process = [Diagnostics.Process]::GetCurrentProcess()
        $cpu = $process.TotalProcessorTime
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $job = & $resume
        $elapsed = $clock.Elapsed.TotalMilliseconds
        $process.Refresh()
        $cpu = ($process.TotalProcessorTime - $cpu).TotalMilliseconds
        if ("$($job.State)" -ne 'Completed' -or "$($job.Result)" -ne 'done') { throw "Job $env:ARCP_BENCH_JOB ended '$($job.State)' with '$($job.Result)', not Completed with 'done'." }
        [Console]::Out.WriteLine([string]::Format([cultureinfo]::InvariantCulture, 'resume_ms={0:F3} cpu_ms={1:F3}', $elapsed, $cpu))
        """;

    public static async Task<IReadOnlyList<CmdletResumeFigures>> RunAsync(string host, string pwshDll, IReadOnlyList<(string Label, string Path)> modules, string folder, int rounds, CancellationToken cancellationToken)
    {
        var setupScript = Path.Combine(folder, "cmdlet-resume-setup.ps1");
        var resumeScript = Path.Combine(folder, "cmdlet-resume.ps1");
        await File.WriteAllTextAsync(setupScript, SetupScript, cancellationToken);
        await File.WriteAllTextAsync(resumeScript, ResumeScript, cancellationToken);

        // Each module records its own jobs: a newer build's store may have a schema an older build refuses.
        var pristine = new List<IReadOnlyList<(string Store, string JobId)>>();
        for (var m = 0; m < modules.Count; m++)
        {
            var jobs = new List<(string, string)>();
            foreach (var steps in new[] { ShortJob, LongJob })
            {
                var store = Path.Combine(folder, $"cmdlet-resume-{m}-{steps}.db");
                jobs.Add((store, await InterruptedJobAsync(host, pwshDll, setupScript, modules[m].Path, store, steps, cancellationToken)));
            }

            pristine.Add(jobs);
        }

        var samples = modules.Select(_ => Pipelines.Select(_ => (Short: new List<double>(), Long: new List<double>(), ShortCpu: new List<double>(), LongCpu: new List<double>())).ToList()).ToList();
        var sample = 0;
        // One unmeasured round first: the first processes read pwsh, the module and the stores into the page cache.
        for (var round = -1; round < rounds; round++)
        {
            for (var p = 0; p < Pipelines.Count; p++)
            {
                for (var m = 0; m < modules.Count; m++)
                {
                    for (var size = 0; size < 2; size++)
                    {
                        var (store, jobId) = pristine[m][size];
                        var copy = Path.Combine(folder, $"cmdlet-resume-sample-{sample++}.db");
                        CopyStore(store, copy);
                        var (milliseconds, cpu) = await ResumeAsync(host, pwshDll, resumeScript, modules[m].Path, copy, jobId, Pipelines[p].Command, cancellationToken);
                        DeleteStore(copy);
                        if (round >= 0)
                        {
                            (size == 0 ? samples[m][p].Short : samples[m][p].Long).Add(milliseconds);
                            (size == 0 ? samples[m][p].ShortCpu : samples[m][p].LongCpu).Add(cpu);
                        }
                    }
                }
            }
        }

        return [.. modules.SelectMany((module, m) => Pipelines.Select((pipeline, p) => new CmdletResumeFigures(module.Label, pipeline.Label, Summary.Of(samples[m][p].Short), Summary.Of(samples[m][p].Long), Summary.Of(samples[m][p].ShortCpu), Summary.Of(samples[m][p].LongCpu))))];
    }

    private static async Task<string> InterruptedJobAsync(string host, string pwshDll, string script, string modulePath, string store, int steps, CancellationToken cancellationToken)
    {
        var start = ChildRun.Pwsh(host, pwshDll, script, ["-Module", modulePath, "-Store", store, "-Steps", steps.ToString(CultureInfo.InvariantCulture)]);
        var run = await ChildRun.RunAsync(start, RunTimeout, $"The pwsh recording the {steps}-step job", cancellationToken);
        var match = JobId().Match(run.Output);
        return match.Success
            ? match.Groups["id"].Value
            : throw new InvalidOperationException($"The pwsh recording the {steps}-step job exited with {run.ExitCode} without being killed after its second-to-last step: {run.Error.Trim()} {run.Output.Trim()}");
    }

    private static async Task<(double Milliseconds, double ProcessorMilliseconds)> ResumeAsync(string host, string pwshDll, string script, string modulePath, string store, string jobId, string pipeline, CancellationToken cancellationToken)
    {
        var start = ChildRun.Pwsh(host, pwshDll, script, ["-Module", modulePath, "-Pipeline", pipeline]);
        start.Environment["ARCP_STORE"] = store;
        start.Environment["ARCP_BENCH_JOB"] = jobId;
        start.Environment["NO_COLOR"] = "1";
        var description = $"The pwsh resuming job {jobId} with '{pipeline}'";
        var run = await ChildRun.RunAsync(start, RunTimeout, description, cancellationToken);
        var match = ResumeTime().Match(run.Output);
        return run.ExitCode == 0 && match.Success
            ? (double.Parse(match.Groups["ms"].Value, CultureInfo.InvariantCulture), double.Parse(match.Groups["cpu"].Value, CultureInfo.InvariantCulture))
            : throw new InvalidOperationException($"{description} exited with {run.ExitCode}: {run.Error.Trim()} {run.Output.Trim()}");
    }

    /// <summary>
    /// The database and its write-ahead log as the killed process left them; SQLite replays the log on open. The
    /// shared-memory index is not copied: it is rebuilt from the log.
    /// </summary>
    private static void CopyStore(string from, string to)
    {
        DeleteStore(to);
        File.Copy(from, to);
        if (File.Exists(from + "-wal"))
        {
            File.Copy(from + "-wal", to + "-wal");
        }
    }

    private static void DeleteStore(string path)
    {
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm", "-journal" })
        {
            File.Delete(path + suffix);
        }
    }

    [GeneratedRegex(@"job_id=(?<id>job_[0-9A-Za-z]+)")]
    private static partial Regex JobId();

    [GeneratedRegex(@"resume_ms=(?<ms>[0-9.]+) cpu_ms=(?<cpu>[0-9.]+)")]
    private static partial Regex ResumeTime();
}
