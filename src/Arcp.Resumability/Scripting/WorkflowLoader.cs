using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>A workflow as PowerShell defines it: a name and ordered script-block steps.</summary>
internal sealed record ScriptWorkflow(string Name, string? Version, IReadOnlyList<KeyValuePair<string, ScriptBlock>> Steps, string? SourcePath)
{
    /// <summary>Step name → script block that picks the next step from the step's output (see <c>Next</c> in workflow files).</summary>
    public IReadOnlyDictionary<string, ScriptBlock> Transitions { get; init; } = new Dictionary<string, ScriptBlock>(StringComparer.Ordinal);
}

/// <summary>
/// Loads workflow files: a <c>.ps1</c> that returns <c>@{ Name = '…'; Steps = [ordered]@{ name = { … } } }</c>.
/// Built-in workflows are the same kind of file, shipped in the module's Workflows folder.
/// </summary>
internal static class WorkflowLoader
{
    /// <summary>The workflow name used for jobs defined inline with -Step.</summary>
    public const string InlineWorkflowName = "inline";

    public static string BuiltInFolder { get; } = Path.Combine(Path.GetDirectoryName(typeof(WorkflowLoader).Assembly.Location)!, "Workflows");

    public static IReadOnlyList<string> BuiltInNames() =>
        Directory.Exists(BuiltInFolder)
            ? Directory.EnumerateFiles(BuiltInFolder, "*.ps1").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Runs the workflow file (a built-in name or a path) in the caller's runspace and validates what it returns.</summary>
    public static ScriptWorkflow Load(string nameOrPath, string currentDirectory)
    {
        var path = ResolvePath(nameOrPath, currentDirectory);
        Collection<PSObject> output;
        try
        {
            output = ScriptBlock.Create("param([string] $WorkflowPath) & $WorkflowPath").Invoke(path);
        }
        catch (RuntimeException ex)
        {
            throw Invalid($"Workflow file '{path}' failed to load: {ex.Message}", ex);
        }

        var definitions = output.Where(o => o?.BaseObject is IDictionary).ToList();
        if (definitions.Count != 1)
        {
            throw Invalid($"Workflow file '{path}' must return exactly one hashtable like @{{ Name = 'my-workflow'; Steps = [ordered]@{{ first = {{ param($Previous) … }} }} }}; it returned {output.Count} object(s).");
        }

        var definition = (IDictionary)definitions[0].BaseObject;
        var name = Lookup(definition, "Name") as string;
        if (string.IsNullOrWhiteSpace(name))
        {
            throw Invalid($"Workflow file '{path}' returns no 'Name'.");
        }

        // A declared Version names the definition; without one, the file's content does (any edit is a new version).
        var version = Lookup(definition, "Version")?.ToString() is { Length: > 0 } declared ? declared : ContentVersion(File.ReadAllText(path));
        if (Lookup(definition, "Steps") is not IDictionary steps)
        {
            throw Invalid($"Workflow file '{path}' returns no 'Steps' ordered dictionary of step name to script block.");
        }

        var stepList = ReadSteps(steps, $"Workflow file '{path}'");
        return new ScriptWorkflow(name, version, stepList, path) { Transitions = ReadTransitions(Lookup(definition, "Next"), stepList, $"Workflow file '{path}'") };
    }

    /// <summary>A workflow from -Step: an ordered dictionary of step name to script block.</summary>
    public static ScriptWorkflow FromSteps(IDictionary steps)
    {
        var list = ReadSteps(steps, "-Step");
        return new(InlineWorkflowName, ContentVersion(list.SelectMany(s => new[] { s.Key, s.Value.ToString() }).ToArray()), list, null);
    }

    /// <summary>The version of an undeclared definition: the first 16 hex digits of SHA-256 over its text.</summary>
    private static string ContentVersion(params string[] text) => "sha256:" + ArcpJson.Sha256Hex(text)[..16];

