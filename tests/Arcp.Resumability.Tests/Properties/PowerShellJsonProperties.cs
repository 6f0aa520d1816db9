using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Numerics;
using Arcp.Resumability.PowerShell.Serialization;
using CsCheck;

namespace Arcp.Resumability.Tests.Properties;

/// <summary>
/// A step output either comes back as the same types and values after a trip through the store, or is refused with
/// <see cref="JsonConversionException"/> (which the cmdlets report as INVALID_ARGUMENT); no other exception escapes.
/// </summary>
public sealed class PowerShellJsonProperties
{
    private const int Iterations = 2000;

    [Fact]
    public void Every_value_round_trips_exactly_or_is_refused_with_JsonConversionException()
    {
        var stored = 0;
        PowerShellValueGenerators.Value.Sample(value =>
        {
            string json;
            try
            {
                json = PowerShellJson.ToJson(value);
            }
            catch (JsonConversionException)
            {
                return;
            }

            Interlocked.Increment(ref stored);
            Assert.Equal(Describe(value), Describe(PowerShellJson.FromJson(json)));
            Assert.Equal(Describe(value), Describe(PowerShellJson.FromJsonNode(PowerShellJson.ToJsonNode(value))));
        }, iter: Iterations, threads: 1, print: Describe);

        // Refusals are expected (lone surrogates, colliding keys) but must not be all the property ever sees.
        Assert.InRange(stored, Iterations / 2, Iterations);
    }

    [Fact]
    public void Every_stored_text_reads_or_is_refused_with_JsonConversionException_and_what_reads_writes_back()
    {
        JsonGenerators.Value.Sample(json =>
        {
            object? value;
            try
            {
                value = PowerShellJson.FromJson(json, warn: _ => { });
            }
            catch (JsonConversionException)
            {
                return;
            }

            string written;
            try
            {
                written = PowerShellJson.ToJson(value);
            }
            catch (JsonConversionException)
            {
                return;
            }

            Assert.Equal(Describe(value), Describe(PowerShellJson.FromJson(written)));
        }, iter: Iterations, threads: 1);
    }

    [Theory]
    [InlineData("\"\\udaff\"")]
    [InlineData("{\"\\udaff\":1}")]
    [InlineData("{\"a\":1,\"a\":2}")]
    public void Stored_text_with_a_lone_surrogate_or_a_repeated_key_is_refused_with_JsonConversionException(string json)
    {
        // Shrunk from CsCheck counterexamples: these escaped as InvalidOperationException and ArgumentException.
        Assert.Throws<JsonConversionException>(() => PowerShellJson.FromJson(json));
    }

    internal static string Describe(object? value) => value switch
    {
        null => "null",
        PSObject { BaseObject: PSCustomObject } custom => "{" + string.Join(",", custom.Properties.Select(p => $"{p.Name}={Describe(p.Value)}")) + "}",
        PSObject wrapped => Describe(wrapped.BaseObject),
        IDictionary dictionary => value.GetType().Name + "{" + string.Join(",", dictionary.Cast<DictionaryEntry>().Select(e => $"{e.Key}={Describe(e.Value)}").Order(StringComparer.Ordinal)) + "}",
        byte[] bytes => "bytes:" + Convert.ToHexString(bytes),
        object[] array => "[" + string.Join(",", array.Select(Describe)) + "]",
        DateTime date => $"DateTime:{date.Kind}:{(date.Kind == DateTimeKind.Local ? date.ToUniversalTime().Ticks : date.Ticks)}",
        DateTimeOffset date => $"DateTimeOffset:{date.Ticks}:{date.Offset}",
        double d => $"double:{BitConverter.DoubleToInt64Bits(d)}",
        BigInteger n => $"bigint:{n}",
        string text => "string:" + JsonGenerators.Quote(text),
        IFormattable formattable => $"{value.GetType().FullName}:{formattable.ToString(null, CultureInfo.InvariantCulture)}",
        _ => $"{value.GetType().FullName}:{value}",
    };
}
