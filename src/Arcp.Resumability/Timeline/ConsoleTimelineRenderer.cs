using System.Globalization;
using System.Text;

namespace Arcp.Resumability.PowerShell.Timeline;

/// <summary>
/// Draws a <see cref="JobTimeline"/> as text lines no wider than the console: one row per step attempt on a
/// shared time axis, a row per crash gap, retries and the running step marked (in colour when allowed,
/// and by distinct characters always, so the picture survives plain text and screen readers' transcripts).
/// </summary>
internal sealed class ConsoleTimelineRenderer
{
    /// <summary>Narrower than this there is no room for a useful axis.</summary>
    public const int MinimumWidth = 60;

    private const int MaxLabelWidth = 28;
    private const int SuffixWidth = 16;
    private const string Reset = "\u001b[0m";
    private const string RunningStyle = "\u001b[1;33m";
    private const string FailedStyle = "\u001b[31m";
    private const string GapStyle = "\u001b[2m";
    private const string RetryStyle = "\u001b[36m";

    private readonly int width;
    private readonly bool color;

    public ConsoleTimelineRenderer(int width, bool color)
    {
        this.width = Math.Max(width, MinimumWidth);
        this.color = color;
    }

    public IReadOnlyList<string> Render(JobTimeline timeline)
    {
        ArgumentNullException.ThrowIfNull(timeline);
        var rows = timeline.Rows().ToList();
        var labels = rows.Select(Label).ToList();
        var labelWidth = Math.Clamp(labels.Select(l => l.Length).DefaultIfEmpty(4).Max(), 4, Math.Min(MaxLabelWidth, width / 4));
        var axisWidth = width - labelWidth - SuffixWidth - 3;
        var axis = new TimeAxis(timeline.Start, timeline.End, axisWidth);

        var lines = new List<string>(rows.Count + 6)
        {
            TimelineText.Fit(Header(timeline), width),
            TimelineText.Fit(Summary(timeline), width),
            string.Concat(new string(' ', labelWidth), " ", AxisLabels(timeline, axisWidth), " "),
        };
        for (var i = 0; i < rows.Count; i++)
        {
            var label = TimelineText.Fit(labels[i], labelWidth).PadRight(labelWidth);
            lines.Add(rows[i] switch
            {
                TimelineBar bar => Row(label, axis, bar.Start, bar.End, BarCell(bar), Style(bar), Suffix(bar)),
                TimelineGap gap => Row(label, axis, gap.Start, gap.End, '░', color ? GapStyle : null, $"{TimelineText.Duration(gap.Duration)} gap"),
                _ => throw new InvalidOperationException($"Unexpected timeline row {rows[i].GetType().Name}."),
            });
        }

        if (rows.Count == 0)
        {
            lines.Add("(no step has been recorded yet)");
        }

        lines.Add(TimelineText.Fit("█ checkpointed  ▶ running  × interrupted  ! failed  ░ no process ran (crash gap)  ↻n retry", width));
        return lines;
    }

    private static string Header(JobTimeline timeline)
    {
        var name = timeline.Name is null ? string.Empty : $" '{TimelineText.Printable(timeline.Name)}'";
        return $"Job {TimelineText.Printable(timeline.JobId)}{name} ({TimelineText.Printable(timeline.Workflow)}, {timeline.State})";
    }

    private static string Summary(JobTimeline timeline) =>
        $"{TimelineText.Time(timeline.Start)} +{TimelineText.Duration(timeline.Duration)}; {Count(timeline.Bars.Count(b => b.Outcome == StepOutcome.Checkpointed), "checkpoint")}, {Count(timeline.Runs, "run")}, {Count(timeline.Gaps.Count, "crash gap")}, {Count(timeline.Bars.Count(b => b.IsRetry), "retry", "retries")}";

    private static string Count(int count, string one, string? many = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {(count == 1 ? one : many ?? one + "s")}");

    private static string AxisLabels(JobTimeline timeline, int axisWidth)
    {
        var right = "+" + TimelineText.Duration(timeline.Duration);
        var left = "+0s";
        var middle = axisWidth - left.Length - right.Length;
        return middle < 1 ? TimelineText.Fit(right, axisWidth).PadLeft(axisWidth) : string.Concat(left, new string('─', middle), right);
    }

    private static string Label(object row) => row switch
    {
        TimelineBar { IsRetry: true } bar => string.Create(CultureInfo.InvariantCulture, $"{TimelineText.Printable(bar.Step)} ↻{bar.Attempt}"),
        TimelineBar bar => TimelineText.Printable(bar.Step),
        _ => "~ crash gap ~",
    };

    private static char BarCell(TimelineBar bar) => bar.Outcome switch
    {
        StepOutcome.Running => '▶',
        StepOutcome.Interrupted => '×',
        StepOutcome.Failed => '!',
        _ => '█',
    };

    private string? Style(TimelineBar bar) => !color ? null : bar.Outcome switch
    {
        StepOutcome.Running => RunningStyle,
        StepOutcome.Failed or StepOutcome.Interrupted => FailedStyle,
        _ when bar.IsRetry => RetryStyle,
        _ => null,
    };

    private static string Suffix(TimelineBar bar) => bar.Outcome switch
    {
        StepOutcome.Running => $"{TimelineText.Duration(bar.Duration)} running",
        StepOutcome.Interrupted => "interrupted",
        StepOutcome.Failed => $"{TimelineText.Duration(bar.Duration)} failed",
        _ => (bar.StartIsExact ? string.Empty : "≤") + TimelineText.Duration(bar.Duration),
    };

    private string Row(string label, TimeAxis axis, DateTimeOffset start, DateTimeOffset end, char cell, string? style, string suffix)
    {
        var (from, to) = axis.Span(start, end);
        var builder = new StringBuilder(width + 16);
        builder.Append(label).Append('│').Append(' ', from);
        if (style is not null)
        {
            builder.Append(style);
        }

        builder.Append(cell, to - from + 1);
        if (style is not null)
        {
            builder.Append(Reset);
        }

        builder.Append(' ', axis.Width - to - 1).Append("│ ").Append(TimelineText.Fit(suffix, SuffixWidth - 1));
        return builder.ToString();
    }

    /// <summary>Maps times onto character columns 0..Width-1.</summary>
    private sealed class TimeAxis(DateTimeOffset start, DateTimeOffset end, int width)
    {
        public int Width { get; } = Math.Max(width, 1);

        public (int From, int To) Span(DateTimeOffset from, DateTimeOffset to)
        {
            var first = Column(from);
            return (first, Math.Max(first, Column(to)));
        }

        private int Column(DateTimeOffset at)
        {
            var total = (end - start).Ticks;
            if (total <= 0)
            {
                return 0;
            }

            var fraction = Math.Clamp((double)(at - start).Ticks / total, 0, 1);
            return (int)Math.Round(fraction * (Width - 1), MidpointRounding.AwayFromZero);
        }
    }
}
