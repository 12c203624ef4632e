using NetGen.Tests.Infrastructure;
using NetGen;

namespace NetGen.Tests;

// The register-blocked kernels in float (8 lanes), on shapes with every ragged edge: sizes that are not multiples of
// the vector width or of the register blocks, batches that leave remainder rows. The gradient checks and the PyTorch
// oracle cover the same kernels in double (4 lanes).

/// <summary>13 → 37 → 5: every product has a ragged edge (13 and 37 are not multiples of 8 or of the blocks).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(13)]
[Dense(37), Tanh]
[Dense(5)]
public partial class RaggedDense;

/// <summary>37 → 117: where Vector512 is accelerated, from 48 samples on the forward's wide kernel transposes W into
/// panels (K = 37: two 16 × 16 blocks and one overlapping the second) and runs 3-vector strips (96 units), a 1-vector
/// strip (16) and dot blocks for the last 5 units; below 48 samples it runs dot blocks only.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(37)]
[Dense(117)]
public partial class WideRaggedDense;

/// <summary>A small CNN whose kernels split across threads at batch 16 (enough multiply-adds per call).</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(3, 18, 18)]
[Conv2D(10, Kernel = 3, Padding = 1), ReLU, MaxPool(2)]
[Conv2D(12, Kernel = 3, Stride = 2), ReLU]
[Flatten]
[Dense(11), Softmax]
public partial class SplitCnn;

/// <summary>LeNet-5 with a Reshape to the same shape after the first pooling: a view that runs no code but stands between
/// the two convolutions, so they do not share one sample split (LeNet's do: SampleSplitEmitter). Same parameters, same
/// arithmetic, one split per convolution pass.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2), Reshape(6, 14, 14)]
[Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
[Flatten]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(10), Softmax]
public partial class LeNetUnchained;

/// <summary>Three convolutions that share one sample split (the first with its ReLU fused, the second feeding the third
/// directly): a chain without pooling, and one with a layer fed straight by another convolution.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(2, 24, 24)]
[Conv2D(8, Kernel = 3, Padding = 1), ReLU]
[Conv2D(8, Kernel = 3, Padding = 1)]
[Conv2D(4, Kernel = 3)]
[Flatten]
[Dense(10), Softmax]
public partial class ConvChain;

/// <summary><see cref="ConvChain"/> with same-shape Reshapes between the convolutions: one split per convolution pass.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(2, 24, 24)]
[Conv2D(8, Kernel = 3, Padding = 1), ReLU, Reshape(8, 24, 24)]
[Conv2D(8, Kernel = 3, Padding = 1), Reshape(8, 24, 24)]
[Conv2D(4, Kernel = 3)]
[Flatten]
[Dense(10), Softmax]
public partial class ConvChainUnchained;

/// <summary>Runs alone: it changes the process-wide <see cref="Parallelism.MaxThreads"/>.</summary>
[CollectionDefinition(nameof(ThreadsCollection), DisableParallelization = true)]
public sealed class ThreadsCollection;

