namespace NetGen.Tests.Infrastructure;

/// <summary>Steady-state allocation of a step, as the allocation-free promises mean it.</summary>
internal static class Allocations
{
    /// <summary>Bytes this thread allocates over <paramref name="calls"/> calls of <paramref name="step"/>, the fewest
    /// of up to <paramref name="rounds"/> rounds (stopping at the first round that allocates nothing). One-time work the
    /// runtime does on the calling thread while the step warms up (tiering transitions, lazy type loading), which a
    /// loaded machine can push past any fixed warm-up, allocates in one round and not in the next; a step that
    /// allocates does so in every round, so this still fails for it.</summary>
    public static long Steady(Action step, int calls, int rounds = 5)
    {
        long fewest = long.MaxValue;
        for (int r = 0; r < rounds && fewest > 0; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) step();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
