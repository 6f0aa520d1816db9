using System.Globalization;
using System.Text;

namespace Arcp.Resumability.Bench;

/// <summary>Prints the figures as fixed-width tables, with the aims and PASS/MISS beside them.</summary>
internal sealed class Report(TextWriter output)
{
    // The goals of issue 12: a step within 2x a bare FULL commit of the same bytes, a resume whose cost does not grow
    // with the job's history (the longest history within 1.2x the shortest), a cold start within 0.3 s of a bare pwsh.
    private const double RatioAim = 2.0;
    private const double ResumeRatioAim = 1.2;
    private const double ColdStartAimMilliseconds = 300;

    // Issue 11: DBOS Transact did 94.5 five-step jobs/s with 4 concurrent workflows on the same machine and server.
    private const double FleetAimJobsPerSecond = 94.5;

    // Issue 12: DBOS Transact took 2.10 ms a step of a 100-step job on PostgreSQL on the same machine.
    private const double StepAimMilliseconds = 2.10;

    // Issue 12: RSS and managed heap after 100,000 steps of one job within 10% of those after 1,000.
    private const double MemoryGrowthAim = 1.10;
    private static readonly CompositeFormat RowFormat = CompositeFormat.Parse("   {0,-62} {1,10} {2,10} {3,10} {4,7}");
    private StepFigures? steps;
    private IReadOnlyList<(int Recorded, Summary Resume)>? resumes;
    private PwshResults? pwsh;
    private IReadOnlyList<CmdletResumeFigures>? cmdletResumes;
    private readonly List<FleetFigures> fleets = [];
    private readonly List<CmdletFleetFigures> cmdletFleets = [];
    private readonly List<CmdletStepFigures> cmdletSteps = [];
    private IReadOnlyList<MemoryPoint>? growth;

    public void Line(string text = "") => output.WriteLine(text);

    public void Header(BenchOptions options, string folder)
    {
        Line("Arcp.Resumability benchmark");
        Line($"   machine : {Machine.Description}");
        Line($"   stores  : {folder} ({Machine.FileSystemOf(folder)})");
        Line(Invariant($"   started : {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss zzz}; load average {Machine.LoadAverage}"));
        Line(Invariant($"   runs    : {options.Steps} steps back to back, then {options.Steps} steps paired with bare transactions, in jobs of {options.StepsPerJob}; {options.PwshRuns} pwsh runs per variant"));
        Line();
    }

    public void Steps(BenchOptions options, StepFigures figures)
    {
        steps = figures;
        var bytes = figures.Bytes;
        Line("1. One checkpointed no-op step, embedded (StepRunner -> in-memory transport -> runtime -> SQLite WAL)");
        Line("   A step = progress + durable checkpoint in one FULL commit, from the previous checkpoint to its own.");
        Row(string.Empty, "median", "p90", "p99", "n");
        Row("a. checkpointed step, steps back to back", figures.BackToBack);
        Row("b. checkpointed step, each followed by one c, one d and one e", figures.Paired);
        Row(Invariant($"c. bare SQLite: 1 FULL transaction, 2 rows, {bytes.EnvelopeBytes:N0} B"), figures.BareFull);
        Row("d. bare SQLite: 1 NORMAL + 1 FULL transaction, same 2 rows", figures.BareSplit);
        RatioRow("ratio b / c: step / bare FULL (headline)", figures.Paired, figures.BareFull);
        RatioRow("ratio b / d: step / bare NORMAL + FULL", figures.Paired, figures.BareSplit);
        Row("e. bare SQLite: the step's 4 writes into the store's schema", figures.StoreSchema);
        RatioRow("ratio e / c: the store's schema / bare FULL", figures.StoreSchema, figures.BareFull);
        RatioRow("ratio b / e: step / its own writes done bare", figures.Paired, figures.StoreSchema);
        Row(Invariant($"whole {options.StepsPerJob}-step job of a, incl. start and completion"), figures.PerJob);
        var warmup = figures.Warmup;
        Line(Invariant($"   warm-up: {warmup.Steps:N0} steps in {warmup.Seconds:F1} s, {(warmup.JitQuiet ? "until the JIT went quiet" : "stopped at the time limit with the JIT still busy")}; methods JIT-compiled while measuring: {figures.JitCompiledWhileMeasuring:N0}"));
        Line(Invariant($"   process CPU per step of a: {figures.ProcessorMillisecondsPerStep:F3} ms (all threads, thread-pool spinning and JIT included)"));
        Line(Invariant($"   The bare rows hold exactly one step's progress envelope ({StepBytes.Utf8(bytes.ProgressEnvelope):N0} B) and checkpoint envelope ({StepBytes.Utf8(bytes.CheckpointEnvelope):N0} B);"));
        Line(Invariant($"   the step also logs {bytes.AckBytes:N0} B of acks, writes a checkpoints row ({bytes.OutputBytes:N0} B of output) and updates the job row once."));
        Line("   Row e makes those same writes (2 events, the checkpoints row, the job row's update) with plain statements in one");
        Line("   FULL transaction, into a file the store created: its indexes, AUTOINCREMENT and auto-vacuum, none of its code.");
        Line();
    }