public class KernelTests
{
    private static float[] Data(int count, int seed)
    {
        var random = new SeededRandom(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(2 * random.NextDouble() - 1);
        return values;
    }

    /// <summary>y = W·x + b in double, W [out × in] at <paramref name="offset"/> of the parameters, then b.</summary>
    private static double[] Dense(ReadOnlySpan<float> p, int offset, int @in, int @out, double[] x, int batch, bool tanh)
    {
        var y = new double[batch * @out];
        for (int n = 0; n < batch; n++)
            for (int j = 0; j < @out; j++)
            {
                double s = p[offset + @out * @in + j];
                for (int i = 0; i < @in; i++) s += p[offset + j * @in + i] * x[n * @in + i];
                y[n * @out + j] = tanh ? Math.Tanh(s) : s;
            }
        return y;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(11)]
    [InlineData(16)]
    public void DenseKernelsMatchPlainSums(int batch)
    {
        var net = new RaggedDense(16, seed: batch);
        net.Parameters.Fill(0);
        var init = Data(net.Parameters.Length, 7);
        init.CopyTo(net.Parameters);
        float[] x = Data(batch * 13, 1), dy = Data(batch * 5, 2), dx = new float[batch * 13];

        var output = net.Forward(x, batch).ToArray();
        double[] h = Dense(net.Parameters, 0, 13, 37, x.Select(v => (double)v).ToArray(), batch, tanh: true);
        double[] y = Dense(net.Parameters, 13 * 37 + 37, 37, 5, h, batch, tanh: false);
        for (int k = 0; k < y.Length; k++) Assert.Equal(y[k], output[k], 4e-5);

        net.ZeroGradients();
        net.Backward(dy, dx);
        // Reference backward: δ₂ = dy; ∂W₂ = δ₂ᵀ·h; δ₁ = (δ₂·W₂) ⊙ (1 − h²); ∂W₁ = δ₁ᵀ·x; dx = δ₁·W₁.
        var p = net.Parameters.ToArray();
        var g = net.Gradients.ToArray();
        int w2 = 13 * 37 + 37;
        var d1 = new double[batch * 37];
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < 37; i++)
            {
                double s = 0;
                for (int j = 0; j < 5; j++) s += dy[n * 5 + j] * p[w2 + j * 37 + i];
                d1[n * 37 + i] = s * (1 - h[n * 37 + i] * h[n * 37 + i]);
            }
        for (int j = 0; j < 5; j++)
            for (int i = 0; i < 37; i++)
            {
                double s = 0;
                for (int n = 0; n < batch; n++) s += dy[n * 5 + j] * h[n * 37 + i];
                Assert.Equal(s, g[w2 + j * 37 + i], 1e-4);
            }
        for (int j = 0; j < 37; j++)
        {
            double sb = 0;
            for (int n = 0; n < batch; n++) sb += d1[n * 37 + j];
            Assert.Equal(sb, g[13 * 37 + j], 1e-4);
            for (int i = 0; i < 13; i++)
            {
                double s = 0;
                for (int n = 0; n < batch; n++) s += d1[n * 37 + j] * x[n * 13 + i];
                Assert.Equal(s, g[j * 13 + i], 1e-4);
            }
        }
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < 13; i++)
            {
                double s = 0;
                for (int j = 0; j < 37; j++) s += d1[n * 37 + j] * p[j * 13 + i];
                Assert.Equal(s, dx[n * 13 + i], 1e-4);
            }
    }

    /// <summary>The forward's transposed-panel path (batches of 48 and more on Vector512 machines: 50, 57) and its dot
    /// path (3) against plain double sums; the ragged shapes reach every strip, the overlapping transpose and the dot tail.</summary>
    [Theory]
    [InlineData(3)]
    [InlineData(50)]
    [InlineData(57)]
    public void WideDenseForwardMatchesPlainSums(int batch)
    {
        var net = new WideRaggedDense(64);
        Data(net.Parameters.Length, 9).CopyTo(net.Parameters);
        float[] x = Data(batch * 37, 4);
        var output = net.Forward(x, batch).ToArray();
        double[] y = Dense(net.Parameters, 0, 37, 117, x.Select(v => (double)v).ToArray(), batch, tanh: false);
        Assert.Equal(batch * 117, output.Length);
        for (int k = 0; k < y.Length; k++) Assert.True(Math.Abs(y[k] - output[k]) <= 2e-6, $"y[{k / 117}, {k % 117}] = {output[k]:R}, plain sum {y[k]:R}");
    }

    [Fact]
    public void TrainingAndInferenceStepsAllocateNothing()
    {
        var dense = new RaggedDense(16);
        var cnn = new SplitCnn(16);
        float[] x = Data(16 * 13, 1), t = Data(16 * 5, 2), images = Data(16 * 3 * 18 * 18, 3);
        int[] labels = Enumerable.Range(0, 16).Select(i => i % 11).ToArray();
        Sgd sgd = new(0.01), sgdCnn = new(0.01);   // an optimiser keeps state for one network
        for (int warm = 0; warm < 3; warm++) { dense.TrainStep(x, t, sgd, 16); cnn.TrainStep(images, labels, sgdCnn, 16); cnn.Forward(images.AsSpan(0, 3 * 18 * 18), 1); }
        Assert.Equal(0, Allocations.Steady(() =>
        {
            dense.TrainStep(x, t, sgd, 16);
            cnn.TrainStep(images, labels, sgdCnn, 16);
            cnn.Forward(images.AsSpan(0, 3 * 18 * 18), 1);
        }, 5));
    }
}

