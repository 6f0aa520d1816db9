namespace Arcp.Resumability.PowerShell.Timeline;

/// <summary>How one attempt at a step ended (or that it has not ended yet).</summary>
internal enum StepOutcome
{
    /// <summary>The step's checkpoint is recorded.</summary>
    Checkpointed,

    /// <summary>The job's owner is running the step now.</summary>
    Running,

    /// <summary>The process running the step stopped (crash, kill, Ctrl+C) before its checkpoint.</summary>
    Interrupted,

    /// <summary>The step failed the job.</summary>
    Failed,
}

/// <summary>One attempt at one step: a bar from its start to its checkpoint (or to where it stopped).</summary>
/// <param name="Step">The step's name as recorded (untrusted text: renderers escape it).</param>
/// <param name="StepIndex">The step's position in the workflow, when recorded.</param>
/// <param name="Attempt">1 for the first attempt at this step in this job, 2 for the first retry, …</param>
/// <param name="Run">Which process run (0-based, in order) made the attempt.</param>
/// <param name="StartIsExact">False when the start is inferred (a resumed run's first step starts when its session opened).</param>
internal sealed record TimelineBar(string Step, int? StepIndex, int Attempt, int Run, DateTimeOffset Start, DateTimeOffset End, StepOutcome Outcome, bool StartIsExact)
{
    public bool IsRetry => Attempt > 1;

    public TimeSpan Duration => End - Start;
}

/// <summary>
/// Time no process worked on the job: between the last event of a run that ended without finishing
/// the job and the start of the run that resumed it.
/// </summary>
/// <param name="AfterStep">The last step checkpointed before the gap, if any.</param>
internal sealed record TimelineGap(DateTimeOffset Start, DateTimeOffset End, int RunBefore, int RunAfter, string? AfterStep)
{
    public TimeSpan Duration => End - Start;
}

/// <summary>A job's recorded history laid out on a time axis, ready for a renderer.</summary>
internal sealed record JobTimeline(
    string JobId,
    string? Name,
    string Workflow,
    ArcpJobState State,
    DateTimeOffset Start,
    DateTimeOffset End,
    int Runs,
    IReadOnlyList<TimelineBar> Bars,
    IReadOnlyList<TimelineGap> Gaps)
{
    public TimeSpan Duration => End - Start;

    /// <summary>Bars and gaps in time order (a gap comes before the bars of the run it precedes).</summary>
    public IEnumerable<object> Rows()
    {
        var gaps = Gaps.OrderBy(g => g.RunAfter).ToList();
        var next = 0;
        foreach (var bar in Bars)
        {
            while (next < gaps.Count && gaps[next].RunAfter <= bar.Run)
            {
                yield return gaps[next++];
            }

            yield return bar;
        }

        while (next < gaps.Count)
        {
            yield return gaps[next++];
        }
    }
}
