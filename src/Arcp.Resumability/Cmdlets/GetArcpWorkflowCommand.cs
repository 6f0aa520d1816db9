using System.Management.Automation;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lists the workflows this host resolves by name: the built-ins, then $env:ARCP_WORKFLOW_PATH.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ArcpWorkflow")]
[OutputType(typeof(ArcpWorkflow))]
public sealed class GetArcpWorkflowCommand : PSCmdlet
{
    /// <summary>Only workflows whose name matches this wildcard pattern.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string Name { get; set; } = "*";

    protected override void ProcessRecord()
    {
        var pattern = new WildcardPattern(Name, WildcardOptions.IgnoreCase);
        foreach (var (name, path) in WorkflowLoader.Resolvable().Where(w => pattern.IsMatch(w.Name)))
        {
            try
            {
                var workflow = WorkflowLoader.Load(path, SessionState.Path.CurrentFileSystemLocation.ProviderPath);
                var source = string.Equals(Path.GetDirectoryName(path), WorkflowLoader.BuiltInFolder, StringComparison.Ordinal) ? "BuiltIn" : "SearchPath";
                WriteObject(new ArcpWorkflow(name, source, path, workflow.Version, workflow.Steps.Count));
            }
            catch (ArcpException ex)
            {
                // One broken file on the search path must not hide the others.
                WriteError(ArcpErrors.ToRecord(ex, path));
            }
        }
    }
}
