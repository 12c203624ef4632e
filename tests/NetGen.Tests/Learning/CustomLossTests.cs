using System.Numerics;

namespace NetGen.Tests.Learning;

// One small double-precision network per built-in loss, for comparing the generated loss path with the same loss as
// an ILoss object (BuiltInLoss) run through Forward + Backward(outputGradient).
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3)]
public partial class CustomLossHalfSquared;

[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3)]
public partial class CustomLossMse;

[Network(Loss = LossFunction.MeanAbsoluteError, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3)]
public partial class CustomLossMae;

[Network(Loss = LossFunction.SumSquaredError, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3)]
public partial class CustomLossSse;

[Network(Loss = LossFunction.SumAbsoluteError, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3)]
public partial class CustomLossSae;

[Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3), Sigmoid]
public partial class CustomLossBce;

[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3), Softmax]
public partial class CustomLossSoftmaxCe;

[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3)]
public partial class CustomLossLogitsCe;

[Network(Loss = LossFunction.MulticlassHinge, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3)]
public partial class CustomLossHinge;

[Network(Loss = LossFunction.MulticlassSquaredHinge, Precision = Precision.Double)]
[Input(4)] [Dense(5), Tanh] [Dense(3)]
public partial class CustomLossSquaredHinge;

/// <summary>Convolution, batch norm and an L2 penalty: the penalty must be added on the custom-loss path too.</summary>
[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]
[Input(1, 6, 6)] [Conv2D(2, Kernel = 3), BatchNorm, ReLU] [Flatten] [Dense(3, L2 = 0.01), Softmax]
public partial class CustomLossConvL2;

public class CustomLossTests
{
    public static TheoryData<string> Networks => new()
    {
        nameof(CustomLossHalfSquared), nameof(CustomLossMse), nameof(CustomLossMae), nameof(CustomLossSse), nameof(CustomLossSae),
        nameof(CustomLossBce), nameof(CustomLossSoftmaxCe), nameof(CustomLossLogitsCe), nameof(CustomLossHinge),
        nameof(CustomLossSquaredHinge), nameof(CustomLossConvL2),
    };

    private static (INetwork<double> Net, LossFunction Loss, bool Logits) Make(string name, int seed) => name switch
    {
        nameof(CustomLossHalfSquared) => (new CustomLossHalfSquared(maxBatch: 8, seed: seed), LossFunction.HalfSquaredError, false),
        nameof(CustomLossMse) => (new CustomLossMse(maxBatch: 8, seed: seed), LossFunction.MeanSquaredError, false),
        nameof(CustomLossMae) => (new CustomLossMae(maxBatch: 8, seed: seed), LossFunction.MeanAbsoluteError, false),
        nameof(CustomLossSse) => (new CustomLossSse(maxBatch: 8, seed: seed), LossFunction.SumSquaredError, false),
        nameof(CustomLossSae) => (new CustomLossSae(maxBatch: 8, seed: seed), LossFunction.SumAbsoluteError, false),
        nameof(CustomLossBce) => (new CustomLossBce(maxBatch: 8, seed: seed), LossFunction.BinaryCrossEntropy, false),
        nameof(CustomLossSoftmaxCe) => (new CustomLossSoftmaxCe(maxBatch: 8, seed: seed), LossFunction.CrossEntropy, false),
        nameof(CustomLossLogitsCe) => (new CustomLossLogitsCe(maxBatch: 8, seed: seed), LossFunction.CrossEntropy, true),
        nameof(CustomLossHinge) => (new CustomLossHinge(maxBatch: 8, seed: seed), LossFunction.MulticlassHinge, false),
        nameof(CustomLossSquaredHinge) => (new CustomLossSquaredHinge(maxBatch: 8, seed: seed), LossFunction.MulticlassSquaredHinge, false),
        nameof(CustomLossConvL2) => (new CustomLossConvL2(maxBatch: 8, seed: seed), LossFunction.CrossEntropy, false),
        _ => throw new ArgumentException(name),
    };

