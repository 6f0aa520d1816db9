using System.Globalization;
using System.Management.Automation;

namespace Arcp.Resumability.PowerShell.Hosting;

/// <summary>
/// Reads a bare number given for a TimeSpan parameter as days. PowerShell's own conversion would read
/// <c>-EventAge 30</c> as 30 ticks (3 µs) and purge nearly everything; strings and TimeSpans pass through.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class DaysTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        return value is int or long or short or byte or double or float or decimal
            ? TimeSpan.FromDays(Convert.ToDouble(value, CultureInfo.InvariantCulture))
            : inputData;
    }
}
