namespace Arcp.Resumability.Bench;

/// <summary>Order statistics of a set of durations in milliseconds.</summary>
internal sealed record Summary(int Count, double Median, double P90, double P99, double Mean, double Min, double Max)
{
    public static Summary Of(IReadOnlyCollection<double> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            throw new ArgumentException("A summary needs at least one sample.", nameof(samples));
        }

        var sorted = samples.Order().ToArray();
        var middle = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;

        // Nearest rank: the smallest sample that at least that share of the samples do not exceed.
        double Rank(double share) => sorted[(int)Math.Ceiling(share * sorted.Length) - 1];
        return new Summary(sorted.Length, median, Rank(0.90), Rank(0.99), sorted.Average(), sorted[0], sorted[^1]);
    }
}
