using System.Diagnostics;
using System.Globalization;

namespace Arcp.Resumability.Bench;

internal sealed record ChildRunResult(int ExitCode, string Output, string Error, double Milliseconds);

/// <summary>Runs one child process to its end with its output captured, killing its tree if it outlives the timeout.</summary>
internal static class ChildRun
{
    /// <summary>
    /// A pwsh child running <paramref name="script"/> (the host executable plus pwsh.dll, as PwshBenchmark.LocateAsync
    /// finds them), with the same environment for every measured process: no telemetry or update check on the network.
    /// </summary>
    public static ProcessStartInfo Pwsh(string host, string pwshDll, string script, IEnumerable<string> scriptArgs)
    {
        var start = new ProcessStartInfo(host);
        foreach (var arg in new[] { pwshDll, "-NoProfile", "-NonInteractive", "-File", script }.Concat(scriptArgs))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        start.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        return start;
    }

    public static async Task<ChildRunResult> RunAsync(ProcessStartInfo start, TimeSpan limit, string description, CancellationToken cancellationToken)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{start.FileName}'.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{description} did not finish within {limit.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.");
        }

        var milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return new ChildRunResult(process.ExitCode, await output, await error, milliseconds);
    }
}