    private static List<KeyValuePair<string, ScriptBlock>> ReadSteps(IDictionary steps, string origin)
    {
        if (steps is Hashtable && steps is not System.Collections.Specialized.IOrderedDictionary && steps.Count > 1)
        {
            // A plain @{} has no defined order, and step order is the whole point.
            throw Invalid($"{origin} must be an ordered dictionary ([ordered]@{{ … }}) so the steps keep their order.");
        }

        var list = new List<KeyValuePair<string, ScriptBlock>>();
        foreach (DictionaryEntry entry in steps)
        {
            var stepName = entry.Key?.ToString();
            if (string.IsNullOrWhiteSpace(stepName))
            {
                throw Invalid($"{origin} has a step with an empty name.");
            }

            if ((entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value) is not ScriptBlock body)
            {
                throw Invalid($"{origin}: step '{stepName}' must be a script block, not {entry.Value?.GetType().Name ?? "null"}.");
            }

            list.Add(new(stepName, body));
        }

        if (list.Count == 0)
        {
            throw Invalid($"{origin} has no steps.");
        }

        return list;
    }

    /// <summary>
    /// <c>Next = @{ critique = { param($Output) if (…) { 'synthesize' } } }</c>: after the named step, the script block
    /// gets the step's output ($_ and first argument) and returns the next step's name, or nothing for the next in order.
    /// </summary>
    private static Dictionary<string, ScriptBlock> ReadTransitions(object? next, List<KeyValuePair<string, ScriptBlock>> steps, string origin)
    {
        var transitions = new Dictionary<string, ScriptBlock>(StringComparer.Ordinal);
        if (next is null)
        {
            return transitions;
        }

        if (next is not IDictionary table)
        {
            throw Invalid($"{origin}: 'Next' must be a hashtable of step name to script block.");
        }

        foreach (DictionaryEntry entry in table)
        {
            var stepName = entry.Key?.ToString() ?? string.Empty;
            if (!steps.Any(s => s.Key == stepName))
            {
                throw Invalid($"{origin}: 'Next' names '{stepName}', which is not one of its steps.");
            }

            transitions[stepName] = (entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value) as ScriptBlock
                ?? throw Invalid($"{origin}: 'Next.{stepName}' must be a script block that returns the next step's name.");
        }

        return transitions;
    }

    private static string ResolvePath(string nameOrPath, string currentDirectory)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath))
        {
            throw Invalid("A workflow name or path is required.");
        }

        var looksLikePath = nameOrPath.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/', StringComparison.Ordinal) || nameOrPath.Contains('\\', StringComparison.Ordinal);
        if (looksLikePath)
        {
            var full = Path.GetFullPath(nameOrPath, currentDirectory);
            return File.Exists(full) ? full : throw new ArcpException(ArcpError.Create(ErrorCodes.NotFound, $"Workflow file '{full}' does not exist.", new System.Text.Json.Nodes.JsonObject { ["workflow"] = nameOrPath }));
        }

        var builtIn = Path.Combine(BuiltInFolder, nameOrPath + ".ps1");
        if (File.Exists(builtIn))
        {
            return builtIn;
        }

        throw new ArcpException(ArcpError.Create(
            ErrorCodes.NotFound,
            $"There is no built-in workflow '{nameOrPath}' (built in: {string.Join(", ", BuiltInNames())}). Pass the path of a workflow .ps1 file instead.",
            new System.Text.Json.Nodes.JsonObject { ["workflow"] = nameOrPath }));
    }

    private static object? Lookup(IDictionary dictionary, string key)
    {
        foreach (DictionaryEntry entry in dictionary)
        {
            if (string.Equals(entry.Key?.ToString(), key, StringComparison.OrdinalIgnoreCase))
            {
                return entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
            }
        }

        return null;
    }

    private static ArcpException Invalid(string message, Exception? inner = null) =>
        inner is null ? ArcpException.Of(ErrorCodes.InvalidArgument, message) : new ArcpException(ArcpError.Create(ErrorCodes.InvalidArgument, message), inner);
}