[Collection(nameof(ThreadsCollection))]
public class KernelThreadTests
{
    private static (float[] Output, float[] Gradients, float[] InputGradient) Run<TNet>(Func<TNet> create, int threads, int inSize, int outSize, int batch)
        where TNet : INetwork<float>
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            var net = create();
            var random = new SeededRandom(5);
            float[] x = new float[batch * inSize], dy = new float[batch * outSize], dx = new float[batch * inSize];
            for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
            for (int i = 0; i < dy.Length; i++) dy[i] = (float)(random.NextDouble() - 0.5);
            var output = net.Forward(x, batch).ToArray();
            net.Backward(dy, dx);
            return (output, net.Gradients.ToArray(), dx);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Fact]
    public void DenseResultsAreBitIdenticalOnTwoThreads()
    {
        // 256 × 13 × 37 multiply-adds per product: enough to be split.
        var one = Run(() => new RaggedDense(512), 1, 13, 5, 512);
        var two = Run(() => new RaggedDense(512), 2, 13, 5, 512);
        Assert.Equal(one.Output, two.Output);
        Assert.Equal(one.Gradients, two.Gradients);
        Assert.Equal(one.InputGradient, two.InputGradient);
    }

    [Fact]
    public void WideDenseResultsAreBitIdenticalOnTwoThreads()
    {
        // 64 samples: the transposed-panel forward on Vector512 machines, its units split at a strip boundary (48).
        var one = Run(() => new WideRaggedDense(64), 1, 37, 117, 64);
        var two = Run(() => new WideRaggedDense(64), 2, 37, 117, 64);
        Assert.Equal(one.Output, two.Output);
        Assert.Equal(one.Gradients, two.Gradients);
        Assert.Equal(one.InputGradient, two.InputGradient);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]   // more threads than this machine may have cores: at most one per core wakes
    public void ConvolutionResultsAreBitIdenticalAcrossThreadCounts(int threads)
    {
        // SplitCnn at batch 16: the rows-form direct convolution and a strided im2col one, cut into 8 sample chunks.
        var one = Run(() => new SplitCnn(16), 1, 3 * 18 * 18, 11, 16);
        var many = Run(() => new SplitCnn(16), threads, 3 * 18 * 18, 11, 16);
        Assert.Equal(one.Output, many.Output);   // forward: each sample computed as on one thread
        Assert.Equal(one.InputGradient, many.InputGradient);
        Assert.Equal(one.Gradients, many.Gradients);   // weight gradients: the chunks' sums, added in chunk order
    }

    /// <summary>LeNet-5 training at batch 24 (both convolution forms, fused ReLU and pooling, Dense layers split by units):
    /// five steps with the fused plain-SGD update, then five with Adam (the unfused path: ZeroGradients, Backward,
    /// Step), from the same seed at 1, 2 and 3 threads, give the same parameters to the bit, and the same losses.</summary>
    [Fact]
    public void LeNetTrainingIsBitIdenticalAcrossThreadCounts()
    {
        static (float[] Parameters, float[] Losses) Train(int threads)
        {
            int saved = Parallelism.MaxThreads;
            try
            {
                Parallelism.MaxThreads = threads;
                const int Batch = 24;
                var net = new NetGen.Tests.Networks.LeNet(Batch, seed: 3);
                var random = new SeededRandom(9);
                float[] x = new float[Batch * 784];
                int[] labels = new int[Batch];
                var losses = new float[10];
                var sgd = new Sgd(0.05);
                var adam = new Adam(1e-3);
                for (int step = 0; step < 10; step++)
                {
                    for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
                    for (int i = 0; i < Batch; i++) labels[i] = (int)(random.NextDouble() * 10);
                    losses[step] = net.TrainStep(x, labels, step < 5 ? sgd : adam, Batch);
                }
                return (net.Parameters.ToArray(), losses);
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }

        var one = Train(1);
        Assert.True(one.Losses[9] < one.Losses[0] + 1, "training ran");
        foreach (int threads in new[] { 2, 3 })
        {
            var many = Train(threads);
            Assert.Equal(one.Losses, many.Losses);
            Assert.Equal(one.Parameters, many.Parameters);
        }
    }

    /// <summary>LeNet's two convolutions share one sample split per pass (a chunk's samples go through conv1, ReLU, pool
    /// and conv2 on one thread, and back down); with a Reshape between them each pass is split on its own. Both give the
    /// same bits: forward outputs, and the parameters and losses of five fused-SGD steps and three Adam steps, at 1 and
    /// 2 threads.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ChainedConvolutionSplit_GivesTheBitsOfOneSplitPerLayer(int threads)
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            const int Batch = 20;
            var chained = new NetGen.Tests.Networks.LeNet(Batch, seed: 5);
            var unchained = new LeNetUnchained(Batch, seed: 5);
            chained.Parameters.CopyTo(unchained.Parameters);
            var random = new SeededRandom(17);
            float[] x = new float[Batch * 784];
            int[] labels = new int[Batch];
            var sgd = new Sgd(0.05);
            var adamA = new Adam(1e-3);
            var adamB = new Adam(1e-3);
            for (int step = 0; step < 8; step++)
            {
                for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
                for (int i = 0; i < Batch; i++) labels[i] = (int)(random.NextDouble() * 10);
                float a = chained.TrainStep(x, labels, step < 5 ? sgd : adamA, Batch);
                float b = unchained.TrainStep(x, labels, step < 5 ? sgd : adamB, Batch);
                Assert.Equal(a, b);
            }
            Assert.Equal(chained.Parameters.ToArray(), unchained.Parameters.ToArray());
            Assert.Equal(chained.Forward(x, Batch).ToArray(), unchained.Forward(x, Batch).ToArray());
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>The same for a chain of three convolutions (ReLU fused into the first, the third fed by the second
    /// directly): input gradients too, since the first layer's ∂E/∂x is computed inside the joint split.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ThreeConvolutionChain_GivesTheBitsOfOneSplitPerLayer(int threads)
    {
        var chained = Run(() => new ConvChain(16, seed: 4), threads, 2 * 24 * 24, 10, 16);
        var unchained = Run(() =>
        {
            var net = new ConvChainUnchained(16, seed: 4);
            new ConvChain(16, seed: 4).Parameters.CopyTo(net.Parameters);   // the same weights whatever the layers' indices
            return net;
        }, threads, 2 * 24 * 24, 10, 16);
        Assert.Equal(chained.Output, unchained.Output);
        Assert.Equal(chained.InputGradient, unchained.InputGradient);
        Assert.Equal(chained.Gradients, unchained.Gradients);
    }

    /// <summary>The two declarations above really differ in their splits: ConvChain's three convolutions share one
    /// forward and one backward split, ConvChainUnchained's run one split per layer.</summary>
    [Fact]
    public void ConvChain_SharesOneSplitPerPass_AndItsReshapedTwinDoesNot()
    {
        const string Chain = """
            using NetGen;
            namespace Chains;
            [Network(Loss = LossFunction.CrossEntropy)]
            [Input(2, 24, 24)]
            [Conv2D(8, Kernel = 3, Padding = 1), ReLU]
            [Conv2D(8, Kernel = 3, Padding = 1)]
            [Conv2D(4, Kernel = 3)]
            [Flatten]
            [Dense(10), Softmax]
            public partial class ConvChain;
            [Network(Loss = LossFunction.CrossEntropy)]
            [Input(2, 24, 24)]
            [Conv2D(8, Kernel = 3, Padding = 1), ReLU, Reshape(8, 24, 24)]
            [Conv2D(8, Kernel = 3, Padding = 1), Reshape(8, 24, 24)]
            [Conv2D(4, Kernel = 3)]
            [Flatten]
            [Dense(10), Softmax]
            public partial class ConvChainUnchained;
            """;
        var (result, _) = GeneratorHarness.Run(Chain);
        string chained = GeneratorHarness.GeneratedSource(result, "ConvChain"), unchained = GeneratorHarness.GeneratedSource(result, "ConvChainUnchained");
        Assert.Contains("// one split for layers 0 (Conv2D1), 2 (Conv2D2) and 3 (Conv2D3)", chained);
        Assert.Contains("// one split for layers 3 (Conv2D3), 2 (Conv2D2) and 0 (Conv2D1)", chained);
        Assert.DoesNotContain("one split for layers", unchained);
    }

    /// <summary>The forward pass of a convolution's sample split runs twice as many parts as its backward has chunks (at most
    /// one per sample), nested in them: forward part 2c starts where backward chunk c does, so when the threads share the chunks evenly
    /// each thread's home block of forward parts covers the samples of its home block of backward chunks (their
    /// activations are in its cache when the backward reads them), and every sample is in exactly one part.</summary>
    [Fact]
    public void ForwardParts_NestInTheBackwardsChunks()
    {
        Assert.Equal(16, Parallelism.ForwardParts(64, 8));
        Assert.Equal(5, Parallelism.ForwardParts(5, 5));
        Assert.Equal(1, Parallelism.ForwardParts(1, 1));
        Assert.Equal(1, Parallelism.ForwardParts(0, 1));
        for (int batch = 1; batch <= 200; batch++)
            foreach (int minSamples in new[] { 1, 3, 16 })
            {
                int chunks = Parallelism.SampleChunks(batch, 8, minSamples), parts = Parallelism.ForwardParts(batch, chunks);
                Assert.InRange(parts, chunks, 2 * chunks);
                int covered = 0;
                for (int p = 0; p < parts; p++)
                {
                    var (start, end) = Parallelism.Range(batch, parts, p);
                    Assert.Equal(covered, start);
                    covered = end;
                }
                Assert.Equal(batch, covered);
                if (parts == 2 * chunks)
                    for (int chunk = 0; chunk < chunks; chunk++)
                    {
                        Assert.Equal(Parallelism.Range(batch, chunks, chunk).Start, Parallelism.Range(batch, parts, 2 * chunk).Start);
                        for (int threads = 2; threads <= 4; threads++)
                            for (int b = 0; b < threads && chunks % threads == 0; b++)   // whole chunks per thread (LeNet: 8 on 2 or 4)
                                Assert.Equal(Parallelism.Range(batch, chunks, Parallelism.Range(chunks, threads, b).Start).Start,
                                             Parallelism.Range(batch, parts, Parallelism.Range(parts, threads, b).Start).Start);
                    }
            }
    }

    [Fact]
    public void SampleChunks_DependOnTheBatchAndTheLayerOnly()
    {
        Assert.Equal(1, Parallelism.SampleChunks(1, 8));
        Assert.Equal(5, Parallelism.SampleChunks(5, 8));
        Assert.Equal(8, Parallelism.SampleChunks(64, 8));
        Assert.Equal(4, Parallelism.SampleChunks(64, 8, minSamples: 16));
        Assert.Equal(1, Parallelism.SampleChunks(3, 8, minSamples: 16));
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 3;
            Assert.Equal(8, Parallelism.SampleChunks(64, 8));
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}

/// <summary>NetGen.AlignedArray, which the generated networks' parameter and gradient buffers come from. Runs alone
/// (the threads collection): other tests allocating pinned arrays at the same time could move the allocator between
/// a pad and the array it is meant to align.</summary>
[Collection(nameof(ThreadsCollection))]
public class KernelBufferAlignmentTests
{
    /// <summary>Ordinary zeroed arrays of the requested length, pinned, nudged onto a 64-byte boundary. A best effort,
    /// so only counted here: in a fresh process (the benchmarks) they land on a line at once; after this suite's
    /// hundreds of networks have left holes in the pinned heap, 6 of 10 did. Without the nudging 1 in 8 would; the
    /// test requires at least one, so it fails if the nudging stops working altogether, not with the heap's state.</summary>
    [Fact]
    public void AlignedArrays_AreZeroedAndMostlyStartOnACacheLine()
    {
        int aligned = 0;
        for (int k = 0; k < 10; k++)
        {
            float[] a = AlignedArray.Allocate<float>(79_510 + k);
            Assert.Equal(79_510 + k, a.Length);
            Assert.All(a, v => Assert.Equal(0f, v));
            nuint address = (nuint)System.Runtime.CompilerServices.Unsafe.ByteOffset(ref System.Runtime.CompilerServices.Unsafe.NullRef<float>(), ref a[0]);
            if (address % 64 == 0) aligned++;
        }
        Assert.True(aligned >= 1, $"{aligned} of 10 arrays start on a cache line");
        Assert.Empty(AlignedArray.Allocate<double>(0));
    }
}

/// <summary>Parallelism.Run's worker pool: the calling thread and the workers claim parts from a shared counter.</summary>
[Collection(nameof(ThreadsCollection))]
public class WorkerPoolTests
{
    /// <summary>Records which thread ran each part of each call; a part can be made to throw once.</summary>
    private sealed class Recorder(int calls, int parts) : IParallelKernel
    {
        public readonly int[,] Runs = new int[calls, parts];
        public readonly int[,] Threads = new int[calls, parts];
        public int Call, ThrowAtPart = -1;

        public void RunPart(int op, int part, int parts)
        {
            Assert.Equal(7, op);
            Interlocked.Increment(ref Runs[Call, part]);
            Threads[Call, part] = Environment.CurrentManagedThreadId;
            if (part == ThrowAtPart) throw new InvalidOperationException("part " + part);
        }
    }

    /// <summary>Sets <see cref="Parallelism.MaxThreads"/> for the body (the pool wakes at most MaxThreads − 1 workers).</summary>
    private static void WithThreads(int threads, Action body)
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            body();
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Fact]
    public void EveryPartRunsExactlyOnce_WhicheverThreadTakesIt()
    {
        const int Calls = 3000;
        foreach (int threads in new[] { 2, 3 })
            foreach (int parts in new[] { 2, 3, 4, 8 })
                WithThreads(threads, () =>
                {
                    var kernel = new Recorder(Calls, parts);
                    for (kernel.Call = 0; kernel.Call < Calls; kernel.Call++) Parallelism.Run(kernel, 7, parts);
                    for (int c = 0; c < Calls; c++)
                        for (int p = 0; p < parts; p++)
                            Assert.True(kernel.Runs[c, p] == 1, $"{threads} threads, {parts} parts, call {c}: part {p} ran {kernel.Runs[c, p]} times");
                });
    }

    /// <summary>However many parts an operation has, at most min(MaxThreads, cores) threads run them (the caller and
    /// that many workers less one), and every thread's scratch slot is below <see cref="Parallelism.MaxSampleParts"/> and
    /// unique among the threads of the operation.</summary>
    [Fact]
    public void AtMostOneThreadPerCoreRunsTheParts_EachWithItsOwnSlot()
    {
        const int Calls = 500, Parts = 16;
        var kernel = new SlotRecorder();
        foreach (int threads in new[] { 1, 2, 8 })
            WithThreads(threads, () =>
            {
                kernel.Seen.Clear();
                for (int call = 0; call < Calls; call++) Parallelism.Run(kernel, 7, Parts);
                var ids = kernel.Seen.Select(s => s.Thread).Distinct().ToArray();
                Assert.True(ids.Length <= Math.Min(threads, Environment.ProcessorCount), $"MaxThreads {threads}: {ids.Length} threads ran parts");
                Assert.All(kernel.Seen, s => Assert.InRange(s.Slot, 0, Parallelism.MaxSampleParts - 1));
                foreach (var group in kernel.Seen.GroupBy(s => s.Slot))   // one thread per slot
                    Assert.Single(group.Select(s => s.Thread).Distinct());
            });
        Assert.Equal(0, Parallelism.Slot);   // the calling thread (not a worker)
    }

    private sealed class SlotRecorder : IParallelKernel
    {
        public readonly System.Collections.Concurrent.ConcurrentBag<(int Thread, int Slot)> Seen = [];

        public void RunPart(int op, int part, int parts) => Seen.Add((Environment.CurrentManagedThreadId, Parallelism.Slot));
    }

    /// <summary>A worker that is slow to start (here: blocked, after the pause has outlasted its spinning) leaves its part
    /// to the caller, which runs it instead of waiting for the worker to be scheduled. Waking a blocked thread takes
    /// microseconds; the caller's own part takes nanoseconds, so it finds the second part unclaimed.</summary>
    [Fact]
    public void ACallerWhoseWorkerIsAsleep_RunsTheWorkersPartItself()
    {
        const int Calls = 20;
        var kernel = new Recorder(Calls, 2);
        int caller = Environment.CurrentManagedThreadId, both = 0;
        WithThreads(2, () =>
        {
            for (kernel.Call = 0; kernel.Call < Calls; kernel.Call++)
            {
                Thread.Sleep(20);   // the worker stops spinning and blocks
                Parallelism.Run(kernel, 7, 2);
                if (kernel.Threads[kernel.Call, 0] == caller && kernel.Threads[kernel.Call, 1] == caller) both++;
            }
        });
        Assert.True(both > 0, "the caller never took the sleeping worker's part");
    }

    /// <summary>A worker that holds a part for long (here it sleeps 20 ms in it, as a worker descheduled by another
    /// process would stall) makes the caller wait longer than it worked: the splits of the next millisecond or so run on
    /// the caller alone (every part, once each), then the workers are used again.</summary>
    [Fact]
    public void AStalledWorker_LeavesTheNextSplitsToTheCaller()
    {
        if (Environment.ProcessorCount < 2) return;   // no worker to stall: every split runs on the caller
        int caller = Environment.CurrentManagedThreadId;
        WithThreads(2, () =>
        {
            WorkerPool.ResetStalls();
            var kernel = new StallingKernel(caller);
            bool stalled = false, callerAlone = false;
            // Until a worker takes a part (it may be asleep) and the next split falls in the back-off (1 ms, doubled
            // at each further stall: a test thread descheduled for longer tries again with a longer one).
            for (int attempt = 0; attempt < 50 && !callerAlone; attempt++)
            {
                kernel.Stall = true;
                kernel.Entered = 0;
                Parallelism.Run(kernel, 7, 2);
                if (!WorkerPool.BackingOff) continue;
                stalled = true;
                kernel.Stall = false;
                kernel.Threads.Clear();
                Parallelism.Run(kernel, 7, 4);
                callerAlone = kernel.Threads.Count == 4 && kernel.Threads.All(t => t == caller);
            }
            Assert.True(stalled, "no worker ever took a part");
            Assert.True(callerAlone, "the splits right after a stall did not run on the caller alone");
            kernel.Stall = false;
            Thread.Sleep(40);   // longer than the longest back-off (16 ms)
            Assert.False(WorkerPool.BackingOff);
            bool workerRan = false;
            for (int call = 0; call < 2000 && !workerRan; call++)
            {
                kernel.Threads.Clear();
                Parallelism.Run(kernel, 7, 4);
                workerRan = kernel.Threads.Any(t => t != caller);
            }
            Assert.True(workerRan, "the workers were not used again after the back-off");
            WorkerPool.ResetStalls();
        });
    }

    /// <summary>With <see cref="Stall"/>, a part run by a worker says so and sleeps 20 ms, and a part run by the caller
    /// waits (up to 5 ms) until a worker has entered a part, so that a worker holds one while the caller waits.</summary>
    private sealed class StallingKernel(int caller) : IParallelKernel
    {
        public readonly System.Collections.Concurrent.ConcurrentBag<int> Threads = [];
        public volatile bool Stall;
        public int Entered;

        public void RunPart(int op, int part, int parts)
        {
            Threads.Add(Environment.CurrentManagedThreadId);
            if (!Stall)
            {
                Thread.SpinWait(500);   // a microsecond or so: long enough for a spinning worker to claim a part
                return;
            }
            if (Environment.CurrentManagedThreadId != caller)
            {
                Volatile.Write(ref Entered, 1);
                Thread.Sleep(20);
                return;
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref Entered) == 0 && clock.ElapsedMilliseconds < 5) Thread.SpinWait(10);
        }
    }

    /// <summary>Home blocks: with 2 threads the caller's block is parts [0, P/2) and the worker's [P/2, P) (the split of
    /// <see cref="Parallelism.Range"/>). Each thread claims its own block from the front, in order, then takes what is
    /// left of the other's from the back, so in every split each thread's sequence of parts is an ascending run from
    /// the start of its block followed by a descending run from the end of the other block; and whenever both threads
    /// ran parts without stealing, the worker ran exactly its block (so a sample chunk stays on one core from split to
    /// split). <see cref="Parallelism.RunChunksLastFirst"/> gives each thread the same block, taken from its end, and
    /// steals from the other's front. A shared counter (parts handed out in claim order, 0, 1, 2 … whoever asks) fails
    /// this.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EachThreadClaimsItsHomeBlockFirst_ThenStealsTheOthersParts(bool lastFirst)
    {
        if (Environment.ProcessorCount < 2) return;   // one thread: every part on the caller, in order
        const int Calls = 400;
        int caller = Environment.CurrentManagedThreadId;
        WithThreads(2, () =>
        {
            WorkerPool.ResetStalls();
            foreach (int parts in new[] { 8, 5, 2 })
            {
                var kernel = new SequenceRecorder(caller);
                int half = Parallelism.Range(parts, 2, 0).End, homeRuns = 0;
                var inline = lastFirst ? Enumerable.Range(0, parts).Reverse() : Enumerable.Range(0, parts);
                for (int call = 0; call < Calls; call++)
                {
                    kernel.Clear();
                    if (lastFirst) Parallelism.RunChunksLastFirst(kernel, 7, parts, 1L << 30);
                    else Parallelism.Run(kernel, 7, parts);
                    var mine = kernel.Caller.ToArray();
                    var theirs = kernel.Worker.ToArray();
                    Assert.Equal(parts, mine.Length + theirs.Length);
                    if (theirs.Length == 0 && mine.SequenceEqual(inline)) continue;   // run inline (backing off after a stall)
                    string what = $"{parts} parts, call {call}, caller ran [{string.Join(",", mine)}], worker [{string.Join(",", theirs)}]";
                    AssertHomeThenSteal(mine, 0, half, half, parts, lastFirst, what);
                    AssertHomeThenSteal(theirs, half, parts, 0, half, lastFirst, what);
                    if (theirs.Length > 0 && theirs.Order().SequenceEqual(Enumerable.Range(half, parts - half))) homeRuns++;
                }
                Assert.True(homeRuns > 0, $"{parts} parts: the worker never ran its own block in {Calls} splits");
            }
            WorkerPool.ResetStalls();
        });
    }

    /// <summary>The parts a thread ran, in order: a run of its block [home, homeEnd) from its start (or, last first, from
    /// its end), then a run of the other block [other, otherEnd) from its end (last first: from its start).</summary>
    private static void AssertHomeThenSteal(int[] seq, int home, int homeEnd, int other, int otherEnd, bool lastFirst, string what)
    {
        int i = 0, step = lastFirst ? -1 : 1;
        for (int expect = lastFirst ? homeEnd - 1 : home; i < seq.Length && seq[i] >= home && seq[i] < homeEnd; i++, expect += step)
            Assert.True(seq[i] == expect, $"{what}: a thread's own block out of order");
        for (int expect = lastFirst ? other : otherEnd - 1; i < seq.Length; i++, expect -= step)
            Assert.True(seq[i] == expect && expect >= other && expect < otherEnd, $"{what}: a thread ran other than its block, then the other's");
    }

    /// <summary>Each part's thread and order; a part spins a few microseconds, so a spinning worker joins the split.</summary>
    private sealed class SequenceRecorder(int caller) : IParallelKernel
    {
        public readonly List<int> Caller = [], Worker = [];

        public void Clear()
        {
            Caller.Clear();
            Worker.Clear();
        }

        public void RunPart(int op, int part, int parts)
        {
            (Environment.CurrentManagedThreadId == caller ? Caller : Worker).Add(part);   // one list per thread
            Thread.SpinWait(2000);
        }
    }

    /// <summary>Filler parts (<see cref="Parallelism.RunChunksLastFirst(IParallelKernel, int, int, long, int, int)"/>): each
    /// chunk and each filler part runs exactly once, a filler part as part p of the filler op's count; a thread takes
    /// filler parts only after its own block of chunks (so a chunk still stays on its core), and one thread runs the
    /// chunks last first, then the filler parts in order. An exception in a filler part reaches the caller.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void FillerParts_RunOnceEach_AfterTheThreadsOwnChunks(int threads)
    {
        const int Calls = 300, Op = 7, FillerOp = 9;
        int caller = Environment.CurrentManagedThreadId;
        WithThreads(threads, () =>
        {
            WorkerPool.ResetStalls();
            foreach (var (chunks, fillers) in new[] { (8, 5), (2, 1), (5, 3), (8, 0) })
            {
                var kernel = new OpRecorder(caller, FillerOp, fillers);
                int half = Parallelism.Range(chunks, 2, 0).End;
                for (int call = 0; call < Calls; call++)
                {
                    kernel.Clear();
                    Parallelism.RunChunksLastFirst(kernel, Op, chunks, 1L << 30, FillerOp, fillers);
                    var all = kernel.Caller.Concat(kernel.Worker).ToList();
                    string what = $"{chunks} chunks + {fillers} fillers, call {call}: caller [{string.Join(",", kernel.Caller)}], worker [{string.Join(",", kernel.Worker)}]";
                    Assert.True(all.Where(r => r.Op == Op).Select(r => r.Part).Order().SequenceEqual(Enumerable.Range(0, chunks)), what);
                    Assert.True(all.Where(r => r.Op == FillerOp).Select(r => r.Part).Order().SequenceEqual(Enumerable.Range(0, fillers)), what);
                    // one thread (or backing off): the chunks last first, then the filler parts in order
                    var inline = Enumerable.Range(0, chunks).Reverse().Select(p => (Op, p)).Concat(Enumerable.Range(0, fillers).Select(p => (FillerOp, p)));
                    if (threads == 1) Assert.True(kernel.Caller.Select(r => (r.Op, r.Part)).SequenceEqual(inline), what);
                    if (kernel.Worker.Count == 0 && kernel.Caller.Select(r => (r.Op, r.Part)).SequenceEqual(inline)) continue;
                    AssertOwnChunksBeforeFillers(kernel.Caller, 0, half, Op, what);
                    AssertOwnChunksBeforeFillers(kernel.Worker, half, chunks, Op, what);
                }
            }
            var thrower = new OpRecorder(caller, FillerOp, 3) { ThrowAtFiller = 2 };
            var error = Assert.Throws<InvalidOperationException>(() => Parallelism.RunChunksLastFirst(thrower, Op, 4, 1L << 30, FillerOp, 3));
            Assert.Equal("filler 2", error.Message);
            WorkerPool.ResetStalls();
        });
    }

    /// <summary>A thread's parts in order: chunks of its own block [home, homeEnd), then filler parts, then other threads'
    /// chunks (each run possibly empty).</summary>
    private static void AssertOwnChunksBeforeFillers(List<(int Op, int Part)> seq, int home, int homeEnd, int op, string what)
    {
        int phase = 0;   // 0 own chunks, 1 filler parts, 2 stolen chunks
        foreach (var (o, p) in seq)
        {
            int now = o != op ? 1 : p >= home && p < homeEnd ? 0 : 2;
            Assert.True(now >= phase, $"{what}: a thread's parts out of order (own chunks, then filler parts, then the others' chunks)");
            phase = now;
        }
    }

    /// <summary>Each part's op, number and thread; a filler part checks the part count it is given.</summary>
    private sealed class OpRecorder(int caller, int fillerOp, int fillers) : IParallelKernel
    {
        public readonly List<(int Op, int Part)> Caller = [], Worker = [];
        public int ThrowAtFiller { get; init; } = -1;

        public void Clear()
        {
            Caller.Clear();
            Worker.Clear();
        }

        public void RunPart(int op, int part, int parts)
        {
            if (op == fillerOp)
            {
                if (parts != fillers) throw new InvalidOperationException($"filler part {part} given {parts} parts, not {fillers}");
                if (part == ThrowAtFiller) throw new InvalidOperationException($"filler {part}");
            }
            (Environment.CurrentManagedThreadId == caller ? Caller : Worker).Add((op, part));   // one list per thread
            Thread.SpinWait(op == fillerOp ? 500 : 2000);
        }
    }

    [Fact]
    public void AnExceptionInAPart_ReachesTheCaller_AndThePoolStillWorks()
    {
        var kernel = new Recorder(2, 2) { ThrowAtPart = 1 };
        WithThreads(2, () =>
        {
            var error = Assert.Throws<InvalidOperationException>(() => Parallelism.Run(kernel, 7, 2));
            Assert.Equal("part 1", error.Message);
            kernel.ThrowAtPart = -1;
            kernel.Call = 1;
            Parallelism.Run(kernel, 7, 2);
        });
        Assert.Equal(1, kernel.Runs[1, 0]);
        Assert.Equal(1, kernel.Runs[1, 1]);
    }
}
