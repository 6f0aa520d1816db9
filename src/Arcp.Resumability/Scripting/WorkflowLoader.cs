using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>A workflow as PowerShell defines it: a name and ordered script-block steps.</summary>
internal sealed record ScriptWorkflow(string Name, string? Version, IReadOnlyList<ScriptStep> Steps, string? SourcePath)
{
    /// <summary>Step name → script block that picks the next step from the step's output (see <c>Next</c> in workflow files).</summary>
    public IReadOnlyDictionary<string, ScriptBlock> Transitions { get; init; } = new Dictionary<string, ScriptBlock>(StringComparer.Ordinal);

    /// <summary>Step name → its policy; a step missing here runs once, without a timeout.</summary>
    public IReadOnlyDictionary<string, ScriptStepPolicy> Policies { get; init; } = new Dictionary<string, ScriptStepPolicy>(StringComparer.Ordinal);
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

        var origin = $"Workflow file '{path}'";
        var defaults = Lookup(definition, "Policy") switch
        {
            null => ScriptStepPolicy.Default,
            IDictionary table => ScriptStepPolicy.Read(table, $"{origin} 'Policy'", ScriptStepPolicy.Default, allowRun: false),
            var other => throw Invalid($"{origin}: 'Policy' must be a hashtable of policy settings, not {other.GetType().Name}."),
        };
        var policies = new Dictionary<string, ScriptStepPolicy>(StringComparer.Ordinal);
        var stepList = ReadSteps(steps, origin, defaults, policies);
        return new ScriptWorkflow(name, version, stepList, path) { Transitions = ReadTransitions(Lookup(definition, "Next"), stepList, origin), Policies = policies };
    }

    /// <summary>A workflow from -Step: an ordered dictionary of step name to script block.</summary>
    public static ScriptWorkflow FromSteps(IDictionary steps)
    {
        var policies = new Dictionary<string, ScriptStepPolicy>(StringComparer.Ordinal);
        var list = ReadSteps(steps, "-Step", ScriptStepPolicy.Default, policies);
        return Inline(list, policies);
    }

    /// <summary>
    /// Inline steps as -Step gave them (<paramref name="steps"/> may still be unparsed text); the version hashes each
    /// step's name and script text, so recorded steps read back get the version they were started with.
    /// </summary>
    public static ScriptWorkflow Inline(IReadOnlyList<ScriptStep> steps, IReadOnlyDictionary<string, ScriptStepPolicy> policies) =>
        new(InlineWorkflowName, ContentVersion(steps.SelectMany(s => new[] { s.Name, s.Text }).ToArray()), steps, null) { Policies = policies };

    /// <summary>The version of an undeclared definition: the first 16 hex digits of SHA-256 over its text.</summary>
    private static string ContentVersion(params string[] text) => "sha256:" + ArcpJson.Sha256Hex(text)[..16];

    /// <summary>A step is a script block, or a policy hashtable whose <c>Run</c> is the script block; <paramref name="policies"/> receives each step's policy.</summary>
    private static List<ScriptStep> ReadSteps(IDictionary steps, string origin, ScriptStepPolicy defaults, Dictionary<string, ScriptStepPolicy> policies)
    {
        if (steps is Hashtable && steps is not System.Collections.Specialized.IOrderedDictionary && steps.Count > 1)
        {
            // A plain @{} has no defined order, and step order is the whole point.
            throw Invalid($"{origin} must be an ordered dictionary ([ordered]@{{ … }}) so the steps keep their order.");
        }

        var list = new List<ScriptStep>();
        foreach (DictionaryEntry entry in steps)
        {
            var stepName = entry.Key?.ToString();
            if (string.IsNullOrWhiteSpace(stepName))
            {
                throw Invalid($"{origin} has a step with an empty name.");
            }

            var value = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
            ScriptBlock body;
            if (value is IDictionary table)
            {
                body = Lookup(table, ScriptStepPolicy.RunKey) as ScriptBlock
                    ?? throw Invalid($"{origin}: step '{stepName}' is a policy hashtable without a 'Run' script block.");
                policies[stepName] = ScriptStepPolicy.Read(table, $"{origin}: step '{stepName}'", defaults, allowRun: true);
            }
            else
            {
                body = value as ScriptBlock
                    ?? throw Invalid($"{origin}: step '{stepName}' must be a script block or a policy hashtable @{{ Run = {{ … }}; MaxAttempts = 3 }}, not {entry.Value?.GetType().Name ?? "null"}.");
                policies[stepName] = defaults;
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
    private static Dictionary<string, ScriptBlock> ReadTransitions(object? next, List<ScriptStep> steps, string origin)
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
            if (!steps.Any(s => s.Name == stepName))
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

        return LooksLikePath(nameOrPath) ? WorkflowFile(Path.GetFullPath(nameOrPath, currentDirectory)) : ResolveName(nameOrPath);
    }

    /// <summary>True when the value is a file path rather than a workflow name.</summary>
    public static bool LooksLikePath(string value) =>
        value.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase) || value.Contains('/', StringComparison.Ordinal) || value.Contains('\\', StringComparison.Ordinal);

    /// <summary>
    /// Where a name resolves: a built-in first, then the search path, like a command on <c>$env:PATH</c>. This is the
    /// only road for a workflow value read back from the store or sent over the wire: such a value may name, never point.
    /// </summary>
    public static string ResolveName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || LooksLikePath(name) || name.Contains("..", StringComparison.Ordinal) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            throw Invalid($"'{name}' is not a workflow name; a recorded or remote workflow is resolved by name on this host, never as a path.");
        }

        foreach (var folder in SearchFolders())
        {
            var candidate = Path.Combine(folder, name + ".ps1");
            if (IsRegularFile(candidate))
            {
                return candidate;
            }
        }

        throw new ArcpException(ArcpError.Create(
            ErrorCodes.NotFound,
            $"There is no workflow named '{name}' (built in: {string.Join(", ", BuiltInNames())}; searched $env:ARCP_WORKFLOW_PATH). Pass the path of a workflow .ps1 file instead.",
            new System.Text.Json.Nodes.JsonObject { ["workflow"] = name }));
    }

    /// <summary>Every name <see cref="ResolveName"/> accepts and the file it resolves to (the first folder wins), by name.</summary>
    public static IReadOnlyList<(string Name, string Path)> Resolvable()
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var folder in SearchFolders().Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*.ps1").Where(IsRegularFile))
            {
                found.TryAdd(Path.GetFileNameWithoutExtension(file), file);
            }
        }

        return found.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => (f.Key, f.Value)).ToList();
    }

    /// <summary>The module's built-in folder, then the absolute folders of <c>$env:ARCP_WORKFLOW_PATH</c> in order.</summary>
    public static IReadOnlyList<string> SearchFolders()
    {
        var folders = new List<string> { BuiltInFolder };
        var searchPath = Environment.GetEnvironmentVariable("ARCP_WORKFLOW_PATH");
        if (!string.IsNullOrEmpty(searchPath))
        {
            // Relative entries would make the meaning of a name depend on the current directory; they are ignored.
            folders.AddRange(searchPath.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(Path.IsPathFullyQualified));
        }

        return folders;
    }

    /// <summary>Only a regular <c>.ps1</c> file is ever run: never an executable, a device, a folder or another extension.</summary>
    public static string WorkflowFile(string fullPath)
    {
        if (!fullPath.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid($"'{fullPath}' is not a workflow file: only .ps1 files are run as workflows.");
        }

        if (!File.Exists(fullPath))
        {
            throw new ArcpException(ArcpError.Create(ErrorCodes.NotFound, $"Workflow file '{fullPath}' does not exist.", new System.Text.Json.Nodes.JsonObject { ["workflow"] = fullPath }));
        }

        return IsRegularFile(fullPath) ? fullPath : throw Invalid($"'{fullPath}' is not a regular file; only regular .ps1 files are run as workflows.");
    }

    private static bool IsRegularFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return false;
        }

        // A link is judged by what it finally points at, so a .ps1 name cannot smuggle in an executable.
        var target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
        return target is { Exists: true } && (target.Attributes & (FileAttributes.Directory | FileAttributes.Device)) == 0
            && target.Extension.Equals(".ps1", StringComparison.OrdinalIgnoreCase);
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
