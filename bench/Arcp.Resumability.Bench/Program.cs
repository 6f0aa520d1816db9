using System.Diagnostics;
using Arcp.Resumability.Bench;
using Microsoft.Data.Sqlite;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var started = Stopwatch.GetTimestamp();
var folder = Path.Combine(options.WorkFolder, "arcp-bench-" + Guid.NewGuid().ToString("N"));
try
{
    // Locate everything the pwsh part needs before spending a minute on the other parts.
    string? modulePath = null;
    (string Host, string PwshDll)? pwsh = null;
    if (options.PwshRuns > 0 || options.CmdletResumeRounds > 0 || options.CmdletStepJobs > 0 || (options.FleetRounds > 0 && options.CmdletFleetRounds > 0))
    {
        var repoRoot = Machine.FindRepoRoot();
        modulePath = Path.Combine(repoRoot, "out", "Arcp.Resumability", "Arcp.Resumability.psd1");
        if (!File.Exists(modulePath))
        {
            throw new FileNotFoundException($"The published module is missing: {modulePath}. Build it first with 'dotnet pwsh ./build.ps1 build' ('build.ps1 bench' does that), or pass --pwsh-runs 0 --cmdlet-resume-rounds 0 --cmdlet-fleet-rounds 0.");
        }

        pwsh = await PwshBenchmark.LocateAsync(repoRoot, CancellationToken.None);
    }

    Directory.CreateDirectory(folder);
    var report = new Report(Console.Out);
    report.Header(options, folder);
    IReadOnlyList<(string Label, string Path)> modules = modulePath is null ? [] : options.BaselineModule is { } baseline ? [("this build", modulePath), ($"baseline {baseline}", baseline)] : [("this build", modulePath)];

    // One server of the benchmark's own serves every PostgreSQL part that has no --postgres CONN (each in a schema of its own).
    var wantsPostgres = options.FleetOnPostgres && (options.FleetRounds > 0 || options.CmdletStepJobs > 0);
    await using var server = options.PostgresConnection is null && wantsPostgres ? await ThrowawayPostgres.StartAsync(CancellationToken.None) : null;
    var postgresTarget = options.PostgresConnection is { } given ? (Label: "PostgreSQL (--postgres)", Admin: given) : server is null ? ((string Label, string Admin)?)null : ("PostgreSQL (own server)", server.ConnectionString);
    var stepFigures = await MeasureStepsAsync(options, folder);
    report.Steps(options, stepFigures);
    if (options.PostgresConnection is { } postgres)
    {
        report.Postgres(await PostgresBenchmark.RunAsync(postgres, stepFigures.Bytes, options, CancellationToken.None));
    }

    if (options.CmdletStepJobs > 0 && pwsh is { } stepPwsh)
    {
        report.CmdletSteps(await CmdletStepBenchmark.RunAsync("SQLite", m => Path.Combine(folder, $"cmdlet-steps-{m}.db"), stepPwsh.Host, stepPwsh.PwshDll, modules, folder, options.CmdletStepJobs, CancellationToken.None));
        if (postgresTarget is { } target && options.FleetOnPostgres)
        {
            report.CmdletSteps(await InSchemasAsync(target.Admin, "arcp_steps_", modules.Count, storeOfModule => CmdletStepBenchmark.RunAsync(target.Label, storeOfModule, stepPwsh.Host, stepPwsh.PwshDll, modules, folder, options.CmdletStepJobs, CancellationToken.None)));
        }
        else
        {
            report.Line(options.FleetOnPostgres
                ? "1c. On PostgreSQL: skipped (no PostgreSQL server binaries under /usr/lib/postgresql, and no --postgres CONN)."
                : "1c. On PostgreSQL: skipped (--fleet-postgres off).");
            report.Line();
        }
    }
    if (options.ResumeRounds > 0)
    {
        report.Resume(options, await MeasureResumesAsync(options, folder));
    }

    if (options.CmdletResumeRounds > 0 && pwsh is { } resumePwsh)
    {
        report.CmdletResume(options, await CmdletResumeBenchmark.RunAsync(resumePwsh.Host, resumePwsh.PwshDll, modules, folder, options.CmdletResumeRounds, CancellationToken.None));
    }
    else
    {
        report.Line("2b. Resume through the cmdlets: skipped (--cmdlet-resume-rounds 0).");
        report.Line();
    }

    if (options.PwshRuns > 0 && pwsh is { } located)
    {
        report.Pwsh(options, await PwshBenchmark.RunAsync(located.Host, located.PwshDll, modulePath!, folder, options.PwshRuns, CancellationToken.None));
    }
    else
    {
        report.Line("3. Fresh pwsh: skipped (--pwsh-runs 0).");
        report.Line();
    }

    if (options.FleetRounds > 0)
    {
        var cmdlets = options.CmdletFleetRounds > 0 && pwsh is { } fleetPwsh ? new CmdletFleet(fleetPwsh.Host, fleetPwsh.PwshDll, modules) : null;
        await MeasureFleetsAsync(options, folder, report, cmdlets, postgresTarget);
    }

    if (options.MemorySteps.Count > 0)
    {
        report.MemoryGrowth(await MemoryGrowthBenchmark.RunAsync(Path.Combine(folder, "memory.db"), options.MemorySteps, CancellationToken.None));
    }

    report.Footer(Stopwatch.GetElapsedTime(started));
    return 0;
}
catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or SqliteException or Npgsql.NpgsqlException or TimeoutException)
{
    Console.Error.WriteLine($"Benchmark failed: {ex.Message}");
    return 1;
}
finally
{
    SqliteConnection.ClearAllPools();
    try
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
    catch (IOException ex)
    {
        Console.Error.WriteLine($"Could not remove the temporary folder {folder}: {ex.Message}");
    }
}