    public void Postgres((Summary Step, Summary Bare) figures)
    {
        Line("1b. One checkpointed no-op step on PostgreSQL (same stack, store on the server), each followed by one bare commit");
        Row(string.Empty, "median", "p90", "p99", "n");
        Row("checkpointed step (progress + checkpoint + job row, 1 commit)", figures.Step);
        Row("bare PostgreSQL: 1 transaction, the same 2 envelopes", figures.Bare);
        RatioRow("ratio: step / bare commit", figures.Step, figures.Bare);
        Line();
    }

    public void CmdletSteps(IReadOnlyList<CmdletStepFigures> modules)
    {
        foreach (var figures in modules)
        {
            cmdletSteps.Add(figures);
            Line(Invariant($"1c. The step through Start-ArcpJob on {figures.Store}, {figures.Module}: {figures.Jobs} job(s) of {CmdletStepBenchmark.StepsPerJob} no-op script steps"));
            Line("   Each job the second in a fresh pwsh (the first unmeasured); a step = from the previous step's start to its own.");
            Row(string.Empty, "median", "p90", "p99", "n");
            Row("step (script body, runner, pipeline thread, checkpoint)", figures.Step);
            Row(Invariant($"whole {CmdletStepBenchmark.StepsPerJob}-step Start-ArcpJob, incl. start and completion"), figures.PerJob);
            Line();
        }
    }

    public void Resume(BenchOptions options, IReadOnlyList<(int Recorded, Summary Resume)> figures)
    {
        resumes = figures;
        Line(Invariant($"2. Resume after the last checkpoint, embedded SQLite, 1 KB step outputs ({options.ResumeRounds} rounds, sizes in turn)"));
        Line("   From StepRunner.ResumeAsync to the start of the first step after the last checkpoint.");
        Row(string.Empty, "median", "p90", "p99", "n");
        foreach (var (recorded, resume) in figures)
        {
            Row(Invariant($"job with {recorded:N0} recorded steps"), resume);
        }

        Line();
    }

