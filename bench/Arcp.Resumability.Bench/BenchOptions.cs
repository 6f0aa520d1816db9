using System.Globalization;

namespace Arcp.Resumability.Bench;

internal sealed record BenchOptions
{
    public const string Usage =
        """
        Usage: Arcp.Resumability.Bench [--long] [--steps N] [--steps-per-job N] [--warmup-steps N] [--pwsh-runs N]
                                       [--resume-rounds N] [--cmdlet-resume-rounds N] [--postgres CONN] [--dir PATH]
                                       [--fleet-rounds N] [--fleet-jobs N] [--fleet-postgres auto|off]
                                       [--memory-steps SHORT[,MIDDLE],LONG] [--cmdlet-fleet-rounds N]
                                       [--cmdlet-fleet-jobs N] [--baseline-module PATH] [--cmdlet-step-jobs N]

          --long             a long run: 5000 steps, 20 resume rounds, 10 pwsh runs, 10 fleet rounds of 200 jobs
                             (each still overridable)
          --steps N          measured steps back to back and again paired with bare transactions (default 1000)
          --steps-per-job N  steps per workflow; the first step of each job is not measured (default 100)
          --warmup-steps N   unmeasured steps run first (default 1000); warm-up then goes on until 5 jobs in a row
                             JIT-compile at most 2 methods each, for up to 40 s in all
          --pwsh-runs N      measured runs per fresh-pwsh variant; 0 skips that part (default 5)
          --resume-rounds N  rounds resuming jobs of 10, 1,000 and 10,000 recorded steps in turn; 0 skips (default 5)
          --cmdlet-resume-rounds N
                             rounds of the resume through the cmdlets (fresh pwsh per sample: Get-ArcpJob | Resume-ArcpJob,
                             Get-ArcpCheckpoint -Last 1 | Resume-ArcpJob and Get-ArcpCheckpoint | Select-Object -Last 1 |
                             Resume-ArcpJob, each on interrupted jobs of 10 and 5,000 steps in turn); needs the published
                             module; 0 skips it (default 3; --long: 10)
          --postgres CONN    also time the step on PostgreSQL (Npgsql connection string of a database the user may
                             create schemas in) against a bare commit of the same bytes on that server
          --dir PATH         folder for the temporary stores (default: the system temp folder)
          --fleet-rounds N   rounds of the fleet part (5-step jobs drained by 1 and 4 workers of 4 slots, and bare);
                             0 skips it (default 3)
          --fleet-jobs N     jobs queued per fleet round (default 24)
          --fleet-postgres   auto (default): the fleet part and part 1c also run on PostgreSQL, on --postgres CONN
                             when given, else on a server of its own (127.0.0.1, stopped at the end); off: SQLite only
          --cmdlet-fleet-rounds N
                             rounds of the fleet through the cmdlets (fresh pwsh: Start-ArcpJob -Queue, then 1 and
                             4 processes of Start-ArcpWorker -Concurrency 4 -ExitWhenIdle), on each fleet store;
                             needs the published module; 0 skips it (default 2; --long: 5)
          --cmdlet-fleet-jobs N
                             jobs queued per round of the fleet through the cmdlets, at least 4 (default: --fleet-jobs);
                             besides the whole drain it prints the pace of the drain's second half, once the fresh
                             processes have warmed up, so a round of 1,000 or more shows the warm rate
          --baseline-module PATH
                             another build's module manifest (for example main's out/Arcp.Resumability/
                             Arcp.Resumability.psd1): the cmdlet step, fleet and resume parts run it too, in turn
                             with this build's round by round, and print its figures beside
          --cmdlet-step-jobs N
                             part 1c: 100-step jobs of no-op script steps through Start-ArcpJob, each in a fresh
                             pwsh after one unmeasured job, on SQLite and on PostgreSQL (as --fleet-postgres says),
                             ms per step against DBOS's 2.10 ms; with --baseline-module that build too, in turn;
                             needs the published module; 0 skips it (default 3; --long: 10)
          --memory-steps S,M,L
                             RSS, live managed memory and where the RSS went after S, M and L steps of one job
                             (M may be left out); S and L are the issue's pair, M shows the growth once warm;
                             0,0 skips (default 1000,50000,100000: about 100 s on an idle 2-core machine)
        """;

    public int Steps { get; init; } = 1000;

    public int ResumeRounds { get; init; } = 5;

    /// <summary>Rounds of the resume through the cmdlets (part 2b); 0 skips it.</summary>
    public int CmdletResumeRounds { get; init; } = 3;

    /// <summary>Recorded steps of the jobs the resume part resumes.</summary>
    public IReadOnlyList<int> ResumeSizes { get; init; } = [10, 1_000, 10_000];

    public int StepsPerJob { get; init; } = 100;

    public int WarmupSteps { get; init; } = 1000;

    public int PwshRuns { get; init; } = 5;

    public string WorkFolder { get; init; } = Path.GetTempPath();

    public string? PostgresConnection { get; init; }

    public int FleetRounds { get; init; } = 3;

    public int FleetJobs { get; init; } = 24;

    public bool FleetOnPostgres { get; init; } = true;

