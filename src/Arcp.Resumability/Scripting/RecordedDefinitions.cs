using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// Turns a workflow the local user started into the record kept with the job (where it came from and a hash of
/// its content), and inline steps into script text and back. <see cref="DefinitionResolver"/> reads records back.
/// </summary>
internal static class RecordedDefinitions
{
    /// <summary>The record for <paramref name="workflow"/>, loaded from <paramref name="requested"/> (the -Workflow value; null for -Step).</summary>
    /// <remarks>The principal is left empty: the embedded runtime records it as its own local principal.</remarks>
    public static JobDefinitionRecord Describe(string jobId, ScriptWorkflow workflow, string? requested, DateTimeOffset now)
    {
        if (requested is null)
        {
            var script = InlineScript(workflow);
            return new(jobId, string.Empty, JobDefinitionKinds.Inline, WorkflowLoader.InlineWorkflowName, TextHash(script), workflow.Version, script, now);
        }

        var path = workflow.SourcePath ?? throw new InvalidOperationException($"Workflow '{workflow.Name}' was loaded from a file but does not say which.");
        var kind = WorkflowLoader.LooksLikePath(requested)
            ? JobDefinitionKinds.File
            : string.Equals(Path.GetDirectoryName(path), Path.TrimEndingDirectorySeparator(WorkflowLoader.BuiltInFolder), StringComparison.Ordinal) ? JobDefinitionKinds.BuiltIn : JobDefinitionKinds.SearchPath;
        return new(jobId, string.Empty, kind, kind == JobDefinitionKinds.File ? path : requested, FileHash(path), workflow.Version, null, now);
    }

    /// <summary><c>sha256:</c> and the hex digest of the file's bytes.</summary>
    public static string FileHash(string path) => "sha256:" + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    public static string TextHash(string text) => "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    /// <summary>
    /// Inline steps as JSON: <c>{"steps":[{"name":…,"run":…,"policy":{…}}]}</c>, the policy in the hashtable shape
    /// -Step accepts (durations as invariant TimeSpan text, RetryOn as script text), so <see cref="StepsFromScript"/>
    /// gives back the same definition and the same version.
    /// </summary>
    public static string InlineScript(ScriptWorkflow workflow)
    {
        var steps = new JsonArray();
        foreach (var recorded in workflow.Steps)
        {
            var step = new JsonObject { ["name"] = recorded.Name, ["run"] = recorded.Text };
            if (workflow.Policies.TryGetValue(recorded.Name, out var policy) && !ReferenceEquals(policy, ScriptStepPolicy.Default))
            {
                step["policy"] = PolicyJson(policy);
            }

            steps.Add(step);
        }

        return new JsonObject { ["steps"] = steps }.ToJsonString();
    }

    /// <summary>
    /// The inline workflow <paramref name="script"/> (from <see cref="InlineScript"/>) describes, with the same version.
    /// Each step's script stays text until the step runs (<see cref="ScriptStep.Recorded"/>): a resume of a long job
    /// runs only the steps after its last checkpoint, and parsing every step's script would cost as much as the job is long.
    /// </summary>
    public static ScriptWorkflow WorkflowFromScript(string script)
    {
        var steps = new List<ScriptStep>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var policies = new Dictionary<string, ScriptStepPolicy>(StringComparer.Ordinal);
        try
        {
            // Read as a document, not as JsonNode objects: a node tree builds a property dictionary for every step
            // it is asked about, which for a 5,000-step record was most of a resume's cost that grew with the job.
            using var document = JsonDocument.Parse(script);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("steps", out var stepArray) || stepArray.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("it has no steps");
            }

            foreach (var step in stepArray.EnumerateArray())
            {
                if (step.ValueKind != JsonValueKind.Object)
                {
                    throw new FormatException("a step is not an object");
                }

                var name = Text(step, "name") ?? throw new FormatException("a step has no name");
                var run = Text(step, "run") ?? throw new FormatException($"step '{name}' has no script");
                if (string.IsNullOrWhiteSpace(name) || !names.Add(name))
                {
                    throw new FormatException($"the step name '{name}' is empty or not unique");
                }

                steps.Add(ScriptStep.Recorded(name, run));
                policies[name] = step.TryGetProperty("policy", out var policy) && policy.ValueKind == JsonValueKind.Object
                    ? ScriptStepPolicy.Read(PolicyTable(policy), $"-Step: step '{name}'", ScriptStepPolicy.Default, allowRun: false)
                    : ScriptStepPolicy.Default;
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException or ParseException)
        {
            throw ArcpException.Of(ErrorCodes.DataLoss, $"The recorded inline steps cannot be read ({ex.Message}); resume with -Step.");
        }

        return steps.Count > 0
            ? WorkflowLoader.Inline(steps, policies)
            : throw ArcpException.Of(ErrorCodes.DataLoss, "The recorded inline steps cannot be read (it has no steps); resume with -Step.");
    }

    /// <summary>The string <paramref name="property"/> of <paramref name="element"/>; null when it is missing or JSON null, FormatException when it is not text.</summary>
    private static string? Text(JsonElement element, string property) =>
        !element.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new FormatException($"'{property}' is not text");

    private static JsonObject PolicyJson(ScriptStepPolicy scripted)
    {
        var policy = scripted.Policy;
        var json = new JsonObject
        {
            ["MaxAttempts"] = policy.MaxAttempts,
            ["RetryDelay"] = policy.RetryDelay.ToString("c", CultureInfo.InvariantCulture),
            ["Backoff"] = policy.Backoff.ToString(),
        };
        if (policy.MaxRetryDelay is { } max)
        {
            json["MaxRetryDelay"] = max.ToString("c", CultureInfo.InvariantCulture);
        }

        if (policy.Timeout is { } timeout)
        {
            json["Timeout"] = timeout.ToString("c", CultureInfo.InvariantCulture);
        }

        if (scripted.RetryOn is { } retryOn)
        {
            json["RetryOn"] = retryOn.ToString();
        }

        return json;
    }

    private static Hashtable PolicyTable(JsonElement policy)
    {
        var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in policy.EnumerateObject())
        {
            var value = setting.Value;
            table[setting.Name] = setting.Name switch
            {
                "MaxAttempts" => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var attempts) ? attempts : throw new FormatException("'MaxAttempts' is not a whole number"),
                "RetryOn" => ScriptBlock.Create(value.ValueKind == JsonValueKind.String ? value.GetString() : throw new FormatException("'RetryOn' is not text")),
                _ => value.ValueKind is JsonValueKind.String or JsonValueKind.Null ? value.GetString() : throw new FormatException($"'{setting.Name}' is not text"),
            };
        }

        return table;
    }
}
