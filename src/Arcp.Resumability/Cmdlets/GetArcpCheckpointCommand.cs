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

    /// <summary>Only the job's last this many checkpoints, read without going through the whole history.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Last { get; set; }

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        try
        {
            if (CheckpointId is null && Last is null)
            {
                WriteAll(store);
                return;
            }

            var last = CheckpointId is null ? Last : null;
            var checkpoints = Run(store, (client, ct) => client.QueryCheckpointsAsync(JobId, CheckpointId, last, ct));
            // A runtime that predates 'last' answers with every checkpoint.
            foreach (var checkpoint in last is { } count ? checkpoints.TakeLast(count) : checkpoints)
            {
                WriteObject(new ArcpCheckpoint(checkpoint, store, WriteWarning));
            }
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, (object?)CheckpointId ?? JobId);
        }
    }

    /// <summary>
    /// Every checkpoint, a page at a time: each page's objects go down the pipeline before the next page is read, so a
    /// long job's history is never held or sent whole, and a consumer that stops early (Select-Object -First) stops the
    /// reading too.
    /// </summary>
    private void WriteAll(string store)
    {
        string? after = null;
        do
        {
            var page = Run(store, (client, ct) => client.QueryCheckpointPageAsync(JobId, after, null, ct));
            foreach (var checkpoint in page.Checkpoints)
            {
                WriteObject(new ArcpCheckpoint(checkpoint, store, WriteWarning));
            }

            after = page.Next;
        }
        while (after is not null);
    }
}
