using System.Text.Json;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Timeline;

/// <summary>What the timeline needs to know about the job besides its events.</summary>
internal sealed record TimelineJob(string JobId, string? Name, string Workflow, ArcpJobState State);

/// <summary>
/// Lays a job's recorded event stream out as step bars, crash gaps and retries.
/// </summary>
/// <remarks>
/// A step's start is not recorded today, so it is derived: a step starts when the one before it was
/// checkpointed, the first step when the job started, and the first step of a resumed run when that
/// run's session opened (session ids are ULIDs, which carry their creation time). Everything between
/// the last event of a run that never finished the job and the start of the run that resumed it is a
/// gap. When a checkpoint's snapshot carries <c>started_at</c> or <c>attempts</c>, those win.
/// </remarks>
internal static class JobTimelineBuilder
{
    private const string CrockfordAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static JobTimeline Build(TimelineJob job, IEnumerable<Envelope> events, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(events);
        var state = new BuildState();
        foreach (var envelope in events)
        {
            if (!ArcpJson.TryParseTimestamp(envelope.Timestamp, out var at))
            {
                continue;
            }

            state.JobStart ??= at;
            if (envelope.Type == MessageTypes.JobStarted)
            {
                // Answered on the starting session, which for a runtime-driven job is not the one that runs the steps.
                state.JobStarted ??= at;
                continue;
            }

            if (!IsOwnerEvent(envelope.Type) || state.Finished)
            {
                continue;
            }

            EnterRun(state, envelope.SessionId, at);
            state.LastEvent = at;
            Apply(state, envelope, at);
        }

        var start = state.JobStart ?? now;
        if (state.Run < 0 && state.JobStarted is { } startedAt && !state.Finished)
        {
            // Started, but no step has reported anything yet: the first step is running (or was, when it stopped).
            state.Run = 0;
            state.StepStart = startedAt;
            state.StepStartIsExact = true;
        }

        if (!state.Finished && state.StepStart is { } pendingStart && state.Run >= 0)
        {
            // The job's last run has not finished: its owner is on a step now, or it stopped mid-step.
            var running = job.State == ArcpJobState.Running;
            var end = running ? Later(now, pendingStart) : Later(state.LastEvent ?? pendingStart, pendingStart);
            state.AddBar(state.PendingStep ?? Unknown, state.PendingIndex, pendingStart, end, running ? StepOutcome.Running : StepOutcome.Interrupted, state.StepStartIsExact);
        }

        var bars = NameUnknownSteps(state.Bars);
        var finish = state.Finished || job.State != ArcpJobState.Running ? state.LastEvent ?? start : Later(now, state.LastEvent ?? start);
        finish = bars.Select(b => b.End).Append(finish).Max();
        return new JobTimeline(job.JobId, job.Name, job.Workflow, job.State, start, finish, state.Run + 1, Renumber(bars), state.Gaps);
    }

    /// <summary>The placeholder for a step whose name no event recorded (renamed once the resumed run shows it).</summary>
    internal const string Unknown = "(next step)";

    private static bool IsOwnerEvent(string type) => type is MessageTypes.JobProgress or MessageTypes.JobCheckpoint
        or MessageTypes.Log or MessageTypes.StreamOpen or MessageTypes.StreamChunk or MessageTypes.StreamClose
        or MessageTypes.JobCompleted or MessageTypes.JobFailed or MessageTypes.JobCancelled;

    /// <summary>A new session id means a new process run: close the previous one and open a gap.</summary>
    private static void EnterRun(BuildState state, string? sessionId, DateTimeOffset at)
    {
        if (state.Run >= 0 && (sessionId is null || sessionId == state.SessionId))
        {
            return;
        }

        var resumedAt = at;
        if (state.Run >= 0 && state.LastEvent is { } lastEvent)
        {
            if (state.StepStart is { } stepStart)
            {
                // The old run was on a step when it stopped; the step is named by the run that resumes it.
                state.AddBar(state.PendingStep ?? Unknown, state.PendingIndex, stepStart, Later(lastEvent, stepStart), StepOutcome.Interrupted, state.StepStartIsExact);
            }

            var opened = SessionOpenedAt(sessionId);
            resumedAt = opened is { } o && o > lastEvent && o <= at ? o : at;
            state.Gaps.Add(new TimelineGap(lastEvent, resumedAt, state.Run, state.Run + 1, state.LastCheckpointStep));
        }

        state.Run++;
        state.SessionId = sessionId;
        state.StepStart = state.Run == 0 ? state.JobStarted ?? at : resumedAt;
        state.StepStartIsExact = state.Run == 0 && state.JobStarted is not null;
        state.PendingStep = null;
        state.PendingIndex = null;
    }

