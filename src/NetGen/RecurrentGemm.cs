using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetGen;

/// <summary>
/// The matrix products of the recurrent layers: C[m, j] (+)= Σ_k A(m, k)·B[k, j] for m &lt; M, j &lt; N, k &lt; K, with A read
/// through element strides (A(m, k) = a[aOffset + m·am + k·ak], so a transposed or reversed operand costs nothing), B
/// and C row-major. Register-blocked: 4 rows × 2 vectors of C stay in registers over the whole k loop, and each B
/// vector is loaded once per 4 rows.
/// </summary>
internal static class RecurrentGemm
{
    public static void Multiply<T>(int M, int N, int K, ReadOnlySpan<T> a, int aOffset, int am, int ak, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (M <= 0 || N <= 0) return;
        // Bounds, once: every index the loops form lies inside the spans.
        if (K > 0)
        {
            long first = aOffset + Math.Min(0L, (long)(M - 1) * am) + Math.Min(0L, (long)(K - 1) * ak);
            long last = aOffset + Math.Max(0L, (long)(M - 1) * am) + Math.Max(0L, (long)(K - 1) * ak);
            if (first < 0 || last >= a.Length) throw new ArgumentOutOfRangeException(nameof(a), "A's strides reach outside it.");
            if ((long)(K - 1) * ldb + N > b.Length) throw new ArgumentOutOfRangeException(nameof(b), "B is too short.");
        }
        if ((long)(M - 1) * ldc + N > c.Length) throw new ArgumentOutOfRangeException(nameof(c), "C is too short.");
        ref T A = ref MemoryMarshal.GetReference(a);
        ref T B = ref MemoryMarshal.GetReference(b);
        ref T C = ref MemoryMarshal.GetReference(c);
        int V = Vector<T>.Count;
        int m = 0;
        for (; m + 4 <= M; m += 4)
        {
            int a0 = aOffset + m * am, a1 = a0 + am, a2 = a1 + am, a3 = a2 + am;
            int j = 0;
            for (; j + 2 * V <= N; j += 2 * V)
            {
                Vector<T> c00, c01, c10, c11, c20, c21, c30, c31;
                if (accumulate)
                {
                    c00 = Load(ref C, m * ldc + j); c01 = Load(ref C, m * ldc + j + V);
                    c10 = Load(ref C, (m + 1) * ldc + j); c11 = Load(ref C, (m + 1) * ldc + j + V);
                    c20 = Load(ref C, (m + 2) * ldc + j); c21 = Load(ref C, (m + 2) * ldc + j + V);
                    c30 = Load(ref C, (m + 3) * ldc + j); c31 = Load(ref C, (m + 3) * ldc + j + V);
                }
                else c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector<T>.Zero;
                for (int k = 0; k < K; k++)
                {
                    var b0 = Load(ref B, k * ldb + j);
                    var b1 = Load(ref B, k * ldb + j + V);
                    int o = k * ak;
                    var x0 = new Vector<T>(Unsafe.Add(ref A, a0 + o));
                    var x1 = new Vector<T>(Unsafe.Add(ref A, a1 + o));
                    var x2 = new Vector<T>(Unsafe.Add(ref A, a2 + o));
                    var x3 = new Vector<T>(Unsafe.Add(ref A, a3 + o));
                    c00 = x0 * b0 + c00; c01 = x0 * b1 + c01;
                    c10 = x1 * b0 + c10; c11 = x1 * b1 + c11;
                    c20 = x2 * b0 + c20; c21 = x2 * b1 + c21;
                    c30 = x3 * b0 + c30; c31 = x3 * b1 + c31;
                }
                Store(c00, ref C, m * ldc + j); Store(c01, ref C, m * ldc + j + V);
                Store(c10, ref C, (m + 1) * ldc + j); Store(c11, ref C, (m + 1) * ldc + j + V);
                Store(c20, ref C, (m + 2) * ldc + j); Store(c21, ref C, (m + 2) * ldc + j + V);
                Store(c30, ref C, (m + 3) * ldc + j); Store(c31, ref C, (m + 3) * ldc + j + V);
            }
            for (int r = 0; r < 4; r++) Tail(ref A, aOffset + (m + r) * am, ak, ref B, ldb, ref C, (m + r) * ldc, j, N, K, accumulate);
        }
        for (; m < M; m++)
        {
            int a0 = aOffset + m * am;
            int j = 0;
            // Four vectors of the row at once: four independent multiply-add chains (one chain waits on each FMA's
            // latency; batch 1 runs here). Each element is summed over k in the same order as below.
            for (; j + 4 * V <= N; j += 4 * V)
            {
                Vector<T> s0, s1, s2, s3;
                if (accumulate)
                {
                    s0 = Load(ref C, m * ldc + j); s1 = Load(ref C, m * ldc + j + V);
                    s2 = Load(ref C, m * ldc + j + 2 * V); s3 = Load(ref C, m * ldc + j + 3 * V);
                }
                else s0 = s1 = s2 = s3 = Vector<T>.Zero;
                for (int k = 0; k < K; k++)
                {
                    var x = new Vector<T>(Unsafe.Add(ref A, a0 + k * ak));
                    int bk = k * ldb + j;
                    s0 = x * Load(ref B, bk) + s0;
                    s1 = x * Load(ref B, bk + V) + s1;
                    s2 = x * Load(ref B, bk + 2 * V) + s2;
                    s3 = x * Load(ref B, bk + 3 * V) + s3;
                }
                Store(s0, ref C, m * ldc + j); Store(s1, ref C, m * ldc + j + V);
                Store(s2, ref C, m * ldc + j + 2 * V); Store(s3, ref C, m * ldc + j + 3 * V);
            }
            for (; j + V <= N; j += V)
            {
                var acc = accumulate ? Load(ref C, m * ldc + j) : Vector<T>.Zero;
                for (int k = 0; k < K; k++)
                    acc = new Vector<T>(Unsafe.Add(ref A, a0 + k * ak)) * Load(ref B, k * ldb + j) + acc;
                Store(acc, ref C, m * ldc + j);
            }
            Tail(ref A, a0, ak, ref B, ldb, ref C, m * ldc, j, N, K, accumulate);
        }
    }

    /// <summary>Columns j0 … N of one row, one value at a time (what is left after the vector blocks).</summary>
    private static void Tail<T>(ref T A, int a0, int ak, ref T B, int ldb, ref T C, int c0, int j0, int N, int K, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = j0; j < N; j++)
        {
            T sum = accumulate ? Unsafe.Add(ref C, c0 + j) : T.Zero;
            for (int k = 0; k < K; k++) sum = T.FusedMultiplyAdd(Unsafe.Add(ref A, a0 + k * ak), Unsafe.Add(ref B, k * ldb + j), sum);
            Unsafe.Add(ref C, c0 + j) = sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Load<T>(ref T source, int offset) where T : unmanaged =>
        Unsafe.ReadUnaligned<Vector<T>>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref source, offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector<T> value, ref T destination, int offset) where T : unmanaged =>
        Unsafe.WriteUnaligned(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref destination, offset)), value);
}
