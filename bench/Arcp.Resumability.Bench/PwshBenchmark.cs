using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Arcp.Resumability.Bench;

internal sealed record PwshResults(string Command, Summary BareStart, Summary ModuleJob, Summary TimedModuleJob, Summary ImportInScript, Summary JobInScript);

/// <summary>
/// Wall time of whole fresh pwsh processes: one that only exits, and one that imports the published module
/// and runs a five-step no-op job, so the module's share of a cold start is the difference. A third process runs
/// the same job with a stopwatch read around each command, for the split between import and job; its stopwatch and
/// printing are .NET calls through PowerShell's binder, which a new process JIT-compiles (about 40 ms of CPU), so it
/// is not the one the module's share is taken from.
/// </summary>
internal static partial class PwshBenchmark
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    private const string JobScript =
        """
        param([Parameter(Mandatory)][string]$Module, [Parameter(Mandatory)][string]$Store)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $job = Start-ArcpJob -Step ([ordered]@{ a = { 1 }; b = { 2 }; c = { 3 }; d = { 4 }; e = { 5 } }) -Store $Store
        if ("$($job.State)" -ne 'Completed') { throw "The job ended '$($job.State)', not 'Completed'." }
        """;

    private const string TimedJobScript =
        """
        param([Parameter(Mandatory)][string]$Module, [Parameter(Mandatory)][string]$Store)
        $ErrorActionPreference = 'Stop'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Import-Module $Module
        $imported = $clock.Elapsed.TotalMilliseconds
        $job = Start-ArcpJob -Step ([ordered]@{ a = { 1 }; b = { 2 }; c = { 3 }; d = { 4 }; e = { 5 } }) -Store $Store
        $ran = $clock.Elapsed.TotalMilliseconds - $imported
        if ("$($job.State)" -ne 'Completed') { throw "The job ended '$($job.State)', not 'Completed'." }
        [Console]::Out.WriteLine([string]::Format([cultureinfo]::InvariantCulture, 'import_ms={0:F3} job_ms={1:F3}', $imported, $ran))
        """;

    /// <summary>Finds the pwsh the repository's tool manifest pins, as the host executable plus pwsh.dll.</summary>
    public static async Task<(string Host, string PwshDll)> LocateAsync(string repoRoot, CancellationToken cancellationToken)
    {
        // `dotnet pwsh` resolves through dotnet-tools.json in the working directory; the tool's own process
        // tells where it lives, so the measured children skip the tool-resolution step of `dotnet pwsh`.
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = repoRoot };
        foreach (var arg in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-Command", "[Console]::Out.WriteLine($PSHOME); [Console]::Out.WriteLine([Environment]::ProcessPath)" })
        {
            start.ArgumentList.Add(arg);
        }

        var (exitCode, output, error, _) = await RunAsync(start, cancellationToken);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (exitCode != 0 || lines.Length < 2)
        {
            throw new InvalidOperationException($"Could not locate pwsh: 'dotnet pwsh' in {repoRoot} exited with {exitCode} ({error.Trim()}). Run 'dotnet tool restore' in the repository first.");
        }

        var pwshDll = Path.Combine(lines[0], "pwsh.dll");
        if (!File.Exists(pwshDll))
        {
            throw new InvalidOperationException($"pwsh reports $PSHOME '{lines[0]}', but it holds no pwsh.dll.");
        }

        return (lines[1], pwshDll);
    }

    public static async Task<PwshResults> RunAsync(string host, string pwshDll, string modulePath, string folder, int runs, CancellationToken cancellationToken)
    {
        var exitScript = Path.Combine(folder, "exit.ps1");
        var jobScript = Path.Combine(folder, "job.ps1");
        var timedJobScript = Path.Combine(folder, "timed-job.ps1");
        await File.WriteAllTextAsync(exitScript, "exit 0\n", cancellationToken);
        await File.WriteAllTextAsync(jobScript, JobScript, cancellationToken);
        await File.WriteAllTextAsync(timedJobScript, TimedJobScript, cancellationToken);

        var bare = new List<double>();
        var module = new List<double>();
        var timed = new List<double>();
        var import = new List<double>();
        var job = new List<double>();

        // One unmeasured round first: the first start reads pwsh and the module from disk into the page cache.
        for (var run = -1; run < runs; run++)
        {
            var bareTime = await TimeAsync(Start(host, pwshDll, exitScript), cancellationToken);
            var moduleTime = await TimeAsync(Start(host, pwshDll, jobScript, "-Module", modulePath, "-Store", Path.Combine(folder, $"pwsh-{run + 1}.db")), cancellationToken);
            var (timedTime, output) = await TimeWithOutputAsync(Start(host, pwshDll, timedJobScript, "-Module", modulePath, "-Store", Path.Combine(folder, $"pwsh-timed-{run + 1}.db")), cancellationToken);
            if (run < 0)
            {
                continue;
            }

            var match = ScriptTimes().Match(output);
            if (!match.Success)
            {
                throw new InvalidOperationException($"The job script printed no timings; its output was: {output.Trim()}");
            }

            bare.Add(bareTime);
            module.Add(moduleTime);
            timed.Add(timedTime);
            import.Add(double.Parse(match.Groups["import"].Value, CultureInfo.InvariantCulture));
            job.Add(double.Parse(match.Groups["job"].Value, CultureInfo.InvariantCulture));
        }

        return new PwshResults($"{host} {pwshDll} -NoProfile -NonInteractive -File", Summary.Of(bare), Summary.Of(module), Summary.Of(timed), Summary.Of(import), Summary.Of(job));
    }

    private static ProcessStartInfo Start(string host, string pwshDll, string script, params string[] scriptArgs) =>
        ChildRun.Pwsh(host, pwshDll, script, scriptArgs);

    private static async Task<double> TimeAsync(ProcessStartInfo start, CancellationToken cancellationToken) =>
        (await TimeWithOutputAsync(start, cancellationToken)).Milliseconds;

    private static async Task<(double Milliseconds, string Output)> TimeWithOutputAsync(ProcessStartInfo start, CancellationToken cancellationToken)
    {
        var (exitCode, output, error, milliseconds) = await RunAsync(start, cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"'{start.FileName} {string.Join(' ', start.ArgumentList)}' exited with {exitCode}: {error.Trim()} {output.Trim()}");
        }

        return (milliseconds, output);
    }

    private static async Task<(int ExitCode, string Output, string Error, double Milliseconds)> RunAsync(ProcessStartInfo start, CancellationToken cancellationToken)
    {
        var run = await ChildRun.RunAsync(start, RunTimeout, $"'{start.FileName} {string.Join(' ', start.ArgumentList)}'", cancellationToken);
        return (run.ExitCode, run.Output, run.Error, run.Milliseconds);
    }

    [GeneratedRegex(@"import_ms=(?<import>[0-9.]+) job_ms=(?<job>[0-9.]+)")]
    private static partial Regex ScriptTimes();
}
