using System.Collections;

namespace Arcp.Resumability.Steps;

/// <summary>
/// The names of the steps a run went through, in order, kept as runs of the same step: a step that loops on itself
/// for 100,000 iterations costs one entry, not 100,000, so a long job's result does not grow its process.
/// </summary>
internal sealed class StepSequence : IReadOnlyList<string>
{
    // Each run is a step name and the position just after its last repetition.
    private readonly List<(string Step, int End)> runs = [];

    public int Count => runs.Count == 0 ? 0 : runs[^1].End;

    /// <summary>How many runs of one step are held (what the memory grows with).</summary>
    public int Runs => runs.Count;

    public string this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            // The first run whose end lies beyond the index holds it.
            int low = 0, high = runs.Count - 1;
            while (low < high)
            {
                var middle = (low + high) / 2;
                if (runs[middle].End > index)
                {
                    high = middle;
                }
                else
                {
                    low = middle + 1;
                }
            }

            return runs[low].Step;
        }
    }

    public void Add(string step)
    {
        if (runs.Count > 0 && string.Equals(runs[^1].Step, step, StringComparison.Ordinal))
        {
            runs[^1] = (step, checked(runs[^1].End + 1));
            return;
        }

        runs.Add((step, Count + 1));
    }

    public IEnumerator<string> GetEnumerator()
    {
        var start = 0;
        foreach (var (step, end) in runs)
        {
            for (var position = start; position < end; position++)
            {
                yield return step;
            }

            start = end;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