    public void CmdletResume(BenchOptions options, IReadOnlyList<CmdletResumeFigures> figures)
    {
        cmdletResumes = figures;
        Line(Invariant($"2b. Resume through the cmdlets, interrupted jobs of {CmdletResumeBenchmark.ShortJob:N0} and {CmdletResumeBenchmark.LongJob:N0} steps (inline -Step, recorded definition, 1 KB outputs)"));
        Line("   A fresh pwsh per sample on a fresh copy of the store; Import-Module untimed; from the pipeline's start to the");
        Line(Invariant($"   job's completion (its one remaining step). {options.CmdletResumeRounds} round(s) after 1 unmeasured, sizes alternating."));
        foreach (var module in figures.GroupBy(f => f.Module))
        {
            Line($"   {module.Key}:");
            Row(string.Empty, "median", "p90", "ratio", "n");
            foreach (var pipeline in module)
            {
                Line($"   {pipeline.Pipeline}");
                Row(Invariant($"  {CmdletResumeBenchmark.ShortJob:N0}-step job, wall"), Milliseconds(pipeline.Short.Median), Milliseconds(pipeline.Short.P90), string.Empty, pipeline.Short.Count.ToString("N0", CultureInfo.InvariantCulture));
                Row(Invariant($"  {CmdletResumeBenchmark.LongJob:N0}-step job, wall"), Milliseconds(pipeline.Long.Median), Milliseconds(pipeline.Long.P90), Ratio(pipeline.Long.Median, pipeline.Short.Median), pipeline.Long.Count.ToString("N0", CultureInfo.InvariantCulture));
                Row(Invariant($"  {CmdletResumeBenchmark.ShortJob:N0}-step job, CPU of the process"), Milliseconds(pipeline.ShortCpu.Median), Milliseconds(pipeline.ShortCpu.P90), string.Empty, string.Empty);
                Row(Invariant($"  {CmdletResumeBenchmark.LongJob:N0}-step job, CPU of the process"), Milliseconds(pipeline.LongCpu.Median), Milliseconds(pipeline.LongCpu.P90), Ratio(pipeline.LongCpu.Median, pipeline.ShortCpu.Median), string.Empty);
            }
        }

        Line();
    }

    public void Pwsh(BenchOptions options, PwshResults results)
    {
        pwsh = results;
        Line(Invariant($"3. Fresh pwsh process, wall time of the whole process ({options.PwshRuns} run{(options.PwshRuns == 1 ? string.Empty : "s")} each, after 1 unmeasured run)"));
        Line($"   command: {results.Command} <script>");
        Row(string.Empty, "median", "min", "max", "n");
        MinMaxRow("pwsh running a script that only exits (bare start)", results.BareStart);
        MinMaxRow("pwsh: Import-Module + 5-step no-op Start-ArcpJob (new store)", results.ModuleJob);
        Row("module's share (difference of the medians)", Milliseconds(results.ModuleJob.Median - results.BareStart.Median), string.Empty, string.Empty, string.Empty);
        MinMaxRow("the same with a stopwatch read around each command", results.TimedModuleJob);
        MinMaxRow("  by that stopwatch: Import-Module", results.ImportInScript);
        MinMaxRow("  by that stopwatch: Start-ArcpJob (5 steps)", results.JobInScript);
        Line();
    }

    public void Fleet(BenchOptions options, FleetFigures figures)
    {
        fleets.Add(figures);
        Line(Invariant($"5{(char)('a' + fleets.Count - 1)}. Fleet on {figures.Store}: {figures.JobsPerRound} queued {FleetBenchmark.StepsPerJob}-step no-op jobs per round drained, {options.FleetRounds} rounds after 1 unmeasured"));
        Line(Invariant($"   Workers of {FleetBenchmark.Concurrency} slots: a free slot claims (QueuedJobs) and resumes the job (StepRunner, a session per slot). Enqueueing untimed."));
        Line("   jobs/s = jobs of the round / seconds to drain it; the p90 column is the slow side (90% of rounds were at least this fast).");
        Row(string.Empty, "median", "p90", "rounds", string.Empty);
        FleetRow("1 worker, concurrency 4 (4 sessions)", figures.OneWorker, figures.JobsPerRound);
        FleetRow(Invariant($"bare transactions, 4 connections, no module"), figures.BareOne, figures.JobsPerRound);
        FleetRow("4 workers, concurrency 4 (16 sessions)", figures.FourWorkers, figures.JobsPerRound);
        FleetRow(Invariant($"bare transactions, 16 connections, no module"), figures.BareFour, figures.JobsPerRound);
        Line("   A bare job = 1 claim transaction + 1 committed row per step + 1 completion update (enqueue untimed).");
        Line();
    }

