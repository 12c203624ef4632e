using NetGen.Tests.Infrastructure;

namespace NetGen.Tests;

/// <summary>
/// Central-difference gradient checks (double) for every sequence layer — SimpleRNN (tanh, ReLU), GRU, LSTM, one and two
/// directions, every step or the last one out, stacked, Embedding, a Dense at every step, the per-step Softmax and
/// loss — and the stateful step API and the Embedding id checks (the GPU kernels: Gpu/GpuRecurrentTests).
/// </summary>
public sealed class RecurrentTests
{
    private const string Ns = "NetGen.Tests.RecurrentChecks";

    private static readonly (string Name, string Declaration)[] Checks =
    [
        ("RnnTanhLast", "[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)][Input(4, 3)][SimpleRNN(3)]"),
        ("RnnReluSeq", "[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)][Input(3, 2)][SimpleRNN(4, ReturnSequences = true, Activation = RecurrentActivation.ReLU)]"),
        ("GruLastDense", "[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)][Input(5, 2)][GRU(3)][Dense(2)]"),
        ("GruBiSeq", "[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)][Input(4, 2)][GRU(2, ReturnSequences = true, Bidirectional = true)]"),
        ("LstmLast", "[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)][Input(5, 3)][LSTM(3)]"),
        ("LstmBiLastSoftmax", "[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)][Input(4, 2)][LSTM(2, Bidirectional = true)][Dense(3)][Softmax]"),
        ("StackedPerStep", "[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)][Input(4, 2)][LSTM(3, ReturnSequences = true)][GRU(2, ReturnSequences = true, Bidirectional = true)][Dense(3)][Softmax]"),
        ("EmbeddingLstm", "[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)][Input(5)][Embedding(6, 3)][LSTM(4, ReturnSequences = true)][Dense(6)][Softmax]"),
        ("PerStepDenseTanh", "[Network(Loss = LossFunction.MeanAbsoluteError, Precision = Precision.Double)][Input(3, 4)][Dense(3)][Tanh][SimpleRNN(2)]"),
    ];