    private static void Apply(BuildState state, Envelope envelope, DateTimeOffset at)
    {
        var payload = envelope.Payload;
        switch (envelope.Type)
        {
            case MessageTypes.JobProgress when Text(payload, "step") is { } step:
                if (state.PendingStep != step)
                {
                    state.PendingStep = step;
                    state.PendingIndex = Number(payload, "step_index");
                }

                break;
            case MessageTypes.JobCheckpoint:
                var snapshot = Member(payload, "snapshot");
                var name = Text(payload, "label") ?? Text(snapshot, "step") ?? Unknown;
                var recordedStart = Text(snapshot, "started_at") is { } text && ArcpJson.TryParseTimestamp(text, out var started) && started <= at ? started : (DateTimeOffset?)null;
                var begin = recordedStart ?? state.StepStart ?? at;
                state.AddBar(name, Number(snapshot, "step_index") ?? state.PendingIndex, begin, at, StepOutcome.Checkpointed, recordedStart is not null || state.StepStartIsExact, Number(snapshot, "attempts"));
                state.LastCheckpointStep = name;
                state.StepStart = at;
                state.StepStartIsExact = true;
                state.PendingStep = null;
                state.PendingIndex = null;
                break;
            case MessageTypes.JobFailed:
                var details = Member(payload, "details");
                state.AddBar(Text(details, "step") ?? state.PendingStep ?? Unknown, Number(details, "step_index") ?? state.PendingIndex, state.StepStart ?? at, at, StepOutcome.Failed, state.StepStartIsExact);
                state.Finish();
                break;
            case MessageTypes.JobCompleted:
            case MessageTypes.JobCancelled:
                state.Finish();
                break;
        }
    }

    /// <summary>An interrupted attempt whose step no event named is the step the next run started with.</summary>
    private static List<TimelineBar> NameUnknownSteps(List<TimelineBar> bars)
    {
        for (var i = 0; i < bars.Count; i++)
        {
            if (bars[i].Step == Unknown && bars[i].Outcome == StepOutcome.Interrupted
                && bars.Skip(i + 1).FirstOrDefault(b => b.Run > bars[i].Run) is { } next && next.Step != Unknown)
            {
                bars[i] = bars[i] with { Step = next.Step, StepIndex = next.StepIndex };
            }
        }

        return bars;
    }

    /// <summary>Numbers attempts per step in time order; a recorded attempt count (from the step itself) wins when larger.</summary>
    private static List<TimelineBar> Renumber(List<TimelineBar> bars)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < bars.Count; i++)
        {
            var attempt = seen.TryGetValue(bars[i].Step, out var before) ? before + 1 : 1;
            attempt = Math.Max(attempt, bars[i].Attempt);
            seen[bars[i].Step] = attempt;
            bars[i] = bars[i] with { Attempt = attempt };
        }

        return bars;
    }

    /// <summary>The creation time a ULID session id carries (its first 10 characters, milliseconds since 1970), if it is one.</summary>
    internal static DateTimeOffset? SessionOpenedAt(string? sessionId)
    {
        if (!ArcpId.IsValid(sessionId, ArcpId.SessionPrefix))
        {
            return null;
        }

        long milliseconds = 0;
        foreach (var c in sessionId!.AsSpan(ArcpId.SessionPrefix.Length, 10))
        {
            var digit = CrockfordAlphabet.IndexOf(char.ToUpperInvariant(c), StringComparison.Ordinal);
            if (digit < 0)
            {
                return null;
            }

            milliseconds = (milliseconds * 32) + digit;
        }

        return milliseconds <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds) : null;
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static JsonElement Member(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static string? Text(JsonElement element, string name) =>
        Member(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static int? Number(JsonElement element, string name) =>
        Member(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out var number) ? number : null;

    private sealed class BuildState
    {
        public List<TimelineBar> Bars { get; } = [];

        public List<TimelineGap> Gaps { get; } = [];

        public DateTimeOffset? JobStart { get; set; }

        public DateTimeOffset? JobStarted { get; set; }

        public DateTimeOffset? LastEvent { get; set; }

        public int Run { get; set; } = -1;

        public string? SessionId { get; set; }

        /// <summary>When the step now being worked on began; null once the job is finished.</summary>
        public DateTimeOffset? StepStart { get; set; }

        public bool StepStartIsExact { get; set; }

        /// <summary>The step progress events name before its checkpoint.</summary>
        public string? PendingStep { get; set; }

        public int? PendingIndex { get; set; }

        public string? LastCheckpointStep { get; set; }

        public bool Finished { get; private set; }

        public void AddBar(string step, int? index, DateTimeOffset start, DateTimeOffset end, StepOutcome outcome, bool exact, int? recordedAttempts = null) =>
            Bars.Add(new TimelineBar(step, index, recordedAttempts ?? 1, Run, start, end < start ? start : end, outcome, exact));

        public void Finish()
        {
            Finished = true;
            StepStart = null;
        }
    }
}
