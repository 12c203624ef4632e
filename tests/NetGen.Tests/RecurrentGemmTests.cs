using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Tests;

/// <summary>
/// The recurrent layers' two products directly, over shapes around every vector width and block edge: the broadcast
/// form (one kernel for every width) must give each value as one fused multiply-add chain over k in order, bit for
/// bit; the dot form (batch 1 and 2) must add each dot product once, in the documented order, and touch nothing else.
/// </summary>
public class RecurrentGemmTests
{
    private static T[] Values<T>(int count, int seed) where T : IFloatingPointIeee754<T>
    {
        var random = new SeededRandom(seed);
        return Enumerable.Range(0, count).Select(_ => T.CreateChecked(random.NextDouble(-1, 1))).ToArray();
    }

    public static TheoryData<int, int, int> BroadcastShapes => new()
    {
        { 1, 1, 1 }, { 3, 7, 5 }, { 4, 16, 3 }, { 5, 17, 9 }, { 9, 64, 2 }, { 2, 65, 31 }, { 7, 130, 300 }, { 6, 35, 257 },
        // More than two row blocks (B copied panel by panel), several panels with a narrower last one, k in several parts.
        { 13, 130, 300 }, { 33, 200, 140 }, { 64, 64, 129 }, { 10, 7, 20 },
    };

