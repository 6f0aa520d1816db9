using System.Globalization;
using System.Text.RegularExpressions;

namespace Arcp.Resumability.Bench;

/// <summary>Milliseconds per step through <c>Start-ArcpJob</c> for one build's module on one store.</summary>
internal sealed record CmdletStepFigures(string Store, string Module, int Jobs, Summary Step, Summary PerJob);

/// <summary>
/// The step through the cmdlets (issue 12, "a step on PostgreSQL, 100-step job, against DBOS's 2.10 ms"): a fresh pwsh
/// imports the module, runs one unmeasured job and then the measured jobs of <see cref="StepsPerJob"/> no-op script
/// steps with <c>Start-ArcpJob -Step</c>, as an operator runs them (progress and verbose records written, nobody
/// watching). Each step notes a clock reading as it starts; a step's time is from the previous step's start to its own,
/// so it covers the previous step's checkpoint and everything between (the runner, the pipeline thread, the store),
/// as part 1 times the core step. The first step of each job has no previous one and is not measured. With several
/// modules (this build and a baseline) each round runs them in turn, each on a store of its own (a newer build may
/// migrate its store to a schema an older build refuses).
/// </summary>
internal static partial class CmdletStepBenchmark
{
    public const int StepsPerJob = 100;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    // The clock readings go to a global list: the step's own scope is thrown away after it (scope isolation), and
    // $global: is the one place a step may leave something for the script that started the job.
    private const string Script =
        """
        param([Parameter(Mandatory)][string]$Module, [Parameter(Mandatory)][string]$Store, [Parameter(Mandatory)][int]$Steps, [Parameter(Mandatory)][int]$Jobs)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $global:ArcpBenchTicks = [System.Collections.Generic.List[long]]::new()
        $definition = [ordered]@{}
        for ($i = 1; $i -le $Steps; $i++) { $definition["step$i"] = { $global:ArcpBenchTicks.Add([Diagnostics.Stopwatch]::GetTimestamp()) } }
        for ($j = 0; $j -le $Jobs; $j++) {
            $global:ArcpBenchTicks.Clear()
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $job = Start-ArcpJob -Step $definition -Store $Store
            $elapsed = $clock.Elapsed.TotalMilliseconds
            if ("$($job.State)" -ne 'Completed' -or $global:ArcpBenchTicks.Count -ne $Steps) { throw "Job $($job.JobId) is '$($job.State)' after $($global:ArcpBenchTicks.Count) of $Steps steps." }
            if ($j -eq 0) { continue }
            $ms = for ($k = 1; $k -lt $Steps; $k++) { ($global:ArcpBenchTicks[$k] - $global:ArcpBenchTicks[$k - 1]) * 1000.0 / [Diagnostics.Stopwatch]::Frequency }
            [Console]::Out.WriteLine([string]::Format([cultureinfo]::InvariantCulture, 'job_ms={0:F3} step_ms={1}', $elapsed, [string]::Join(',', @($ms | ForEach-Object { $_.ToString('F4', [cultureinfo]::InvariantCulture) }))))
        }
        """;

    public static async Task<IReadOnlyList<CmdletStepFigures>> RunAsync(string label, Func<int, string> storeOfModule, string host, string pwshDll, IReadOnlyList<(string Label, string Path)> modules, string folder, int jobs, CancellationToken cancellationToken)
    {
        var script = Path.Combine(folder, "cmdlet-steps.ps1");
        await File.WriteAllTextAsync(script, Script, cancellationToken);
        var steps = modules.Select(_ => new List<double>()).ToList();
        var perJob = modules.Select(_ => new List<double>()).ToList();

        // One job per process and round, modules in turn, so a swing of the machine's load hits every module alike.
        for (var round = 0; round < jobs; round++)
        {
            for (var m = 0; m < modules.Count; m++)
            {
                var start = ChildRun.Pwsh(host, pwshDll, script, ["-Module", modules[m].Path, "-Store", storeOfModule(m), "-Steps", StepsPerJob.ToString(CultureInfo.InvariantCulture), "-Jobs", "1"]);
                start.Environment["NO_COLOR"] = "1";
                var description = $"A pwsh timing Start-ArcpJob steps ({modules[m].Label})";
                var run = await ChildRun.RunAsync(start, RunTimeout, description, cancellationToken);
                if (run.ExitCode != 0)
                {
                    throw new InvalidOperationException($"{description} exited with {run.ExitCode}: {run.Error.Trim()} {run.Output.Trim()}");
                }

                var lines = JobLine().Matches(run.Output);
                if (lines.Count == 0)
                {
                    throw new InvalidOperationException($"{description} printed no timing; its output was: {run.Output.Trim()}");
                }

                foreach (Match line in lines)
                {
                    perJob[m].Add(double.Parse(line.Groups["job"].Value, CultureInfo.InvariantCulture));
                    steps[m].AddRange(line.Groups["steps"].Value.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)));
                }
            }
        }

        return modules.Select((module, m) => new CmdletStepFigures(label, module.Label, jobs, Summary.Of(steps[m]), Summary.Of(perJob[m]))).ToList();
    }

    [GeneratedRegex(@"job_ms=(?<job>[0-9.]+) step_ms=(?<steps>[0-9.,]+)")]
    private static partial Regex JobLine();
}