    public void CmdletFleet(BenchOptions options, IReadOnlyList<CmdletFleetFigures> modules)
    {
        foreach (var figures in modules)
        {
            cmdletFleets.Add(figures);
            Line(Invariant($"   Through the cmdlets on {figures.Store}, {figures.Module}: {figures.JobsPerRound} jobs per round, {options.CmdletFleetRounds} round(s), each process a fresh pwsh"));
            Line("   (Start-ArcpJob -Workflow <name> -Queue, then Start-ArcpWorker -Concurrency 4 -ExitWhenIdle; process start and Import-Module untimed)");
            Row(string.Empty, "median", "p90", "rounds", string.Empty);
            FleetRow("Start-ArcpJob -Queue, one pwsh (jobs queued/s)", figures.Enqueue, figures.JobsPerRound);
            FleetRow("1 worker process, concurrency 4", figures.OneWorker, figures.JobsPerRound);
            FleetRow("  its drain's second half (warm)", figures.OneWorkerWarm, figures.JobsPerRound);
            FleetRow("4 worker processes, concurrency 4", figures.FourWorkers, figures.JobsPerRound);
            FleetRow("  their drain's second half (warm)", figures.FourWorkersWarm, figures.JobsPerRound);
            Line("   (warm: from the median job's completion to the last one's, as read from the store after the drain)");
            Line();
        }
    }

    public void MemoryGrowth(IReadOnlyList<MemoryPoint> points)
    {
        growth = points;
        var (shorter, longer) = (points[0], points[^1]);
        var warm = points.Count > 2 ? points[^2] : null;
        var issuePair = (shorter.Steps, longer.Steps) == (1_000, 100_000);
        Line(Invariant($"6. Memory of one long job, embedded SQLite: after {string.Join(", ", points.Select(p => p.Steps.ToString("N0", CultureInfo.InvariantCulture)))} checkpointed steps (one looping no-op step)"));
        Line(issuePair
            ? "   The issue's pair is the first and the last count (1,000 and 100,000 steps)."
            : "   A smaller pair than the issue's 1,000 and 100,000 steps; --memory-steps 1000,50000,100000 runs that.");
        var header = points.Select(p => p.Steps.ToString("N0", CultureInfo.InvariantCulture)).ToList();
        header.Add("last/first");
        if (warm is not null)
        {
            header.Add("last/mid");
        }

        MemoryRow(string.Empty, header);
        MemoryRow("resident set (RSS)", points, p => p.WorkingSet, withRatios: true);
        MemoryRow("live managed after a full GC", points, p => p.LiveManaged, withRatios: true);
        Line("   where the resident set is (from the process and the libraries' own counters):");
        MemoryRow("  RSS anonymous (GC heap, C heap, stacks)", points, p => p.AnonymousResident, withRatios: false);
        MemoryRow("  RSS shared (the runtime's JIT-compiled code)", points, p => p.SharedResident, withRatios: false);
        MemoryRow("  RSS file-backed (mapped assemblies, libraries)", points, p => p.FileResident, withRatios: false);
        MemoryRow("  GC committed", points, p => p.GcCommitted, withRatios: false);
        MemoryRow("  C allocator arena (glibc mallinfo2)", points, p => p.MallocArena, withRatios: false);
        MemoryRow("    of it in use", points, p => p.MallocInUse, withRatios: false);
        MemoryRow("  SQLite's own memory (page cache included)", points, p => p.SqliteMemory, withRatios: false);
        MemoryRow("  WAL file / WAL index (-shm) on disk", points.Select(p => Invariant($"{p.WalBytes / 1024.0 / 1024.0:F1}/{p.WalIndexBytes / 1024:N0}K")).ToList());
        MemoryRow("  methods JIT-compiled so far", points.Select(p => p.JitCompiledMethods.ToString("N0", CultureInfo.InvariantCulture)).ToList());
        Line("   (RSS also holds the earlier parts' pages, which only flatters a ratio near 1)");
        Line();
    }

