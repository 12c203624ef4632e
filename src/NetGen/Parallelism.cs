using System.ComponentModel;

namespace NetGen;

/// <summary>
/// How many threads the generated kernels may use. Generated networks split their large kernels (Dense and Conv2D,
/// forward and backward) into parts on a small pool of persistent worker threads: no task is created and nothing is
/// allocated per step. Results are bit-identical whatever the thread count. Dense layers split units or inputs, so
/// every value is computed by one thread in the same order as on one thread. Conv2D layers cut the batch into a fixed
/// number of sample chunks (<see cref="SampleChunks"/>: a function of the batch size and the layer, never of the thread
/// count); each chunk sums its samples' weight gradients and the chunks' sums are added in chunk order, whichever
/// thread ran which chunk, so 1, 2 or 16 threads give the same bits.
/// </summary>
public static class Parallelism
{
    private static int s_maxThreads = 1;

    /// <summary>The number of threads a kernel may be split across, including the calling thread. At least 1.</summary>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 256);
            s_maxThreads = value;
        }
    }

    /// <summary>Kernels with fewer multiply-adds than this run on the calling thread alone.</summary>
    public const long MinWorkPerSplit = 1L << 17;

    /// <summary>How many parts a kernel of <paramref name="multiplyAdds"/> should be split into: 1 below
    /// <see cref="MinWorkPerSplit"/>, else <see cref="MaxThreads"/>, at most the processor count and
    /// <paramref name="maxParts"/>.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static int PartsFor(long multiplyAdds, int maxParts = int.MaxValue)
    {
        int threads = s_maxThreads;
        if (threads == 1 || multiplyAdds < MinWorkPerSplit) return 1;
        return Math.Max(1, Math.Min(Math.Min(threads, Environment.ProcessorCount), maxParts));
    }

    /// <summary>The most threads a kernel runs on (the calling thread and the workers): one per core. Generated networks
    /// size their per-thread scratch buffers by it and index them by <see cref="Slot"/>.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static int MaxSampleParts { get; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>The scratch slot of the calling thread, 0 ≤ slot &lt; <see cref="MaxSampleParts"/>: worker w has slot w,
    /// every other thread 0. Two threads running parts of one operation at the same time never share a slot (the
    /// caller of <see cref="Run"/> is never a worker), so a part may use the slot's scratch buffers freely.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static int Slot => WorkerPool.Slot;

    /// <summary>How many parts a kernel of <paramref name="multiplyAdds"/> split by samples (Conv2DTranspose) is cut into:
    /// one part per thread (<see cref="PartsFor"/>, at most <paramref name="samples"/>). Used where a part's results do not
    /// depend on how the samples are split (each value is computed by one part).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static int SamplePartsFor(long multiplyAdds, int samples) => Math.Max(1, Math.Min(PartsFor(multiplyAdds), samples));

    /// <summary>How many sample chunks a convolution cuts a batch of <paramref name="batch"/> samples into: batch /
    /// <paramref name="minSamples"/>, between 1 and <paramref name="maxChunks"/> (both literals of the layer, from its
    /// weight count and its work per sample). Never depends on the thread count: a chunk's weight-gradient sum, and the
    /// order the chunks' sums are added in, are the same whether one thread or many run the chunks.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static int SampleChunks(int batch, int maxChunks, int minSamples = 1) =>
        Math.Max(1, Math.Min(maxChunks, batch / Math.Max(1, minSamples)));

    /// <summary>How many parts a convolution's forward pass cuts a batch of <paramref name="batch"/> samples into, given the
    /// <paramref name="chunks"/> of its backward pass (<see cref="SampleChunks"/>): twice as many, at most one per sample. A
    /// forward part's values are per sample (no sums across samples), so its size does not change any bit; only the
    /// backward's chunks are fixed for the bits. Half-size parts let the faster of two unequal cores take more of the
    /// forward (a whole chunk was the unit the slower one made the other wait for), and part 2c starts where chunk c
    /// does, so (with the chunks shared evenly) each thread's home block of parts holds the samples of its backward home block.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static int ForwardParts(int batch, int chunks) => Math.Max(1, Math.Min(batch, 2 * chunks));

    /// <summary>Runs chunks 0 … <paramref name="chunks"/> − 1 of operation <paramref name="op"/>: on the calling thread alone
    /// when the kernel is small (<paramref name="multiplyAdds"/> below <see cref="MinWorkPerSplit"/>) or
    /// <see cref="MaxThreads"/> is 1, else on up to <see cref="MaxThreads"/> threads (at most one per core), each taking the
    /// next chunk not yet taken. The chunks' results must not depend on which thread runs them (scratch by
    /// <see cref="Slot"/>, results by chunk).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void RunChunks(IParallelKernel kernel, int op, int chunks, long multiplyAdds) => SplitChunks(kernel, op, chunks, multiplyAdds, lastFirst: false);

    /// <summary><see cref="RunChunks"/> with each thread taking its chunks last first: the calling thread alone runs
    /// chunks − 1 down to 0, and each thread of a split its home block (the same chunks as in <see cref="RunChunks"/>)
    /// from its end. A backward pass run this way starts with the chunks its forward pass wrote last, whose activations
    /// are still in the core's cache, and leaves the first chunks in it for the next forward pass. Same results: the
    /// chunks' results do not depend on the order they run in.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void RunChunksLastFirst(IParallelKernel kernel, int op, int chunks, long multiplyAdds) => SplitChunks(kernel, op, chunks, multiplyAdds, lastFirst: true);

    /// <summary><see cref="RunChunksLastFirst(IParallelKernel, int, int, long)"/> with <paramref name="fillerParts"/> parts of
    /// operation <paramref name="fillerOp"/> beside the chunks: work that needs no sample's data (a Dense layer's weight update,
    /// which reads only its δ and x), taken by a thread when its own chunks are done and before it takes another thread's.
    /// The chunks are fixed lumps of tens of microseconds, so on two cores of unequal speed one thread used to wait most of
    /// a chunk for the other; the filler parts, a few microseconds each, fill that wait instead of running as splits of
    /// their own. One thread: the chunks last first, then the filler parts in order. Same results: the filler parts write
    /// what no chunk reads or writes.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void RunChunksLastFirst(IParallelKernel kernel, int op, int chunks, long multiplyAdds, int fillerOp, int fillerParts) =>
        SplitChunks(kernel, op, chunks, multiplyAdds, lastFirst: true, fillerOp, fillerParts);

    private static void SplitChunks(IParallelKernel kernel, int op, int chunks, long multiplyAdds, bool lastFirst, int fillerOp = -1, int fillerParts = 0)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentOutOfRangeException.ThrowIfNegative(fillerParts);
        int threads = chunks <= 1 ? 1 : PartsFor(multiplyAdds, chunks);
        if (threads <= 1 || !WorkerPool.TryRun(kernel, op, chunks, threads, lastFirst, fillerOp, fillerParts))
        {
            RunInline(kernel, op, chunks, lastFirst);
            if (fillerParts > 0) RunInline(kernel, fillerOp, fillerParts);
        }
    }

    /// <summary>The range [Start, End) of <paramref name="count"/> items that part <paramref name="part"/> of
    /// <paramref name="parts"/> takes: whole blocks of <paramref name="align"/> items, spread evenly, the last range
    /// ending at <paramref name="count"/>.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static (int Start, int End) Range(int count, int parts, int part, int align = 1)
    {
        long blocks = (count + align - 1) / align;
        int start = (int)Math.Min(count, blocks * part / parts * align);
        int end = (int)Math.Min(count, blocks * (part + 1) / parts * align);
        return (start, end);
    }

    /// <summary>Runs parts 0 … <paramref name="parts"/> − 1 of operation <paramref name="op"/> of
    /// <paramref name="kernel"/> on the calling thread and up to min(<paramref name="parts"/>, <see cref="MaxThreads"/>,
    /// <see cref="MaxSampleParts"/>) − 1 worker threads, each taking the next part not yet taken, and returns when all are
    /// done. When another thread is using the workers, every part runs on the calling thread.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void Run(IParallelKernel kernel, int op, int parts)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        int threads = Math.Min(Math.Min(parts, s_maxThreads), MaxSampleParts);
        if (parts <= 1 || threads <= 1 || !WorkerPool.TryRun(kernel, op, parts, threads))
            RunInline(kernel, op, parts);
    }

    /// <summary>Every part on the calling thread, in order (counted by <see cref="SplitCounters"/> when it is on).</summary>
    private static void RunInline(IParallelKernel kernel, int op, int parts, bool lastFirst = false)
    {
        if (!SplitCounters.Enabled)
        {
            if (lastFirst) for (int part = parts - 1; part >= 0; part--) kernel.RunPart(op, part, parts);
            else for (int part = 0; part < parts; part++) kernel.RunPart(op, part, parts);
            return;
        }
        for (int i = 0; i < parts; i++)
        {
            int part = lastFirst ? parts - 1 - i : i;
            long begin = System.Diagnostics.Stopwatch.GetTimestamp();
            kernel.RunPart(op, part, parts);
            SplitCounters.Part(op, part, parts, Slot, System.Diagnostics.Stopwatch.GetTimestamp() - begin);
        }
        SplitCounters.Inline(op);
    }
}