    private static (double[] X, double[] Y) Batch(INetwork<double> net, LossFunction loss, int batch, int seed)
    {
        var rng = new SeededRandom(seed);
        var x = new double[batch * net.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() * 2 - 1;
        var y = new double[batch * net.OutputSize];
        bool classes = loss is LossFunction.CrossEntropy or LossFunction.MulticlassHinge or LossFunction.MulticlassSquaredHinge;
        for (int n = 0; n < batch; n++)
            if (classes) y[n * net.OutputSize + rng.NextInt(net.OutputSize)] = 1;
            else for (int j = 0; j < net.OutputSize; j++) y[n * net.OutputSize + j] = loss == LossFunction.BinaryCrossEntropy ? rng.NextDouble() : rng.NextDouble() * 2 - 1;
        return (x, y);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void BuiltInLossThroughILossGivesTheGeneratedGradientsAndSteps(string name)
    {
        var (generated, function, logits) = Make(name, seed: 7);
        var (custom, _, _) = Make(name, seed: 7);
        var loss = new BuiltInLoss<double>(function, logits);
        var (x, y) = Batch(generated, function, batch: 5, seed: 11);

        // Gradients of one batch.
        generated.ZeroGradients();
        generated.Forward(x, 5);
        double expectedLoss = generated.Loss(y);
        generated.Backward(y);
        custom.ZeroGradients();
        custom.Forward(x, 5);
        double lossValue = custom.Backward(loss, y, 5, []);
        Assert.Equal(expectedLoss, lossValue, 1e-12);
        Assert.Equal(expectedLoss, custom.Loss(loss, y, 5), 1e-12);
        double scale = MaxAbs(generated.Gradients);
        Assert.True(scale > 1e-6, "the batch must have a nonzero gradient");
        Assert.True(MaxDiff(generated.Gradients, custom.Gradients) <= 1e-12 * Math.Max(1, scale),
            $"{name}: max gradient difference {MaxDiff(generated.Gradients, custom.Gradients):E3} (scale {scale:E3})");

        // Ten Adam steps on each path: the same parameters afterwards.
        var adamA = new Adam(0.01);
        var adamB = new Adam(0.01);
        for (int step = 0; step < 10; step++)
        {
            double a = generated.TrainStep(x, y, adamA, 5);
            double b = custom.TrainStep(x, y, loss, adamB, 5);
            Assert.Equal(a, b, 1e-11);
        }
        // Adam divides by √v, which magnifies the last-bit differences of the softmax route (−t/p through Softmax vs p − t).
        Assert.True(MaxDiff(generated.Parameters, custom.Parameters) <= 1e-9, $"{name}: parameters differ by {MaxDiff(generated.Parameters, custom.Parameters):E3}");
    }

    [Fact]
    public void FitWithABuiltInLossObjectEqualsFitWithTheDeclaredLoss()
    {
        var (a, _, _) = Make(nameof(CustomLossSoftmaxCe), 3);
        var (b, _, _) = Make(nameof(CustomLossSoftmaxCe), 3);
        var rng = new SeededRandom(5);
        var features = new double[64 * 4];
        var labels = new int[64];
        for (int n = 0; n < 64; n++)
        {
            labels[n] = rng.NextInt(3);
            for (int j = 0; j < 4; j++) features[n * 4 + j] = rng.NextDouble() + (j == labels[n] ? 1 : 0);
        }
        var data = new Dataset<double>(features, 4, labels, 3);
        var ha = Trainer.Fit(a, data, 3, 8, new Sgd(0.1), validationSplit: 0.25, verbose: 0);
        var hb = Trainer.Fit(b, data, 3, 8, new Sgd(0.1), validationSplit: 0.25, verbose: 0, loss: new BuiltInLoss<double>(LossFunction.CrossEntropy));
        for (int e = 0; e < 3; e++)
        {
            Assert.Equal(ha.Loss[e], hb.Loss[e], 1e-12);
            Assert.Equal(ha.ValidationLoss[e], hb.ValidationLoss[e], 1e-12);
            Assert.Equal(ha.ValidationAccuracy[e], hb.ValidationAccuracy[e]);
        }
        Assert.True(ha.Loss[2] < ha.Loss[0]);
        Assert.True(MaxDiff(a.Parameters, b.Parameters) <= 1e-12);
    }

    /// <summary>A loss whose targets are not one per output: the squared distance of each sample's output sum to one
    /// target value. Fit must accept 1 target per sample, skip accuracy and feed output metrics.</summary>
    private sealed class SumLoss : ILoss<double>
    {
        public string Name => "sum";

        public int TargetSize(int outputSize) => 1;

        public double Value(ReadOnlySpan<double> output, ReadOnlySpan<double> target, int batch)
        {
            NetworkLoss.CheckSpans(this, output, target, batch);
            int m = output.Length / batch;
            double e = 0;
            for (int n = 0; n < batch; n++)
            {
                double s = 0;
                for (int j = 0; j < m; j++) s += output[n * m + j];
                e += (s - target[n]) * (s - target[n]);
            }
            return e / batch;
        }

        public double ValueAndGradient(ReadOnlySpan<double> output, ReadOnlySpan<double> target, int batch, Span<double> gradient)
        {
            int m = output.Length / batch;
            for (int n = 0; n < batch; n++)
            {
                double s = 0;
                for (int j = 0; j < m; j++) s += output[n * m + j];
                for (int j = 0; j < m; j++) gradient[n * m + j] = 2 * (s - target[n]) / batch;
            }
            return Value(output, target, batch);
        }
    }

    private sealed class MeanAbsoluteSumError : IOutputMetric<double>
    {
        private double _sum;
        private long _count;
        public string Name => "sum_mae";
        public void Reset() => (_sum, _count) = (0, 0);
        public void Update(ReadOnlySpan<double> outputs, ReadOnlySpan<double> targets, int batch)
        {
            int m = outputs.Length / batch;
            for (int n = 0; n < batch; n++)
            {
                double s = 0;
                for (int j = 0; j < m; j++) s += outputs[n * m + j];
                _sum += Math.Abs(s - targets[n]);
            }
            _count += batch;
        }
        public double Result => _count == 0 ? 0 : _sum / _count;
    }

    [Fact]
    public void FitTrainsACustomLossWithOtherTargetShapesAndLogsOutputMetrics()
    {
        var net = new CustomLossMse(maxBatch: 8, seed: 1);
        var rng = new SeededRandom(2);
        var x = new double[80 * 4];
        var t = new double[80];
        for (int n = 0; n < 80; n++)
        {
            for (int j = 0; j < 4; j++) x[n * 4 + j] = rng.NextDouble();
            t[n] = x[n * 4] - x[n * 4 + 1];
        }
        var data = new Dataset<double>(x, 4, t, 1);
        var h = Trainer.Fit(net, data, 20, 8, new Adam(0.01), verbose: 0, validationSplit: 0.2, loss: new SumLoss(), outputMetrics: [new MeanAbsoluteSumError()]);
        Assert.False(h.Contains("accuracy"));
        Assert.True(h["val_sum_mae"][19] < 0.5 * h["val_sum_mae"][0], $"val_sum_mae {h["val_sum_mae"][0]} -> {h["val_sum_mae"][19]}");
        Assert.True(h.Loss[19] < h.Loss[0]);
        var eval = Trainer.Evaluate(net, data, new SumLoss(), [new MeanAbsoluteSumError()]);
        Assert.True(eval["sum_mae"] > 0 && eval["loss"] > 0);

        var wrong = new Dataset<double>(x, 4, new double[160], 2);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, wrong, 1, 8, new Sgd(0.1), verbose: 0, loss: new SumLoss()));
        Assert.Contains("the loss sum takes 1 target values per sample", e.Message);
    }

    [Fact]
    public void ACustomLossStepDoesNotAllocateAfterTheFirst()
    {
        var net = new CustomLossConvL2(maxBatch: 8, seed: 1);
        var loss = new BuiltInLoss<double>(LossFunction.CrossEntropy);
        var (x, y) = Batch(net, LossFunction.CrossEntropy, 8, 3);
        var sgd = new Sgd(0.01);
        net.TrainStep(x, y, loss, sgd, 8);
        var net2 = new CustomLossSoftmaxCe(maxBatch: 8, seed: 1);
        var (x2, y2) = Batch(net2, LossFunction.CrossEntropy, 8, 3);
        net2.TrainStep(x2, y2, loss, sgd = new Sgd(0.01), 8);
        long least = long.MaxValue;
        for (int round = 0; round < 5 && least > 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++) net2.TrainStep(x2, y2, loss, sgd, 8);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
    }

    private static double MaxAbs(ReadOnlySpan<double> a)
    {
        double m = 0;
        foreach (double v in a) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    private static double MaxDiff(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
