using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell;
using Arcp.Resumability.PowerShell.Timeline;
using static Arcp.Resumability.Tests.Timeline.TimelineEvents;

namespace Arcp.Resumability.Tests.Timeline;

public sealed class JobTimelineBuilderTests
{
    private static readonly DateTimeOffset Now = At(1000);

    private static JobTimeline Build(TimelineEvents events, ArcpJobState state) =>
        JobTimelineBuilder.Build(new TimelineJob(JobId, "nightly", "inline", state), events.Events, Now);

    /// <summary>Run 1 checkpoints one and two, dies in three; run 2 (session opened at 40 s) redoes three and finishes.</summary>
    private static TimelineEvents CrashedAndResumed() => new TimelineEvents()
        .Started(0).Step(2, "one", 0).Step(5, "two", 1).Progress(7, "three", 2, stepPercent: 50)
        .NewRun(At(40)).Step(44, "three", 2).Step(46, "four", 3).Completed(46.5);

    [Fact]
    public void A_crash_and_resume_shows_the_interrupted_attempt_the_gap_and_the_retry()
    {
        var timeline = Build(CrashedAndResumed(), ArcpJobState.Completed);

        Assert.Equal(2, timeline.Runs);
        Assert.Equal(At(0), timeline.Start);
        Assert.Equal(At(46.5), timeline.End);
        Assert.Collection(
            timeline.Bars,
            b => Assert.Equal(("one", 1, StepOutcome.Checkpointed, At(0), At(2)), (b.Step, b.Attempt, b.Outcome, b.Start, b.End)),
            b => Assert.Equal(("two", 1, StepOutcome.Checkpointed, At(2), At(5)), (b.Step, b.Attempt, b.Outcome, b.Start, b.End)),
            b => Assert.Equal(("three", 1, StepOutcome.Interrupted, At(5), At(7), 0), (b.Step, b.Attempt, b.Outcome, b.Start, b.End, b.Run)),
            b => Assert.Equal(("three", 2, StepOutcome.Checkpointed, At(40), At(44), 1, false), (b.Step, b.Attempt, b.Outcome, b.Start, b.End, b.Run, b.StartIsExact)),
            b => Assert.Equal(("four", 1, StepOutcome.Checkpointed, At(44), At(46)), (b.Step, b.Attempt, b.Outcome, b.Start, b.End)));
        var gap = Assert.Single(timeline.Gaps);
        Assert.Equal((At(7), At(40), 0, 1, "two"), (gap.Start, gap.End, gap.RunBefore, gap.RunAfter, gap.AfterStep));
        Assert.True(timeline.Bars[3].IsRetry);
    }

    [Fact]
    public void Rows_put_a_gap_between_the_runs_it_separates()
    {
        var rows = Build(CrashedAndResumed(), ArcpJobState.Completed).Rows().ToList();

        Assert.IsType<TimelineGap>(rows[3]);
        Assert.Equal("three", Assert.IsType<TimelineBar>(rows[2]).Step);
        Assert.Equal(1, Assert.IsType<TimelineBar>(rows[4]).Run);
    }

    [Fact]
    public void A_crash_before_any_step_event_names_the_lost_attempt_after_the_step_the_resumed_run_did_first()
    {
        var events = new TimelineEvents().Started(0).Step(2, "one", 0).NewRun(At(30)).Step(31, "two", 1).Completed(31);

        var timeline = Build(events, ArcpJobState.Completed);

        var lost = timeline.Bars[1];
        Assert.Equal(("two", StepOutcome.Interrupted, At(2), At(2)), (lost.Step, lost.Outcome, lost.Start, lost.End));
        Assert.Equal(2, timeline.Bars[2].Attempt);
        Assert.Equal((At(2), At(30)), (timeline.Gaps[0].Start, timeline.Gaps[0].End));
    }

    [Fact]
    public void A_live_job_has_its_current_step_running_until_now()
    {
        var events = new TimelineEvents().Started(0).Step(2, "one", 0).Progress(3, "two", 1, stepPercent: 10);

        var timeline = Build(events, ArcpJobState.Running);

        var running = timeline.Bars[^1];
        Assert.Equal(("two", StepOutcome.Running, At(2), Now), (running.Step, running.Outcome, running.Start, running.End));
        Assert.Equal(Now, timeline.End);
        Assert.Empty(timeline.Gaps);
    }

