using System.Management.Automation;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>
/// What a step writes to PowerShell's streams: each record becomes a §17.2 <c>log</c> event in the job's
/// stream (attribute <c>stream</c> names the PowerShell stream) and is then passed on to the caller's stream.
/// </summary>
internal static class StreamRecords
{
    /// <returns>False when <paramref name="item"/> is ordinary output rather than a stream record.</returns>
    public static bool Forward(PSObject? item, StepContext context, IScriptStepObserver observer, CancellationToken cancellationToken)
    {
        // A step that writes $null to the pipeline hands a null item to the sink: that is output, not a stream record.
        var (level, stream, message) = item?.BaseObject switch
        {
            ErrorRecord error => (LogLevels.Error, "error", error.ToString()),
            WarningRecord warning => (LogLevels.Warn, "warning", warning.Message),
            VerboseRecord verbose => (LogLevels.Debug, "verbose", verbose.Message),
            DebugRecord debug => (LogLevels.Debug, "debug", debug.Message),
            InformationRecord information => (LogLevels.Info, information.Tags.Contains("PSHOST") ? "host" : "information", information.MessageData?.ToString() ?? string.Empty),
            _ => (null, null, null),
        };
        if (item is null || level is null)
        {
            return false;
        }

        if (context.Reporter is { } reporter)
        {
            reporter.LogAsync(level, message!, new JsonObject { ["stream"] = stream }, cancellationToken).GetAwaiter().GetResult();
        }

        observer.Forward(item.BaseObject);
        return true;
    }
}