static async Task MeasureFleetsAsync(BenchOptions options, string folder, Report report, CmdletFleet? cmdlets, (string Label, string Admin)? postgres)
{
    report.Fleet(options, await FleetBenchmark.RunAsync("SQLite", Path.Combine(folder, "fleet.db"), BareFleet.Kind.Sqlite, Path.Combine(folder, "bare-fleet.db"), options, CancellationToken.None));
    if (cmdlets is not null)
    {
        report.CmdletFleet(options, await CmdletFleetBenchmark.RunAsync("SQLite", m => Path.Combine(folder, $"cmdlet-fleet-{m}.db"), cmdlets.Host, cmdlets.PwshDll, cmdlets.Modules, folder, options.CmdletFleetJobCount, options.CmdletFleetRounds, CancellationToken.None));
    }

    if (!options.FleetOnPostgres)
    {
        report.Line("5b. Fleet on PostgreSQL: skipped (--fleet-postgres off).");
        report.Line();
        return;
    }

    if (postgres is not { Label: var label, Admin: var admin })
    {
        report.Line("5b. Fleet on PostgreSQL: skipped (no PostgreSQL server binaries under /usr/lib/postgresql, and no --postgres CONN).");
        report.Line();
        return;
    }

    var schema = "arcp_fleet_" + Guid.NewGuid().ToString("N");
    await using (var connection = new Npgsql.NpgsqlConnection(admin))
    {
        await connection.OpenAsync();
        await using var create = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {schema};", connection);
        await create.ExecuteNonQueryAsync();
    }

    try
    {
        var storeSpec = new Npgsql.NpgsqlConnectionStringBuilder(admin) { SearchPath = schema }.ConnectionString;
        report.Fleet(options, await FleetBenchmark.RunAsync(label, storeSpec, BareFleet.Kind.Postgres, admin, options, CancellationToken.None));
        if (cmdlets is not null)
        {
            report.CmdletFleet(options, await InSchemasAsync(admin, schema + "_cmdlets_", cmdlets.Modules.Count, storeOfModule => CmdletFleetBenchmark.RunAsync(label, storeOfModule, cmdlets.Host, cmdlets.PwshDll, cmdlets.Modules, folder, options.CmdletFleetJobCount, options.CmdletFleetRounds, CancellationToken.None)));
        }
    }
    finally
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        await using var connection = new Npgsql.NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var drop = new Npgsql.NpgsqlCommand($"DROP SCHEMA {schema} CASCADE;", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

// Runs work on stores in schemas of their own on the server (one per module: a newer build may migrate its store to a
// schema an older build refuses), dropped afterwards.
static async Task<T> InSchemasAsync<T>(string admin, string prefix, int count, Func<Func<int, string>, Task<T>> work)
{
    var schemas = Enumerable.Range(0, count).Select(_ => prefix + Guid.NewGuid().ToString("N")).ToList();
    await using (var connection = new Npgsql.NpgsqlConnection(admin))
    {
        await connection.OpenAsync();
        await using var create = new Npgsql.NpgsqlCommand(string.Concat(schemas.Select(s => $"CREATE SCHEMA {s};")), connection);
        await create.ExecuteNonQueryAsync();
    }

    try
    {
        return await work(m => new Npgsql.NpgsqlConnectionStringBuilder(admin) { SearchPath = schemas[m] }.ConnectionString);
    }
    finally
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        await using var connection = new Npgsql.NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var drop = new Npgsql.NpgsqlCommand(string.Concat(schemas.Select(s => $"DROP SCHEMA IF EXISTS {s} CASCADE;")), connection);
        await drop.ExecuteNonQueryAsync();
    }
}

static async Task<IReadOnlyList<(int Recorded, Summary Resume)>> MeasureResumesAsync(BenchOptions options, string folder)
{
    await using var resume = await ResumeBenchmark.OpenAsync(folder, options.ResumeSizes, CancellationToken.None);
    await resume.MeasureRoundAsync(CancellationToken.None); // unmeasured: JIT and the file cache
    var samples = options.ResumeSizes.ToDictionary(size => size, _ => new List<double>());
    for (var round = 0; round < options.ResumeRounds; round++)
    {
        foreach (var (recorded, milliseconds) in await resume.MeasureRoundAsync(CancellationToken.None))
        {
            samples[recorded].Add(milliseconds);
        }
    }

    return options.ResumeSizes.Select(size => (size, Summary.Of(samples[size]))).ToList();
}

static async Task<StepFigures> MeasureStepsAsync(BenchOptions options, string folder)
{
    await using var steps = await StepBenchmark.OpenAsync(Path.Combine(folder, "steps.db"), options.StepsPerJob, options.WarmupSteps, CancellationToken.None);
    var bytes = steps.ReadStepBytes();

    // First the literal case: jobs of no-op steps back to back. CPU, allocation and memory figures come from here.
    var backToBack = new List<double>();
    var jobs = new List<JobRun>();
    while (backToBack.Count < options.Steps)
    {
        var job = await steps.RunJobAsync(null, CancellationToken.None);
        jobs.Add(job);
        backToBack.AddRange(job.StepIntervals);
    }

    var memory = StepBenchmark.CaptureMemory();

    // Then the comparison: each step is followed by one transaction of each bare kind, so all four see the same
    // moment of the machine. The disk's fsync latency here swings between well under 1 ms and several ms within
    // seconds (other tenants), which would otherwise decide the ratio by itself.
    using var bareFull = new BareSqliteBenchmark(Path.Combine(folder, "bare-full.db"), bytes.ProgressEnvelope, bytes.CheckpointEnvelope, splitCommits: false);
    using var bareSplit = new BareSqliteBenchmark(Path.Combine(folder, "bare-normal-full.db"), bytes.ProgressEnvelope, bytes.CheckpointEnvelope, splitCommits: true);
    using var storeSchema = await StoreSchemaCommitBenchmark.OpenAsync(Path.Combine(folder, "bare-store-schema.db"), bytes, CancellationToken.None);
    bareFull.Warmup(options.WarmupSteps);
    bareSplit.Warmup(options.WarmupSteps);
    storeSchema.Warmup(options.WarmupSteps);
    var paired = new List<double>();
    var pairedJobs = new List<JobRun>();
    while (paired.Count < options.Steps)
    {
        var job = await steps.RunJobAsync(
            () =>
            {
                bareFull.MeasureOne();
                bareSplit.MeasureOne();
                storeSchema.MeasureOne();
            },
            CancellationToken.None);
        paired.AddRange(job.StepIntervals);
        pairedJobs.Add(job);
    }

    var measuredSteps = jobs.Sum(j => j.Steps);
    return new StepFigures(
        steps.Warmup,
        Summary.Of(backToBack),
        Summary.Of(paired),
        Summary.Of(jobs.Select(j => j.Milliseconds).ToList()),
        Summary.Of(bareFull.Samples),
        Summary.Of(bareSplit.Samples),
        Summary.Of(storeSchema.Samples),
        bytes,
        jobs.Sum(j => j.ProcessorMilliseconds) / measuredSteps,
        jobs.Sum(j => (double)j.AllocatedBytes) / measuredSteps,
        (jobs.Sum(j => j.Gen0Collections), jobs.Sum(j => j.Gen2Collections)),
        jobs.Concat(pairedJobs).Sum(j => j.JitCompiledMethods),
        memory);
}

/// <summary>What the cmdlet fleet part needs: the pwsh to start and the published module to import.</summary>
internal sealed record CmdletFleet(string Host, string PwshDll, IReadOnlyList<(string Label, string Path)> Modules);
