using System.Management.Automation;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Scripting;

/// <summary>
/// One step of a <see cref="ScriptWorkflow"/>: its name and its script. A step read back from a recorded inline
/// definition keeps only its text until it runs: a resume runs the few steps after the last checkpoint, so parsing
/// the script of every step of a long job up front would make the resume cost grow with the job's length.
/// </summary>
internal sealed class ScriptStep
{
    private ScriptBlock? body;
    private string? text;

    /// <summary>A step whose script block is already parsed (from -Step or a workflow file).</summary>
    public ScriptStep(string name, ScriptBlock body)
    {
        Name = name;
        this.body = body;
    }

    private ScriptStep(string name, string text)
    {
        Name = name;
        this.text = text;
    }

    public string Name { get; }

    /// <summary>The script text (what a recorded definition keeps and the content version hashes).</summary>
    public string Text => text ??= body!.ToString();

    /// <summary>
    /// The script block, parsed the first time it is asked for (on the pipeline thread that runs the step). The text of a
    /// recorded step matched its recorded hash, so a parse error means the record itself is damaged: DATA_LOSS, as for
    /// recorded steps that cannot be read at all.
    /// </summary>
    public ScriptBlock Body => body ??= Parse(Name, text!);

    /// <summary>A step from a recorded inline definition, parsed only when it runs.</summary>
    public static ScriptStep Recorded(string name, string text) => new(name, text);

    private static ScriptBlock Parse(string name, string text)
    {
        try
        {
            return ScriptBlock.Create(text);
        }
        catch (ParseException ex)
        {
            throw ArcpException.Of(ErrorCodes.DataLoss, $"The recorded script of step '{name}' cannot be parsed ({ex.Message}); resume with -Step.");
        }
    }
}