/// <summary>Implemented by generated networks: the kernels <see cref="Parallelism.Run"/> splits.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IParallelKernel
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/> of the network's parallel operation
    /// <paramref name="op"/>. Parts write disjoint outputs.</summary>
    void RunPart(int op, int part, int parts);
}

/// <summary>
/// Persistent worker threads, started on first use and kept (background threads, so they never keep the process
/// alive). Each thread of an operation has a home block of its parts (the same parts in every split with the same part
/// count, so a sample chunk stays on one core from pass to pass) and claims them first, then takes the other blocks'
/// unclaimed parts, so a worker that is slow to start (blocked, or its core busy with another process) leaves its
/// parts to the caller instead of making it wait: the split is never much slower than one thread. Only as many workers wake as the operation may use (its thread
/// count, at most one thread per core), however many parts it has: fewer threads than parts each claim several. A part
/// is a fixed slice of the work writing its own results (scratch comes from the running thread's slot), so the results
/// do not depend on which thread runs it. A worker spins briefly after its parts, so the next kernel of the
/// same step finds it awake, then blocks. One caller at a time: a second concurrent caller runs its parts inline.
/// </summary>
internal static class WorkerPool
{
    private static readonly object s_gate = new();
    private static Worker[] s_workers = [];
    private static int s_busy;

