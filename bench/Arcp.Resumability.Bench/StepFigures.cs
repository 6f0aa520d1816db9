namespace Arcp.Resumability.Bench;

/// <summary>
/// Everything part 1 measured: the checkpointed step back to back and paired with the bare transactions (the last of them the step's own writes into the store's schema), and
/// the process after the back-to-back jobs (CPU and allocations per step include each job's start and completion).
/// </summary>
internal sealed record StepFigures(
    WarmupFigures Warmup,
    Summary BackToBack,
    Summary Paired,
    Summary PerJob,
    Summary BareFull,
    Summary BareSplit,
    Summary StoreSchema,
    StepBytes Bytes,
    double ProcessorMillisecondsPerStep,
    double AllocatedPerStep,
    (int Gen0, int Gen2) Collections,
    long JitCompiledWhileMeasuring,
    MemoryFigures Memory);
