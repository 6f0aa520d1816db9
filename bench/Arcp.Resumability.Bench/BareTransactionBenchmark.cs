using System.Diagnostics;

namespace Arcp.Resumability.Bench;

/// <summary>A bare transaction timed one at a time, between the steps it is compared with.</summary>
internal abstract class BareTransactionBenchmark : IDisposable
{
    public List<double> Samples { get; } = [];

    public void Warmup(int count)
    {
        for (var i = 0; i < count; i++)
        {
            RunTransaction();
        }
    }

    public void MeasureOne()
    {
        var started = Stopwatch.GetTimestamp();
        RunTransaction();
        Samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    public abstract void Dispose();

    protected abstract void RunTransaction();
}