    // The running operation: its kernel, op, part count and block count are written before the block words publish
    // it. The parts are cut into one contiguous block per thread of the operation (Parallelism.Range(parts, threads,
    // b)); thread b (the caller is 0, worker w is w) takes its own block's parts from the front, then steals from the
    // back of the others' blocks. So on free cores part p runs on the same thread in every split with the same part
    // count (a sample chunk's forward, its backward and the next step's forward), and the data a part writes stays in
    // that core's caches; a slow worker still leaves its parts to the others. Each block word packs a generation
    // (bits 32–63), the block's end (bits 16–31) and its next part (bits 0–15): a claim is a compare-and-swap on the
    // whole word, so a thread holding a stale word (an earlier operation, whose parts were all claimed) can never
    // claim, and a successful claim proves that the fields it read belong to that operation (they change only after
    // every part of it is done). The words are a cache line apart.
    private static IParallelKernel? s_kernel;
    private static int s_op;
    private static int s_parts;
    private static int s_blockCount;
    private static bool s_lastFirst;   // each thread takes its block from the end, and steals from the others' fronts
    // Filler parts (Parallelism.RunChunksLastFirst with a filler): parts s_parts … s_parts + s_fillerParts − 1 of the
    // operation are parts 0 … s_fillerParts − 1 of s_fillerOp, in one more block (index s_blockCount) that every thread
    // takes from once its own block is done, before it steals from the others' blocks.
    private static int s_fillerOp;
    private static int s_fillerParts;
    private static int s_generation;
    private const int WordStride = 8;   // longs: one block word per cache line
    private static long[] s_blocks = new long[WordStride];
    private static int s_done;
    private static Exception? s_error;

    [ThreadStatic] private static int t_slot;

    /// <summary>How long the caller and an idle worker poll without a system call (sched_yield costs microseconds on a
    /// virtual machine) before they fall back to yielding and blocking: 50 µs.</summary>
    private static readonly long HotSpinTicks = System.Diagnostics.Stopwatch.Frequency / 20_000;

    /// <summary>The calling thread's scratch slot: worker w's is w (1 ≤ w &lt; the processor count), every other thread's 0.</summary>
    public static int Slot => t_slot;

