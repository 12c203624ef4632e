using NetGen.Tests.Infrastructure;

namespace NetGen.Tests.Generative;

/// <summary>A transposed convolution as the first layer, in float, big enough for the vector kernels (J = F·K·K = 320
/// values per input position) and for two threads.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(12, 7, 7)]
[Conv2DTranspose(20, Kernel = 4, Stride = 2, Padding = 1)]                            // 20×14×14
public partial class FloatTransposedFirst;

/// <summary>The DCGAN generator's shape, smaller: Dense → BatchNorm → ReLU → Reshape → two stride-2 transposed convolutions.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy)]
[Input(16)]
[Dense(24 * 7 * 7), BatchNorm, ReLU]
[Reshape(24, 7, 7)]
[Conv2DTranspose(16, Kernel = 4, Stride = 2, Padding = 1), BatchNorm, ReLU]          // 16×14×14
[Conv2DTranspose(1, Kernel = 5, Stride = 2, Padding = 2, OutputPadding = 1), Sigmoid] // 1×28×28
public partial class FloatTransposedGenerator;

/// <summary>A transposed convolution to one channel (J = 16 &lt; 196 input positions: the backward columns by rows).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(12, 14, 14)]
[Conv2DTranspose(1, Kernel = 4, Stride = 2, Padding = 1)]                             // 1×28×28
public partial class FloatTransposedFewFilters;

/// <summary>The CPU transposed convolution's float kernels (the packed products, col2im and the dcolᵀ im2col) against
/// a direct double loop of the definition, and the same bits for one and two threads.</summary>
[Collection(nameof(ThreadsCollection))]
public class TransposedKernelTests
{
    private static (float[] Output, float[] Gradients, float[] InputGradient) Run<TNet>(Func<TNet> create, int threads, int batch, int seed)
        where TNet : INetwork<float>
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            var net = create();
            var random = new SeededRandom(seed);
            var p = net.Parameters;
            for (int i = 0; i < p.Length; i++) p[i] = (float)(random.NextDouble() - 0.5);
            float[] x = new float[batch * net.InputSize], dy = new float[batch * net.OutputSize], dx = new float[batch * net.InputSize];
            for (int i = 0; i < x.Length; i++) x[i] = random.NextDouble() < 0.3 ? 0f : (float)(random.NextDouble() - 0.3);   // some zeros, as after a ReLU
            for (int i = 0; i < dy.Length; i++) dy[i] = (float)(random.NextDouble() - 0.5);
            net.Training = true;
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

    [Fact]
    public void ResultsAreBitIdenticalOnOneAndTwoThreads()
    {
        foreach (int batch in new[] { 64, 7 })
        {
            var a = Run(() => new FloatTransposedFirst(64), 1, batch, 3);
            var b = Run(() => new FloatTransposedFirst(64), 2, batch, 3);
            Assert.Equal(a.Output, b.Output);
            Assert.Equal(a.Gradients, b.Gradients);
            Assert.Equal(a.InputGradient, b.InputGradient);
            var c = Run(() => new FloatTransposedGenerator(64), 1, batch, 4);
            var d = Run(() => new FloatTransposedGenerator(64), 2, batch, 4);
            Assert.Equal(c.Output, d.Output);
            Assert.Equal(c.Gradients, d.Gradients);
            Assert.Equal(c.InputGradient, d.InputGradient);
        }
    }

    [Fact]
    public void FloatKernelsMatchTheDefinition() => MatchesTheDefinition(b => new FloatTransposedFirst(b), C: 12, H: 7, W: 7, F: 20, K: 4, S: 2, Pad: 1, OH: 14, OW: 14);

    /// <summary>J = F·K·K = 16 values per input position, fewer than the 196 positions: the backward columns are laid
    /// out dcol[j, p] (∂E/∂x a broadcast product, ∂E/∂w dot products along the positions).</summary>
    [Fact]
    public void FloatKernelsMatchTheDefinitionWithFewFilters() => MatchesTheDefinition(b => new FloatTransposedFewFilters(b), C: 12, H: 14, W: 14, F: 1, K: 4, S: 2, Pad: 1, OH: 28, OW: 28);

    private static void MatchesTheDefinition<TNet>(Func<int, TNet> create, int C, int H, int W, int F, int K, int S, int Pad, int OH, int OW)
        where TNet : INetwork<float>
    {
        const int batch = 5;
        var run = ConvolutionRun.Of(create(batch), batch, seed: 11);
        Assert.Equal([C, F, K, K], run.Weights.Shape);
        float[] x = run.X, dy = run.Dy, w = run.W, b = run.B;

        // The definition (nn.ConvTranspose2d): y[n, f, iy·S − P + u, ix·S − P + v] += x[n, c, iy, ix]·w[c, f, u, v].
        var yRef = new double[run.Y.Length];
        var gw = new double[w.Length];
        var gb = new double[F];
        var dxRef = new double[x.Length];
        for (int n = 0; n < batch; n++)
        {
            for (int f = 0; f < F; f++) for (int o = 0; o < OH * OW; o++) { yRef[(n * F + f) * OH * OW + o] = b[f]; gb[f] += dy[(n * F + f) * OH * OW + o]; }
            for (int c = 0; c < C; c++) for (int iy = 0; iy < H; iy++) for (int ix = 0; ix < W; ix++)
                for (int f = 0; f < F; f++) for (int u = 0; u < K; u++) for (int v = 0; v < K; v++)
                {
                    int oy = iy * S - Pad + u, ox = ix * S - Pad + v;
                    if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                    int xi = ((n * C + c) * H + iy) * W + ix, yi = ((n * F + f) * OH + oy) * OW + ox, wi = ((c * F + f) * K + u) * K + v;
                    yRef[yi] += (double)x[xi] * w[wi];
                    gw[wi] += (double)x[xi] * dy[yi];
                    dxRef[xi] += (double)w[wi] * dy[yi];
                }
        }
        run.Matches(yRef, gw, gb, dxRef);
    }
}
