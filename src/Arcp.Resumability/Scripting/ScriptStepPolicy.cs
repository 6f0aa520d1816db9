using System.Collections;
using System.Globalization;
using System.Management.Automation;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// A step policy as PowerShell writes it: <c>@{ Run = { … }; MaxAttempts = 5; RetryDelay = '00:00:02'; Backoff = 'Exponential';
/// MaxRetryDelay = '00:01:00'; Timeout = '00:10:00'; RetryOn = { param($err) … } }</c>. Durations are TimeSpans,
/// TimeSpan strings or a number of seconds. RetryOn is kept as a script block until the step runs on a pipeline.
/// </summary>
internal sealed record ScriptStepPolicy(StepPolicy Policy, ScriptBlock? RetryOn)
{
    public const string RunKey = "Run";

    public static ScriptStepPolicy Default { get; } = new(StepPolicy.Default, null);

    private static readonly string[] PolicyKeys = ["MaxAttempts", "RetryDelay", "Backoff", "MaxRetryDelay", "Timeout", "RetryOn"];

    /// <summary>Reads <paramref name="table"/> over <paramref name="defaults"/> (each key given replaces the default's).</summary>
    /// <param name="allowRun">True for a step (which carries its body in <c>Run</c>); false for a workflow's default policy.</param>
    public static ScriptStepPolicy Read(IDictionary table, string origin, ScriptStepPolicy defaults, bool allowRun)
    {
        var policy = defaults.Policy;
        var retryOn = defaults.RetryOn;
        foreach (DictionaryEntry entry in table)
        {
            var key = entry.Key?.ToString() ?? string.Empty;
            var value = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
            if (allowRun && key.Equals(RunKey, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            policy = key.ToUpperInvariant() switch
            {
                "MAXATTEMPTS" => policy with { MaxAttempts = Integer(value, origin, key) },
                "RETRYDELAY" => policy with { RetryDelay = Duration(value, origin, key) },
                "MAXRETRYDELAY" => policy with { MaxRetryDelay = Duration(value, origin, key) },
                "TIMEOUT" => policy with { Timeout = Duration(value, origin, key) },
                "BACKOFF" => policy with { Backoff = BackoffOf(value, origin) },
                "RETRYON" => policy,
                _ => throw Invalid($"{origin}: '{key}' is not a policy setting; use {(allowRun ? RunKey + ", " : string.Empty)}{string.Join(", ", PolicyKeys)}."),
            };
            if (key.Equals("RetryOn", StringComparison.OrdinalIgnoreCase))
            {
                retryOn = value as ScriptBlock ?? throw Invalid($"{origin}: RetryOn must be a script block like {{ param($err) $err.Code -ne 'INVALID_ARGUMENT' }}.");
            }
        }

        try
        {
            policy.Validate();
        }
        catch (ArgumentException ex)
        {
            throw Invalid($"{origin}: {ex.Message}");
        }

        return new ScriptStepPolicy(policy, retryOn);
    }

    /// <summary>The core policy, with RetryOn run on the pipeline thread: it gets the error (Code, Message, Details) as $err and $_.</summary>
    public StepPolicy ToStepPolicy(PipelineDispatcher dispatcher) =>
        RetryOn is not { } script
            ? Policy
            : Policy with
            {
                RetryOn = (error, _) => new ValueTask<bool>(dispatcher.InvokeAsync(() =>
                {
                    var err = new PSObject();
                    err.Properties.Add(new PSNoteProperty("Code", error.Code));
                    err.Properties.Add(new PSNoteProperty("Message", error.Message));
                    err.Properties.Add(new PSNoteProperty("Details", error.Details?.ToJsonString()));
                    var result = script.InvokeWithContext(null, [new PSVariable("_", err)], err);
                    return result.Count > 0 && LanguagePrimitives.IsTrue(result[^1]);
                })),
            };

    private static int Integer(object? value, string origin, string key) =>
        value is int or long or short or byte || (value is string text && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            ? Convert.ToInt32(value, CultureInfo.InvariantCulture)
            : throw Invalid($"{origin}: {key} must be a whole number, not '{value}'.");

    private static TimeSpan Duration(object? value, string origin, string key) => value switch
    {
        TimeSpan span => span,
        // A bare number is seconds: [timespan]2 would be 2 ticks, which nobody means.
        int or long or double or decimal => TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        string text when TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw Invalid($"{origin}: {key} must be a duration like '00:00:02' or a number of seconds, not '{value}'."),
    };

    private static StepBackoff BackoffOf(object? value, string origin) =>
        Enum.TryParse<StepBackoff>(value?.ToString(), ignoreCase: true, out var backoff) && Enum.IsDefined(backoff) && value is not int
            ? backoff
            : throw Invalid($"{origin}: Backoff must be Constant, Linear or Exponential, not '{value}'.");

    private static ArcpException Invalid(string message) => ArcpException.Of(ErrorCodes.InvalidArgument, message);
}
