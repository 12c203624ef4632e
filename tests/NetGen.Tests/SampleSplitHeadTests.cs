using NetGen;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>LeNet's convolutions alone (the network's first four parameter tensors, in the same order).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
[Flatten]
public partial class LeNetFeatures;

/// <summary>LeNet's Dense layers alone: no convolution before them, so they run over the whole batch, split by units.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(400)]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(10), Softmax]
public partial class LeNetClassifier;

/// <summary>
/// The Dense layers, ReLUs and Softmax after a sample-split convolution chain run inside its chunks (forward: a chunk's
/// rows through every unit; backward: ∂E/∂x per chunk, ∂E/∂W over the whole batch after the split). Against the same
/// layers run over the whole batch (LeNet cut in two networks with the same weights): the same bits. The Dense forward
/// kernel's Vector512 twin sums each value as one FMA chain over transposed panels from 48 rows on and in 16 lane groups
/// below (GemmEmitter.TransposedRows); the chunks (8 rows each at batch 64) read panels packed once before the split
/// from 48 samples on, so they take the form the whole batch takes. ∂E/∂x and ∂E/∂W are broadcast products (one FMA
/// chain per value whatever the rows). Checked at batch 64 and 16, at 1 and 2 threads, for training (output,
/// gradients, three SGD steps) and for inference with kept panels (repacked after a write to the weights).
/// </summary>
public class SampleSplitHeadTests(ITestOutputHelper output)
{
    private const int Features = 400, Classes = 10;

    private sealed record Result(float[] Output, float[] Gradients, float[] Parameters);

    private static (float[] X, int[] Labels, float[] Target) Data(int batch, int seed)
    {
        var random = new SeededRandom(seed);
        var x = new float[batch * 784];
        var labels = new int[batch];
        var target = new float[batch * Classes];
        for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
        for (int n = 0; n < batch; n++)
        {
            labels[n] = (int)(random.NextDouble() * Classes);
            target[n * Classes + labels[n]] = 1;
        }
        return (x, labels, target);
    }

    /// <summary>LeNet itself: the head in the chunks. Output and ∂E/∂θ of one pass, then the parameters after three
    /// fused plain-SGD steps.</summary>
    private static Result Fused(int batch, int threads)
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            var net = new NetGen.Tests.Networks.LeNet(batch, seed: 11);
            var (x, labels, _) = Data(batch, 3);
            float[] y = net.Forward(x, batch).ToArray();
            net.ZeroGradients();
            net.Backward(labels);
            float[] g = net.Gradients.ToArray();
            var sgd = new Sgd(0.05);
            for (int step = 0; step < 3; step++)
            {
                var (xs, ls, _) = Data(batch, 100 + step);
                net.TrainStep(xs, ls, sgd, batch);
            }
            return new Result(y, g, net.Parameters.ToArray());
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>The same weights in two networks: the convolutions, then the Dense layers over the whole batch; backward
    /// through both (the classifier's ∂E/∂input is the features' ∂E/∂output), SGD steps as θ ← θ − η·∂E/∂θ.</summary>
    private static Result Whole(int batch)
    {
        var lenet = new NetGen.Tests.Networks.LeNet(batch, seed: 11);
        var features = new LeNetFeatures(batch);
        var classifier = new LeNetClassifier(batch);
        int split = features.Parameters.Length;
        Assert.Equal(lenet.Parameters.Length, split + classifier.Parameters.Length);
        lenet.Parameters[..split].CopyTo(features.Parameters);
        lenet.Parameters[split..].CopyTo(classifier.Parameters);
        var dfeatures = new float[batch * Features];

        float[] Gradients(float[] x, float[] target)
        {
            classifier.Forward(features.Forward(x, batch), batch);
            features.ZeroGradients();
            classifier.ZeroGradients();
            classifier.BackwardFromTarget(target, dfeatures);
            features.Backward(dfeatures, Span<float>.Empty);
            return [.. features.Gradients, .. classifier.Gradients];
        }

        var (x0, _, t0) = Data(batch, 3);
        float[] g = Gradients(x0, t0);
        float[] y = classifier.Output.ToArray();
        for (int step = 0; step < 3; step++)
        {
            var (xs, _, ts) = Data(batch, 100 + step);
            float[] gs = Gradients(xs, ts);
            Span<float> pf = features.Parameters, pc = classifier.Parameters;
            for (int i = 0; i < pf.Length; i++) pf[i] -= 0.05f * gs[i];
            for (int i = 0; i < pc.Length; i++) pc[i] -= 0.05f * gs[split + i];
        }
        return new Result(y, g, [.. features.Parameters, .. classifier.Parameters]);
    }

    private double MaxRelative(string what, float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.True(float.IsFinite(a[i]) && float.IsFinite(b[i]), $"{what}[{i}]: {a[i]} vs {b[i]}");
            diff = Math.Max(diff, Math.Abs((double)a[i] - b[i]));
            scale = Math.Max(scale, Math.Abs((double)b[i]));
        }
        double relative = diff / (1 + scale);
        output.WriteLine($"{what}: max |chunks − whole batch| = {diff:E3}, max |whole batch| = {scale:G4}, relative {relative:E3}");
        return relative;
    }

    [Theory]
    [InlineData(64)]
    [InlineData(16)]
    public void HeadInTheChunks_MatchesTheWholeBatchLayers(int batch)
    {
        var whole = Whole(batch);
        var one = Fused(batch, 1);
        var two = Fused(batch, 2);
        // the chunks are fixed by the batch size: the same bits at 1 and 2 threads
        Assert.Equal(one.Output, two.Output);
        Assert.Equal(one.Gradients, two.Gradients);
        Assert.Equal(one.Parameters, two.Parameters);
        Assert.Equal(0, MaxRelative("output", one.Output, whole.Output));
        Assert.Equal(0, MaxRelative("∂E/∂θ", one.Gradients, whole.Gradients));
        Assert.Equal(0, MaxRelative("θ after 3 SGD steps", one.Parameters, whole.Parameters));
    }

    /// <summary>Inference: the chunks read W's panels kept between passes (packed at the first pass, reused at the
    /// second, packed again after the weights are written through <c>Parameters</c>), and give the whole-batch outputs.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void InferenceWithKeptPanels_MatchesTheWholeBatchLayers(int threads)
    {
        const int Batch = 64;
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            var lenet = new NetGen.Tests.Networks.LeNet(Batch, seed: 11) { Training = false };
            var features = new LeNetFeatures(Batch) { Training = false };
            var classifier = new LeNetClassifier(Batch) { Training = false };
            int split = features.Parameters.Length;
            var (x, _, _) = Data(Batch, 7);
            for (int round = 0; round < 2; round++)
            {
                lenet.Parameters[..split].CopyTo(features.Parameters);
                lenet.Parameters[split..].CopyTo(classifier.Parameters);
                float[] expected = classifier.Forward(features.Forward(x, Batch), Batch).ToArray();
                Assert.Equal(expected, lenet.Forward(x, Batch).ToArray());
                Assert.Equal(expected, lenet.Forward(x, Batch).ToArray());   // the kept panels
                Span<float> p = lenet.Parameters;   // a write: the next pass packs again
                for (int i = split; i < p.Length; i += 7) p[i] *= 0.5f;
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