    // Stalls. A worker whose core another process takes (a build, another program) can be descheduled while it holds
    // a part: at a low priority it then gets a few percent of the core, and the caller, its own parts done, waits
    // milliseconds for a part of tens of microseconds (LeNet's 2-thread step measured slower than its 1-thread step on
    // a busy machine). When the caller waits longer than it worked, and longer than StallTicks, the splits of the next
    // s_backoff ticks run on the caller alone (the same parts in the same order, so the same bits): 1 ms at first,
    // doubled at each further stall up to 16 ms, back to none after a split without one. A time, not a number of
    // splits: a workload of few long splits must not stay on one thread long after the core is free again. On free
    // cores a split's wait is at most one part's time (a sample chunk: tens of microseconds, under the caller's work).
    private static long s_resumeAt;    // Stopwatch timestamp before which the workers are not used
    private static long s_backoff;     // ticks of the current back-off, 0 when none

    /// <summary>The shortest wait counted as a stall: 100 µs (a Dense split's whole work is tens of microseconds).</summary>
    private static readonly long StallTicks = System.Diagnostics.Stopwatch.Frequency / 10_000;

    private static readonly long FirstBackoffTicks = System.Diagnostics.Stopwatch.Frequency / 1000;
    private static readonly long LongestBackoffTicks = System.Diagnostics.Stopwatch.Frequency / 1000 * 16;

    /// <summary>Whether splits run on the caller alone now, after a stall (tests).</summary>
    internal static bool BackingOff => System.Diagnostics.Stopwatch.GetTimestamp() < Volatile.Read(ref s_resumeAt);

    /// <summary>Forgets any stall (tests).</summary>
    internal static void ResetStalls()
    {
        Volatile.Write(ref s_backoff, 0);
        Volatile.Write(ref s_resumeAt, 0);
    }

