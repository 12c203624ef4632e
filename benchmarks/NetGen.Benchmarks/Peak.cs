using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetGen.Benchmarks;

/// <summary>
/// This machine's fp32 FMA peak, measured with a register-resident loop: 12 independent accumulators (more than
/// FMA latency × FMA ports, so the loop is throughput-bound), no memory traffic. Measured with Vector256 and, where
/// accelerated, Vector512; the larger is the peak.
/// </summary>
public static class Peak
{
    private const int Iterations = 4_000_000;

    public static (double Gflops, string Width) Measure(int threads, double seconds)
    {
        double best256 = Run(threads, seconds, wide: false), best512 = 0;
        if (Vector512.IsHardwareAccelerated) best512 = Run(threads, seconds, wide: true);
        return best512 > best256 ? (best512, "Vector512") : (best256, "Vector256");
    }

    public static double Run(int threads, double seconds, bool wide)
    {
        double best = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            float sink = 0;
            var start = Stopwatch.GetTimestamp();
            if (threads == 1) sink = wide ? Loop512(Iterations) : Loop256(Iterations);
            else Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
            {
                float s = wide ? Loop512(Iterations) : Loop256(Iterations);
                lock (clock) sink += s;
            });
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (float.IsNaN(sink)) Console.Write("");
            int lanes = wide ? 16 : 8;
            best = Math.Max(best, (double)threads * Iterations * 12 * lanes * 2 / elapsed / 1e9);
        } while (clock.Elapsed.TotalSeconds < seconds);
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Loop256(int iterations)
    {
        var a = Vector256.Create(0.999f);
        var b = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, a, b); c1 = Vector256.FusedMultiplyAdd(c1, a, b);
            c2 = Vector256.FusedMultiplyAdd(c2, a, b); c3 = Vector256.FusedMultiplyAdd(c3, a, b);
            c4 = Vector256.FusedMultiplyAdd(c4, a, b); c5 = Vector256.FusedMultiplyAdd(c5, a, b);
            c6 = Vector256.FusedMultiplyAdd(c6, a, b); c7 = Vector256.FusedMultiplyAdd(c7, a, b);
            c8 = Vector256.FusedMultiplyAdd(c8, a, b); c9 = Vector256.FusedMultiplyAdd(c9, a, b);
            c10 = Vector256.FusedMultiplyAdd(c10, a, b); c11 = Vector256.FusedMultiplyAdd(c11, a, b);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Loop512(int iterations)
    {
        var a = Vector512.Create(0.999f);
        var b = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b); c1 = Vector512.FusedMultiplyAdd(c1, a, b);
            c2 = Vector512.FusedMultiplyAdd(c2, a, b); c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b); c5 = Vector512.FusedMultiplyAdd(c5, a, b);
            c6 = Vector512.FusedMultiplyAdd(c6, a, b); c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b); c9 = Vector512.FusedMultiplyAdd(c9, a, b);
            c10 = Vector512.FusedMultiplyAdd(c10, a, b); c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
