using NetGen.Tests.Infrastructure;

namespace NetGen.Tests;

// Strided convolutions in float (8 lanes), whose im2col and col2im go through phase planes: rows of 14 output columns
// (one vector and an overlapping one), of 7 (one vector per row, the last row value by value), of 4 (a vector reaching
// two rows ahead), stride 3, and rows too long for the straight-line phase-plane copies (the loop forms).

/// <summary>The DCGAN discriminator's first convolution, smaller: 3×28×28 → 5×14×14.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(3, 28, 28)]
[Conv2D(5, Kernel = 4, Stride = 2, Padding = 1)]
public partial class FloatStridedWide;

/// <summary>The DCGAN discriminator's second convolution, smaller: 6×14×14 → 9×7×7.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(6, 14, 14)]
[Conv2D(9, Kernel = 4, Stride = 2, Padding = 1)]
public partial class FloatStridedNarrow;

/// <summary>Odd sizes, no padding: 4×9×9 → 3×4×4 (output rows of half a vector).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(4, 9, 9)]
[Conv2D(3, Kernel = 3, Stride = 2)]
public partial class FloatStridedOdd;

/// <summary>Stride 3 with padding 2: 2×11×11 → 4×5×5 (padded rows no window reads).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 11, 11)]
[Conv2D(4, Kernel = 3, Stride = 3, Padding = 2)]
public partial class FloatStrideThree;

/// <summary>Long rows: 2×70×70 → 3×35×35, phase planes 36 wide, so im2col fills 2 × 36 = 72 plane values per image row
/// and col2im reads back 70 (past the 64 written as straight-line copies: the loop forms).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 70, 70)]
[Conv2D(3, Kernel = 4, Stride = 2, Padding = 1)]
public partial class FloatStridedLongRows;

/// <summary>The strided convolution's float kernels (im2col, the products, col2im) against a direct double loop of the
/// definition, and the same outputs and ∂E/∂x bits for one and two threads.</summary>
[Collection(nameof(ThreadsCollection))]
public class StridedConvKernelTests
{
    [Fact]
    public void WideRows() => MatchesTheDefinition(b => new FloatStridedWide(b), C: 3, H: 28, W: 28, F: 5, K: 4, S: 2, Pad: 1, OH: 14, OW: 14);

    [Fact]
    public void NarrowRows() => MatchesTheDefinition(b => new FloatStridedNarrow(b), C: 6, H: 14, W: 14, F: 9, K: 4, S: 2, Pad: 1, OH: 7, OW: 7);

    [Fact]
    public void OddSizes() => MatchesTheDefinition(b => new FloatStridedOdd(b), C: 4, H: 9, W: 9, F: 3, K: 3, S: 2, Pad: 0, OH: 4, OW: 4);

    [Fact]
    public void StrideThree() => MatchesTheDefinition(b => new FloatStrideThree(b), C: 2, H: 11, W: 11, F: 4, K: 3, S: 3, Pad: 2, OH: 5, OW: 5);

    [Fact]
    public void LongRows() => MatchesTheDefinition(b => new FloatStridedLongRows(b), C: 2, H: 70, W: 70, F: 3, K: 4, S: 2, Pad: 1, OH: 35, OW: 35);

    [Fact]
    public void ResultsAreBitIdenticalOnOneAndTwoThreads()
    {
        foreach (int batch in new[] { 64, 7 })
        {
            var a = Run(() => new FloatStridedNarrow(64), 1, batch);
            var b = Run(() => new FloatStridedNarrow(64), 2, batch);
            Assert.Equal(a.Output, b.Output);
            Assert.Equal(a.InputGradient, b.InputGradient);
            // ∂E/∂θ is summed per sample chunk (a count fixed by the batch and the layer, never by the threads), then
            // the chunks in order: the same bits on one and two threads. Batch 64 has more chunks than threads, so
            // each thread's strided phase planes are reused across chunks.
            Assert.Equal(a.Gradients, b.Gradients);
        }
    }

    private static (float[] Output, float[] Gradients, float[] InputGradient) Run<TNet>(Func<TNet> create, int threads, int batch)
        where TNet : INetwork<float>
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            var net = create();
            var random = new SeededRandom(5);
            var p = net.Parameters;
            for (int i = 0; i < p.Length; i++) p[i] = (float)(random.NextDouble() - 0.5);
            float[] x = new float[batch * net.InputSize], dy = new float[batch * net.OutputSize], dx = new float[batch * net.InputSize];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() - 0.5);
            for (int i = 0; i < dy.Length; i++) dy[i] = (float)(random.NextDouble() - 0.5);
            var output = net.Forward(x, batch).ToArray();
            net.ZeroGradients();
            net.Backward(dy, dx);
            return (output, net.Gradients.ToArray(), dx);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private static void MatchesTheDefinition<TNet>(Func<int, TNet> create, int C, int H, int W, int F, int K, int S, int Pad, int OH, int OW)
        where TNet : INetwork<float>
    {
        const int batch = 5;
        var net = create(batch);
        Assert.Equal(F * OH * OW, net.OutputSize);
        var run = ConvolutionRun.Of(net, batch, seed: 13);
        Assert.Equal([F, C, K, K], run.Weights.Shape);
        float[] x = run.X, dy = run.Dy, w = run.W, b = run.B;

        // The definition (nn.Conv2d): y[n, f, oy, ox] = b[f] + Σ_(c,u,v) w[f, c, u, v]·x[n, c, oy·S − P + u, ox·S − P + v].
        var yRef = new double[run.Y.Length];
        var gw = new double[w.Length];
        var gb = new double[F];
        var dxRef = new double[x.Length];
        for (int n = 0; n < batch; n++)
            for (int f = 0; f < F; f++)
                for (int oy = 0; oy < OH; oy++) for (int ox = 0; ox < OW; ox++)
                {
                    int yi = ((n * F + f) * OH + oy) * OW + ox;
                    double sum = b[f];
                    gb[f] += dy[yi];
                    for (int c = 0; c < C; c++) for (int u = 0; u < K; u++) for (int v = 0; v < K; v++)
                    {
                        int iy = oy * S - Pad + u, ix = ox * S - Pad + v;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                        int xi = ((n * C + c) * H + iy) * W + ix, wi = ((f * C + c) * K + u) * K + v;
                        sum += (double)w[wi] * x[xi];
                        gw[wi] += (double)x[xi] * dy[yi];
                        dxRef[xi] += (double)w[wi] * dy[yi];
                    }
                    yRef[yi] = sum;
                }
        run.Matches(yRef, gw, gb, dxRef);
    }
}
