namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// Workflow definitions already loaded in one runspace, by what they came from: a file by its path and the hash of
/// its content, inline steps by the hash of their recorded text. Loading a workflow file runs it (a script), so a
/// worker slot that runs many jobs of one workflow loads an unchanged file once; an edited file has a new hash and
/// is loaded again. The script blocks belong to the runspace that loaded them: one instance per runspace, used on its
/// pipeline thread only.
/// </summary>
internal sealed class ParsedWorkflows
{
    // A worker meets few definitions; the bound only keeps a long-lived slot from collecting every inline variant.
    private const int MaxDefinitions = 64;

    private readonly Dictionary<string, (string Hash, ScriptWorkflow Workflow)> files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ScriptWorkflow> inline = new(StringComparer.Ordinal);

    /// <summary>The workflow the regular <c>.ps1</c> file at <paramref name="path"/> defines, and the hash of the content it was loaded from.</summary>
    public (ScriptWorkflow Workflow, string Hash) FromFile(string path)
    {
        var hash = RecordedDefinitions.FileHash(path);
        if (files.TryGetValue(path, out var known) && known.Hash == hash)
        {
            return (known.Workflow, hash);
        }

        var loaded = WorkflowLoader.Load(path, Path.GetDirectoryName(path)!);
        MakeRoom();
        files[path] = (hash, loaded);
        return (loaded, hash);
    }

    /// <summary>The inline steps recorded as <paramref name="script"/>, whose hash the caller checked to be <paramref name="hash"/>.</summary>
    public ScriptWorkflow FromInline(string hash, string script)
    {
        if (inline.TryGetValue(hash, out var known))
        {
            return known;
        }

        var loaded = RecordedDefinitions.WorkflowFromScript(script);
        MakeRoom();
        inline[hash] = loaded;
        return loaded;
    }

    private void MakeRoom()
    {
        if (files.Count + inline.Count >= MaxDefinitions)
        {
            files.Clear();
            inline.Clear();
        }
    }
}
