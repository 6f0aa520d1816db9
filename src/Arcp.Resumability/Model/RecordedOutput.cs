using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Serialization;

namespace Arcp.Resumability.PowerShell;

/// <summary>
/// A checkpoint's stored output, turned into PowerShell values when it is first read and kept from then on: a listing
/// of a long job builds one object per checkpoint, and most pipelines (<c>Select-Object -Last 1 | Resume-ArcpJob</c>)
/// never read the outputs they pass over. Stored JSON this module cannot rebuild is an error on every read, naming
/// the step and the checkpoint; it never becomes a partial value.
/// </summary>
internal sealed class RecordedOutput
{
    private readonly Lazy<object?> value;

    /// <param name="warn">
    /// Told when the output holds values of an enum that is not loaded here. Only the command that reads the
    /// checkpoint can pass that on, so an output that may name an enum is converted at once; a later read reuses it.
    /// </param>
    public RecordedOutput(JsonNode? stored, string subject, Action<string>? warn)
    {
        if (stored is null)
        {
            value = new Lazy<object?>((object?)null);
        }
        else if (warn is not null && PowerShellJson.MayNameAnEnum(stored))
        {
            value = Converted(stored, subject, warn);
        }
        else
        {
            value = new Lazy<object?>(() => PowerShellJson.FromJsonNode(stored, null, subject), LazyThreadSafetyMode.ExecutionAndPublication);
        }
    }

    /// <summary>The output as PowerShell values; throws <see cref="JsonConversionException"/> when the stored JSON cannot be rebuilt.</summary>
    public object? Value => value.Value;

    private static Lazy<object?> Converted(JsonNode stored, string subject, Action<string> warn)
    {
        try
        {
            return new Lazy<object?>(PowerShellJson.FromJsonNode(stored, warn, subject));
        }
        catch (JsonConversionException ex)
        {
            // The same outcome as a lazy read of damaged JSON: the listing goes on, reading Output is the error.
            return new Lazy<object?>(() => throw ex, LazyThreadSafetyMode.ExecutionAndPublication);
        }
    }
}
