using System.Management.Automation;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets a job's checkpoints in step order, with each step's recorded output.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ArcpCheckpoint")]
[OutputType(typeof(ArcpCheckpoint))]
public sealed class GetArcpCheckpointCommand : ArcpCmdlet
{
    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    [Alias("Id")]
    public string JobId { get; set; } = string.Empty;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(CheckpointIdCompleter))]
    public string? CheckpointId { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        try
        {
            foreach (var checkpoint in Run(store, (client, ct) => client.QueryCheckpointsAsync(JobId, CheckpointId, ct)))
            {
                WriteObject(new ArcpCheckpoint(checkpoint, store, WriteWarning));
            }
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, (object?)CheckpointId ?? JobId);
        }
    }
}