    private static readonly Lazy<System.Reflection.Assembly> Compiled = new(() => GeneratorHarness.CompileAndLoad(
        "using NetGen;\nnamespace " + Ns + ";\n" + string.Join("\n", Checks.Select(c => c.Declaration + $" public partial class {c.Name};"))));

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in Checks) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void GradientsMatchCentralDifferences(string name)
    {
        const int batch = 2;
        var net = GeneratorHarness.Create<double>(Compiled.Value, Ns + "." + name, maxBatch: batch, seed: 11);
        var random = new SeededRandom(name.GetHashCode(StringComparison.Ordinal) & 0xffff);
        bool ids = name.StartsWith("Embedding", StringComparison.Ordinal);
        double[] x = Enumerable.Range(0, batch * net.InputSize).Select(_ => ids ? random.NextInt(6) : random.NextDouble(-1, 1)).ToArray();
        var output = net.Forward(x, batch).ToArray();
        double[] target;
        if (name is "LstmBiLastSoftmax" or "StackedPerStep" or "EmbeddingLstm")
        {
            int classes = name == "EmbeddingLstm" ? 6 : 3;
            target = new double[output.Length];
            for (int r = 0; r < output.Length / classes; r++) target[r * classes + random.NextInt(classes)] = 1;
        }
        else target = output.Select(_ => random.NextDouble(-1, 1)).ToArray();

        net.ZeroGradients();
        net.Forward(x, batch);
        net.Backward(target);
        double[] analytic = net.Gradients.ToArray();
        // ∂E/∂x through Backward(outputGradient, inputGradient) with the loss gradient taken numerically at the output
        const double h = 1e-6;
        double Loss()
        {
            net.Forward(x, batch);
            return net.Loss(target);
        }
        var parameters = net.Parameters;
        double worst = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            double keep = parameters[i];
            parameters[i] = keep + h; double plus = Loss();
            parameters[i] = keep - h; double minus = Loss();
            parameters[i] = keep;
            double numeric = (plus - minus) / (2 * h);
            double error = Math.Abs(numeric - analytic[i]) / Math.Max(1e-3, Math.Abs(numeric) + Math.Abs(analytic[i]));
            worst = Math.Max(worst, error);
            Assert.True(error < 1e-5, $"{name}: ∂E/∂θ[{i}] analytic {analytic[i]:R}, numeric {numeric:R}");
        }
        Assert.Contains(analytic, g => Math.Abs(g) > 1e-6);

        if (ids) return;
        // Input gradient of Φ = Σ g ⊙ output for a random g.
        double[] g = output.Select(_ => random.NextDouble(-1, 1)).ToArray();
        double Phi()
        {
            var o = net.Forward(x, batch);
            double s = 0;
            for (int k = 0; k < o.Length; k++) s += g[k] * o[k];
            return s;
        }
        net.Forward(x, batch);
        var dx = new double[x.Length];
        net.Backward(g, dx);
        for (int i = 0; i < x.Length; i++)
        {
            double keep = x[i];
            x[i] = keep + h; double plus = Phi();
            x[i] = keep - h; double minus = Phi();
            x[i] = keep;
            double numeric = (plus - minus) / (2 * h);
            double error = Math.Abs(numeric - dx[i]) / Math.Max(1e-3, Math.Abs(numeric) + Math.Abs(dx[i]));
            Assert.True(error < 1e-5, $"{name}: ∂Φ/∂x[{i}] analytic {dx[i]:R}, numeric {numeric:R}");
        }
    }

    private static dynamic Create(string name, int maxBatch) =>
        Activator.CreateInstance(Compiled.Value.GetType(Ns + "." + name, throwOnError: true)!, maxBatch, 3)!;

    [Theory]
    [InlineData("EmbeddingLstm")]
    [InlineData("RnnReluSeq")]
    public void StepByStepGivesTheForwardOutputs(string name)
    {
        const int batch = 3;
        dynamic net = Create(name, batch);
        var inet = (INetwork<double>)net;
        int steps = name == "EmbeddingLstm" ? 5 : 3, stepIn = inet.InputSize / steps, stepOut = inet.OutputSize / steps;
        var random = new SeededRandom(5);
        double[] x = Enumerable.Range(0, batch * inet.InputSize).Select(_ => name == "EmbeddingLstm" ? random.NextInt(6) : random.NextDouble(-1, 1)).ToArray();
        double[] whole = inet.Forward(x, batch).ToArray();
        for (int round = 0; round < 2; round++)
        {
            net.ResetState();
            for (int t = 0; t < steps; t++)
            {
                var input = new double[batch * stepIn];
                for (int n = 0; n < batch; n++) Array.Copy(x, (n * steps + t) * stepIn, input, n * stepIn, stepIn);
                double[] y = StepOf(net, input, batch);
                Assert.Equal(batch * stepOut, y.Length);
                for (int n = 0; n < batch; n++)
                    for (int j = 0; j < stepOut; j++)
                        Assert.Equal(whole[(n * steps + t) * stepOut + j], y[n * stepOut + j], 12);
            }
        }
    }

    private static double[] StepOf(dynamic net, double[] input, int batch)
    {
        var method = ((object)net).GetType().GetMethod("Step")!;
        // ReadOnlySpan cannot be boxed for reflection: call through a typed delegate.
        var step = (StepFn)Delegate.CreateDelegate(typeof(StepFn), (object)net, method);
        return step(input, batch).ToArray();
    }

    private delegate ReadOnlySpan<double> StepFn(ReadOnlySpan<double> input, int batch);

    [Fact]
    public void LastStateOutputAfterTheLastStepEqualsForward()
    {
        dynamic net = Create("LstmLast", 2);
        var inet = (INetwork<double>)net;
        var random = new SeededRandom(8);
        double[] x = Enumerable.Range(0, 2 * inet.InputSize).Select(_ => random.NextDouble(-1, 1)).ToArray();
        double[] whole = inet.Forward(x, 2).ToArray();
        double[] y = [];
        for (int t = 0; t < 5; t++)
        {
            var input = new double[2 * 3];
            for (int n = 0; n < 2; n++) Array.Copy(x, (n * 5 + t) * 3, input, n * 3, 3);
            y = StepOf(net, input, 2);
        }
        for (int k = 0; k < whole.Length; k++) Assert.Equal(whole[k], y[k], 12);
    }

    [Fact]
    public void BidirectionalRefusesToStep()
    {
        dynamic net = Create("StackedPerStep", 1);
        var e = Assert.Throws<InvalidOperationException>(() => StepOf(net, new double[2], 1));
        Assert.Contains("bidirectional", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2.5, "is 2.5")]
    [InlineData(6.0, "0 to 5")]
    [InlineData(-1.0, "not a token id")]
    [InlineData(double.NaN, "NaN")]
    public void EmbeddingRejectsIdsThatAreNotIntegersInRange(double id, string expected)
    {
        var net = GeneratorHarness.Create<double>(Compiled.Value, Ns + ".EmbeddingLstm", maxBatch: 1, seed: 1);
        double[] x = [0, 1, 2, id, 4];
        var e = Assert.Throws<ArgumentException>(() => net.Forward(x, 1));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("sample 0, step 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParametersFollowPyTorchsLayoutAndInitialisation()
    {
        var net = GeneratorHarness.Create<double>(Compiled.Value, Ns + ".GruBiSeq", maxBatch: 1, seed: 1);
        // GRU(2) over 2 features, two directions: per direction 6×2 + 6×2 + 6 + 6 = 36.
        Assert.Equal(72, net.Parameters.Length);
        Assert.Equal(["GRU1WeightIh", "GRU1WeightHh", "GRU1BiasIh", "GRU1BiasHh", "GRU1WeightIhReverse", "GRU1WeightHhReverse", "GRU1BiasIhReverse", "GRU1BiasHhReverse"],
            net.Tensors.Select(t => t.Name).ToArray());
        Assert.Equal([6, 2], net.Tensors[0].Shape.ToArray());
        double bound = 1 / Math.Sqrt(2);
        Assert.All(net.Parameters.ToArray(), p => Assert.InRange(p, -bound, bound));
        Assert.Contains(net.Parameters.ToArray(), p => Math.Abs(p) > bound / 2);
    }
}