    [Fact]
    public void An_interrupted_job_nobody_resumed_ends_at_its_last_event_with_the_step_interrupted()
    {
        var events = new TimelineEvents().Started(0).Step(2, "one", 0);

        var timeline = Build(events, ArcpJobState.Interrupted);

        var last = timeline.Bars[^1];
        Assert.Equal((JobTimelineBuilder.Unknown, StepOutcome.Interrupted), (last.Step, last.Outcome));
        Assert.Equal(At(2), timeline.End);
    }

    [Fact]
    public void A_failed_step_is_a_failed_bar_named_by_the_error()
    {
        var events = new TimelineEvents().Started(0).Step(2, "one", 0).Failed(9, "two");

        var timeline = Build(events, ArcpJobState.Failed);

        var failed = timeline.Bars[^1];
        Assert.Equal(("two", StepOutcome.Failed, At(2), At(9), 1), (failed.Step, failed.Outcome, failed.Start, failed.End, failed.StepIndex));
    }

    [Fact]
    public void A_recorded_start_and_attempt_count_win_over_the_derived_ones()
    {
        var recorded = new JsonObject { ["started_at"] = "2026-03-01T09:00:04.000Z", ["attempts"] = 3 };
        var events = new TimelineEvents().Started(0).Step(2, "one", 0).Checkpoint(6, "two", 1, recorded).Completed(6);

        var two = Build(events, ArcpJobState.Completed).Bars[1];

        Assert.Equal((At(4), 3, true, true), (two.Start, two.Attempt, two.StartIsExact, two.IsRetry));
    }

    [Fact]
    public void A_session_opened_outside_the_gap_falls_back_to_the_first_event_of_the_new_run()
    {
        // A long-lived session (opened before the old run's last event) says nothing about when the new run began.
        var events = new TimelineEvents().Started(0).Step(2, "one", 0).NewRun(At(1)).Step(20, "two", 1);

        var timeline = Build(events, ArcpJobState.Running);

        Assert.Equal((At(2), At(20)), (timeline.Gaps[0].Start, timeline.Gaps[0].End));
    }

    [Fact]
    public void A_runtime_driven_job_started_on_another_session_has_no_gap_before_its_first_step()
    {
        // job.started answers the starting session; the runtime's driver session runs the steps.
        var events = new TimelineEvents().Started(0).NewRun(At(0.2)).Step(2, "one", 0).Step(3, "two", 1).Completed(3);

        var timeline = Build(events, ArcpJobState.Completed);

        Assert.Equal(1, timeline.Runs);
        Assert.Empty(timeline.Gaps);
        Assert.Equal((At(0), true), (timeline.Bars[0].Start, timeline.Bars[0].StartIsExact));
    }

    [Fact]
    public void A_job_that_crashed_before_its_first_step_reported_shows_that_step_interrupted()
    {
        var timeline = Build(new TimelineEvents().Started(0), ArcpJobState.Interrupted);

        var bar = Assert.Single(timeline.Bars);
        Assert.Equal((JobTimelineBuilder.Unknown, StepOutcome.Interrupted, At(0)), (bar.Step, bar.Outcome, bar.Start));
    }

    [Theory]
    [InlineData("sess_01ARZ3NDEKTSV4RRFFQ69G5FAV", 1469922850259L)]
    [InlineData("sess_000000001Z0000000000000000", 63L)]
    [InlineData("sess_not-a-ulid", null)]
    [InlineData("job_01ARZ3NDEKTSV4RRFFQ69G5FAV", null)]
    [InlineData("sess_01ARZ3NDEK!SV4RRFFQ69G5FAV", null)]
    [InlineData("sess_0!RZ3NDEKTSV4RRFFQ69G5FAV", null)]
    [InlineData(null, null)]
    public void Session_ids_carry_their_creation_time(string? sessionId, long? expectedMilliseconds)
    {
        Assert.Equal(expectedMilliseconds, JobTimelineBuilder.SessionOpenedAt(sessionId)?.ToUnixTimeMilliseconds());
    }

    [Fact]
    public void A_fresh_session_id_decodes_to_now()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var decoded = JobTimelineBuilder.SessionOpenedAt(Arcp.Resumability.Protocol.ArcpId.NewSessionId());
        Assert.InRange(decoded!.Value, before, DateTimeOffset.UtcNow.AddSeconds(1));
    }
}