    /// <summary>Every value of C is one fused multiply-add chain over k in order (from C when accumulating, else from
    /// zero): the same bits as the scalar chain, whatever width, row block, column remainder or k chunk computed it.
    /// A is read transposed and reversed through its strides.</summary>
    [Theory]
    [MemberData(nameof(BroadcastShapes))]
    public void BroadcastProductIsOneFusedChainPerValue(int M, int N, int K)
    {
        Check<float>(M, N, K);
        Check<double>(M, N, K);

        static void Check<T>(int M, int N, int K) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] a = Values<T>(M * K, 1), b = Values<T>(K * (N + 3), 2);
            int ldb = N + 3, ldc = N + 2;
            foreach (var (aOffset, am, ak) in new[] { (0, K, 1), (0, 1, M), ((M - 1) * K + K - 1, -K, -1) })
                foreach (bool accumulate in new[] { false, true })
                {
                    T[] c = Values<T>(M * ldc, 3), expected = (T[])c.Clone();
                    for (int m = 0; m < M; m++)
                        for (int j = 0; j < N; j++)
                        {
                            T s = accumulate ? expected[m * ldc + j] : T.Zero;
                            for (int k = 0; k < K; k++) s = T.FusedMultiplyAdd(a[aOffset + m * am + k * ak], b[k * ldb + j], s);
                            expected[m * ldc + j] = s;
                        }
                    T[] start = (T[])c.Clone();
                    RecurrentGemm.Multiply<T>(M, N, K, a, aOffset, am, ak, b, ldb, c, ldc, accumulate);
                    Assert.Equal(expected, c);
                    // The same product over B laid out in panels beforehand.
                    var panels = new T[K * N];
                    RecurrentGemm.PackPanels<T>(b, ldb, K, N, panels);
                    c = start;
                    RecurrentGemm.Multiply<T>(M, N, K, a, aOffset, am, ak, panels, 0, c, ldc, accumulate, bPanels: true);
                    Assert.Equal(expected, c);
                }
        }
    }

    /// <summary>The panel layout: panel p (P = PanelColumns columns from j0 = p·P, the last one narrower) at j0·K, its row
    /// k at j0·K + k·w; TransposePanels of W gives PackPanels of Wᵀ.</summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(28, 512)]
    [InlineData(130, 75)]
    [InlineData(17, 16)]
    public void PanelsHoldEveryValueOnceWherePanelsAreRead(int K, int N)
    {
        int P = RecurrentGemm.PanelColumns<float>();
        float[] b = Values<float>(K * N, 7), panels = new float[K * N];
        RecurrentGemm.PackPanels<float>(b, N, K, N, panels);
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
            {
                int j0 = j / P * P, w = Math.Min(P, N - j0);
                Assert.Equal(b[k * N + j], panels[j0 * K + k * w + (j - j0)]);
            }
        // W = Bᵀ [N × K]: its transpose in panels is B's panels.
        float[] w2 = new float[N * K], transposed = new float[K * N];
        for (int k = 0; k < K; k++) for (int j = 0; j < N; j++) w2[j * K + k] = b[k * N + j];
        RecurrentGemm.TransposePanels<float>(w2, N, K, transposed);
        Assert.Equal(panels, transposed);
    }

    public static TheoryData<int, int, int> DotShapes => new()
    {
        { 1, 1, 1 }, { 1, 3, 7 }, { 2, 15, 8 }, { 1, 16, 16 }, { 3, 17, 9 }, { 1, 24, 20 }, { 2, 40, 28 }, { 1, 120, 40 },
        { 3, 160, 36 }, { 1, 512, 128 }, { 2, 31, 130 }, { 1, 512, 28 },
    };

    /// <summary>C += A·Wᵀ with W row-major [N × K]: each value equals the exact dot product to rounding, is added once
    /// (a last 16-row block that overlaps the one before adds only its new rows), and C's other values are untouched.</summary>
    [Theory]
    [MemberData(nameof(DotShapes))]
    public void DotProductAddsEachValueOnceAndNothingElse(int M, int N, int K)
    {
        Check<double>(M, N, K, 1e-13);
        Check<float>(M, N, K, 1e-5);

        static void Check<T>(int M, int N, int K, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int lda = K + 5, ldc = N + 3, aOffset = 2, cOffset = 1;
            T[] a = Values<T>(aOffset + M * lda, 4), w = Values<T>(N * K, 5), c = Values<T>(cOffset + M * ldc + 2, 6), before = (T[])c.Clone();
            RecurrentGemm.MultiplyByRows<T>(M, N, K, a, aOffset, lda, w, c, cOffset, ldc);
            for (int i = 0; i < c.Length; i++)
            {
                int m = (i - cOffset) / ldc, j = (i - cOffset) - m * ldc;
                if (i < cOffset || m >= M || j >= N) { Assert.Equal(before[i], c[i]); continue; }
                double exact = double.CreateChecked(before[i]);
                for (int k = 0; k < K; k++) exact += double.CreateChecked(a[aOffset + m * lda + k]) * double.CreateChecked(w[j * K + k]);
                Assert.True(Math.Abs(double.CreateChecked(c[i]) - exact) <= tolerance * (1 + Math.Abs(exact)),
                    $"{typeof(T).Name} M={M} N={N} K={K}: C[{m}, {j}] = {c[i]}, exact {exact}");
            }
        }
    }

    /// <summary>With AVX-512 the dot form's order is the one its documentation gives, bit for bit: lane l of a row
    /// sums k ≡ l (mod lanes) in order of k (a last, overlapping vector adds only the k not yet summed), then the lanes
    /// pairwise — l + l + lanes/2, then + lanes/4, … — then the sum is added to C. Tested on shapes with a remainder of
    /// k, a last block of rows that overlaps the one before, and the LSTM benchmark's 512 × 128.</summary>
    [Theory]
    [InlineData(1, 512, 128)]
    [InlineData(2, 40, 28)]
    [InlineData(1, 24, 20)]
    [InlineData(3, 17, 9)]
    public void DotProductSumsInTheDocumentedOrder(int M, int N, int K)
    {
        if (!Avx512F.IsSupported)
        {
            Console.WriteLine("skip DotProductSumsInTheDocumentedOrder: no AVX-512 here (the other widths sum each vector's lanes)");
            return;
        }
        Check<float>(M, N, K);
        Check<double>(M, N, K);

        static void Check<T>(int M, int N, int K) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int V = Vector512<T>.Count;
            if (K < V) return;   // below one vector the dot form is scalar
            T[] a = Values<T>(M * K, 7), w = Values<T>(N * K, 8), c = Values<T>(M * N, 9), expected = (T[])c.Clone();
            int full = K / V, rest = K - full * V;
            var lanes = new T[V];
            for (int m = 0; m < M; m++)
                for (int j = 0; j < N; j++)
                {
                    for (int l = 0; l < V; l++)
                    {
                        T s = T.Zero;
                        for (int v = 0; v < full; v++) s = T.FusedMultiplyAdd(a[m * K + v * V + l], w[j * K + v * V + l], s);
                        if (rest != 0) s = T.FusedMultiplyAdd(l >= V - rest ? a[m * K + K - V + l] : T.Zero, w[j * K + K - V + l], s);
                        lanes[l] = s;
                    }
                    for (int half = V / 2; half >= 1; half /= 2)
                        for (int l = 0; l < half; l++) lanes[l] += lanes[l + half];
                    expected[m * N + j] += lanes[0];
                }
            RecurrentGemm.MultiplyByRows<T>(M, N, K, a, 0, K, w, c, 0, N);
            Assert.Equal(expected, c);
        }
    }

    /// <summary>W packed for a sequence's step products gives exactly the in-place dot form's bits (the same blocks,
    /// terms and order, only read straight through), C's other values untouched; shapes without AVX-512 blocks pack
    /// nothing (length 0, PackRows false) and keep the in-place form.</summary>
    [Theory]
    [MemberData(nameof(DotShapes))]
    public void PackedDotProductGivesTheInPlaceBits(int M, int N, int K)
    {
        Check<float>(M, N, K);
        Check<double>(M, N, K);

        static void Check<T>(int M, int N, int K) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int lda = K + 5, ldc = N + 3, aOffset = 2, cOffset = 1;
            T[] a = Values<T>(aOffset + M * lda, 4), w = Values<T>(N * K, 5), c = Values<T>(cOffset + M * ldc + 2, 6), expected = (T[])c.Clone();
            int length = RecurrentGemm.PackedRowsLength<T>(N, K);
            var packed = new T[Math.Max(1, length)];
            bool packs = RecurrentGemm.PackRows<T>(w, N, K, packed);
            Assert.Equal(length > 0, packs);
            Assert.Equal(Avx512F.IsSupported && K >= Vector512<T>.Count && N >= 16, packs);
            if (!packs)
            {
                Assert.Throws<ArgumentException>(() => RecurrentGemm.MultiplyByPackedRows<T>(M, N, K, a, aOffset, lda, packed, c, cOffset, ldc));
                return;
            }
            Assert.Equal((N + 15) / 16 * ((K + Vector512<T>.Count - 1) / Vector512<T>.Count) * 16 * Vector512<T>.Count, length);
            RecurrentGemm.MultiplyByRows<T>(M, N, K, a, aOffset, lda, w, expected, cOffset, ldc);
            RecurrentGemm.MultiplyByPackedRows<T>(M, N, K, a, aOffset, lda, packed, c, cOffset, ldc);
            Assert.Equal(expected, c);
            Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentGemm.MultiplyByPackedRows<T>(M, N, K, a, aOffset, lda, packed.AsSpan(0, length - 1), c, cOffset, ldc));
        }
    }

    /// <summary>The transpose the broadcast form reads W through: every value moved, nothing else written, for shapes
    /// with whole 16 × 16 tiles, overlapping last tiles, and too few rows or columns for a tile.</summary>
    [Theory]
    [InlineData(512, 28)]
    [InlineData(16, 16)]
    [InlineData(17, 33)]
    [InlineData(5, 40)]
    [InlineData(40, 5)]
    [InlineData(512, 128)]
    [InlineData(3, 3)]
    public void TransposeMovesEveryValue(int rows, int columns)
    {
        Check<float>(rows, columns);
        Check<double>(rows, columns);

        static void Check<T>(int rows, int columns) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T[] source = Values<T>(rows * columns, 10), destination = Values<T>(rows * columns + 3, 11);
            T tail0 = destination[^3], tail1 = destination[^2], tail2 = destination[^1];
            RecurrentGemm.Transpose<T>(source, rows, columns, destination);
            for (int j = 0; j < rows; j++)
                for (int k = 0; k < columns; k++)
                    Assert.Equal(source[j * columns + k], destination[k * rows + j]);
            Assert.Equal(new[] { tail0, tail1, tail2 }, destination[^3..]);
        }
    }
}
