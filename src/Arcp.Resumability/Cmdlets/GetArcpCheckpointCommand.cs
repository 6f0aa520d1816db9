using System.Management.Automation;
using Arcp.Resumability.PowerShell.Completion;
using Arcp.Resumability.Protocol;
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
    /// Every checkpoint, a page at a time: each page's objects go down the pipeline before the one after the next is
    /// read, so a long job's history is never held or sent whole, and a consumer that stops early (Select-Object
    /// -First) stops the reading too. The next page is read while this one's objects are built and written: on the
    /// pipeline thread, which would otherwise wait for it.
    /// </summary>
    private void WriteAll(string store) =>
        Run(store, async (client, cancellationToken) =>
        {
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var page = await client.QueryCheckpointPageAsync(JobId, null, null, cancellationToken).ConfigureAwait(false);
            Task<CheckpointListPayload>? next = null;
            try
            {
                while (true)
                {
                    next = page.Next is { } after ? client.QueryCheckpointPageAsync(JobId, after, null, reading.Token) : null;
                    var written = page;
                    await Dispatcher.InvokeAsync(() => WritePage(written, store)).ConfigureAwait(false);
                    if (next is null)
                    {
                        return true;
                    }

                    page = await next.ConfigureAwait(false);
                    next = null;
                }
            }
            finally
            {
                if (next is not null)
                {
                    // The pipeline stopped (or failed) while the next page was on its way: nothing will read it, and the
                    // session must not be left with a request in flight when the command ends.
                    await reading.CancelAsync().ConfigureAwait(false);
                    await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        });

    private void WritePage(CheckpointListPayload page, string store)
    {
        foreach (var checkpoint in page.Checkpoints)
        {
            WriteObject(new ArcpCheckpoint(checkpoint, store, WriteWarning));
        }
    }
}