    /// <summary>Memory and the aims; needs <see cref="Steps"/> first.</summary>
    public void Footer(TimeSpan elapsed)
    {
        var figures = steps ?? throw new InvalidOperationException("The step figures are printed first.");
        var memory = figures.Memory;
        Line("4. Memory after the back-to-back steps of part 1 (this process)");
        Line(Invariant($"   peak working set                 {Megabytes(memory.PeakWorkingSet)}"));
        Line(Invariant($"   GC heap size after the last GC   {Megabytes(memory.GcHeapSize)}"));
        Line(Invariant($"   live managed after a full GC     {Megabytes(memory.LiveManaged)}"));
        Line(Invariant($"   allocated per step of a          {figures.AllocatedPerStep / 1024:N1} KB (all threads; job start and completion spread over the steps)"));
        Line(Invariant($"   GCs during the jobs of a         {figures.Collections.Gen0} in all, {figures.Collections.Gen2} of them full (gen2)"));
        Line();

        // Judged on medians; the step figure is the worse of a and b, so neither way of running flatters it.
        var ratio = figures.Paired.Median / figures.BareFull.Median;
        Line("Goals of issue 12 (informational: the exit code is 0 either way)");
        Line(Invariant($"   step within {RatioAim:0}x a bare SQLite FULL commit of the same bytes   median ratio b / c {ratio:F2}x             {Verdict(ratio <= RatioAim)}"));
        if (resumes is [var shortest, .., var longest])
        {
            var resumeRatio = longest.Resume.Median / shortest.Resume.Median;
            Line(Invariant($"   resume of {longest.Recorded:N0} steps within {ResumeRatioAim}x that of {shortest.Recorded:N0}            median ratio {resumeRatio:F2}x               {Verdict(resumeRatio <= ResumeRatioAim)}"));
        }

        foreach (var resume in cmdletResumes ?? [])
        {
            var resumeRatio = resume.Long.Median / resume.Short.Median;
            Line(Invariant($"   cmdlet resume of {CmdletResumeBenchmark.LongJob:N0} steps within {ResumeRatioAim}x that of {CmdletResumeBenchmark.ShortJob:N0} ({resume.Module}):"));
            Line(Invariant($"     {resume.Pipeline,-62} median ratio {resumeRatio:F2}x (CPU {resume.LongCpu.Median / resume.ShortCpu.Median:F2}x)  {Verdict(resumeRatio <= ResumeRatioAim)}"));
        }

        if (pwsh is { } cold)
        {
            var extra = cold.ModuleJob.Median - cold.BareStart.Median;
            Line(Invariant($"   cold start (import + 5-step job) within +{ColdStartAimMilliseconds:0} ms of bare pwsh   median +{extra:F0} ms              {Verdict(extra <= ColdStartAimMilliseconds)}"));
        }

        if (growth is [var shorterPoint, .., var warmPoint, var longerPoint])
        {
            MemoryGoal(shorterPoint, longerPoint, string.Empty);
            MemoryGoal(warmPoint, longerPoint, ", once warm (not the issue's goal)");
        }
        else if (growth is [var firstPoint, var lastPoint])
        {
            MemoryGoal(firstPoint, lastPoint, string.Empty);
        }

        foreach (var fleet in fleets)
        {
            var jobsPerSecond = fleet.JobsPerRound / fleet.FourWorkers.Median;
            Line(Invariant($"   fleet on {fleet.Store}, 4 workers: at least {FleetAimJobsPerSecond} jobs/s (DBOS)       median {jobsPerSecond,7:F1} jobs/s        {Verdict(jobsPerSecond >= FleetAimJobsPerSecond)}"));
        }

        foreach (var fleet in cmdletFleets)
        {
            foreach (var (shape, seconds) in new[] { ("1 process x 4", fleet.OneWorker), ("4 processes x 4", fleet.FourWorkers), ("1 process x 4, warm", fleet.OneWorkerWarm), ("4 processes x 4, warm", fleet.FourWorkersWarm) })
            {
                var jobsPerSecond = fleet.JobsPerRound / seconds.Median;
                Line(Invariant($"   cmdlet fleet on {fleet.Store}, {fleet.Module}, {shape,-21}: at least {FleetAimJobsPerSecond} jobs/s   median {jobsPerSecond,7:F1} jobs/s   {Verdict(jobsPerSecond >= FleetAimJobsPerSecond)}"));
            }
        }

        foreach (var step in cmdletSteps)
        {
            Line(Invariant($"   step through Start-ArcpJob on {step.Store}, {step.Module}: at most {StepAimMilliseconds:F2} ms (DBOS)   median {step.Step.Median:F3} ms   {Verdict(step.Step.Median <= StepAimMilliseconds)}"));
        }

        Line(Invariant($"   load average at the end: {Machine.LoadAverage} on {Environment.ProcessorCount} cores{(Machine.IsBusy ? " - the machine was busy, so these figures carry other processes' load" : string.Empty)}"));
        Line(Invariant($"   benchmark time: {elapsed.TotalSeconds:F0} s"));
    }

    private static string Verdict(bool met) => met ? "PASS" : "MISS";

    private void MemoryGoal(MemoryPoint from, MemoryPoint to, string which)
    {
        var worst = Math.Max((double)to.WorkingSet / from.WorkingSet, (double)to.LiveManaged / from.LiveManaged);
        Line(Invariant($"   memory after {to.Steps:N0} steps within {MemoryGrowthAim:F2}x of after {from.Steps:N0}{which}   worse of RSS/managed {worst:F2}x   {Verdict(worst <= MemoryGrowthAim)}"));
    }

    private void MemoryRow(string label, IReadOnlyList<MemoryPoint> points, Func<MemoryPoint, long?> figure, bool withRatios)
    {
        var cells = points.Select(p => figure(p) is { } bytes ? Megabytes(bytes) : "n/a").ToList();
        if (withRatios)
        {
            cells.Add(Invariant($"{(double)figure(points[^1])!.Value / figure(points[0])!.Value:F2}x"));
            if (points.Count > 2)
            {
                cells.Add(Invariant($"{(double)figure(points[^1])!.Value / figure(points[^2])!.Value:F2}x"));
            }
        }

        MemoryRow(label, cells);
    }

    private void MemoryRow(string label, IReadOnlyList<string> cells) =>
        Line("   " + label.PadRight(50) + string.Concat(cells.Select(cell => cell.PadLeft(11))));

    private void Row(string label, Summary summary) =>
        Row(label, Milliseconds(summary.Median), Milliseconds(summary.P90), Milliseconds(summary.P99), summary.Count.ToString("N0", CultureInfo.InvariantCulture));

    private void FleetRow(string label, Summary seconds, int jobs) =>
        Row(label, JobsPerSecond(jobs / seconds.Median), JobsPerSecond(jobs / seconds.P90), seconds.Count.ToString("N0", CultureInfo.InvariantCulture), string.Empty);

    private static string JobsPerSecond(double value) => Invariant($"{value:F1}/s");

    private void MinMaxRow(string label, Summary summary) =>
        Row(label, Milliseconds(summary.Median), Milliseconds(summary.Min), Milliseconds(summary.Max), summary.Count.ToString("N0", CultureInfo.InvariantCulture));

    private void RatioRow(string label, Summary step, Summary bare) =>
        Row(label, Ratio(step.Median, bare.Median), Ratio(step.P90, bare.P90), Ratio(step.P99, bare.P99), string.Empty);

    private void Row(string label, string a, string b, string c, string n) =>
        output.WriteLine(string.Format(CultureInfo.InvariantCulture, RowFormat, label, a, b, c, n));

    private static string Milliseconds(double value) =>
        value >= 100 ? Invariant($"{value:F0} ms") : Invariant($"{value:F3} ms");

    private static string Ratio(double step, double bare) => Invariant($"{step / bare:F2}x");

    private static string Megabytes(long bytes) => Invariant($"{bytes / (1024.0 * 1024.0):F1} MB");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
