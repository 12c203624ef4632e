using NetGen;
using NetGen.Tests.Networks;

namespace NetGen.Tests;

/// <summary>Double precision, two kernel-computed Dense layers (10 × 12 and 12 × 7 multiply-adds exceed the unroll
/// threshold): TrainStep fuses a plain SGD step.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(10)]
[Dense(12), Tanh]
[Dense(7)]
public partial class FusableDoubleMlp;

/// <summary>The same shape with an L2 penalty on the first layer: its gradient is added to the whole gradient buffer
/// after backpropagation, so TrainStep never fuses.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(10)]
[Dense(12, L2 = 0.01), Tanh]
[Dense(7)]
public partial class PenalisedDoubleMlp;

/// <summary>
/// TrainStep with a plain <see cref="Sgd"/> applies θ ← θ − η·∂E/∂θ inside the backward pass (the fused step). It must
/// give what the unfused path gives — ZeroGradients, Forward, Loss, Backward, optimizer.Step — on Dense and Conv2D
/// networks, float and double, ragged shapes, batches of one and several samples, one and two threads; it counts
/// the step, and it leaves <see cref="INetwork{T}.Gradients"/> as it was. Every other optimiser, and networks that
/// cannot fuse, keep the unfused path. Runs alone: it changes <see cref="Parallelism.MaxThreads"/>.
/// </summary>
[Collection(nameof(ThreadsCollection))]
public class FusedSgdTests
{
    private static T[] Data<T>(int count, int seed) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var random = new SeededRandom(seed);
        var values = new T[count];
        for (int i = 0; i < count; i++) values[i] = T.CreateChecked(2 * random.NextDouble() - 1);
        return values;
    }

    private static int[] Labels(int count, int classes, int seed)
    {
        var random = new SeededRandom(seed);
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = (int)(random.NextDouble() * classes);
        return labels;
    }

    /// <summary>Three steps of a fresh network (same seed) each way: fused TrainStep, and the documented unfused
    /// sequence with a second Sgd that does not fuse. Returns both parameter vectors, both loss sequences, the fused
    /// network's gradients and both optimisers.</summary>
    private static (T[] Fused, T[] Unfused, T[] FusedLosses, T[] UnfusedLosses, T[] FusedGradients, Sgd A, Sgd B) Compare<T>(
        Func<INetwork<T>> create, int batch, bool labels, double learningRate, int threads)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            INetwork<T> fused = create(), unfused = create();
            var a = new Sgd(learningRate);
            var b = new Sgd(learningRate) { FuseIntoBackward = false };
            var fusedLosses = new T[3];
            var unfusedLosses = new T[3];
            for (int s = 0; s < 3; s++)
            {
                T[] x = Data<T>(batch * fused.InputSize, 10 + s);
                T[] target = Data<T>(batch * fused.OutputSize, 20 + s);
                int[] classes = Labels(batch, fused.OutputSize, 30 + s);
                fusedLosses[s] = labels ? fused.TrainStep(x, classes, a, batch) : fused.TrainStep(x, target, a, batch);

                unfused.ZeroGradients();
                unfused.Forward(x, batch);
                unfusedLosses[s] = labels ? unfused.Loss(classes) : unfused.Loss(target);
                if (labels) unfused.Backward(classes);
                else unfused.Backward(target);
                b.Step<T>(unfused.Parameters, unfused.Gradients);
            }
            return (fused.Parameters.ToArray(), unfused.Parameters.ToArray(), fusedLosses, unfusedLosses, fused.Gradients.ToArray(), a, b);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private static void AssertSame<T>(string name, Func<INetwork<T>> create, int batch, bool labels, int threads)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var initial = create().Parameters.ToArray();
        var (fused, unfused, fusedLosses, unfusedLosses, gradients, a, b) = Compare(create, batch, labels, 0.05, threads);
        Assert.Equal(unfusedLosses, fusedLosses);
        // The fused step forms each gradient in the same order and applies θ + (−η)·g with the same two roundings as
        // Sgd.Step, so the results are not merely close: they are the same numbers.
        for (int k = 0; k < fused.Length; k++)
            Assert.True(fused[k] == unfused[k], $"{name}, batch {batch}, {threads} thread(s): parameter {k}: fused {fused[k]}, unfused {unfused[k]}");
        // Every trainable layer moved (the comparison would prove nothing otherwise).
        int moved = 0;
        for (int k = 0; k < fused.Length; k++) if (fused[k] != initial[k]) moved++;
        Assert.True(moved > fused.Length / 2, $"{name}: only {moved} of {fused.Length} parameters moved");
        Assert.Equal(3, a.Iterations);
        Assert.Equal(3, b.Iterations);
        // A fused step neither zeros nor writes the gradient buffer: a fresh network's stays all zeros.
        Assert.All(gradients, g => Assert.Equal(T.Zero, g));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 1)]
    [InlineData(16, 1)]
    [InlineData(512, 2)]   // 512 × 13 × 37 multiply-adds: the Dense kernels split across two threads
    public void Dense_FusedStepEqualsUnfused(int batch, int threads) =>
        AssertSame<float>(nameof(RaggedDense), () => new RaggedDense(batch, seed: 3), batch, labels: false, threads);

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void DenseDouble_FusedStepEqualsUnfused(int batch) =>
        AssertSame<double>(nameof(FusableDoubleMlp), () => new FusableDoubleMlp(batch, seed: 4), batch, labels: false, threads: 1);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 1)]
    [InlineData(16, 2)]   // the convolutions split the samples across two threads
    public void Conv2D_FusedStepEqualsUnfused(int batch, int threads) =>
        AssertSame<float>(nameof(SplitCnn), () => new SplitCnn(batch, seed: 5), batch, labels: true, threads);

    [Theory]
    [InlineData(2, 1)]
    [InlineData(8, 2)]
    public void LeNet_FusedStepEqualsUnfused(int batch, int threads) =>
        AssertSame<float>(nameof(LeNet), () => new LeNet(batch, seed: 6), batch, labels: true, threads);

    [Fact]
    public void FusedStep_LeavesTheGradientsAsTheyWere()
    {
        var net = new SplitCnn(2, seed: 7);
        float[] x = Data<float>(2 * SplitCnn.InputSize, 1);
        int[] labels = [3, 8];
        net.Forward(x, 2);
        net.Backward(labels);
        float[] before = net.Gradients.ToArray();
        Assert.Contains(before, g => g != 0);
        float[] parameters = net.Parameters.ToArray();

        net.TrainStep(x, labels, new Sgd(0.1), 2);
        Assert.Equal(before, net.Gradients.ToArray());
        Assert.NotEqual(parameters, net.Parameters.ToArray());
    }

    public static TheoryData<string> UnfusedOptimizers() => ["momentum", "weight decay", "clip norm", "clip value", "FuseIntoBackward = false", "adam"];

    private static IOptimizer Create(string name) => name switch
    {
        "momentum" => new Sgd(0.05, momentum: 0.9),
        "weight decay" => new Sgd(0.05, weightDecay: 0.01),
        "clip norm" => new Sgd(0.05) { ClipNorm = 100 },
        "clip value" => new Sgd(0.05) { ClipValue = 100 },
        "FuseIntoBackward = false" => new Sgd(0.05) { FuseIntoBackward = false },
        _ => new Adam(0.01),
    };

    /// <summary>Any other optimiser (or a plain Sgd told not to fuse) gets the step's gradients in Gradients and
    /// updates from them, as before.</summary>
    [Theory]
    [MemberData(nameof(UnfusedOptimizers))]
    public void OtherOptimizers_SeeTheStepsGradients(string name)
    {
        var stepped = new RaggedDense(3, seed: 8);
        var manual = new RaggedDense(3, seed: 8);
        float[] x = Data<float>(3 * RaggedDense.InputSize, 2), target = Data<float>(3 * RaggedDense.OutputSize, 3);
        var optimizer = Create(name);
        stepped.TrainStep(x, target, optimizer, 3);

        manual.Forward(x, 3);
        manual.Backward(target);
        Assert.Contains(manual.Gradients.ToArray(), g => g != 0);
        Assert.Equal(manual.Gradients.ToArray(), stepped.Gradients.ToArray());
        Create(name).Step<float>(manual.Parameters, manual.Gradients);
        Assert.Equal(manual.Parameters.ToArray(), stepped.Parameters.ToArray());
    }

    /// <summary>Networks that cannot fuse — unrolled Dense layers, an L1/L2 penalty — take the unfused path with a
    /// plain Sgd too: Gradients holds the step's gradients afterwards.</summary>
    [Fact]
    public void UnrolledOrPenalisedNetworks_DoNotFuse()
    {
        var worked = new WorkedExample();
        double[] x = [0.05, 0.10], target = [0.01, 0.99];
        worked.TrainStep(x, target, new Sgd(0.5));
        Assert.Contains(worked.Gradients.ToArray(), g => g != 0);

        var penalised = new PenalisedDoubleMlp(2, seed: 9);
        var reference = new PenalisedDoubleMlp(2, seed: 9);
        double[] px = Data<double>(20, 4), pt = Data<double>(14, 5);
        penalised.TrainStep(px, pt, new Sgd(0.05), 2);
        reference.Forward(px, 2);
        reference.Backward(pt);
        Assert.Equal(reference.Gradients.ToArray(), penalised.Gradients.ToArray());
    }

    [Fact]
    public void FusedStep_ChecksTheParameterCountAsStepDoes()
    {
        var sgd = new Sgd(0.1);
        new RaggedDense(1).TrainStep(Data<float>(13, 1), Data<float>(5, 2), sgd);
        Assert.Equal(1, sgd.Iterations);
        var error = Assert.Throws<InvalidOperationException>(() => new SplitCnn(1).TrainStep(Data<float>(SplitCnn.InputSize, 1), [1], sgd));
        Assert.Contains("first used on", error.Message);
        Assert.Equal(1, sgd.Iterations);
    }

    [Fact]
    public void TryBeginFusedStep_OnlyForPlainSgd()
    {
        Assert.True(new Sgd(0.25).TryBeginFusedStep<float>(10, out float rate));
        Assert.Equal(-0.25f, rate);
        foreach (var name in new[] { "momentum", "weight decay", "clip norm", "clip value", "FuseIntoBackward = false" })
        {
            var sgd = (Sgd)Create(name);
            Assert.False(sgd.TryBeginFusedStep<double>(10, out double none), name);
            Assert.Equal(0, none);
            Assert.Equal(0, sgd.Iterations);
        }
    }
}