    /// <summary>Publishes <paramref name="parts"/> parts and wakes <paramref name="threads"/> − 1 workers (fewer threads than
    /// parts: each claims parts until none is left), at most one thread per core; false when another caller holds the pool.</summary>
    public static bool TryRun(IParallelKernel kernel, int op, int parts, int threads, bool lastFirst = false, int fillerOp = -1, int fillerParts = 0)
    {
        threads = Math.Min(Math.Min(threads, parts), Parallelism.MaxSampleParts);
        int total = parts + fillerParts;
        if (total > 0xFFFF || threads <= 1) return false;
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0) return false;
        try
        {
            if (s_backoff != 0 && System.Diagnostics.Stopwatch.GetTimestamp() < s_resumeAt) return false;   // backing off after a stall: the caller runs every part
            var workers = s_workers;
            if (workers.Length < threads - 1) workers = Grow(threads - 1);
            s_error = null;
            s_kernel = kernel;
            s_op = op;
            s_done = 0;
            if (s_blocks.Length < (threads + 1) * WordStride) s_blocks = new long[(threads + 1) * WordStride];   // the old words are all exhausted
            s_parts = parts;
            s_blockCount = threads;
            s_lastFirst = lastFirst;
            s_fillerOp = fillerOp;
            s_fillerParts = fillerParts;
            long generation = (long)(uint)Interlocked.Increment(ref s_generation) << 32;   // after the fields above: a thread that reads it sees them
            var blocks = s_blocks;
            // the filler block first: a thread that finds its own block done looks there next
            Volatile.Write(ref blocks[threads * WordStride], generation | ((long)total << 16) | (uint)parts);
            for (int b = 0; b < threads; b++)
            {
                var (first, end) = Parallelism.Range(parts, threads, b);
                Volatile.Write(ref blocks[b * WordStride], generation | ((long)end << 16) | (uint)first);   // publishes the fields above
            }
            for (int w = 0; w < threads - 1; w++) workers[w].Wake();
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            ClaimParts();
            long claimedAt = SplitCounters.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            if (Volatile.Read(ref s_done) != total)
            {
                long claimed = System.Diagnostics.Stopwatch.GetTimestamp();
                // The workers' last parts: spin without a system call for up to HotSpin (the parts of one split end
                // within microseconds of each other on free cores), then yield between checks (a worker whose core is
                // taken needs it).
                long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + HotSpinTicks;
                while (Volatile.Read(ref s_done) != total && System.Diagnostics.Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(4);
                var spin = new SpinWait();
                while (Volatile.Read(ref s_done) != total) spin.SpinOnce(sleep1Threshold: -1);
                long now = System.Diagnostics.Stopwatch.GetTimestamp(), waited = now - claimed;
                if (waited > StallTicks && waited > claimed - start)
                {
                    s_backoff = s_backoff == 0 ? FirstBackoffTicks : Math.Min(2 * s_backoff, LongestBackoffTicks);
                    s_resumeAt = now + s_backoff;
                }
                else s_backoff = 0;
            }
            else s_backoff = 0;
            if (claimedAt != 0) SplitCounters.Split(op, System.Diagnostics.Stopwatch.GetTimestamp() - claimedAt);
            s_kernel = null;
            if (s_error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            return true;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    /// <summary>Runs parts of the published operation until none is left to claim: the calling thread's own block
    /// (its slot's) from the front, then the other blocks from the back. Every claimed part is counted done, even when
    /// it throws (the first exception is kept for the caller), so the caller never waits forever. Only parts of the
    /// operation published when it starts: a worker still here from an earlier operation (woken for it, the caller
    /// done with it alone) must not take the next one's parts from the others' blocks before its own. It returns, finds
    /// the next wake set, and comes back for its own block first.</summary>
    private static void ClaimParts()
    {
        uint generation = (uint)Volatile.Read(ref s_generation);
        var blocks = Volatile.Read(ref s_blocks);
        int home = t_slot;
        bool own = !Volatile.Read(ref s_lastFirst);
        while (TryClaim(blocks, home, front: own, generation)) { }
        int count = Math.Min(Volatile.Read(ref s_blockCount), blocks.Length / WordStride - 1);
        while (TryClaim(blocks, count, front: true, generation)) { }   // the filler parts (none: an exhausted word)
        for (int i = 0; i < count; i++)
        {
            int b = (home + 1 + i) % count;   // the next threads' blocks first, the own one (if any) last: skipped
            if (b != home) while (TryClaim(blocks, b, front: !own, generation)) { }
        }
    }

    /// <summary>Claims and runs one part of block <paramref name="b"/> (its next part, or its last), false when the
    /// block is exhausted or belongs to another operation than <paramref name="generation"/>'s.</summary>
    private static bool TryClaim(long[] blocks, int b, bool front, uint generation)
    {
        if (b * WordStride >= blocks.Length) return false;
        ref long word = ref blocks[b * WordStride];
        while (true)
        {
            long state = Volatile.Read(ref word);
            if ((uint)(state >> 32) != generation) return false;
            var kernel = s_kernel;
            int op = s_op, parts = s_parts, next = (int)state & 0xFFFF, end = (int)(state >> 16) & 0xFFFF;
            int fillerOp = s_fillerOp, fillerParts = s_fillerParts;
            if (next >= end || kernel is null) return false;
            int part = front ? next : end - 1;
            long claimed = front ? state + 1 : state - (1L << 16);
            if (Interlocked.CompareExchange(ref word, claimed, state) != state) continue;
            if (part >= parts) (op, part, parts) = (fillerOp, part - parts, fillerParts);   // a filler part
            long begin = SplitCounters.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            try { kernel.RunPart(op, part, parts); }
            catch (Exception e) { Interlocked.CompareExchange(ref s_error, e, null); }
            if (begin != 0) SplitCounters.Part(op, part, parts, t_slot, System.Diagnostics.Stopwatch.GetTimestamp() - begin);
            Interlocked.Increment(ref s_done);
            return true;
        }
    }

    private static Worker[] Grow(int count)
    {
        lock (s_gate)
        {
            if (s_workers.Length >= count) return s_workers;
            var grown = new Worker[count];
            Array.Copy(s_workers, grown, s_workers.Length);
            for (int w = s_workers.Length; w < count; w++) grown[w] = new Worker(w + 1);
            s_workers = grown;
            return grown;
        }
    }

    private sealed class Worker
    {
        // ManualResetEventSlim spins before it blocks: a kernel that follows within microseconds finds the worker awake.
        private readonly ManualResetEventSlim _go = new(false, spinCount: 2000);

        private readonly int _slot;

        public Worker(int index)
        {
            _slot = index;
            var thread = new Thread(Loop) { IsBackground = true, Name = "NetGen worker " + index };
            thread.Start();
        }

        public void Wake() => _go.Set();

        private void Loop()
        {
            t_slot = _slot;
            while (true)
            {
                // The next split of a step usually follows within microseconds: poll for it without a system call
                // first, then let the event spin, yield and block.
                long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + HotSpinTicks;
                while (!_go.IsSet && System.Diagnostics.Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(4);
                _go.Wait();
                _go.Reset();   // before reading the state: a wake for a later operation is then either seen now or kept set
                ClaimParts();
            }
        }
    }
}

/// <summary>
/// Diagnostics of the worker pool's splits (benchmarks: `--loop NAME S --counters`): per operation, how many splits ran
/// on the pool, how long each thread spent in parts, how long the caller waited for the workers' last parts, and how
/// often a part ran on another thread than the same part of the previous split with the same part count (a part that
/// moves takes its data, written on the other core, with it). Off by default; when on, every part reads the clock twice.
/// Not thread-safe beyond what the pool guarantees (one caller at a time).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class SplitCounters
{
    /// <summary>Operations 0 … Ops − 1 are counted.</summary>
    public const int Ops = 256;

    private const int MaxParts = 64;

    private static readonly int Slots = Parallelism.MaxSampleParts;

    /// <summary>Whether splits are counted.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Per operation: splits run on the pool.</summary>
    public static readonly long[] Splits = new long[Ops];

    /// <summary>Per operation: splits run on the calling thread alone (one thread, a kernel below the split threshold,
    /// the pool busy or backing off after a stall).</summary>
    public static readonly long[] InlineSplits = new long[Ops];

    /// <summary>Per operation: Stopwatch ticks the caller waited, its own parts done, for the workers' last parts.</summary>
    public static readonly long[] WaitTicks = new long[Ops];

    /// <summary>Per operation and slot (index op · <see cref="Parallelism.MaxSampleParts"/> + slot): parts run.</summary>
    public static readonly long[] PartsRun = new long[Ops * Parallelism.MaxSampleParts];

    /// <summary>Per operation and slot: Stopwatch ticks inside the parts.</summary>
    public static readonly long[] PartTicks = new long[Ops * Parallelism.MaxSampleParts];

    /// <summary>Per operation: parts that ran on another slot than the same part of this operation's previous split.</summary>
    public static readonly long[] MovedSinceSameOp = new long[Ops];

    /// <summary>Per operation: parts that ran on another slot than the same part of the previous split (of any
    /// operation) with the same part count: for a chain of sample chunks, forward → backward → next forward.</summary>
    public static readonly long[] MovedSincePrevious = new long[Ops];

    private static readonly int[] s_lastByOp = new int[Ops * MaxParts];
    private static readonly int[] s_lastByParts = new int[MaxParts * MaxParts];

    /// <summary>Zeros every counter.</summary>
    public static void Reset()
    {
        foreach (var a in new[] { Splits, InlineSplits, WaitTicks, PartsRun, PartTicks, MovedSinceSameOp, MovedSincePrevious }) Array.Clear(a);
        Array.Fill(s_lastByOp, -1);
        Array.Fill(s_lastByParts, -1);
    }

    static SplitCounters() => Reset();

    internal static void Part(int op, int part, int parts, int slot, long ticks)
    {
        if ((uint)op >= Ops || (uint)slot >= (uint)Slots) return;
        Interlocked.Increment(ref PartsRun[op * Slots + slot]);
        Interlocked.Add(ref PartTicks[op * Slots + slot], ticks);
        if (part >= MaxParts || parts >= MaxParts) return;
        int before = Interlocked.Exchange(ref s_lastByOp[op * MaxParts + part], slot);
        if (before >= 0 && before != slot) Interlocked.Increment(ref MovedSinceSameOp[op]);
        before = Interlocked.Exchange(ref s_lastByParts[parts * MaxParts + part], slot);
        if (before >= 0 && before != slot) Interlocked.Increment(ref MovedSincePrevious[op]);
    }

    internal static void Inline(int op)
    {
        if ((uint)op < Ops) InlineSplits[op]++;
    }

    internal static void Split(int op, long waitTicks)
    {
        if ((uint)op >= Ops) return;
        Splits[op]++;
        WaitTicks[op] += waitTicks;
    }
}
