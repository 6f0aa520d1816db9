namespace Arcp.Resumability.Steps;

/// <summary>
/// Refuses a workflow whose transitions loop without progress, in memory that does not grow with the job. A step's
/// key repeats exactly when the same step runs again with the same input, and from then on (the store answers a
/// repeated key with its first outcome) the run goes round the same cycle for ever. Two checks catch that: the keys
/// of the last <see cref="Window"/> steps, which refuse a cycle of up to that many steps before its body runs again;
/// and the keys whose recorded outcome the run took instead of its own (a step reused on resume, or a checkpoint the
/// store reported as a duplicate), which refuse a longer cycle the second time the run takes the same one. Only
/// recorded outcomes taken are remembered by the second check: none in a job that makes progress, at most the steps
/// recorded after the anchor in a resumed one.
/// </summary>
internal sealed class LoopGuard
{
    /// <summary>How many of the latest step keys are compared exactly.</summary>
    public const int Window = 256;

    private readonly Queue<string> recent = new(Window);
    private readonly HashSet<string> recentKeys = new(StringComparer.Ordinal);
    private readonly HashSet<string> reused = new(StringComparer.Ordinal);

    /// <summary>How many keys are held in all (bounded by the window while the job makes progress).</summary>
    public int KeysHeld => recentKeys.Count + reused.Count;

    /// <summary>Notes that the step with <paramref name="key"/> is about to run; false when it ran within the window.</summary>
    public bool TryEnter(string key)
    {
        if (!recentKeys.Add(key))
        {
            return false;
        }

        recent.Enqueue(key);
        if (recent.Count > Window)
        {
            recentKeys.Remove(recent.Dequeue());
        }

        return true;
    }

    /// <summary>
    /// Notes that the run takes the recorded outcome of <paramref name="key"/> instead of its own; false when it already
    /// took it earlier in this run, i.e. the run is going round a cycle.
    /// </summary>
    public bool TryReuse(string key) => reused.Add(key);
}
