using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen;

/// <summary>
/// The matrix products of the recurrent layers, in two forms:
/// <list type="bullet">
/// <item><see cref="Multiply{T}"/> (broadcast): C[m, j] (+)= Σ_k A(m, k)·B[k, j] for m &lt; M, j &lt; N, k &lt; K, with A read
/// through element strides (A(m, k) = a[aOffset + m·am + k·ak], so a transposed or reversed operand costs nothing), B
/// row-major or in panels (<see cref="PackPanels{T}"/>), C row-major. Register-blocked: 4 rows × 4 vectors of C stay in
/// registers over a chunk of k, each B vector is loaded once per 4 rows; B runs in panels of 4 vectors of columns × the
/// k that make 32 KB, each read from the first-level cache by every row block before the next (contiguous: made so by
/// the caller, or copied here when more than two row blocks read it).
/// Every value of C is one fused multiply-add chain over k in order, starting from C (accumulate) or zero, whatever
/// the vector width (512, 256, 128 bits or scalar, for the columns left over), the row block or the chunking: a
/// product gives the same bits on every path, so splitting rows or columns across threads never changes a result.
/// One kernel serves every width (<see cref="IWidth{TV, T}"/>: the JIT compiles it once per vector type).</item>
/// <item><see cref="MultiplyByRows{T}"/> (dot): C[m, j] += Σ_k A[m, k]·W[j, k] with W row-major [N × K], as
/// <c>nn.Linear</c> stores it: each value a dot product along k (vector lanes, then summed across them), with no
/// transposed copy of W; <see cref="MultiplyByPackedRows{T}"/> gives the same bits over W packed block by block
/// (<see cref="PackRows{T}"/>, which a <see cref="RecurrentLayer{T}"/> keeps between inference passes). Used where few
/// rows (batch 1 or 2: inference, the stateful step) make the broadcast form cost more than the product itself.</item>
/// </list>
/// </summary>
internal static class RecurrentGemm
{
    /// <summary>C[m, j] (+)= Σ_k A(m, k)·B[k, j]. B is row-major with row stride <paramref name="ldb"/>, or, with
    /// <paramref name="bPanels"/>, in the panel layout of <see cref="PackPanels{T}"/> (<paramref name="ldb"/> unused).</summary>
    public static void Multiply<T>(int M, int N, int K, ReadOnlySpan<T> a, int aOffset, int am, int ak, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate, bool bPanels = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (M <= 0 || N <= 0) return;
        // Bounds, once: every index the loops form lies inside the spans.
        if (K > 0)
        {
            long first = aOffset + Math.Min(0L, (long)(M - 1) * am) + Math.Min(0L, (long)(K - 1) * ak);
            long last = aOffset + Math.Max(0L, (long)(M - 1) * am) + Math.Max(0L, (long)(K - 1) * ak);
            if (first < 0 || last >= a.Length) throw new ArgumentOutOfRangeException(nameof(a), "A's strides reach outside it.");
            if (bPanels ? (long)K * N > b.Length : (long)(K - 1) * ldb + N > b.Length) throw new ArgumentOutOfRangeException(nameof(b), "B is too short.");
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
        // Panels: columns in panels of 4 of the widest vectors, k in chunks that make a panel's part about 32 KB, and
        // every row block runs over one such part of B before the next: all the row blocks read it from the first-level
        // cache. Laid out contiguously (made so by the caller, or copied here when more than two row blocks read it), the
        // part spreads over every set of that cache; rows of B a power of two apart would crowd a few sets and evict
        // each other. Every value of C is still one fused multiply-add chain over k in order.
        int panel = PanelColumns<T>(), kChunk = PanelK<T>();
        bool pack = !bPanels && M > 8;
        Span<T> scratch = pack ? PanelScratch<T>() : default;
        ref T S = ref MemoryMarshal.GetReference(scratch);
        for (int j0 = 0; j0 < N; j0 += panel)
        {
            int w = Math.Min(panel, N - j0);
            ref T Cj = ref Unsafe.Add(ref C, j0);
            for (int k0 = 0; k0 < K; k0 += kChunk)
            {
                int kc = Math.Min(kChunk, K - k0);
                bool acc = accumulate || k0 > 0;
                ref T Bp = ref Unsafe.NullRef<T>();
                int ld = w;
                if (bPanels) Bp = ref Unsafe.Add(ref B, (nint)j0 * K + (nint)k0 * w);
                else if (pack)
                {
                    CopyRows(ref Unsafe.Add(ref B, (nint)k0 * ldb + j0), ldb, kc, w, ref S);
                    Bp = ref S;
                }
                else { Bp = ref Unsafe.Add(ref B, (nint)k0 * ldb + j0); ld = ldb; }
                for (int m = 0; m < M; m += 4) Block(ref A, ak, ref Bp, ld, ref Cj, RowBlock(M, m, aOffset + k0 * ak, am, ldc), 0, w, kc, acc);
            }
        }
    }

    /// <summary>Copies <paramref name="rows"/> rows of <paramref name="w"/> values (row stride <paramref name="ld"/>) into
    /// consecutive rows of <paramref name="w"/>: a whole panel's row is 4 vector loads and stores.</summary>
    private static void CopyRows<T>(ref T from, int ld, int rows, int w, ref T to) where T : unmanaged
    {
        if (Vector512.IsHardwareAccelerated && w == 4 * Vector512<T>.Count)
        {
            nuint V = (nuint)Vector512<T>.Count;
            for (int k = 0; k < rows; k++)
            {
                ref T f = ref Unsafe.Add(ref from, (nint)k * ld);
                ref T t = ref Unsafe.Add(ref to, (nint)k * w);
                var v0 = Vector512.LoadUnsafe(ref f); var v1 = Vector512.LoadUnsafe(ref f, V);
                var v2 = Vector512.LoadUnsafe(ref f, 2 * V); var v3 = Vector512.LoadUnsafe(ref f, 3 * V);
                v0.StoreUnsafe(ref t); v1.StoreUnsafe(ref t, V); v2.StoreUnsafe(ref t, 2 * V); v3.StoreUnsafe(ref t, 3 * V);
            }
            return;
        }
        for (int k = 0; k < rows; k++)
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref from, (nint)k * ld), w).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref to, (nint)k * w), w));
    }

    /// <summary>A row block of 4 from row <paramref name="m"/>; at the end, the last rows repeat the last row (the same
    /// values, stored twice).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Rows RowBlock(int M, int m, int a0, int am, int ldc)
    {
        int r1 = Math.Min(m + 1, M - 1), r2 = Math.Min(m + 2, M - 1), r3 = Math.Min(m + 3, M - 1);
        return new Rows(a0 + m * am, a0 + r1 * am, a0 + r2 * am, a0 + r3 * am, m * ldc, r1 * ldc, r2 * ldc, r3 * ldc);
    }

    /// <summary>The columns of one panel of B: 4 vectors of the widest accelerated width.</summary>
    public static int PanelColumns<T>() where T : unmanaged =>
        4 * (Vector512.IsHardwareAccelerated ? Vector512<T>.Count : Vector256.IsHardwareAccelerated ? Vector256<T>.Count : Vector128<T>.Count);

    /// <summary>Steps of k per panel part: a part of B's panel fills <see cref="PanelBytes"/>.</summary>
    private static int PanelK<T>() where T : unmanaged => Math.Max(16, PanelBytes / (PanelColumns<T>() * Unsafe.SizeOf<T>()));

    /// <summary>A part of a panel of B: two thirds of a 48 KB first-level cache, the rest for the rows of A and C in use.</summary>
    private const int PanelBytes = 32 * 1024;

    /// <summary>This thread's copy of one part of a panel (allocated once per thread and element type).</summary>
    private static Span<T> PanelScratch<T>() where T : unmanaged => Scratch<T>.Panel ??= AlignedArray.Allocate<T>(PanelK<T>() * PanelColumns<T>());

    private static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] public static T[]? Panel;
    }

    /// <summary>B (<paramref name="K"/> × <paramref name="N"/>, row-major, row stride <paramref name="ldb"/>) in panels,
    /// as <see cref="Multiply{T}"/> reads them with <c>bPanels</c>: the columns in panels of <see cref="PanelColumns{T}"/>
    /// (the last one narrower), panel p (from column j0 = p·P, w columns) at j0·K, its row k at j0·K + k·w.</summary>
    public static void PackPanels<T>(ReadOnlySpan<T> b, int ldb, int K, int N, Span<T> panels) where T : unmanaged
    {
        if ((long)K * N > panels.Length || (K > 0 && (long)(K - 1) * ldb + N > b.Length)) throw new ArgumentOutOfRangeException(nameof(panels), "The matrix is larger than the spans.");
        int P = PanelColumns<T>();
        for (int j0 = 0; j0 < N; j0 += P)
        {
            int w = Math.Min(P, N - j0);
            if (K > 0) CopyRows(ref Unsafe.AsRef(in b[j0]), ldb, K, w, ref panels[j0 * K]);
        }
    }

    /// <summary>Wᵀ of W (<paramref name="rows"/> × <paramref name="columns"/>, row-major) in panels (see
    /// <see cref="PackPanels{T}"/>: Wᵀ is K = columns by N = rows): each panel is the transpose of a band of W's rows.</summary>
    public static void TransposePanels<T>(ReadOnlySpan<T> w, int rows, int columns, Span<T> panels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if ((long)rows * columns > w.Length || (long)rows * columns > panels.Length) throw new ArgumentOutOfRangeException(nameof(panels), "The matrix is larger than the spans.");
        int P = PanelColumns<T>();
        for (int j0 = 0; j0 < rows; j0 += P)
        {
            int band = Math.Min(P, rows - j0);
            Transpose(w.Slice(j0 * columns, band * columns), band, columns, panels.Slice(j0 * columns, band * columns));
        }
    }

    private readonly record struct Rows(int A0, int A1, int A2, int A3, int C0, int C1, int C2, int C3);

    /// <summary>One block of 4 rows of C, columns [<paramref name="j"/>, <paramref name="N"/>), over a chunk of k: the widest vectors first (4 at a time at the widest
    /// accelerated width, then one at a time), then narrower ones, then scalars for the columns left over.</summary>
    private static void Block<T>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int j, int N, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated)
        {
            j = Block4x4<T, Vector512<T>, W512<T>>(ref A, ak, ref B, ldb, ref C, r, j, N, K, acc);
            j = Block4x1<T, Vector512<T>, W512<T>>(ref A, ak, ref B, ldb, ref C, r, j, N, K, acc);
        }
        else if (Vector256.IsHardwareAccelerated)
            j = Block4x4<T, Vector256<T>, W256<T>>(ref A, ak, ref B, ldb, ref C, r, j, N, K, acc);
        if (Vector256.IsHardwareAccelerated) j = Block4x1<T, Vector256<T>, W256<T>>(ref A, ak, ref B, ldb, ref C, r, j, N, K, acc);
        if (Vector128.IsHardwareAccelerated) j = Block4x1<T, Vector128<T>, W128<T>>(ref A, ak, ref B, ldb, ref C, r, j, N, K, acc);
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

    /// <summary>4 rows × 4 vectors of C from column <paramref name="j"/> on, while 4 whole vectors fit: 16
    /// accumulators, 4 loads of B and 4 broadcasts of A per 16 multiply-adds. Returns the first column left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Block4x4<T, TV, TW>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int j, int N, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TW : struct, IWidth<TV, T>
    {
        int V = TW.Count;
        for (; j + 4 * V <= N; j += 4 * V)
        {
            TV c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
            if (acc)
            {
                c00 = TW.Load(ref C, r.C0 + j); c01 = TW.Load(ref C, r.C0 + j + V); c02 = TW.Load(ref C, r.C0 + j + 2 * V); c03 = TW.Load(ref C, r.C0 + j + 3 * V);
                c10 = TW.Load(ref C, r.C1 + j); c11 = TW.Load(ref C, r.C1 + j + V); c12 = TW.Load(ref C, r.C1 + j + 2 * V); c13 = TW.Load(ref C, r.C1 + j + 3 * V);
                c20 = TW.Load(ref C, r.C2 + j); c21 = TW.Load(ref C, r.C2 + j + V); c22 = TW.Load(ref C, r.C2 + j + 2 * V); c23 = TW.Load(ref C, r.C2 + j + 3 * V);
                c30 = TW.Load(ref C, r.C3 + j); c31 = TW.Load(ref C, r.C3 + j + V); c32 = TW.Load(ref C, r.C3 + j + 2 * V); c33 = TW.Load(ref C, r.C3 + j + 3 * V);
            }
            else c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = TW.Zero;
            for (int k = 0; k < K; k++)
            {
                int bk = k * ldb + j, o = k * ak;
                var b0 = TW.Load(ref B, bk); var b1 = TW.Load(ref B, bk + V); var b2 = TW.Load(ref B, bk + 2 * V); var b3 = TW.Load(ref B, bk + 3 * V);
                var x = TW.Broadcast(Unsafe.Add(ref A, r.A0 + o));
                c00 = TW.Fma(x, b0, c00); c01 = TW.Fma(x, b1, c01); c02 = TW.Fma(x, b2, c02); c03 = TW.Fma(x, b3, c03);
                x = TW.Broadcast(Unsafe.Add(ref A, r.A1 + o));
                c10 = TW.Fma(x, b0, c10); c11 = TW.Fma(x, b1, c11); c12 = TW.Fma(x, b2, c12); c13 = TW.Fma(x, b3, c13);
                x = TW.Broadcast(Unsafe.Add(ref A, r.A2 + o));
                c20 = TW.Fma(x, b0, c20); c21 = TW.Fma(x, b1, c21); c22 = TW.Fma(x, b2, c22); c23 = TW.Fma(x, b3, c23);
                x = TW.Broadcast(Unsafe.Add(ref A, r.A3 + o));
                c30 = TW.Fma(x, b0, c30); c31 = TW.Fma(x, b1, c31); c32 = TW.Fma(x, b2, c32); c33 = TW.Fma(x, b3, c33);
            }
            // Last row first: a repeated row (the block's end) holds the same values as the row it repeats.
            TW.Store(c30, ref C, r.C3 + j); TW.Store(c31, ref C, r.C3 + j + V); TW.Store(c32, ref C, r.C3 + j + 2 * V); TW.Store(c33, ref C, r.C3 + j + 3 * V);
            TW.Store(c20, ref C, r.C2 + j); TW.Store(c21, ref C, r.C2 + j + V); TW.Store(c22, ref C, r.C2 + j + 2 * V); TW.Store(c23, ref C, r.C2 + j + 3 * V);
            TW.Store(c10, ref C, r.C1 + j); TW.Store(c11, ref C, r.C1 + j + V); TW.Store(c12, ref C, r.C1 + j + 2 * V); TW.Store(c13, ref C, r.C1 + j + 3 * V);
            TW.Store(c00, ref C, r.C0 + j); TW.Store(c01, ref C, r.C0 + j + V); TW.Store(c02, ref C, r.C0 + j + 2 * V); TW.Store(c03, ref C, r.C0 + j + 3 * V);
        }
        return j;
    }

    /// <summary>4 rows × 1 vector of C from column <paramref name="j"/> on, while a whole vector fits. Returns the first column left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Block4x1<T, TV, TW>(ref T A, int ak, ref T B, int ldb, ref T C, Rows r, int j, int N, int K, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TW : struct, IWidth<TV, T>
    {
        int V = TW.Count;
        for (; j + V <= N; j += V)
        {
            TV c0, c1, c2, c3;
            if (acc) { c0 = TW.Load(ref C, r.C0 + j); c1 = TW.Load(ref C, r.C1 + j); c2 = TW.Load(ref C, r.C2 + j); c3 = TW.Load(ref C, r.C3 + j); }
            else c0 = c1 = c2 = c3 = TW.Zero;
            for (int k = 0; k < K; k++)
            {
                var b0 = TW.Load(ref B, k * ldb + j);
                int o = k * ak;
                c0 = TW.Fma(TW.Broadcast(Unsafe.Add(ref A, r.A0 + o)), b0, c0);
                c1 = TW.Fma(TW.Broadcast(Unsafe.Add(ref A, r.A1 + o)), b0, c1);
                c2 = TW.Fma(TW.Broadcast(Unsafe.Add(ref A, r.A2 + o)), b0, c2);
                c3 = TW.Fma(TW.Broadcast(Unsafe.Add(ref A, r.A3 + o)), b0, c3);
            }
            TW.Store(c3, ref C, r.C3 + j); TW.Store(c2, ref C, r.C2 + j); TW.Store(c1, ref C, r.C1 + j); TW.Store(c0, ref C, r.C0 + j);
        }
        return j;
    }

    /// <summary>
    /// C[cOffset + m·ldc + j] += Σ_k A[aOffset + m·lda + k]·W[j·K + k] for m &lt; M, j &lt; N: each value a dot product of
    /// a row of A with a row of W (row-major [N × K], the layout PyTorch stores a layer's weights in), so W is read in
    /// place and nothing derived from it outlives the call.
    /// <para>With AVX-512 (and K at least one vector, N at least 16): 16 rows of W at a time share each vector of A;
    /// lane l of row j's accumulator sums the terms k ≡ l (mod lanes) in order of k (one fused multiply-add chain; a
    /// K that is not a whole number of vectors ends with an overlapping vector whose lanes already summed are zeroed
    /// in A's copy of it); the 16 accumulators are then reduced together by a tree of two-source permutes and adds —
    /// lane l + lane l + lanes/2, then + lanes/4 … — into one vector of 16 sums (two of 8 in double), added to C. No
    /// sum across a single vector's lanes, which cost as much as the products at batch 1. The 16-row blocks
    /// run from row 0; a last block that would pass N ends at N instead and adds only the rows not done yet, so every
    /// value is summed in the same order. Otherwise: per row, vectors of the widest accelerated width summed across
    /// their lanes, or scalars.</para>
    /// <para>W's 16 rows stay in the core's first-level cache while every row of A passes over them.</para>
    /// </summary>
    public static void MultiplyByRows<T>(int M, int N, int K, ReadOnlySpan<T> a, int aOffset, int lda, ReadOnlySpan<T> w, Span<T> c, int cOffset, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (M <= 0 || N <= 0 || K <= 0) return;
        if (aOffset < 0 || (long)aOffset + (long)(M - 1) * lda + K > a.Length) throw new ArgumentOutOfRangeException(nameof(a), "A is too short.");
        if ((long)N * K > w.Length) throw new ArgumentOutOfRangeException(nameof(w), "W is too short.");
        if (cOffset < 0 || (long)cOffset + (long)(M - 1) * ldc + N > c.Length) throw new ArgumentOutOfRangeException(nameof(c), "C is too short.");
        ref T A = ref Unsafe.Add(ref MemoryMarshal.GetReference(a), aOffset);
        ref T W = ref MemoryMarshal.GetReference(w);
        ref T C = ref Unsafe.Add(ref MemoryMarshal.GetReference(c), cOffset);
        if (Tree.Supported<T>() && K >= Vector512<T>.Count && N >= 16)
            DotBlocks16(M, N, K, ref A, lda, ref W, ref C, ldc);
        else if (Vector512.IsHardwareAccelerated && K >= Vector512<T>.Count)
            DotRows<T, Vector512<T>, W512<T>>(M, N, K, ref A, lda, ref W, ref C, ldc);
        else if (Vector256.IsHardwareAccelerated && K >= Vector256<T>.Count)
            DotRows<T, Vector256<T>, W256<T>>(M, N, K, ref A, lda, ref W, ref C, ldc);
        else
            for (int m = 0; m < M; m++)
                for (int j = 0; j < N; j++)
                {
                    T s = T.Zero;
                    for (int k = 0; k < K; k++) s = T.FusedMultiplyAdd(Unsafe.Add(ref A, m * lda + k), Unsafe.Add(ref W, j * K + k), s);
                    Unsafe.Add(ref C, m * ldc + j) += s;
                }
    }

    /// <summary>The AVX-512 dot form (see <see cref="MultiplyByRows{T}"/>): blocks of 16 rows of W, each row's
    /// accumulator one vector, reduced by <see cref="Tree"/>.</summary>
    private static void DotBlocks16<T>(int M, int N, int K, ref T A, int lda, ref T W, ref T C, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int V = Vector512<T>.Count;
        int full = K / V, rest = K - full * V;
        // The last, overlapping vector of a row starts at K − V; its lanes below V − rest are zeroed in A's copy.
        Vector512<T> keep = Vector512.GreaterThanOrEqual(Ramp<T>(), Vector512.Create(T.CreateTruncating(V - rest)));
        nint stride = (nint)K * Unsafe.SizeOf<T>(), step = Vector512<byte>.Count, back = (nint)(rest - V) * Unsafe.SizeOf<T>();
        var lo0 = Tree.Index<T>(0, false); var hi0 = Tree.Index<T>(0, true); var lo1 = Tree.Index<T>(1, false); var hi1 = Tree.Index<T>(1, true);
        var lo2 = Tree.Index<T>(2, false); var hi2 = Tree.Index<T>(2, true); var lo3 = Tree.Index<T>(3, false); var hi3 = Tree.Index<T>(3, true);
        for (int j0 = 0, done = 0; done < N; done = j0 + 16, j0 = Math.Min(j0 + 16, N - 16))
        {
            for (int m = 0; m < M; m++)
            {
                ref byte x = ref Unsafe.As<T, byte>(ref Unsafe.Add(ref A, m * lda));
                // Six row pointers, three rows each (the row, + one row, + two rows: address arithmetic the loads fold in).
                ref byte w0 = ref Unsafe.As<T, byte>(ref Unsafe.Add(ref W, (nint)j0 * K));
                ref byte w3 = ref Unsafe.AddByteOffset(ref w0, 3 * stride), w6 = ref Unsafe.AddByteOffset(ref w0, 6 * stride);
                ref byte w9 = ref Unsafe.AddByteOffset(ref w0, 9 * stride), w12 = ref Unsafe.AddByteOffset(ref w0, 12 * stride);
                ref byte w15 = ref Unsafe.AddByteOffset(ref w0, 15 * stride);
                Vector512<T> s0 = Vector512<T>.Zero, s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
                Vector512<T> s8 = s0, s9 = s0, s10 = s0, s11 = s0, s12 = s0, s13 = s0, s14 = s0, s15 = s0;
                nint twice = 2 * stride;
                for (int v = 0; v < full; v++)
                {
                    var xv = Ld<T>(ref x, 0);
                    s0 = Fma(xv, Ld<T>(ref w0, 0), s0); s1 = Fma(xv, Ld<T>(ref w0, stride), s1); s2 = Fma(xv, Ld<T>(ref w0, twice), s2);
                    s3 = Fma(xv, Ld<T>(ref w3, 0), s3); s4 = Fma(xv, Ld<T>(ref w3, stride), s4); s5 = Fma(xv, Ld<T>(ref w3, twice), s5);
                    s6 = Fma(xv, Ld<T>(ref w6, 0), s6); s7 = Fma(xv, Ld<T>(ref w6, stride), s7); s8 = Fma(xv, Ld<T>(ref w6, twice), s8);
                    s9 = Fma(xv, Ld<T>(ref w9, 0), s9); s10 = Fma(xv, Ld<T>(ref w9, stride), s10); s11 = Fma(xv, Ld<T>(ref w9, twice), s11);
                    s12 = Fma(xv, Ld<T>(ref w12, 0), s12); s13 = Fma(xv, Ld<T>(ref w12, stride), s13); s14 = Fma(xv, Ld<T>(ref w12, twice), s14);
                    s15 = Fma(xv, Ld<T>(ref w15, 0), s15);
                    x = ref Unsafe.AddByteOffset(ref x, step);
                    w0 = ref Unsafe.AddByteOffset(ref w0, step); w3 = ref Unsafe.AddByteOffset(ref w3, step); w6 = ref Unsafe.AddByteOffset(ref w6, step);
                    w9 = ref Unsafe.AddByteOffset(ref w9, step); w12 = ref Unsafe.AddByteOffset(ref w12, step); w15 = ref Unsafe.AddByteOffset(ref w15, step);
                }
                if (rest != 0)
                {
                    var xv = Vector512.ConditionalSelect(keep, Ld<T>(ref x, back), Vector512<T>.Zero);
                    s0 = Fma(xv, Ld<T>(ref w0, back), s0); s1 = Fma(xv, Ld<T>(ref w0, stride + back), s1); s2 = Fma(xv, Ld<T>(ref w0, twice + back), s2);
                    s3 = Fma(xv, Ld<T>(ref w3, back), s3); s4 = Fma(xv, Ld<T>(ref w3, stride + back), s4); s5 = Fma(xv, Ld<T>(ref w3, twice + back), s5);
                    s6 = Fma(xv, Ld<T>(ref w6, back), s6); s7 = Fma(xv, Ld<T>(ref w6, stride + back), s7); s8 = Fma(xv, Ld<T>(ref w6, twice + back), s8);
                    s9 = Fma(xv, Ld<T>(ref w9, back), s9); s10 = Fma(xv, Ld<T>(ref w9, stride + back), s10); s11 = Fma(xv, Ld<T>(ref w9, twice + back), s11);
                    s12 = Fma(xv, Ld<T>(ref w12, back), s12); s13 = Fma(xv, Ld<T>(ref w12, stride + back), s13); s14 = Fma(xv, Ld<T>(ref w12, twice + back), s14);
                    s15 = Fma(xv, Ld<T>(ref w15, back), s15);
                }
                // The tree: rows (0, 1), (2, 3) …, then (0 … 3), (4 … 7) …, then (0 … 7), (8 … 15) [, then 0 … 15 in float].
                var p0 = Tree.Pair(s0, s1, lo0, hi0); var p1 = Tree.Pair(s2, s3, lo0, hi0); var p2 = Tree.Pair(s4, s5, lo0, hi0); var p3 = Tree.Pair(s6, s7, lo0, hi0);
                var p4 = Tree.Pair(s8, s9, lo0, hi0); var p5 = Tree.Pair(s10, s11, lo0, hi0); var p6 = Tree.Pair(s12, s13, lo0, hi0); var p7 = Tree.Pair(s14, s15, lo0, hi0);
                var q0 = Tree.Pair(p0, p1, lo1, hi1); var q1 = Tree.Pair(p2, p3, lo1, hi1); var q2 = Tree.Pair(p4, p5, lo1, hi1); var q3 = Tree.Pair(p6, p7, lo1, hi1);
                var r0 = Tree.Pair(q0, q1, lo2, hi2); var r1 = Tree.Pair(q2, q3, lo2, hi2);
                ref T c0 = ref Unsafe.Add(ref C, m * ldc + j0);
                int skip = done - j0;   // rows of this block an earlier block already added
                if (V == 16) AddRows(Tree.Pair(r0, r1, lo3, hi3), ref c0, skip);
                else { AddRows(r0, ref c0, skip); AddRows(r1, ref Unsafe.Add(ref c0, 8), skip - 8); }
            }
        }
    }

    /// <summary>
    /// Values <see cref="PackRows{T}"/> writes for a [<paramref name="n"/> × <paramref name="k"/>] W: the 16-row blocks
    /// of <see cref="DotBlocks16"/> (⌈N/16⌉, the last overlapping the one before) × the vectors along k (⌈K/lanes⌉, the
    /// last overlapping) × 16 rows × one vector; 0 when the dot form has no AVX-512 blocks for this shape (then
    /// <see cref="PackRows{T}"/> packs nothing and <see cref="MultiplyByRows{T}"/> reads W in place).
    /// </summary>
    public static int PackedRowsLength<T>(int n, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int V = Vector512<T>.Count;
        if (!Tree.Supported<T>() || k < V || n < 16) return 0;
        return (n + 15) / 16 * ((k + V - 1) / V) * 16 * V;
    }

    /// <summary>
    /// W row-major [N × K] copied in the order <see cref="MultiplyByPackedRows{T}"/> reads it: for each 16-row block,
    /// for each vector along k, the 16 rows' vectors one after another, so that a block's products read memory
    /// straight through (the row-major read walks 16 rows at once, a row apart, and waited on the cache for about half
    /// its time at batch 1). Only a copy of vectors: the products add the same terms in the same order, so the packed
    /// and the in-place forms give the same bits. Returns false (packing nothing) where <see cref="PackedRowsLength{T}"/>
    /// is 0.
    /// </summary>
    public static bool PackRows<T>(ReadOnlySpan<T> w, int n, int k, Span<T> packed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int length = PackedRowsLength<T>(n, k);
        if (length == 0) return false;
        if ((long)n * k > w.Length) throw new ArgumentOutOfRangeException(nameof(w), "W is too short.");
        if (length > packed.Length) throw new ArgumentOutOfRangeException(nameof(packed), "The packed buffer is too short.");
        int V = Vector512<T>.Count, vectors = (k + V - 1) / V;
        ref T W = ref MemoryMarshal.GetReference(w);
        ref T P = ref MemoryMarshal.GetReference(packed);
        // Rows read in order (the block's source is contiguous, the streaming the cache does best); the writes, 16
        // vectors apart, stay within the block's copy in the first-level cache.
        nuint block = 0, size = (nuint)(vectors * 16 * V);
        for (int j0 = 0, done = 0; done < n; done = j0 + 16, j0 = Math.Min(j0 + 16, n - 16), block += size)
            for (int r = 0; r < 16; r++)
            {
                ref T row = ref Unsafe.Add(ref W, (nint)(j0 + r) * k);
                for (int v = 0; v < vectors; v++)
                    Vector512.LoadUnsafe(ref row, (nuint)Math.Min(v * V, k - V)).StoreUnsafe(ref P, block + (nuint)((v * 16 + r) * V));
            }
        return true;
    }

    /// <summary>
    /// <see cref="MultiplyByRows{T}"/> over W packed by <see cref="PackRows{T}"/>: the same blocks, terms, order, tree and
    /// additions to C (so the same bits), with each block's weights read straight through.
    /// </summary>
    public static void MultiplyByPackedRows<T>(int M, int N, int K, ReadOnlySpan<T> a, int aOffset, int lda, ReadOnlySpan<T> packed, Span<T> c, int cOffset, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (M <= 0) return;
        int length = PackedRowsLength<T>(N, K);
        if (length == 0) throw new ArgumentException("This shape has no packed form (PackedRowsLength is 0): use MultiplyByRows.", nameof(packed));
        if (length > packed.Length) throw new ArgumentOutOfRangeException(nameof(packed), "The packed weights are too short.");
        if (aOffset < 0 || (long)aOffset + (long)(M - 1) * lda + K > a.Length) throw new ArgumentOutOfRangeException(nameof(a), "A is too short.");
        if (cOffset < 0 || (long)cOffset + (long)(M - 1) * ldc + N > c.Length) throw new ArgumentOutOfRangeException(nameof(c), "C is too short.");
        ref T A = ref Unsafe.Add(ref MemoryMarshal.GetReference(a), aOffset);
        ref T P = ref MemoryMarshal.GetReference(packed);
        ref T C = ref Unsafe.Add(ref MemoryMarshal.GetReference(c), cOffset);
        if (typeof(T) == typeof(float))
        {
            PackedRowsSingle(M, N, K, ref Unsafe.As<T, float>(ref A), lda, ref Unsafe.As<T, float>(ref P), ref Unsafe.As<T, float>(ref C), ldc);
            return;
        }
        int V = Vector512<T>.Count;
        int full = K / V, rest = K - full * V;
        Vector512<T> keep = Vector512.GreaterThanOrEqual(Ramp<T>(), Vector512.Create(T.CreateTruncating(V - rest)));
        nint step = Vector512<byte>.Count, back = (nint)(rest - V) * Unsafe.SizeOf<T>(), blockBytes = (nint)(full + (rest != 0 ? 1 : 0)) * 16 * step;
        var lo0 = Tree.Index<T>(0, false); var hi0 = Tree.Index<T>(0, true); var lo1 = Tree.Index<T>(1, false); var hi1 = Tree.Index<T>(1, true);
        var lo2 = Tree.Index<T>(2, false); var hi2 = Tree.Index<T>(2, true); var lo3 = Tree.Index<T>(3, false); var hi3 = Tree.Index<T>(3, true);
        ref byte block = ref Unsafe.As<T, byte>(ref P);
        for (int j0 = 0, done = 0; done < N; done = j0 + 16, j0 = Math.Min(j0 + 16, N - 16), block = ref Unsafe.AddByteOffset(ref block, blockBytes))
        {
            for (int m = 0; m < M; m++)
            {
                ref byte x = ref Unsafe.As<T, byte>(ref Unsafe.Add(ref A, m * lda));
                ref byte w = ref block;
                Vector512<T> s0 = Vector512<T>.Zero, s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
                Vector512<T> s8 = s0, s9 = s0, s10 = s0, s11 = s0, s12 = s0, s13 = s0, s14 = s0, s15 = s0;
                for (int v = 0; v < full; v++)
                {
                    var xv = Ld<T>(ref x, 0);
                    s0 = Fma(xv, Ld<T>(ref w, 0), s0); s1 = Fma(xv, Ld<T>(ref w, step), s1); s2 = Fma(xv, Ld<T>(ref w, 2 * step), s2); s3 = Fma(xv, Ld<T>(ref w, 3 * step), s3);
                    s4 = Fma(xv, Ld<T>(ref w, 4 * step), s4); s5 = Fma(xv, Ld<T>(ref w, 5 * step), s5); s6 = Fma(xv, Ld<T>(ref w, 6 * step), s6); s7 = Fma(xv, Ld<T>(ref w, 7 * step), s7);
                    s8 = Fma(xv, Ld<T>(ref w, 8 * step), s8); s9 = Fma(xv, Ld<T>(ref w, 9 * step), s9); s10 = Fma(xv, Ld<T>(ref w, 10 * step), s10); s11 = Fma(xv, Ld<T>(ref w, 11 * step), s11);
                    s12 = Fma(xv, Ld<T>(ref w, 12 * step), s12); s13 = Fma(xv, Ld<T>(ref w, 13 * step), s13); s14 = Fma(xv, Ld<T>(ref w, 14 * step), s14); s15 = Fma(xv, Ld<T>(ref w, 15 * step), s15);
                    x = ref Unsafe.AddByteOffset(ref x, step);
                    w = ref Unsafe.AddByteOffset(ref w, 16 * step);
                }
                if (rest != 0)
                {
                    var xv = Vector512.ConditionalSelect(keep, Ld<T>(ref x, back), Vector512<T>.Zero);
                    s0 = Fma(xv, Ld<T>(ref w, 0), s0); s1 = Fma(xv, Ld<T>(ref w, step), s1); s2 = Fma(xv, Ld<T>(ref w, 2 * step), s2); s3 = Fma(xv, Ld<T>(ref w, 3 * step), s3);
                    s4 = Fma(xv, Ld<T>(ref w, 4 * step), s4); s5 = Fma(xv, Ld<T>(ref w, 5 * step), s5); s6 = Fma(xv, Ld<T>(ref w, 6 * step), s6); s7 = Fma(xv, Ld<T>(ref w, 7 * step), s7);
                    s8 = Fma(xv, Ld<T>(ref w, 8 * step), s8); s9 = Fma(xv, Ld<T>(ref w, 9 * step), s9); s10 = Fma(xv, Ld<T>(ref w, 10 * step), s10); s11 = Fma(xv, Ld<T>(ref w, 11 * step), s11);
                    s12 = Fma(xv, Ld<T>(ref w, 12 * step), s12); s13 = Fma(xv, Ld<T>(ref w, 13 * step), s13); s14 = Fma(xv, Ld<T>(ref w, 14 * step), s14); s15 = Fma(xv, Ld<T>(ref w, 15 * step), s15);
                }
                var p0 = Tree.Pair(s0, s1, lo0, hi0); var p1 = Tree.Pair(s2, s3, lo0, hi0); var p2 = Tree.Pair(s4, s5, lo0, hi0); var p3 = Tree.Pair(s6, s7, lo0, hi0);
                var p4 = Tree.Pair(s8, s9, lo0, hi0); var p5 = Tree.Pair(s10, s11, lo0, hi0); var p6 = Tree.Pair(s12, s13, lo0, hi0); var p7 = Tree.Pair(s14, s15, lo0, hi0);
                var q0 = Tree.Pair(p0, p1, lo1, hi1); var q1 = Tree.Pair(p2, p3, lo1, hi1); var q2 = Tree.Pair(p4, p5, lo1, hi1); var q3 = Tree.Pair(p6, p7, lo1, hi1);
                var r0 = Tree.Pair(q0, q1, lo2, hi2); var r1 = Tree.Pair(q2, q3, lo2, hi2);
                ref T c0 = ref Unsafe.Add(ref C, m * ldc + j0);
                int skip = done - j0;
                if (V == 16) AddRows(Tree.Pair(r0, r1, lo3, hi3), ref c0, skip);
                else { AddRows(r0, ref c0, skip); AddRows(r1, ref Unsafe.Add(ref c0, 8), skip - 8); }
            }
        }
    }

    /// <summary>
    /// <see cref="MultiplyByPackedRows{T}"/> in float, written for float alone (element offsets, the permute indices in
    /// registers): the same blocks, terms, order, tree and additions (the same bits). The generic form compiled to the
    /// same instructions, yet its per-step time at batch 1 (512 × 128) varied between processes from 1.6 to 2.0 µs
    /// against 1.45–1.5 µs for this one (several runs, a loaded machine), so the LSTM's step product runs here.
    /// </summary>
    private static void PackedRowsSingle(int M, int N, int K, ref float A, int lda, ref float P, ref float C, int ldc)
    {
        const int V = 16;
        int full = K / V, rest = K - full * V;
        Vector512<float> keep = Vector512.GreaterThanOrEqual(Vector512.CreateSequence(0f, 1f), Vector512.Create((float)(V - rest)));
        Vector512<int> lo0 = Tree.Index<float>(0, false).AsInt32(), hi0 = Tree.Index<float>(0, true).AsInt32();
        Vector512<int> lo1 = Tree.Index<float>(1, false).AsInt32(), hi1 = Tree.Index<float>(1, true).AsInt32();
        Vector512<int> lo2 = Tree.Index<float>(2, false).AsInt32(), hi2 = Tree.Index<float>(2, true).AsInt32();
        Vector512<int> lo3 = Tree.Index<float>(3, false).AsInt32(), hi3 = Tree.Index<float>(3, true).AsInt32();
        int blockFloats = (full + (rest != 0 ? 1 : 0)) * 16 * V;
        ref float block = ref P;
        for (int j0 = 0, done = 0; done < N; done = j0 + 16, j0 = Math.Min(j0 + 16, N - 16), block = ref Unsafe.Add(ref block, blockFloats))
        {
            for (int m = 0; m < M; m++)
            {
                ref float x = ref Unsafe.Add(ref A, m * lda);
                ref float w = ref block;
                Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                Vector512<float> s8 = default, s9 = default, s10 = default, s11 = default, s12 = default, s13 = default, s14 = default, s15 = default;
                for (int v = 0; v < full; v++)
                {
                    var xv = Vector512.LoadUnsafe(ref x);
                    Fma16(xv, ref w, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7, ref s8, ref s9, ref s10, ref s11, ref s12, ref s13, ref s14, ref s15);
                    x = ref Unsafe.Add(ref x, V);
                    w = ref Unsafe.Add(ref w, 16 * V);
                }
                if (rest != 0)
                {
                    // The overlapping last vector: its lanes already summed are zeroed in x's copy.
                    var xv = Vector512.ConditionalSelect(keep, Vector512.LoadUnsafe(ref Unsafe.Add(ref x, rest - V)), Vector512<float>.Zero);
                    Fma16(xv, ref w, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7, ref s8, ref s9, ref s10, ref s11, ref s12, ref s13, ref s14, ref s15);
                }
                var p0 = PairSingle(s0, s1, lo0, hi0); var p1 = PairSingle(s2, s3, lo0, hi0); var p2 = PairSingle(s4, s5, lo0, hi0); var p3 = PairSingle(s6, s7, lo0, hi0);
                var p4 = PairSingle(s8, s9, lo0, hi0); var p5 = PairSingle(s10, s11, lo0, hi0); var p6 = PairSingle(s12, s13, lo0, hi0); var p7 = PairSingle(s14, s15, lo0, hi0);
                var q0 = PairSingle(p0, p1, lo1, hi1); var q1 = PairSingle(p2, p3, lo1, hi1); var q2 = PairSingle(p4, p5, lo1, hi1); var q3 = PairSingle(p6, p7, lo1, hi1);
                var sums = PairSingle(PairSingle(q0, q1, lo2, hi2), PairSingle(q2, q3, lo2, hi2), lo3, hi3);
                AddRows(sums, ref Unsafe.Add(ref C, m * ldc + j0), done - j0);
            }
        }
    }

    /// <summary>s_r += x ⊙ w[r] for the 16 rows' vectors of one packed step (w[r] at r·16 floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma16(Vector512<float> x, ref float w, ref Vector512<float> s0, ref Vector512<float> s1, ref Vector512<float> s2, ref Vector512<float> s3,
        ref Vector512<float> s4, ref Vector512<float> s5, ref Vector512<float> s6, ref Vector512<float> s7, ref Vector512<float> s8, ref Vector512<float> s9,
        ref Vector512<float> s10, ref Vector512<float> s11, ref Vector512<float> s12, ref Vector512<float> s13, ref Vector512<float> s14, ref Vector512<float> s15)
    {
        s0 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w), s0); s1 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 16), s1);
        s2 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 32), s2); s3 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 48), s3);
        s4 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 64), s4); s5 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 80), s5);
        s6 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 96), s6); s7 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 112), s7);
        s8 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 128), s8); s9 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 144), s9);
        s10 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 160), s10); s11 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 176), s11);
        s12 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 192), s12); s13 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 208), s13);
        s14 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 224), s14); s15 = Avx512F.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref w, 240), s15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PairSingle(Vector512<float> x, Vector512<float> y, Vector512<int> lo, Vector512<int> hi) =>
        Avx512F.PermuteVar16x32x2(x, lo, y) + Avx512F.PermuteVar16x32x2(x, hi, y);

    /// <summary>destination[k, j] = source[j, k] for a [rows × columns] source, in 16 × 16 tiles so that both the
    /// rows read and the rows written stay in cache (a plain loop writes with a stride of a whole row; it cost about as
    /// much as the products at batch 1).</summary>
    public static void Transpose<T>(ReadOnlySpan<T> source, int rows, int columns, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Tile = 16;
        if ((long)rows * columns > source.Length || (long)rows * columns > destination.Length)
            throw new ArgumentOutOfRangeException(nameof(source), "The matrix is larger than the spans.");
        ref T from = ref MemoryMarshal.GetReference(source);
        ref T to = ref MemoryMarshal.GetReference(destination);
        if (typeof(T) == typeof(float) && Avx512F.IsSupported && rows >= Tile && columns >= Tile)
        {
            // 16 × 16 tiles in registers; the last tile of a row or column overlaps the one before (it writes the same
            // values again), so every tile is whole.
            ref float f = ref Unsafe.As<T, float>(ref from);
            ref float t = ref Unsafe.As<T, float>(ref to);
            for (int j0 = 0, jd = 0; jd < rows; jd = j0 + Tile, j0 = Math.Min(j0 + Tile, rows - Tile))
                for (int k0 = 0, kd = 0; kd < columns; kd = k0 + Tile, k0 = Math.Min(k0 + Tile, columns - Tile))
                    Transpose16(ref Unsafe.Add(ref f, (nint)j0 * columns + k0), columns, ref Unsafe.Add(ref t, (nint)k0 * rows + j0), rows);
            return;
        }
        for (int j0 = 0; j0 < rows; j0 += Tile)
        {
            int j1 = Math.Min(j0 + Tile, rows);
            for (int k0 = 0; k0 < columns; k0 += Tile)
            {
                int k1 = Math.Min(k0 + Tile, columns);
                for (int k = k0; k < k1; k++)
                {
                    // A row of the destination tile: consecutive stores, reads down a column of the source tile.
                    ref T d = ref Unsafe.Add(ref to, (nint)k * rows);
                    for (int j = j0; j < j1; j++) Unsafe.Add(ref d, j) = Unsafe.Add(ref from, (nint)j * columns + k);
                }
            }
        }
    }

    /// <summary>One 16 × 16 float tile: d[k, j] = s[j, k] (row strides <paramref name="ls"/>, <paramref name="ld"/>), in
    /// registers: pairs of rows interleaved by lanes, by lane pairs, then by 128-bit quarters twice.</summary>
    private static void Transpose16(ref float s, int ls, ref float d, int ld)
    {
        Vector512<float> r0 = Vector512.LoadUnsafe(ref s), r1 = Vector512.LoadUnsafe(ref s, (nuint)ls), r2 = Vector512.LoadUnsafe(ref s, (nuint)(2 * ls)), r3 = Vector512.LoadUnsafe(ref s, (nuint)(3 * ls));
        Vector512<float> r4 = Vector512.LoadUnsafe(ref s, (nuint)(4 * ls)), r5 = Vector512.LoadUnsafe(ref s, (nuint)(5 * ls)), r6 = Vector512.LoadUnsafe(ref s, (nuint)(6 * ls)), r7 = Vector512.LoadUnsafe(ref s, (nuint)(7 * ls));
        Vector512<float> r8 = Vector512.LoadUnsafe(ref s, (nuint)(8 * ls)), r9 = Vector512.LoadUnsafe(ref s, (nuint)(9 * ls)), r10 = Vector512.LoadUnsafe(ref s, (nuint)(10 * ls)), r11 = Vector512.LoadUnsafe(ref s, (nuint)(11 * ls));
        Vector512<float> r12 = Vector512.LoadUnsafe(ref s, (nuint)(12 * ls)), r13 = Vector512.LoadUnsafe(ref s, (nuint)(13 * ls)), r14 = Vector512.LoadUnsafe(ref s, (nuint)(14 * ls)), r15 = Vector512.LoadUnsafe(ref s, (nuint)(15 * ls));
        // Lanes: rows (2i, 2i+1) interleaved within each 128-bit quarter.
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1); var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5); var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9); var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13); var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);
        // Lane pairs: four rows per quarter.
        var u0 = Avx512F.UnpackLow(t0.AsDouble(), t2.AsDouble()).AsSingle(); var u1 = Avx512F.UnpackHigh(t0.AsDouble(), t2.AsDouble()).AsSingle();
        var u2 = Avx512F.UnpackLow(t1.AsDouble(), t3.AsDouble()).AsSingle(); var u3 = Avx512F.UnpackHigh(t1.AsDouble(), t3.AsDouble()).AsSingle();
        var u4 = Avx512F.UnpackLow(t4.AsDouble(), t6.AsDouble()).AsSingle(); var u5 = Avx512F.UnpackHigh(t4.AsDouble(), t6.AsDouble()).AsSingle();
        var u6 = Avx512F.UnpackLow(t5.AsDouble(), t7.AsDouble()).AsSingle(); var u7 = Avx512F.UnpackHigh(t5.AsDouble(), t7.AsDouble()).AsSingle();
        var u8 = Avx512F.UnpackLow(t8.AsDouble(), t10.AsDouble()).AsSingle(); var u9 = Avx512F.UnpackHigh(t8.AsDouble(), t10.AsDouble()).AsSingle();
        var u10 = Avx512F.UnpackLow(t9.AsDouble(), t11.AsDouble()).AsSingle(); var u11 = Avx512F.UnpackHigh(t9.AsDouble(), t11.AsDouble()).AsSingle();
        var u12 = Avx512F.UnpackLow(t12.AsDouble(), t14.AsDouble()).AsSingle(); var u13 = Avx512F.UnpackHigh(t12.AsDouble(), t14.AsDouble()).AsSingle();
        var u14 = Avx512F.UnpackLow(t13.AsDouble(), t15.AsDouble()).AsSingle(); var u15 = Avx512F.UnpackHigh(t13.AsDouble(), t15.AsDouble()).AsSingle();
        // Quarters: 0x88 takes quarters 0 and 2 of each source, 0xDD quarters 1 and 3.
        var v0 = Avx512F.Shuffle4x128(u0, u4, 0x88); var v1 = Avx512F.Shuffle4x128(u1, u5, 0x88); var v2 = Avx512F.Shuffle4x128(u2, u6, 0x88); var v3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        var v4 = Avx512F.Shuffle4x128(u0, u4, 0xDD); var v5 = Avx512F.Shuffle4x128(u1, u5, 0xDD); var v6 = Avx512F.Shuffle4x128(u2, u6, 0xDD); var v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        var v8 = Avx512F.Shuffle4x128(u8, u12, 0x88); var v9 = Avx512F.Shuffle4x128(u9, u13, 0x88); var v10 = Avx512F.Shuffle4x128(u10, u14, 0x88); var v11 = Avx512F.Shuffle4x128(u11, u15, 0x88);
        var v12 = Avx512F.Shuffle4x128(u8, u12, 0xDD); var v13 = Avx512F.Shuffle4x128(u9, u13, 0xDD); var v14 = Avx512F.Shuffle4x128(u10, u14, 0xDD); var v15 = Avx512F.Shuffle4x128(u11, u15, 0xDD);
        Avx512F.Shuffle4x128(v0, v8, 0x88).StoreUnsafe(ref d); Avx512F.Shuffle4x128(v1, v9, 0x88).StoreUnsafe(ref d, (nuint)ld);
        Avx512F.Shuffle4x128(v2, v10, 0x88).StoreUnsafe(ref d, (nuint)(2 * ld)); Avx512F.Shuffle4x128(v3, v11, 0x88).StoreUnsafe(ref d, (nuint)(3 * ld));
        Avx512F.Shuffle4x128(v4, v12, 0x88).StoreUnsafe(ref d, (nuint)(4 * ld)); Avx512F.Shuffle4x128(v5, v13, 0x88).StoreUnsafe(ref d, (nuint)(5 * ld));
        Avx512F.Shuffle4x128(v6, v14, 0x88).StoreUnsafe(ref d, (nuint)(6 * ld)); Avx512F.Shuffle4x128(v7, v15, 0x88).StoreUnsafe(ref d, (nuint)(7 * ld));
        Avx512F.Shuffle4x128(v0, v8, 0xDD).StoreUnsafe(ref d, (nuint)(8 * ld)); Avx512F.Shuffle4x128(v1, v9, 0xDD).StoreUnsafe(ref d, (nuint)(9 * ld));
        Avx512F.Shuffle4x128(v2, v10, 0xDD).StoreUnsafe(ref d, (nuint)(10 * ld)); Avx512F.Shuffle4x128(v3, v11, 0xDD).StoreUnsafe(ref d, (nuint)(11 * ld));
        Avx512F.Shuffle4x128(v4, v12, 0xDD).StoreUnsafe(ref d, (nuint)(12 * ld)); Avx512F.Shuffle4x128(v5, v13, 0xDD).StoreUnsafe(ref d, (nuint)(13 * ld));
        Avx512F.Shuffle4x128(v6, v14, 0xDD).StoreUnsafe(ref d, (nuint)(14 * ld)); Avx512F.Shuffle4x128(v7, v15, 0xDD).StoreUnsafe(ref d, (nuint)(15 * ld));
    }

    /// <summary>c[i] += sums[i] for the lanes i ≥ <paramref name="skip"/> (the others are left exactly as they are).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRows<T>(Vector512<T> sums, ref T c, int skip) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var old = Vector512.LoadUnsafe(ref c);
        var sum = old + sums;
        if (skip > 0) sum = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Ramp<T>(), Vector512.Create(T.CreateTruncating(skip))), sum, old);
        sum.StoreUnsafe(ref c);
    }

    /// <summary>The dot form without the tree: per row of W, vectors of <typeparamref name="TV"/> along k, summed across
    /// their lanes (K ≥ one vector; the last vector overlaps as in <see cref="DotBlocks16"/>).</summary>
    private static void DotRows<T, TV, TW>(int M, int N, int K, ref T A, int lda, ref T W, ref T C, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TW : struct, IWidth<TV, T>
    {
        int V = TW.Count, full = K / V, rest = K - full * V;
        for (int m = 0; m < M; m++)
        {
            ref T a0 = ref Unsafe.Add(ref A, m * lda);
            TV last = rest == 0 ? TW.Zero : TW.KeepFrom(TW.Load(ref a0, K - V), V - rest);
            for (int j = 0; j < N; j++)
            {
                ref T w0 = ref Unsafe.Add(ref W, j * K);
                TV s = TW.Zero;
                for (int v = 0; v < full; v++) s = TW.Fma(TW.Load(ref a0, v * V), TW.Load(ref w0, v * V), s);
                if (rest != 0) s = TW.Fma(last, TW.Load(ref w0, K - V), s);
                Unsafe.Add(ref C, m * ldc + j) += TW.Sum(s);
            }
        }
    }

    /// <summary>The reduction tree of <see cref="DotBlocks16"/>: AVX-512's two-source permutes, float or double.</summary>
    private static class Tree
    {
        public static bool Supported<T>() => Avx512F.IsSupported && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

        // Pair(x, y, lo, hi): x and y hold rows of w lanes each (x's rows, then y's); the result holds the same rows with
        // w/2 lanes each (x's rows in the lower half, y's in the upper): lane i of a row + lane i + w/2. lo and hi are
        // the permute indices of the level (Index: index ≥ lanes is y's lane index − lanes), made once per call of a
        // kernel and kept in registers (made at each pairing, they were reloaded from memory 30 times per 16 rows).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Pair<T>(Vector512<T> x, Vector512<T> y, Vector512<byte> lo, Vector512<byte> hi) where T : unmanaged
        {
            if (typeof(T) == typeof(float))
            {
                var xs = x.AsSingle(); var ys = y.AsSingle();
                return (Avx512F.PermuteVar16x32x2(xs, lo.AsInt32(), ys) + Avx512F.PermuteVar16x32x2(xs, hi.AsInt32(), ys)).As<float, T>();
            }
            var xd = x.AsDouble(); var yd = y.AsDouble();
            return (Avx512F.PermuteVar8x64x2(xd, lo.AsInt64(), yd) + Avx512F.PermuteVar8x64x2(xd, hi.AsInt64(), yd)).As<double, T>();
        }

        /// <summary>The permute indices of level <paramref name="level"/> (0: rows of all the lanes, then of half …; float
        /// has 4 levels, double 3), the lower halves' (<paramref name="high"/> false) or the upper halves'.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> Index<T>(int level, bool high) where T : unmanaged
        {
            if (typeof(T) == typeof(float))
            {
                Vector512<int> lo = level switch
                {
                    0 => Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
                    1 => Vector512.Create(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
                    2 => Vector512.Create(0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29),
                    _ => Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                };
                return (high ? lo + Vector512.Create(8 >> level) : lo).AsByte();
            }
            Vector512<long> l = level switch
            {
                0 => Vector512.Create(0L, 1, 2, 3, 8, 9, 10, 11),
                1 => Vector512.Create(0L, 1, 4, 5, 8, 9, 12, 13),
                _ => Vector512.Create(0L, 2, 4, 6, 8, 10, 12, 14),
            };
            return (high ? l + Vector512.Create(4L >> level) : l).AsByte();
        }
    }

    /// <summary>0, 1, 2, … in the lanes of a vector (a constant once compiled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Ramp<T>() where T : unmanaged, IFloatingPointIeee754<T> => Vector512.CreateSequence(T.Zero, T.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Ld<T>(ref byte source, nint byteOffset) where T : unmanaged =>
        Unsafe.ReadUnaligned<Vector512<T>>(ref Unsafe.AddByteOffset(ref source, byteOffset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c) where T : unmanaged, IFloatingPointIeee754<T> => W512<T>.Fma(a, b, c);

    /// <summary>One vector width for the width-agnostic kernels: the JIT compiles a kernel once per width, with these
    /// calls inlined to single instructions.</summary>
    private interface IWidth<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        static abstract int Count { get; }
        static abstract TV Zero { get; }
        static abstract TV Load(ref T source, int offset);
        static abstract void Store(TV value, ref T destination, int offset);
        static abstract TV Broadcast(T value);
        /// <summary>a·b + c, rounded once.</summary>
        static abstract TV Fma(TV a, TV b, TV c);
        /// <summary>The sum of the lanes.</summary>
        static abstract T Sum(TV value);
        /// <summary>The lanes from <paramref name="first"/> on; zero below.</summary>
        static abstract TV KeepFrom(TV value, int first);
    }

    private readonly struct W512<T> : IWidth<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int Count => Vector512<T>.Count;
        public static Vector512<T> Zero => Vector512<T>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Load(ref T source, int offset) => Vector512.LoadUnsafe(ref source, (nuint)offset);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector512<T> value, ref T destination, int offset) => value.StoreUnsafe(ref destination, (nuint)offset);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Broadcast(T value) => Vector512.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Fma(Vector512<T> a, Vector512<T> b, Vector512<T> c)
        {
            if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
            throw new NotSupportedException(typeof(T).Name);
        }
        public static T Sum(Vector512<T> value) => Vector512.Sum(value);
        public static Vector512<T> KeepFrom(Vector512<T> value, int first) =>
            Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Vector512.CreateSequence(T.Zero, T.One), Vector512.Create(T.CreateTruncating(first))), value, Vector512<T>.Zero);
    }

    private readonly struct W256<T> : IWidth<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int Count => Vector256<T>.Count;
        public static Vector256<T> Zero => Vector256<T>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Load(ref T source, int offset) => Vector256.LoadUnsafe(ref source, (nuint)offset);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<T> value, ref T destination, int offset) => value.StoreUnsafe(ref destination, (nuint)offset);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Broadcast(T value) => Vector256.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Fma(Vector256<T> a, Vector256<T> b, Vector256<T> c)
        {
            if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
            throw new NotSupportedException(typeof(T).Name);
        }
        public static T Sum(Vector256<T> value) => Vector256.Sum(value);
        public static Vector256<T> KeepFrom(Vector256<T> value, int first) =>
            Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Vector256.CreateSequence(T.Zero, T.One), Vector256.Create(T.CreateTruncating(first))), value, Vector256<T>.Zero);
    }

    private readonly struct W128<T> : IWidth<Vector128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int Count => Vector128<T>.Count;
        public static Vector128<T> Zero => Vector128<T>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<T> Load(ref T source, int offset) => Vector128.LoadUnsafe(ref source, (nuint)offset);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<T> value, ref T destination, int offset) => value.StoreUnsafe(ref destination, (nuint)offset);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<T> Broadcast(T value) => Vector128.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<T> Fma(Vector128<T> a, Vector128<T> b, Vector128<T> c)
        {
            if (typeof(T) == typeof(float)) return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double)) return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
            throw new NotSupportedException(typeof(T).Name);
        }
        public static T Sum(Vector128<T> value) => Vector128.Sum(value);
        public static Vector128<T> KeepFrom(Vector128<T> value, int first) =>
            Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(Vector128.CreateSequence(T.Zero, T.One), Vector128.Create(T.CreateTruncating(first))), value, Vector128<T>.Zero);
    }
}
