using System.Text.RegularExpressions;
using Arcp.Resumability.PowerShell;
using Arcp.Resumability.PowerShell.Timeline;
using static Arcp.Resumability.Tests.Timeline.TimelineEvents;

namespace Arcp.Resumability.Tests.Timeline;

public sealed partial class TimelineRendererTests
{
    private const string HostileName = "<script>alert('x')</script> & \"q\" \u001b[31mred\u202Eevil\n2nd";

    private static JobTimeline CrashedAndResumed(string name = "nightly", string step3 = "three") => JobTimelineBuilder.Build(
        new TimelineJob(JobId, name, "inline", ArcpJobState.Completed),
        new TimelineEvents().Started(0).Step(2, "one", 0).Step(5, "two", 1).Progress(7, step3, 2, 50)
            .NewRun(At(40)).Step(44, step3, 2).Step(46, "four", 3).Completed(46).Events,
        At(100));

    /// <summary>100 steps of a second each, then a running 101st: the "still legible" case.</summary>
    private static JobTimeline HundredSteps()
    {
        var events = new TimelineEvents().Started(0);
        for (var i = 0; i < 100; i++)
        {
            events.Step(i + 1, $"step-{i:000}-with-a-rather-long-descriptive-name", i);
        }

        events.Progress(100.5, "step-100-running", 100, 20);
        return JobTimelineBuilder.Build(new TimelineJob(JobId, "hundred", "inline", ArcpJobState.Running), events.Events, At(110));
    }

    [Theory]
    [InlineData(60)]
    [InlineData(80)]
    [InlineData(120)]
    [InlineData(200)]
    public void Console_lines_fit_the_width_for_a_crash_and_for_100_steps(int width)
    {
        foreach (var timeline in new[] { CrashedAndResumed(), HundredSteps() })
        {
            var lines = new ConsoleTimelineRenderer(width, color: true).Render(timeline);
            Assert.All(lines, line => Assert.True(Visible(line).Length <= width, $"{Visible(line).Length} > {width}: {line}"));
            Assert.Equal(timeline.Bars.Count + timeline.Gaps.Count + 4, lines.Count);
        }
    }

    [Fact]
    public void Console_shows_the_gap_the_interrupted_attempt_and_the_retry()
    {
        var lines = new ConsoleTimelineRenderer(100, color: false).Render(CrashedAndResumed());

        var gap = Assert.Single(lines, l => l.StartsWith("~ crash gap ~", StringComparison.Ordinal));
        Assert.Contains("33.0s gap", gap, StringComparison.Ordinal);
        // The gap spans most of the 46 s axis: from 7 s to 40 s.
        Assert.InRange(gap.Count(c => c == '░'), 40, 60);
        Assert.Single(lines, l => l.StartsWith("three ", StringComparison.Ordinal) && l.Contains('×', StringComparison.Ordinal) && l.EndsWith("interrupted", StringComparison.Ordinal));
        var retry = Assert.Single(lines, l => l.StartsWith("three ↻2", StringComparison.Ordinal));
        Assert.Contains("≤4.00s", retry, StringComparison.Ordinal);
        Assert.EndsWith("4 checkpoints, 2 runs, 1 crash gap, 1 retry", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains('\u001b', StringComparison.Ordinal));
    }

    [Fact]
    public void Console_highlights_the_running_step_with_colour_and_a_distinct_bar()
    {
        var timeline = HundredSteps();

        var plain = new ConsoleTimelineRenderer(120, color: false).Render(timeline);
        var coloured = new ConsoleTimelineRenderer(120, color: true).Render(timeline);

        var running = Assert.Single(plain, l => l.StartsWith("step-100-running", StringComparison.Ordinal));
        Assert.Contains("▶", running, StringComparison.Ordinal);
        Assert.EndsWith("running", running.TrimEnd(), StringComparison.Ordinal);
        var highlighted = Assert.Single(coloured, l => l.Contains("\u001b[1;33m", StringComparison.Ordinal));
        Assert.Equal(running, Visible(highlighted));
        // Every one of the 100 steps has its own row, in order.
        var stepRows = plain.Where(l => l.StartsWith("step-", StringComparison.Ordinal)).ToList();
        Assert.Equal(101, stepRows.Count);
        Assert.Contains("step-000", stepRows[0], StringComparison.Ordinal);
        Assert.Contains("step-099", stepRows[99], StringComparison.Ordinal);
    }

