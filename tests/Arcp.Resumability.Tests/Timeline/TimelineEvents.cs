using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Tests.Timeline;

/// <summary>Builds recorded event streams as the runtime writes them, for timeline tests.</summary>
internal sealed class TimelineEvents
{
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public const string JobId = "job_01JT0000000000000000000000";

    public static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly List<Envelope> events = [];
    private string session = Session(T0);

    public IReadOnlyList<Envelope> Events => events;

    /// <summary>A session id (ULID) created at <paramref name="at"/>.</summary>
    public static string Session(DateTimeOffset at, char fill = '0')
    {
        var milliseconds = at.ToUnixTimeMilliseconds();
        var time = new char[10];
        for (var i = 9; i >= 0; i--)
        {
            time[i] = Crockford[(int)(milliseconds % 32)];
            milliseconds /= 32;
        }

        return ArcpId.SessionPrefix + new string(time) + new string(fill, 16);
    }

    public static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    /// <summary>Later events come from a new session (a new process) opened at <paramref name="openedAt"/>.</summary>
    public TimelineEvents NewRun(DateTimeOffset openedAt, char fill = '1')
    {
        session = Session(openedAt, fill);
        return this;
    }

    public TimelineEvents Started(double seconds) => Add(MessageTypes.JobStarted, seconds, new JsonObject { ["workflow"] = "inline" });

    public TimelineEvents Progress(double seconds, string step, int index, double? stepPercent = null)
    {
        var payload = new JsonObject { ["percent"] = 10, ["message"] = $"{step} done", ["step"] = step, ["step_index"] = index, ["step_count"] = 4 };
        if (stepPercent is { } percent)
        {
            payload["step_percent"] = percent;
        }

        return Add(MessageTypes.JobProgress, seconds, payload);
    }

    public TimelineEvents Checkpoint(double seconds, string step, int index, JsonObject? extraSnapshot = null)
    {
        var snapshot = new JsonObject { ["step"] = step, ["step_index"] = index, ["step_count"] = 4, ["output"] = 1 };
        foreach (var (name, value) in extraSnapshot ?? [])
        {
            snapshot[name] = value?.DeepClone();
        }

        return Add(MessageTypes.JobCheckpoint, seconds, new JsonObject { ["checkpoint_id"] = ArcpId.NewCheckpointId(), ["label"] = step, ["snapshot"] = snapshot });
    }

    /// <summary>A step that ran and was checkpointed: its "done" progress and its checkpoint.</summary>
    public TimelineEvents Step(double seconds, string step, int index) => Progress(seconds, step, index).Checkpoint(seconds, step, index);

    public TimelineEvents Completed(double seconds) => Add(MessageTypes.JobCompleted, seconds, new JsonObject { ["result"] = 1 });

    public TimelineEvents Failed(double seconds, string step) =>
        Add(MessageTypes.JobFailed, seconds, new JsonObject { ["code"] = "UNKNOWN", ["message"] = "boom", ["details"] = new JsonObject { ["step"] = step, ["step_index"] = 1 } });

    private TimelineEvents Add(string type, double seconds, JsonObject payload)
    {
        var json = new JsonObject
        {
            ["arcp"] = "1.0",
            ["id"] = ArcpId.NewMessageId(),
            ["type"] = type,
            ["timestamp"] = At(seconds).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["session_id"] = session,
            ["job_id"] = JobId,
            ["payload"] = payload,
        };
        events.Add(EnvelopeCodec.Parse(json.ToJsonString()));
        return this;
    }
}
