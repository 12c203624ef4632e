using System.Diagnostics;

namespace NetGen.Benchmarks;

/// <summary>
/// The timing policy of the quick run, shared with the PyTorch peer (pytorch_peer.py implements the same steps):
/// warm up for at least <see cref="WarmupSeconds"/> (and 2 calls), pick the calls per sample so that one sample
/// lasts about <see cref="SampleSeconds"/> at the warm-up's time per call after its first call (the first call
/// compiles the step's large methods, up to hundreds of milliseconds, and would otherwise make a slow workload's
/// samples single calls), take <see cref="Samples"/> samples, report the median time per call.
/// </summary>
public sealed record Policy(double WarmupSeconds, double SampleSeconds, int Samples)
{
    public static readonly Policy Quick = new(0.15, 0.025, 9);
    public static readonly Policy Full = new(1.0, 0.1, 31);
}

/// <param name="CpuSeconds">The calling thread's CPU time per call (median), which a loaded machine disturbs less than
/// the wall clock: on Linux, CLOCK_THREAD_CPUTIME_ID; NaN elsewhere.</param>
public readonly record struct Measurement(double MedianSeconds, double MinSeconds, long AllocatedBytesPerCall, int CallsPerSample, double CpuSeconds = double.NaN);

public static class Harness
{
    public static Measurement Measure(Action step, Policy policy)
    {
        int n = Warmup(step, policy);

        var samples = new double[policy.Samples];
        var cpu = new double[policy.Samples];
        for (int s = 0; s < samples.Length; s++)
        {
            double cpu0 = ThreadCpu.Seconds();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++) step();
            samples[s] = Stopwatch.GetElapsedTime(start).TotalSeconds / n;
            cpu[s] = (ThreadCpu.Seconds() - cpu0) / n;
        }
        // Bytes allocated by this thread (as BenchmarkDotNet's MemoryDiagnoser counts) over as many more calls as one
        // sample, after the timed ones, so that one-time work that a short warm-up on a loaded machine can leave for
        // the first samples (the runtime's lazy initialisation, tiering transitions) is not counted as the step's. A
        // step that allocates shows here as in the timed samples. Worker threads allocate nothing by construction.
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < n; i++) step();
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Array.Sort(samples);
        Array.Sort(cpu);
        return new Measurement(samples[samples.Length / 2], samples[0], allocated / n, n, cpu[cpu.Length / 2]);
    }

    /// <summary>The warm-up (JIT, buffers and worker threads exist): at least <see cref="Policy.WarmupSeconds"/> and 2
    /// calls; returns the calls per sample, from the time per call of the calls after the first.</summary>
    private static int Warmup(Action step, Policy policy)
    {
        var clock = Stopwatch.StartNew();
        step();
        double first = clock.Elapsed.TotalSeconds;
        int calls = 1;
        while (calls < 2 || clock.Elapsed.TotalSeconds < policy.WarmupSeconds) { step(); calls++; }
        double perCall = (clock.Elapsed.TotalSeconds - first) / (calls - 1);
        return Math.Max(1, (int)Math.Ceiling(policy.SampleSeconds / Math.Max(perCall, 1e-9)));
    }

    /// <summary>
    /// Two variants of one step timed in one window, their samples interleaved (A B A B …), so that both meet the same
    /// moments of the machine's load: each is warmed up as in <see cref="Measure"/>, then <see cref="Policy.Samples"/>
    /// samples of each are taken alternately, each sample preceded by its variant's <paramref name="useA"/> or
    /// <paramref name="useB"/> (which must be cheap: a setting, not work). The 2-thread scaling target is the ratio of
    /// the two medians (A = 1 thread, B = 2 threads on the same network).
    /// </summary>
    public static (Measurement A, Measurement B) MeasureInterleaved(Action step, Action useA, Action useB, Policy policy)
    {
        useA();
        int nA = Warmup(step, policy);
        useB();
        int nB = Warmup(step, policy);
        var a = new double[policy.Samples];
        var b = new double[policy.Samples];
        for (int s = 0; s < policy.Samples; s++)
        {
            useA();
            a[s] = TimeCalls(step, nA);
            useB();
            b[s] = TimeCalls(step, nB);
        }
        Array.Sort(a);
        Array.Sort(b);
        return (new Measurement(a[a.Length / 2], a[0], 0, nA), new Measurement(b[b.Length / 2], b[0], 0, nB));

        static double TimeCalls(Action step, int n)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++) step();
            return Stopwatch.GetElapsedTime(start).TotalSeconds / n;
        }
    }

    /// <summary>Workload 5: one warm-up call on a short run, then <paramref name="samples"/> timed epochs.</summary>
    public static Measurement MeasureOnce(Action warmup, Action step, int samples)
    {
        warmup();
        var times = new double[samples];
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        for (int s = 0; s < samples; s++)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            times[s] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Array.Sort(times);
        return new Measurement(times[samples / 2], times[0], allocated / samples, 1);
    }

    public static string Time(double seconds) => seconds switch
    {
        < 1e-6 => $"{seconds * 1e9:F0} ns",
        < 1e-3 => $"{seconds * 1e6:F2} µs",
        < 1 => $"{seconds * 1e3:F2} ms",
        _ => $"{seconds:F2} s",
    };
}

/// <summary>The calling thread's CPU time (Linux: clock_gettime(CLOCK_THREAD_CPUTIME_ID)); NaN where unavailable.</summary>
public static class ThreadCpu
{
    private struct TimeSpec { public long Seconds, Nanoseconds; }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private static readonly bool Available = OperatingSystem.IsLinux();

    public static double Seconds()
    {
        if (!Available) return double.NaN;
        try { return ClockGetTime(3, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : double.NaN; }   // 3: CLOCK_THREAD_CPUTIME_ID
        catch (DllNotFoundException) { return double.NaN; }
    }
}