    [Fact]
    public void Console_never_prints_control_characters_from_recorded_names()
    {
        var lines = new ConsoleTimelineRenderer(200, color: false).Render(CrashedAndResumed(HostileName, HostileName));

        Assert.All(lines, l => Assert.DoesNotContain(l, c => char.IsControl(c) || c == '\u202E'));
        Assert.Contains("?[31mred?evil?2nd", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Html_is_self_contained_and_escapes_every_recorded_name()
    {
        var html = HtmlTimelineRenderer.Render(CrashedAndResumed(HostileName, HostileName), At(200));

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains("Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"q\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\u202E", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;", html, StringComparison.Ordinal);
        // Nothing is loaded from anywhere: no src/href attributes, no CSS url(), no imports. The only URL is the SVG namespace.
        Assert.DoesNotMatch(SourceAttribute(), html);
        Assert.Equal(["http://www.w3.org/2000/svg"], UrlPattern().Matches(html).Select(m => m.Value).ToArray());
    }

    [Fact]
    public void Html_marks_the_gap_the_interrupted_attempt_and_the_retry()
    {
        var html = HtmlTimelineRenderer.Render(CrashedAndResumed(), At(200));

        Assert.Single(RowPattern("gap").Matches(html));
        Assert.Single(RowPattern("interrupted").Matches(html));
        Assert.Single(RowPattern("done retry").Matches(html));
        Assert.Contains("three ↻2", html, StringComparison.Ordinal);
        Assert.Contains("No process ran the job for 33.0s", html, StringComparison.Ordinal);
        // The gap bar starts at 7/46 of the axis and ends at 40/46 of it (axis 230..890 of 1000).
        var gap = Regex.Match(html, "<g class=\"row gap\">.*?<rect x=\"([0-9.]+)\" y=\"[0-9.]+\" width=\"([0-9.]+)\"");
        Assert.True(gap.Success);
        Assert.Equal(230 + (660 * 7 / 46.0), double.Parse(gap.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1);
        Assert.Equal(660 * 33 / 46.0, double.Parse(gap.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 1);
    }

    [Fact]
    public void Html_scales_to_100_steps_with_one_row_each_and_the_running_step_highlighted()
    {
        var html = HtmlTimelineRenderer.Render(HundredSteps(), At(200));

        Assert.Equal(100, RowPattern("done").Count(html));
        Assert.Single(RowPattern("running").Matches(html));
        var viewBox = Regex.Match(html, "viewBox=\"0 0 1000 ([0-9.]+)\"");
        Assert.Equal(30 + (101 * 18) + 10, double.Parse(viewBox.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("width=\"100%\"", html, StringComparison.Ordinal);
        // Long names are cut in the label and kept whole in the bar's tooltip.
        Assert.Contains(">step-000-with-a-rather-long-descr…<", html, StringComparison.Ordinal);
        Assert.Contains("<title>step-000-with-a-rather-long-descriptive-name (step 1)", html, StringComparison.Ordinal);
    }

    private static string Visible(string line) => AnsiEscape().Replace(line, string.Empty);

    private static Regex RowPattern(string css) => new($"<g class=\"row {Regex.Escape(css)}\">", RegexOptions.CultureInvariant);

    [GeneratedRegex("\u001b\\[[0-9;]*m")]
    private static partial Regex AnsiEscape();

    [GeneratedRegex("\\b(src|href|xlink:href)\\s*=|url\\(|@import", RegexOptions.IgnoreCase)]
    private static partial Regex SourceAttribute();

    [GeneratedRegex("https?://[^\"'\\s<>]+")]
    private static partial Regex UrlPattern();
}
