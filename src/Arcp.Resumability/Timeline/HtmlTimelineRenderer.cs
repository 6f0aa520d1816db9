using System.Globalization;
using System.Net;
using System.Text;

namespace Arcp.Resumability.PowerShell.Timeline;

/// <summary>
/// Writes a <see cref="JobTimeline"/> as one self-contained HTML page: inline CSS and SVG, no script, no
/// network (a Content-Security-Policy forbids loading anything), every recorded name HTML-escaped.
/// The SVG has a fixed coordinate system and scales to the page width; rows grow downwards.
/// </summary>
internal static class HtmlTimelineRenderer
{
    private const double ViewWidth = 1000;
    private const double LabelWidth = 230;
    private const double SuffixWidth = 110;
    private const double RowHeight = 18;
    private const double Top = 30;
    private const int LabelCharacters = 34;

    public static string Render(JobTimeline timeline, DateTimeOffset generatedAt)
    {
        ArgumentNullException.ThrowIfNull(timeline);
        var rows = timeline.Rows().ToList();
        var title = $"Job {timeline.JobId}{(timeline.Name is null ? string.Empty : $" '{timeline.Name}'")}";
        var html = new StringBuilder(4096 + (rows.Count * 400));
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(Escape(title)).Append(" – timeline</title>\n")
            .Append(Style)
            .Append("</head>\n<body>\n<h1>").Append(Escape(title)).Append("</h1>\n");
        AppendFacts(html, timeline, generatedAt);
        AppendSvg(html, timeline, rows);
        html.Append("<p class=\"legend\"><span class=\"key done\"></span> checkpointed <span class=\"key running\"></span> running ")
            .Append("<span class=\"key interrupted\"></span> interrupted <span class=\"key failed\"></span> failed ")
            .Append("<span class=\"key gap\"></span> no process ran (crash gap) &#8635;n retry (n-th attempt at a step)")
            .Append(" · ≤ start inferred from the resumed run's session</p>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>Text for element content and attribute values: &amp; &lt; &gt; &quot; &#39; escaped, control characters replaced.</summary>
    internal static string Escape(string? text) => WebUtility.HtmlEncode(TimelineText.Printable(text));

    private static void AppendFacts(StringBuilder html, JobTimeline timeline, DateTimeOffset generatedAt)
    {
        var retries = timeline.Bars.Count(b => b.IsRetry);
        html.Append("<table class=\"facts\">\n");
        Fact(html, "Job id", timeline.JobId);
        Fact(html, "Name", timeline.Name ?? string.Empty);
        Fact(html, "Workflow", timeline.Workflow);
        Fact(html, "State", timeline.State.ToString());
        Fact(html, "From", TimelineText.Time(timeline.Start));
        Fact(html, "To", $"{TimelineText.Time(timeline.End)} ({TimelineText.Duration(timeline.Duration)})");
        Fact(html, "Runs", string.Create(CultureInfo.InvariantCulture, $"{timeline.Runs} process run(s), {timeline.Gaps.Count} crash gap(s), {retries} retr{(retries == 1 ? "y" : "ies")}"));
        Fact(html, "Generated", TimelineText.Time(generatedAt));
        html.Append("</table>\n");
    }

    private static void Fact(StringBuilder html, string name, string value) =>
        html.Append("<tr><th>").Append(Escape(name)).Append("</th><td>").Append(Escape(value)).Append("</td></tr>\n");

    private static void AppendSvg(StringBuilder html, JobTimeline timeline, List<object> rows)
    {
        var height = Top + (Math.Max(rows.Count, 1) * RowHeight) + 10;
        var axisWidth = ViewWidth - LabelWidth - SuffixWidth;
        html.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {ViewWidth} {height:0.#}\" width=\"100%\" role=\"img\" aria-label=\"Step timeline\">\n"));

        // Time axis: five ticks with offsets from the job's start, and faint guide lines down the rows.
        for (var tick = 0; tick <= 4; tick++)
        {
            var x = LabelWidth + (axisWidth * tick / 4);
            var offset = TimeSpan.FromTicks(timeline.Duration.Ticks * tick / 4);
            html.Append(Invariant($"<line class=\"grid\" x1=\"{x:0.##}\" y1=\"{Top - 8:0.##}\" x2=\"{x:0.##}\" y2=\"{height - 10:0.##}\"/>"))
                .Append(Invariant($"<text class=\"tick\" x=\"{x:0.##}\" y=\"{Top - 12:0.##}\" text-anchor=\"{(tick == 0 ? "start" : tick == 4 ? "end" : "middle")}\">+{TimelineText.Duration(offset)}</text>\n"));
        }

        for (var i = 0; i < rows.Count; i++)
        {
            var y = Top + (i * RowHeight);
            var (start, end, css, label, suffix, tooltip) = rows[i] switch
            {
                TimelineBar bar => (bar.Start, bar.End, BarClass(bar), BarLabel(bar), BarSuffix(bar), BarTooltip(bar)),
                TimelineGap gap => (gap.Start, gap.End, "gap", "crash gap", $"{TimelineText.Duration(gap.Duration)} gap",
                    $"No process ran the job for {TimelineText.Duration(gap.Duration)}: from the last event of run {gap.RunBefore + 1} ({TimelineText.Time(gap.Start)}) to the start of run {gap.RunAfter + 1} ({TimelineText.Time(gap.End)}){(gap.AfterStep is null ? string.Empty : $", after step '{gap.AfterStep}'")}."),
                _ => throw new InvalidOperationException($"Unexpected timeline row {rows[i].GetType().Name}."),
            };
            var x1 = X(timeline, start, axisWidth);
            var x2 = Math.Max(X(timeline, end, axisWidth), x1 + 2);
            html.Append(Invariant($"<g class=\"row {css}\"><title>{Escape(tooltip)}</title>"))
                .Append(Invariant($"<text class=\"label\" x=\"{LabelWidth - 6:0.##}\" y=\"{y + 13:0.##}\" text-anchor=\"end\">{Escape(TimelineText.Fit(TimelineText.Printable(label), LabelCharacters))}</text>"))
                .Append(Invariant($"<rect x=\"{x1:0.##}\" y=\"{y + 3:0.##}\" width=\"{x2 - x1:0.##}\" height=\"{RowHeight - 6:0.##}\" rx=\"2\"/>"))
                .Append(Invariant($"<text class=\"suffix\" x=\"{ViewWidth - SuffixWidth + 8:0.##}\" y=\"{y + 13:0.##}\">{Escape(suffix)}</text></g>\n"));
        }

        if (rows.Count == 0)
        {
            html.Append(Invariant($"<text class=\"label\" x=\"{LabelWidth:0.##}\" y=\"{Top + 13:0.##}\">No step has been recorded yet.</text>\n"));
        }

        html.Append("</svg>\n");
    }

    private static double X(JobTimeline timeline, DateTimeOffset at, double axisWidth)
    {
        var total = timeline.Duration.Ticks;
        var fraction = total <= 0 ? 0 : Math.Clamp((double)(at - timeline.Start).Ticks / total, 0, 1);
        return LabelWidth + (fraction * axisWidth);
    }

    private static string BarClass(TimelineBar bar) => bar.Outcome switch
    {
        StepOutcome.Running => "running",
        StepOutcome.Interrupted => "interrupted",
        StepOutcome.Failed => "failed",
        _ => bar.IsRetry ? "done retry" : "done",
    };

    private static string BarLabel(TimelineBar bar) =>
        bar.IsRetry ? string.Create(CultureInfo.InvariantCulture, $"{bar.Step} ↻{bar.Attempt}") : bar.Step;

    private static string BarSuffix(TimelineBar bar) => bar.Outcome switch
    {
        StepOutcome.Running => $"{TimelineText.Duration(bar.Duration)} running",
        StepOutcome.Interrupted => "interrupted",
        StepOutcome.Failed => $"{TimelineText.Duration(bar.Duration)} failed",
        _ => (bar.StartIsExact ? string.Empty : "≤") + TimelineText.Duration(bar.Duration),
    };

    private static string BarTooltip(TimelineBar bar) => string.Create(
        CultureInfo.InvariantCulture,
        $"{bar.Step}{(bar.StepIndex is { } index ? $" (step {index + 1})" : string.Empty)}, attempt {bar.Attempt}, run {bar.Run + 1}: {bar.Outcome.ToString().ToLowerInvariant()}; {TimelineText.Time(bar.Start)}{(bar.StartIsExact ? string.Empty : " (inferred)")} → {TimelineText.Time(bar.End)} ({TimelineText.Duration(bar.Duration)})");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private const string Style = """
        <style>
        body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #1d1d1f; background: #fff; }
        h1 { font-size: 1.3em; word-break: break-all; }
        table.facts { border-collapse: collapse; margin-bottom: 1em; }
        table.facts th { text-align: left; padding: 1px 12px 1px 0; color: #555; font-weight: 600; }
        table.facts td { word-break: break-all; }
        svg { max-width: 1400px; display: block; }
        svg text { font: 11px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; fill: #1d1d1f; }
        svg .tick { fill: #666; }
        svg .grid { stroke: #e4e4e4; stroke-width: 1; }
        .row.done rect { fill: #2f7ed8; }
        .row.retry rect { fill: #7b4fd6; stroke: #3d1f8a; stroke-dasharray: 3 2; }
        .row.running rect { fill: #f5a623; stroke: #b36b00; stroke-width: 2; }
        .row.running text { font-weight: bold; fill: #8a4f00; }
        .row.interrupted rect { fill: #d0021b; opacity: 0.75; }
        .row.failed rect { fill: #d0021b; }
        .row.gap rect { fill: #bbb; opacity: 0.6; }
        .row.gap text { fill: #777; font-style: italic; }
        .legend { color: #444; }
        .key { display: inline-block; width: 14px; height: 10px; margin-left: 10px; border-radius: 2px; }
        .key.done { background: #2f7ed8; } .key.running { background: #f5a623; } .key.interrupted { background: #d0021b; opacity: 0.75; }
        .key.failed { background: #d0021b; } .key.gap { background: #bbb; }
        </style>

        """;
}
