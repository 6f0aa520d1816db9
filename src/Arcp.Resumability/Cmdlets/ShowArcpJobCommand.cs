using System.Management.Automation;
using System.Management.Automation.Host;
using System.Text;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.PowerShell.Timeline;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Shows a job's timeline: one bar per step on a time axis, crash gaps, retries and the running step; -Html writes it as a page.</para>
/// </summary>
[Cmdlet(VerbsCommon.Show, "ArcpJob", SupportsShouldProcess = true, DefaultParameterSetName = ConsoleSet)]
[OutputType(typeof(string), ParameterSetName = [ConsoleSet])]
[OutputType(typeof(FileInfo), ParameterSetName = [HtmlSet])]
public sealed class ShowArcpJobCommand : ArcpCmdlet
{
    private const string ConsoleSet = "Console";
    private const string HtmlSet = "Html";

    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [ValidateNotNullOrEmpty]
    [Alias("Id")]
    public string JobId { get; set; } = string.Empty;

    /// <summary>Write a self-contained HTML page (inline SVG, no script, no network) to this file instead.</summary>
    [Parameter(Mandatory = true, ParameterSetName = HtmlSet)]
    [ValidateNotNullOrEmpty]
    public string Html { get; set; } = string.Empty;

    /// <summary>Characters per line in the console; defaults to the console's width (120 when there is no console).</summary>
    [Parameter(ParameterSetName = ConsoleSet)]
    [ValidateRange(ConsoleTimelineRenderer.MinimumWidth, 1000)]
    public int Width { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        JobTimeline timeline;
        try
        {
            var job = FetchJob(store, JobId);
            var events = Run(store, (client, ct) => client.QueryEventsAsync(JobId, null, ct));
            timeline = JobTimelineBuilder.Build(
                new TimelineJob(job.JobId, job.Name, job.Workflow, job.State),
                events.Select(e => EnvelopeCodec.Parse(e.Envelope)),
                DateTimeOffset.UtcNow);
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, JobId);
            return;
        }

        if (ParameterSetName == HtmlSet)
        {
            WriteHtml(timeline);
            return;
        }

        foreach (var line in new ConsoleTimelineRenderer(Width > 0 ? Width : ConsoleWidth(), UseColor()).Render(timeline))
        {
            WriteObject(line);
        }
    }

    private void WriteHtml(JobTimeline timeline)
    {
        var path = GetUnresolvedProviderPathFromPSPath(Html);
        if (!ShouldProcess(path, $"Write the timeline of job {JobId} as HTML"))
        {
            return;
        }

        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                // Job and step names can be sensitive: the page is the operator's to share, not everyone's.
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var writer = new StreamWriter(path, new UTF8Encoding(false), options))
            {
                writer.Write(HtmlTimelineRenderer.Render(timeline, DateTimeOffset.UtcNow));
            }

            WriteObject(new FileInfo(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(ex, "HtmlWriteFailed", ErrorCategory.WriteError, path)
            {
                ErrorDetails = new ErrorDetails($"Could not write the timeline to '{path}': {ex.Message}") { RecommendedAction = "Pass -Html a file path in an existing folder you can write to." },
            });
        }
    }

    private int ConsoleWidth()
    {
        try
        {
            var width = Host.UI.RawUI.BufferSize.Width;
            return width >= ConsoleTimelineRenderer.MinimumWidth ? width : 120;
        }
        catch (Exception ex) when (ex is NotImplementedException or InvalidOperationException or IOException or HostException)
        {
            // No console (a job, a remote session, redirected output): 120 is the width tables are designed for.
            return 120;
        }
    }

    /// <summary>Colour only where PowerShell itself would render it: $PSStyle.OutputRendering not PlainText and no NO_COLOR.</summary>
    private bool UseColor()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")) || Console.IsOutputRedirected)
        {
            return false;
        }

        var rendering = SessionState.PSVariable.GetValue("PSStyle") is { } style ? PSObject.AsPSObject(style).Properties["OutputRendering"]?.Value?.ToString() : null;
        return rendering is not null && !string.Equals(rendering, "PlainText", StringComparison.OrdinalIgnoreCase);
    }
}