    public int CmdletFleetRounds { get; init; } = 2;

    /// <summary>Jobs per round of the fleet through the cmdlets; null: <see cref="FleetJobs"/>.</summary>
    public int? CmdletFleetJobs { get; init; }

    public int CmdletFleetJobCount => CmdletFleetJobs ?? FleetJobs;

    /// <summary>Measured 100-step jobs through Start-ArcpJob per store and module (part 1c), one fresh pwsh each.</summary>
    public int CmdletStepJobs { get; init; } = 3;

    /// <summary>Another build's module manifest, measured in the cmdlet step, fleet and resume parts beside this build's.</summary>
    public string? BaselineModule { get; init; }

    /// <summary>Steps of one job after which memory is sampled, ascending; empty skips the memory-growth part.</summary>
    public IReadOnlyList<int> MemorySteps { get; init; } = [1_000, 50_000, 100_000];

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> with a readable message on bad input.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        if (args.Contains("--long"))
        {
            options = options with { Steps = 5000, ResumeRounds = 20, PwshRuns = 10, FleetRounds = 10, FleetJobs = 200, CmdletFleetRounds = 5, CmdletResumeRounds = 10, CmdletStepJobs = 10 };
            args = args.Where(a => a != "--long").ToList();
        }

        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"Option '{name}' needs a value.");
            }

            var value = args[++i];
            options = name switch
            {
                "--steps" => options with { Steps = Count(name, value, minimum: 1) },
                "--steps-per-job" => options with { StepsPerJob = Count(name, value, minimum: 2) },
                "--warmup-steps" => options with { WarmupSteps = Count(name, value, minimum: 0) },
                "--pwsh-runs" => options with { PwshRuns = Count(name, value, minimum: 0) },
                "--resume-rounds" => options with { ResumeRounds = Count(name, value, minimum: 0) },
                "--cmdlet-resume-rounds" => options with { CmdletResumeRounds = Count(name, value, minimum: 0) },
                "--dir" => options with { WorkFolder = Path.GetFullPath(value) },
                "--postgres" => options with { PostgresConnection = ConnectionString(name, value) },
                "--fleet-rounds" => options with { FleetRounds = Count(name, value, minimum: 0) },
                "--fleet-jobs" => options with { FleetJobs = Count(name, value, minimum: 1) },
                "--memory-steps" => options with { MemorySteps = StepCounts(name, value) },
                "--cmdlet-fleet-rounds" => options with { CmdletFleetRounds = Count(name, value, minimum: 0) },
                "--cmdlet-fleet-jobs" => options with { CmdletFleetJobs = Count(name, value, minimum: CmdletFleetBenchmark.MinimumJobs) },
                "--cmdlet-step-jobs" => options with { CmdletStepJobs = Count(name, value, minimum: 0) },
                "--baseline-module" => options with
                {
                    BaselineModule = File.Exists(value) ? Path.GetFullPath(value) : throw new ArgumentException($"Option '{name}' needs the path of a module manifest; '{value}' does not exist."),
                },
                "--fleet-postgres" => options with
                {
                    FleetOnPostgres = value switch
                    {
                        "auto" => true,
                        "off" => false,
                        _ => throw new ArgumentException($"Option '{name}' takes 'auto' or 'off', not '{value}'."),
                    },
                },
                _ => throw new ArgumentException($"Unknown option '{name}'."),
            };
        }

        // The drain's second half is timed from one completion to another, so it needs at least two jobs after the first.
        return options.CmdletFleetRounds > 0 && options.CmdletFleetJobCount < CmdletFleetBenchmark.MinimumJobs
            ? throw new ArgumentException($"The fleet through the cmdlets needs at least {CmdletFleetBenchmark.MinimumJobs} jobs per round, not {options.CmdletFleetJobCount}: pass --cmdlet-fleet-jobs, or --cmdlet-fleet-rounds 0.")
            : options;
    }

    private static string ConnectionString(string name, string value)
    {
        try
        {
            return new Npgsql.NpgsqlConnectionStringBuilder(value).ConnectionString.Length > 0 ? value : throw new ArgumentException("it is empty");
        }
        catch (ArgumentException ex)
        {
            // The value is not echoed: it may hold a password.
            throw new ArgumentException($"Option '{name}' needs an Npgsql connection string (Host=...;Username=...): {ex.Message}", ex);
        }
    }

    private static List<int> StepCounts(string name, string value)
    {
        var counts = value.Split(',').Select(part => Count(name, part, minimum: 0)).ToList();
        if (counts is [0, 0])
        {
            return [];
        }

        if (counts.Count is 2 or 3 && counts[0] >= 1 && counts.Zip(counts.Skip(1)).All(pair => pair.First < pair.Second))
        {
            return counts;
        }

        throw new ArgumentException($"Option '{name}' needs two or three ascending step counts SHORT[,MIDDLE],LONG with SHORT >= 1 (or 0,0 to skip), not '{value}'.");
    }

    private static int Count(string name, string value, int minimum) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= minimum
            ? count
            : throw new ArgumentException($"Option '{name}' needs a whole number of at least {minimum}, not '{value}'.");
}
