using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetGen;

/// <summary>
/// The matrix products of the recurrent layers, in two forms:
/// <list type="bullet">
/// <item><see cref="Multiply{T}"/> (broadcast): C[m, j] (+)= Σ_k A(m, k)·B[k, j] for m &lt; M, j &lt; N, k &lt; K, with A read
/// through element strides (A(m, k) = a[aOffset + m·am + k·ak], so a transposed or reversed operand costs nothing), B
/// and C row-major. Register-blocked: 4 rows × 4 vectors of C stay in registers over a chunk of k, each B vector is
/// loaded once per 4 rows; k runs in chunks of <see cref="KChunk"/> so that the B rows a chunk reads stay in cache.
/// Every value of C is one fused multiply-add chain over k in order, starting from C (accumulate) or zero, whatever
/// the vector width (512, 256, 128 bits or scalar, for the columns left over), the row block or the chunking: a
/// product gives the same bits on every path, so splitting rows or columns across threads never changes a result.</item>
/// <item><see cref="MultiplyByRows{T}"/> (dot): C[m, j] += Σ_k A[m, k]·W[j, k] with W row-major [N × K], as
/// <c>nn.Linear</c> stores it: each value a dot product along k (vector lanes, then summed across them), with no
/// transposed copy of W. Used where few rows (batch 1 or 2) make the broadcast form's transposed copy of the weights
/// cost more than the product itself.</item>
/// </list>
/// </summary>
internal static class RecurrentGemm
{
    /// <summary>Steps of k per pass over C (the B rows one pass reads stay in the core's cache).</summary>
    public const int KChunk = 256;

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
        if (K <= 0)
        {
            if (!accumulate) for (int m = 0; m < M; m++) c.Slice(m * ldc, N).Clear();
            return;
        }
        for (int k0 = 0; k0 < K; k0 += KChunk)
        {
            int kc = Math.Min(KChunk, K - k0);
            bool acc = accumulate || k0 > 0;
            ref T Bk = ref Unsafe.Add(ref B, k0 * ldb);
            int ak0 = aOffset + k0 * ak;
            for (int m = 0; m < M; m += 4)
            {
                // A row block of 4; at the end, the last rows repeat the last row (the same values, stored twice).
                int r1 = Math.Min(m + 1, M - 1), r2 = Math.Min(m + 2, M - 1), r3 = Math.Min(m + 3, M - 1);
                var rows = new Rows(ak0 + m * am, ak0 + r1 * am, ak0 + r2 * am, ak0 + r3 * am, m * ldc, r1 * ldc, r2 * ldc, r3 * ldc);
                Block(ref A, ak, ref Bk, ldb, ref C, rows, N, kc, acc);
            }
        }
    }

    private readonly record struct Rows(int A0, int A1, int A2, int A3, int C0, int C1, int C2, int C3);

    private static void Block<T>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int N, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            int V = Vector512<T>.Count;
            for (; j + 4 * V <= N; j += 4 * V) Block4x4(ref A, ak, ref B, ldb, ref C, r, j, K, acc);
            for (; j + V <= N; j += V) Block4x1(ref A, ak, ref B, ldb, ref C, r, j, K, acc);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            int V = Vector256<T>.Count;
            if (!Vector512.IsHardwareAccelerated)
                for (; j + 4 * V <= N; j += 4 * V) Block4x4x256(ref A, ak, ref B, ldb, ref C, r, j, K, acc);
            for (; j + V <= N; j += V) Block4x1x256(ref A, ak, ref B, ldb, ref C, r, j, K, acc);
        }
        if (Vector128.IsHardwareAccelerated)
            for (int V = Vector128<T>.Count; j + V <= N; j += V) Block4x1x128(ref A, ak, ref B, ldb, ref C, r, j, K, acc);
        for (; j < N; j++)
        {
            T s0 = acc ? Unsafe.Add(ref C, r.C0 + j) : T.Zero, s1 = acc ? Unsafe.Add(ref C, r.C1 + j) : T.Zero;
            T s2 = acc ? Unsafe.Add(ref C, r.C2 + j) : T.Zero, s3 = acc ? Unsafe.Add(ref C, r.C3 + j) : T.Zero;
            for (int k = 0; k < K; k++)
            {
                T bk = Unsafe.Add(ref B, k * ldb + j);
                int o = k * ak;
                s0 = T.FusedMultiplyAdd(Unsafe.Add(ref A, r.A0 + o), bk, s0);
                s1 = T.FusedMultiplyAdd(Unsafe.Add(ref A, r.A1 + o), bk, s1);
                s2 = T.FusedMultiplyAdd(Unsafe.Add(ref A, r.A2 + o), bk, s2);
                s3 = T.FusedMultiplyAdd(Unsafe.Add(ref A, r.A3 + o), bk, s3);
            }
            Unsafe.Add(ref C, r.C3 + j) = s3; Unsafe.Add(ref C, r.C2 + j) = s2;
            Unsafe.Add(ref C, r.C1 + j) = s1; Unsafe.Add(ref C, r.C0 + j) = s0;
        }
    }

    // 4 rows × 4 vectors (512-bit): 16 accumulators, 4 loads of B and 4 broadcasts of A per 16 multiply-adds.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x4<T>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int j, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int V = Vector512<T>.Count;
        Vector512<T> c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
        if (acc)
        {
            c00 = L512(ref C, r.C0 + j); c01 = L512(ref C, r.C0 + j + V); c02 = L512(ref C, r.C0 + j + 2 * V); c03 = L512(ref C, r.C0 + j + 3 * V);
            c10 = L512(ref C, r.C1 + j); c11 = L512(ref C, r.C1 + j + V); c12 = L512(ref C, r.C1 + j + 2 * V); c13 = L512(ref C, r.C1 + j + 3 * V);
            c20 = L512(ref C, r.C2 + j); c21 = L512(ref C, r.C2 + j + V); c22 = L512(ref C, r.C2 + j + 2 * V); c23 = L512(ref C, r.C2 + j + 3 * V);
            c30 = L512(ref C, r.C3 + j); c31 = L512(ref C, r.C3 + j + V); c32 = L512(ref C, r.C3 + j + 2 * V); c33 = L512(ref C, r.C3 + j + 3 * V);
        }
        else c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = Vector512<T>.Zero;
        for (int k = 0; k < K; k++)
        {
            int bk = k * ldb + j, o = k * ak;
            var b0 = L512(ref B, bk); var b1 = L512(ref B, bk + V); var b2 = L512(ref B, bk + 2 * V); var b3 = L512(ref B, bk + 3 * V);
            var x = Vector512.Create(Unsafe.Add(ref A, r.A0 + o));
            c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01); c02 = Fma(x, b2, c02); c03 = Fma(x, b3, c03);
            x = Vector512.Create(Unsafe.Add(ref A, r.A1 + o));
            c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11); c12 = Fma(x, b2, c12); c13 = Fma(x, b3, c13);
            x = Vector512.Create(Unsafe.Add(ref A, r.A2 + o));
            c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21); c22 = Fma(x, b2, c22); c23 = Fma(x, b3, c23);
            x = Vector512.Create(Unsafe.Add(ref A, r.A3 + o));
            c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31); c32 = Fma(x, b2, c32); c33 = Fma(x, b3, c33);
        }
        // Last row first: a repeated row (the block's end) holds the same values as the row it repeats.
        S512(c30, ref C, r.C3 + j); S512(c31, ref C, r.C3 + j + V); S512(c32, ref C, r.C3 + j + 2 * V); S512(c33, ref C, r.C3 + j + 3 * V);
        S512(c20, ref C, r.C2 + j); S512(c21, ref C, r.C2 + j + V); S512(c22, ref C, r.C2 + j + 2 * V); S512(c23, ref C, r.C2 + j + 3 * V);
        S512(c10, ref C, r.C1 + j); S512(c11, ref C, r.C1 + j + V); S512(c12, ref C, r.C1 + j + 2 * V); S512(c13, ref C, r.C1 + j + 3 * V);
        S512(c00, ref C, r.C0 + j); S512(c01, ref C, r.C0 + j + V); S512(c02, ref C, r.C0 + j + 2 * V); S512(c03, ref C, r.C0 + j + 3 * V);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x1<T>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int j, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> c0, c1, c2, c3;
        if (acc) { c0 = L512(ref C, r.C0 + j); c1 = L512(ref C, r.C1 + j); c2 = L512(ref C, r.C2 + j); c3 = L512(ref C, r.C3 + j); }
        else c0 = c1 = c2 = c3 = Vector512<T>.Zero;
        for (int k = 0; k < K; k++)
        {
            var b0 = L512(ref B, k * ldb + j);
            int o = k * ak;
            c0 = Fma(Vector512.Create(Unsafe.Add(ref A, r.A0 + o)), b0, c0);
            c1 = Fma(Vector512.Create(Unsafe.Add(ref A, r.A1 + o)), b0, c1);
            c2 = Fma(Vector512.Create(Unsafe.Add(ref A, r.A2 + o)), b0, c2);
            c3 = Fma(Vector512.Create(Unsafe.Add(ref A, r.A3 + o)), b0, c3);
        }
        S512(c3, ref C, r.C3 + j); S512(c2, ref C, r.C2 + j); S512(c1, ref C, r.C1 + j); S512(c0, ref C, r.C0 + j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x4x256<T>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int j, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int V = Vector256<T>.Count;
        Vector256<T> c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
        if (acc)
        {
            c00 = L256(ref C, r.C0 + j); c01 = L256(ref C, r.C0 + j + V); c02 = L256(ref C, r.C0 + j + 2 * V); c03 = L256(ref C, r.C0 + j + 3 * V);
            c10 = L256(ref C, r.C1 + j); c11 = L256(ref C, r.C1 + j + V); c12 = L256(ref C, r.C1 + j + 2 * V); c13 = L256(ref C, r.C1 + j + 3 * V);
            c20 = L256(ref C, r.C2 + j); c21 = L256(ref C, r.C2 + j + V); c22 = L256(ref C, r.C2 + j + 2 * V); c23 = L256(ref C, r.C2 + j + 3 * V);
            c30 = L256(ref C, r.C3 + j); c31 = L256(ref C, r.C3 + j + V); c32 = L256(ref C, r.C3 + j + 2 * V); c33 = L256(ref C, r.C3 + j + 3 * V);
        }
        else c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = Vector256<T>.Zero;
        for (int k = 0; k < K; k++)
        {
            int bk = k * ldb + j, o = k * ak;
            var b0 = L256(ref B, bk); var b1 = L256(ref B, bk + V); var b2 = L256(ref B, bk + 2 * V); var b3 = L256(ref B, bk + 3 * V);
            var x = Vector256.Create(Unsafe.Add(ref A, r.A0 + o));
            c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01); c02 = Fma(x, b2, c02); c03 = Fma(x, b3, c03);
            x = Vector256.Create(Unsafe.Add(ref A, r.A1 + o));
            c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11); c12 = Fma(x, b2, c12); c13 = Fma(x, b3, c13);
            x = Vector256.Create(Unsafe.Add(ref A, r.A2 + o));
            c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21); c22 = Fma(x, b2, c22); c23 = Fma(x, b3, c23);
            x = Vector256.Create(Unsafe.Add(ref A, r.A3 + o));
            c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31); c32 = Fma(x, b2, c32); c33 = Fma(x, b3, c33);
        }
        S256(c30, ref C, r.C3 + j); S256(c31, ref C, r.C3 + j + V); S256(c32, ref C, r.C3 + j + 2 * V); S256(c33, ref C, r.C3 + j + 3 * V);
        S256(c20, ref C, r.C2 + j); S256(c21, ref C, r.C2 + j + V); S256(c22, ref C, r.C2 + j + 2 * V); S256(c23, ref C, r.C2 + j + 3 * V);
        S256(c10, ref C, r.C1 + j); S256(c11, ref C, r.C1 + j + V); S256(c12, ref C, r.C1 + j + 2 * V); S256(c13, ref C, r.C1 + j + 3 * V);
        S256(c00, ref C, r.C0 + j); S256(c01, ref C, r.C0 + j + V); S256(c02, ref C, r.C0 + j + 2 * V); S256(c03, ref C, r.C0 + j + 3 * V);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x1x256<T>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int j, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> c0, c1, c2, c3;
        if (acc) { c0 = L256(ref C, r.C0 + j); c1 = L256(ref C, r.C1 + j); c2 = L256(ref C, r.C2 + j); c3 = L256(ref C, r.C3 + j); }
        else c0 = c1 = c2 = c3 = Vector256<T>.Zero;
        for (int k = 0; k < K; k++)
        {
            var b0 = L256(ref B, k * ldb + j);
            int o = k * ak;
            c0 = Fma(Vector256.Create(Unsafe.Add(ref A, r.A0 + o)), b0, c0);
            c1 = Fma(Vector256.Create(Unsafe.Add(ref A, r.A1 + o)), b0, c1);
            c2 = Fma(Vector256.Create(Unsafe.Add(ref A, r.A2 + o)), b0, c2);
            c3 = Fma(Vector256.Create(Unsafe.Add(ref A, r.A3 + o)), b0, c3);
        }
        S256(c3, ref C, r.C3 + j); S256(c2, ref C, r.C2 + j); S256(c1, ref C, r.C1 + j); S256(c0, ref C, r.C0 + j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x1x128<T>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int j, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector128<T> c0, c1, c2, c3;
        if (acc) { c0 = L128(ref C, r.C0 + j); c1 = L128(ref C, r.C1 + j); c2 = L128(ref C, r.C2 + j); c3 = L128(ref C, r.C3 + j); }
        else c0 = c1 = c2 = c3 = Vector128<T>.Zero;
        for (int k = 0; k < K; k++)
        {
            var b0 = L128(ref B, k * ldb + j);
            int o = k * ak;
            c0 = Fma(Vector128.Create(Unsafe.Add(ref A, r.A0 + o)), b0, c0);
            c1 = Fma(Vector128.Create(Unsafe.Add(ref A, r.A1 + o)), b0, c1);
            c2 = Fma(Vector128.Create(Unsafe.Add(ref A, r.A2 + o)), b0, c2);
            c3 = Fma(Vector128.Create(Unsafe.Add(ref A, r.A3 + o)), b0, c3);
        }
        S128(c3, ref C, r.C3 + j); S128(c2, ref C, r.C2 + j); S128(c1, ref C, r.C1 + j); S128(c0, ref C, r.C0 + j);
    }

    /// <summary>
    /// C[cOffset + m·ldc + j] += Σ_k A[aOffset + m·lda + k]·W[j·K + k] for m &lt; M, j &lt; N: each value a dot product of
    /// a row of A with a row of W (row-major [N × K], the layout PyTorch stores a layer's weights in), so W is read in
    /// place. Eight rows of W at a time share each vector of A; the lanes are summed at the end of each row.
    /// </summary>
    public static void MultiplyByRows<T>(int M, int N, int K, ReadOnlySpan<T> a, int aOffset, int lda, ReadOnlySpan<T> w, Span<T> c, int cOffset, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (M <= 0 || N <= 0 || K <= 0) return;
        if (aOffset < 0 || (long)aOffset + (long)(M - 1) * lda + K > a.Length) throw new ArgumentOutOfRangeException(nameof(a), "A is too short.");
        if ((long)N * K > w.Length) throw new ArgumentOutOfRangeException(nameof(w), "W is too short.");
        if (cOffset < 0 || (long)cOffset + (long)(M - 1) * ldc + N > c.Length) throw new ArgumentOutOfRangeException(nameof(c), "C is too short.");
        ref T A = ref MemoryMarshal.GetReference(a);
        ref T W = ref MemoryMarshal.GetReference(w);
        ref T C = ref MemoryMarshal.GetReference(c);
        int V = Vector512<T>.Count;
        if (!Vector512.IsHardwareAccelerated || K < V)
        {
            for (int m = 0; m < M; m++)
                for (int j = 0; j < N; j++)
                {
                    T s = T.Zero;
                    for (int k = 0; k < K; k++) s = T.FusedMultiplyAdd(Unsafe.Add(ref A, aOffset + m * lda + k), Unsafe.Add(ref W, j * K + k), s);
                    Unsafe.Add(ref C, cOffset + m * ldc + j) += s;
                }
            return;
        }
        // K = full·V + rest: the last vector of a row starts at K − V and overlaps the one before; the lanes already
        // summed are zeroed in A's copy of it (so that vector adds only k ≥ full·V).
        int full = K / V, rest = K - full * V;
        Vector512<T> keep = Vector512.GreaterThanOrEqual(Lanes<T>.Ramp, Vector512.Create(T.CreateTruncating(V - rest)));
        for (int m = 0; m < M; m++)
        {
            ref T a0 = ref Unsafe.Add(ref A, aOffset + m * lda);
            Vector512<T> last = rest == 0 ? Vector512<T>.Zero : Vector512.ConditionalSelect(keep, L512(ref a0, K - V), Vector512<T>.Zero);
            ref T c0 = ref Unsafe.Add(ref C, cOffset + m * ldc);
            int j = 0;
            for (; j + 8 <= N; j += 8)
            {
                ref T w0 = ref Unsafe.Add(ref W, j * K);
                Vector512<T> s0 = Vector512<T>.Zero, s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
                for (int v = 0; v < full; v++)
                {
                    var x = L512(ref a0, v * V);
                    int o = v * V;
                    s0 = Fma(x, L512(ref w0, o), s0); s1 = Fma(x, L512(ref w0, K + o), s1);
                    s2 = Fma(x, L512(ref w0, 2 * K + o), s2); s3 = Fma(x, L512(ref w0, 3 * K + o), s3);
                    s4 = Fma(x, L512(ref w0, 4 * K + o), s4); s5 = Fma(x, L512(ref w0, 5 * K + o), s5);
                    s6 = Fma(x, L512(ref w0, 6 * K + o), s6); s7 = Fma(x, L512(ref w0, 7 * K + o), s7);
                }
                if (rest != 0)
                {
                    int o = K - V;
                    s0 = Fma(last, L512(ref w0, o), s0); s1 = Fma(last, L512(ref w0, K + o), s1);
                    s2 = Fma(last, L512(ref w0, 2 * K + o), s2); s3 = Fma(last, L512(ref w0, 3 * K + o), s3);
                    s4 = Fma(last, L512(ref w0, 4 * K + o), s4); s5 = Fma(last, L512(ref w0, 5 * K + o), s5);
                    s6 = Fma(last, L512(ref w0, 6 * K + o), s6); s7 = Fma(last, L512(ref w0, 7 * K + o), s7);
                }
                Unsafe.Add(ref c0, j) += Vector512.Sum(s0); Unsafe.Add(ref c0, j + 1) += Vector512.Sum(s1);
                Unsafe.Add(ref c0, j + 2) += Vector512.Sum(s2); Unsafe.Add(ref c0, j + 3) += Vector512.Sum(s3);
                Unsafe.Add(ref c0, j + 4) += Vector512.Sum(s4); Unsafe.Add(ref c0, j + 5) += Vector512.Sum(s5);
                Unsafe.Add(ref c0, j + 6) += Vector512.Sum(s6); Unsafe.Add(ref c0, j + 7) += Vector512.Sum(s7);
            }
            for (; j < N; j++)
            {
                ref T w0 = ref Unsafe.Add(ref W, j * K);
                Vector512<T> s0 = Vector512<T>.Zero;
                for (int v = 0; v < full; v++) s0 = Fma(L512(ref a0, v * V), L512(ref w0, v * V), s0);
                if (rest != 0) s0 = Fma(last, L512(ref w0, K - V), s0);
                Unsafe.Add(ref c0, j) += Vector512.Sum(s0);
            }
        }
    }

    /// <summary>0, 1, 2, … in the lanes of a vector.</summary>
    private static class Lanes<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Vector512<T> Ramp = Create();

        private static Vector512<T> Create()
        {
            Span<T> ramp = stackalloc T[Vector512<T>.Count];
            for (int i = 0; i < ramp.Length; i++) ramp[i] = T.CreateTruncating(i);
            return Vector512.Create<T>(ramp);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> Fma<T>(Vector128<T> a, Vector128<T> b, Vector128<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> L512<T>(ref T source, int offset) where T : unmanaged =>
        Unsafe.ReadUnaligned<Vector512<T>>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref source, offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void S512<T>(Vector512<T> value, ref T destination, int offset) where T : unmanaged =>
        Unsafe.WriteUnaligned(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref destination, offset)), value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> L256<T>(ref T source, int offset) where T : unmanaged =>
        Unsafe.ReadUnaligned<Vector256<T>>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref source, offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void S256<T>(Vector256<T> value, ref T destination, int offset) where T : unmanaged =>
        Unsafe.WriteUnaligned(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref destination, offset)), value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> L128<T>(ref T source, int offset) where T : unmanaged =>
        Unsafe.ReadUnaligned<Vector128<T>>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref source, offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void S128<T>(Vector128<T> value, ref T destination, int offset) where T : unmanaged =>
        Unsafe.WriteUnaligned(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref destination, offset)), value);
}
