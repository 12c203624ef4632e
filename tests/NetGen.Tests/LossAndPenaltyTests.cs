using System.Reflection;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests;

/// <summary>The Module 2 losses (sum reductions, multiclass hinge) and per-layer L1/L2 penalties: values by hand,
/// gradients by central differences.</summary>
public class LossAndPenaltyTests
{
    private const string Source = """
        using NetGen;
        namespace Penalties;
        [Network(Loss = LossFunction.MulticlassHinge, Precision = Precision.Double)]
        [Input(4)] [Dense(3)]
        public partial class Svm;
        [Network(Loss = LossFunction.MulticlassSquaredHinge, Precision = Precision.Double)]
        [Input(4)] [Dense(5), Tanh] [Dense(3)]
        public partial class SquaredSvm;
        [Network(Loss = LossFunction.SumSquaredError, Precision = Precision.Double)]
        [Input(3)] [Dense(4, L2 = 0.01), Sigmoid] [Dense(2, L1 = 0.003)]
        public partial class RegularizedRegressor;
        [Network(Loss = LossFunction.SumAbsoluteError, Precision = Precision.Double, UnrollThreshold = 0)]
        [Input(3)] [Dense(4, L1 = 0.02, L2 = 0.05), Tanh] [Dense(2)]
        public partial class L1Regressor;
        [Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]
        [Input(1, 5, 5)] [Conv2D(2, Kernel = 3, L2 = 0.1), ReLU] [Flatten] [Dense(3), Softmax]
        public partial class RegularizedConv;
        """;

    private static readonly Lazy<Assembly> Compiled = new(() => GeneratorHarness.CompileAndLoad(Source));

    public static TheoryData<string> Networks => new() { "Svm", "SquaredSvm", "RegularizedRegressor", "L1Regressor", "RegularizedConv" };

    [Theory]
    [MemberData(nameof(Networks))]
    public void GradientIncludingPenaltiesMatchesFiniteDifferences(string name)
    {
        const int batch = 3;
        var net = GeneratorHarness.Create<double>(Compiled.Value, "Penalties." + name, batch, seed: 5);
        int inSize = net.Parameters.Length > 0 ? InputSize(net) : 0, outSize = OutputSize(net);
        var random = new SeededRandom(11);
        var input = new double[batch * inSize];
        for (int i = 0; i < input.Length; i++) input[i] = random.NextDouble(-1, 1);
        var target = new double[batch * outSize];
        bool classes = name.Contains("Svm") || name.Contains("Conv");
        for (int n = 0; n < batch; n++)
            for (int j = 0; j < outSize; j++)
                target[n * outSize + j] = classes ? (j == (n + 1) % outSize ? 1 : 0) : random.NextDouble(-0.5, 0.5);
        // Spread the weights so several hinge margins are violated and none sits on a kink.
        for (int i = 0; i < net.Parameters.Length; i++) net.Parameters[i] = random.NextDouble(-1, 1);

        net.ZeroGradients();
        net.Forward(input, batch);
        net.Backward(target);
        double[] analytic = net.Gradients.ToArray();
        const double h = 1e-6;
        for (int i = 0; i < analytic.Length; i++)
        {
            double keep = net.Parameters[i];
            net.Parameters[i] = keep + h; net.Forward(input, batch); double up = net.Loss(target);
            net.Parameters[i] = keep - h; net.Forward(input, batch); double down = net.Loss(target);
            net.Parameters[i] = keep;
            double numeric = (up - down) / (2 * h);
            double error = Math.Abs(analytic[i] - numeric) / Math.Max(Math.Abs(analytic[i]) + Math.Abs(numeric), 1e-8);
            Assert.True(error < 1e-6, $"{name} parameter {i}: analytic {analytic[i]}, numeric {numeric}, relative error {error:E2}");
        }
    }

    [Fact]
    public void HingeLossMatchesTheLecturesHandExample()
    {
        // CS231n's example: scores for (cat, car, frog) of a cat image are 3.2, 5.1, −1.7:
        // L = max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9 + 0 = 2.9.
        double[] scores = [3.2, 5.1, -1.7], target = [1, 0, 0];
        Assert.Equal(2.9, Losses.MulticlassHinge<double>(scores, target, 1), 12);
        Assert.Equal(2.9 * 2.9, Losses.MulticlassHinge<double>(scores, target, 1, squared: true), 12);
        var g = new double[3];
        Losses.MulticlassHingeGradient<double>(scores, target, 1, g);
        Assert.Equal([-1.0, 1.0, 0.0], g);
    }

