namespace Arcp.Resumability.PowerShell;

/// <summary>A workflow this host can resolve by name, as Get-ArcpWorkflow shows it: what a resume by name will run.</summary>
public sealed class ArcpWorkflow
{
    internal ArcpWorkflow(string name, string source, string path, string? version, int stepCount)
    {
        Name = name;
        Source = source;
        Path = path;
        Version = version;
        StepCount = stepCount;
    }

    /// <summary>The name Start-ArcpJob and Resume-ArcpJob resolve (the file name without .ps1).</summary>
    public string Name { get; }

    /// <summary><c>BuiltIn</c> for the module's own workflows, <c>SearchPath</c> for a folder of $env:ARCP_WORKFLOW_PATH.</summary>
    public string Source { get; }

    /// <summary>The absolute path of the .ps1 file that runs.</summary>
    public string Path { get; }

    /// <summary>The declared Version, else sha256: and 16 hex digits of the file's content (as checkpoints record it).</summary>
    public string? Version { get; }

    public int StepCount { get; }
}