    [Fact]
    public void CrossEntropyOnProbabilitiesMatchesTheLectureAndTheLogitsForm()
    {
        // The lecture: E = −(0·ln 0.2 + 1·ln 0.3 + 0·ln 0.5) = 1.204.
        double[] p = [0.2, 0.3, 0.5], t = [0, 1, 0];
        Assert.Equal(1.2039728043, Losses.CrossEntropy<double>(p, t, 1), 10);

        // On softmax(z) it is CrossEntropyWithLogits(z), averaged over the batch; soft targets weight each log.
        double[] z = [3.2, 5.1, -1.7, 0.5, -0.25, 1.0], soft = [1, 0, 0, 0.2, 0.3, 0.5];
        var probabilities = new double[6];
        for (int n = 0; n < 2; n++)
        {
            double lse = Losses.LogSumExp<double>(z.AsSpan(n * 3, 3));
            for (int j = 0; j < 3; j++) probabilities[n * 3 + j] = Math.Exp(z[n * 3 + j] - lse);
        }
        Assert.Equal(Losses.CrossEntropyWithLogits<double>(z, soft, 2), Losses.CrossEntropy<double>(probabilities, soft, 2), 12);

        // Gradient: central differences on the probabilities (each moved alone).
        var g = new double[6];
        Losses.CrossEntropyGradient<double>(probabilities, soft, 2, g);
        const double h = 1e-7;
        for (int i = 0; i < 6; i++)
        {
            double keep = probabilities[i];
            probabilities[i] = keep + h; double up = Losses.CrossEntropy<double>(probabilities, soft, 2);
            probabilities[i] = keep - h; double down = Losses.CrossEntropy<double>(probabilities, soft, 2);
            probabilities[i] = keep;
            Assert.Equal((up - down) / (2 * h), g[i], 5);
        }
        // ∂E/∂p = −t/p: only the target class's probability is pushed, by −1/0.3.
        Assert.Equal([0.0, -1 / 0.3, 0.0], Gradient(p, t));
    }

    [Fact]
    public void CrossEntropyOnProbabilitiesIsFiniteAtZeroKeepsNaNAndRejectsWrongLengths()
    {
        // ln 0 is clamped at −100 (as BCELoss), so a confident wrong answer costs 100, not infinity.
        Assert.Equal(100.0, Losses.CrossEntropy<double>([0.0, 1.0], [1.0, 0.0], 1));
        Assert.True(double.IsNaN(Losses.CrossEntropy<double>([double.NaN, 1.0], [0.0, 1.0], 1)), "a NaN probability must not vanish");
        var length = Assert.Throws<ArgumentException>(() => Losses.CrossEntropy<double>([0.2, 0.3, 0.5], [0.0, 1.0], 1));
        Assert.Contains("target has 2 values but probabilities has 3", length.Message);
        var rows = Assert.Throws<ArgumentException>(() => Losses.CrossEntropy<double>([0.2, 0.3, 0.5], [0.0, 1.0, 0.0], 2));
        Assert.Contains("probabilities has 3 values, which is not 2 (batch) rows", rows.Message);
        var gradient = Assert.Throws<ArgumentException>(() => Losses.CrossEntropyGradient<double>([0.2, 0.3, 0.5], [0.0, 1.0, 0.0], 1, new double[2]));
        Assert.Contains("gradient has 2 values", gradient.Message);
    }

    private static double[] Gradient(double[] p, double[] t)
    {
        var g = new double[p.Length];
        Losses.CrossEntropyGradient<double>(p, t, 1, g);
        return g;
    }

    [Fact]
    public void PenaltiesEnterTheLossExactly()
    {
        var net = GeneratorHarness.Create<double>(Compiled.Value, "Penalties.RegularizedRegressor", 1);
        double[] input = [0.1, 0.2, 0.3], target = [0.5, -0.5];
        net.Forward(input);
        double data = Losses.SumSquaredError<double>(net.Output, target);
        var first = net.Tensors.Single(t => t.Name == "Dense1Weights");
        var second = net.Tensors.Single(t => t.Name == "Dense2Weights");
        double l2 = net.Parameters.Slice(first.Offset, first.Length).ToArray().Sum(w => w * w);
        double l1 = net.Parameters.Slice(second.Offset, second.Length).ToArray().Sum(Math.Abs);
        Assert.Equal(data + 0.01 * l2 + 0.003 * l1, net.Loss(target), 12);
    }

    [Fact]
    public void ASingleOutputTakesBinaryLabels()
    {
        var net = new NetGen.Tests.Networks.XorNet(maxBatch: 2);
        net.Forward([0, 1, 1, 1], 2);
        Assert.Equal(net.Loss(new double[] { 1, 0 }), net.Loss(new[] { 1, 0 }));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => net.Loss(new[] { 2, 0 }));
        Assert.Contains("binary labels 0 and 1", error.Message);
    }

    private static int InputSize(INetwork<double> net) => (int)net.GetType().GetField("InputSize")!.GetValue(null)!;

    private static int OutputSize(INetwork<double> net) => (int)net.GetType().GetField("OutputSize")!.GetValue(null)!;
}
