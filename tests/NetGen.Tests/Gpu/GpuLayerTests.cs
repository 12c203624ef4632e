using System.Numerics;
using System.Reflection;
using NetGen.Gpu;
using NetGen.Tests.Infrastructure;
using NetGen.Tests.Oracle;
using Xunit.Abstractions;

namespace NetGen.Tests.Gpu;

/// <summary>
/// Every layer's GPU kernels against the CPU path, on the emulator: the 24 random CNNs of the PyTorch oracle (Conv2D
/// with 1–3 channels, non-square kernels, stride 2, padding and RoundDown; Max/AvgPool with overlapping and strided
/// windows; BatchNorm on maps and vectors; Dropout; every activation; five losses) compiled in float, plus networks
/// for what they do not reach (the sum and hinge losses, Step, Identity, a held bias, L1/L2 penalties, Softmax without
/// cross-entropy, a first layer that is not Dense, double precision). For each: forward outputs, dropout masks,
/// batch-norm running statistics, the loss, ∂E/∂θ from the loss, ∂E/∂θ and ∂E/∂input from a given ∂E/∂output, the
/// parameters after three SGD steps (and their losses), and an inference pass, at batch 2–4.
/// </summary>
[Collection(GpuCollection.Name)]
public sealed class GpuLayerTests(GpuFixture fixture, ITestOutputHelper output)
{
    private const string Namespace = "NetGen.Tests.GpuLayers";

    /// <summary>(name, loss, batch, declaration without its class line).</summary>
    private static readonly (string Name, LossFunction Loss, int Batch, string Declaration)[] Extras =
    [
        ("SumSquaredNet", LossFunction.SumSquaredError, 3,
            "[Network(Loss = LossFunction.SumSquaredError)]\n[Input(5)]\n[Dense(6, L1 = 0.001, L2 = 0.01), LeakyReLU(0.2)]\n[Dense(3, TrainBias = false), Identity]"),
        ("SumAbsoluteNet", LossFunction.SumAbsoluteError, 2,
            "[Network(Loss = LossFunction.SumAbsoluteError)]\n[Input(4)]\n[Dense(5), Step]\n[Dense(2), Tanh]"),
        ("HingeNet", LossFunction.MulticlassHinge, 4,
            "[Network(Loss = LossFunction.MulticlassHinge)]\n[Input(6)]\n[Dense(5), Sigmoid]\n[Dense(4)]"),
        ("SquaredHingeCnn", LossFunction.MulticlassSquaredHinge, 3,
            "[Network(Loss = LossFunction.MulticlassSquaredHinge)]\n[Input(2, 7, 7)]\n[Conv2D(3, Kernel = 3, Stride = 2, L2 = 0.01), ReLU]\n[AvgPool(2, Stride = 1)]\n[Flatten]\n[Dense(4)]"),
        ("LogitsNet", LossFunction.CrossEntropy, 3,
            "[Network(Loss = LossFunction.CrossEntropy)]\n[Input(7)]\n[Dense(5, Bias = false), Tanh]\n[Dense(4)]"),
        ("SoftmaxMseNet", LossFunction.MeanSquaredError, 2,
            "[Network(Loss = LossFunction.MeanSquaredError)]\n[Input(5)]\n[Dense(4), Softmax]"),
        ("NormFirstNet", LossFunction.BinaryCrossEntropy, 4,
            "[Network(Loss = LossFunction.BinaryCrossEntropy)]\n[Input(6)]\n[BatchNorm]\n[Dense(3), Sigmoid]"),
        ("PoolFirstCnn", LossFunction.HalfSquaredError, 2,
            "[Network(Loss = LossFunction.HalfSquaredError)]\n[Input(2, 6, 6)]\n[MaxPool(2)]\n[Conv2D(2, KernelHeight = 1, KernelWidth = 2, Padding = 1), Tanh]\n[Flatten]\n[Dropout(0.3)]\n[Dense(3)]"),
        ("EluNet", LossFunction.MeanSquaredError, 3,
            "[Network(Loss = LossFunction.MeanSquaredError)]\n[Input(5)]\n[Dense(6), ELU]\n[Dense(80), Dropout(0.2), ELU(0.5)]\n[Dense(3)]"),
        ("SiluNet", LossFunction.MeanSquaredError, 3,
            "[Network(Loss = LossFunction.MeanSquaredError)]\n[Input(5)]\n[Dense(6), SiLU]\n[Dense(80), SiLU]\n[Dense(3)]"),
        ("DoubleDropoutNet", LossFunction.CrossEntropy, 3,
            "[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]\n[Input(8)]\n[Dense(6), ReLU, Dropout(0.3)]\n[Dense(3), Softmax]"),
        // The generative layers: nearest and bilinear upsampling (one of them first), transposed convolutions with
        // output padding and without bias after a Reshape, Sampling (first, and inside with β ≠ 1) and both binary
        // cross-entropies fused with their Sigmoid.
        ("UpsampleNet", LossFunction.MeanSquaredError, 3,
            "[Network(Loss = LossFunction.MeanSquaredError)]\n[Input(2, 3, 3)]\n[Upsample2D(2)]\n[Conv2D(2, Kernel = 3), Tanh]\n[Upsample2D(3, Mode = UpsampleMode.Bilinear)]\n[Flatten]\n[Dense(3)]"),
        ("TransposeNet", LossFunction.BinaryCrossEntropy, 2,
            "[Network(Loss = LossFunction.BinaryCrossEntropy)]\n[Input(6)]\n[Dense(8), BatchNorm, ReLU]\n[Reshape(2, 2, 2)]\n[Conv2DTranspose(3, Kernel = 3, Stride = 2, Padding = 1, OutputPadding = 1), ReLU]\n[Conv2DTranspose(1, Kernel = 2, Stride = 2, Bias = false), Sigmoid]"),
        ("VaeNet", LossFunction.BinaryCrossEntropySummed, 3,
            "[Network(Loss = LossFunction.BinaryCrossEntropySummed)]\n[Input(5)]\n[Dense(6), Tanh]\n[Sampling(0.5)]\n[Dense(4), Sigmoid]"),
        ("SamplingFirstNet", LossFunction.MeanSquaredError, 4,
            "[Network(Loss = LossFunction.MeanSquaredError)]\n[Input(4)]\n[Sampling]\n[Reshape(2)]\n[Dense(3)]"),
    ];

    /// <summary>Each network twice: in its own precision (float unless declared double) and as <c>{Name}Double</c>, the
    /// float64 reference the tolerance is judged against.</summary>
    private static readonly Lazy<Assembly> Compiled = new(() =>
    {
        var source = new System.Text.StringBuilder("global using System;\nusing NetGen;\n\nnamespace " + Namespace + ";\n\n");
        foreach (var (spec, _) in CnnTorchOracleTests.Networks)
        {
            string declaration = spec.Declaration();
            source.Append(declaration.Replace(", Precision = Precision.Double", "", StringComparison.Ordinal)).Append('\n');
            source.Append(declaration.Replace("class " + spec.Name + ";", "class " + spec.Name + "Double;", StringComparison.Ordinal)).Append('\n');
        }
        foreach (var extra in Extras)
        {
            source.Append(extra.Declaration).Append("\npublic partial class ").Append(extra.Name).Append(";\n\n");
            string asDouble = extra.Declaration.Contains("Precision.Double", StringComparison.Ordinal)
                ? extra.Declaration
                : extra.Declaration.Replace(")]\n[Input", ", Precision = Precision.Double)]\n[Input", StringComparison.Ordinal);
            source.Append(asDouble).Append("\npublic partial class ").Append(extra.Name).Append("Double;\n\n");
        }
        return GeneratorHarness.CompileAndLoad(gpu: true, source.ToString());
    });

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var (spec, _) in CnnTorchOracleTests.Networks) data.Add(spec.Name);
        foreach (var extra in Extras) data.Add(extra.Name);
        return data;
    }

    /// <summary>
    /// Runs one script on the CPU network, its GPU variant and the float64 CPU reference, and compares every snapshot:
    /// the GPU value must equal the CPU path's within 1e-5 relative (of the tensor's largest magnitude) — or, where float
    /// rounding makes that impossible because the CPU float path is itself further than that from float64 (a batch-norm
    /// over two samples divides by a tiny σ; a loss near zero is a difference of large terms), be no further from
    /// float64 than the CPU float path is (within 2× its error).
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void GpuKernelsEqualTheCpuPath(string network)
    {
        var assembly = Compiled.Value;
        var type = assembly.GetType(Namespace + "." + network, throwOnError: true)!;
        var reference = assembly.GetType(Namespace + "." + network + "Double", throwOnError: true)!;
        var oracle = CnnTorchOracleTests.Networks.FirstOrDefault(n => n.Spec.Name == network);
        var extra = Extras.FirstOrDefault(e => e.Name == network);
        var (loss, batch) = oracle.Spec is not null ? (oracle.Spec.Loss, oracle.Batch) : (extra.Loss, extra.Batch);
        output.WriteLine(oracle.Spec?.Declaration() ?? extra.Declaration);
        const int seed = 5;
        bool isDouble = network == "DoubleDropoutNet";

        // Parameters, state and data are drawn once, in float64, and rounded to the network's precision, so the three
        // runs start from the same values.
        var refCpu = (INetwork<double>)Activator.CreateInstance(reference, 4, seed)!;
        var random = new SeededRandom(CnnSpec.StableSeed("gpu-layers/" + network, batch));
        GpuCompare.Randomize(refCpu, random);
        var input = GpuCompare.Values<double>(batch * refCpu.InputSize, random, -1.5, 1.5);
        var outputGradient = GpuCompare.Values<double>(batch * refCpu.OutputSize, random, -1, 1);
        var cpu = isDouble ? (IRunner)new CpuRunner<double>(type, seed) : new CpuRunner<float>(type, seed);
        using var gpu = isDouble ? (IRunner)new GpuRunner<double>(type, fixture.Device, seed) : new GpuRunner<float>(type, fixture.Device, seed);
        var exact = new CpuRunner<double>(reference, seed);
        Assert.Equal(cpu.Parameters(), gpu.Parameters());   // same seed, same initial weights
        double[] parameters = Round(refCpu.Parameters.ToArray(), isDouble), state = Round(refCpu.State.ToArray(), isDouble);
        input = Round(input, isDouble);
        outputGradient = Round(outputGradient, isDouble);
        foreach (var run in new[] { cpu, gpu, exact }) run.Set(parameters, state);
        var target = Round(GpuCompare.Target<double>(loss, exact.Forward(input, batch), batch, refCpu.OutputSize, random), isDouble);

        var a = Script(cpu, input, target, outputGradient, batch);
        var b = Script(gpu, input, target, outputGradient, batch);
        var r = Script(exact, input, target, outputGradient, batch);
        double tolerance = isDouble ? GpuCompare.DoubleTolerance : GpuCompare.FloatTolerance;
        for (int k = 0; k < a.Count; k++)
        {
            var (what, cpuValues) = a[k];
            var gpuValues = b[k].Values;
            var exactValues = r[k].Values;
            if (what.EndsWith("mask", StringComparison.Ordinal))
            {
                Assert.Equal(cpuValues, gpuValues);   // dropout masks: bit for bit
                continue;
            }
            double scale = Math.Max(cpuValues.Select(Math.Abs).DefaultIfEmpty(0).Max(), 1e-30);
            double difference = MaxDifference(cpuValues, gpuValues) / scale;
            double cpuError = MaxDifference(cpuValues, exactValues) / scale, gpuError = MaxDifference(gpuValues, exactValues) / scale;
            output.WriteLine($"{what}: GPU − CPU {difference:G3}; from float64: CPU {cpuError:G3}, GPU {gpuError:G3}");
            Assert.True(gpuValues.All(double.IsFinite), $"{what}: non-finite GPU values");
            Assert.True(difference <= tolerance || gpuError <= 4 * cpuError,
                $"{what}: the GPU differs from the CPU path by {difference:G3} of the largest |value| ({scale:G4}), allowed {tolerance:G3}; " +
                $"from float64 the GPU is {gpuError:G3} off and the CPU {cpuError:G3}");
        }
    }

    private static double[] Round(double[] values, bool isDouble) => isDouble ? values : values.Select(v => (double)(float)v).ToArray();

    private static double MaxDifference(double[] x, double[] y)
    {
        Assert.Equal(x.Length, y.Length);
        double worst = 0;
        for (int i = 0; i < x.Length; i++) worst = Math.Max(worst, Math.Abs(x[i] - y[i]));
        return worst;
    }

    /// <summary>The sequence every run goes through, with a snapshot after each part.</summary>
    private static List<(string What, double[] Values)> Script(IRunner net, double[] input, double[] target, double[] outputGradient, int batch)
    {
        var snapshots = new List<(string, double[])>();
        snapshots.Add(("forward output", net.Forward(input, batch)));
        foreach (var (name, values) in net.Masks(batch)) snapshots.Add((name + " mask", values));
        snapshots.Add(("running statistics after a training pass", net.State()));
        snapshots.Add(("loss", [net.Loss(target)]));
        net.ZeroGradients();
        net.Backward(target);
        snapshots.Add(("∂E/∂θ from the loss", net.Gradients()));
        net.ZeroGradients();
        snapshots.Add(("∂E/∂input", net.BackwardOutput(outputGradient)));
        snapshots.Add(("∂E/∂θ from ∂E/∂output", net.Gradients()));
        var sgd = new Sgd(0.1);
        for (int step = 1; step <= 3; step++)
        {
            snapshots.Add(($"loss of SGD step {step}", [net.TrainStep(input, target, sgd, batch)]));
            foreach (var (name, values) in net.Masks(batch)) snapshots.Add(($"{name} of step {step} mask", values));
        }
        snapshots.Add(("SGD iterations", [sgd.Iterations]));
        snapshots.Add(("mean loss of the 3 steps", [net.MeanLoss()]));
        snapshots.Add(("parameters after 3 SGD steps", net.Parameters()));
        snapshots.Add(("running statistics after 3 steps", net.State()));
        net.Training = false;
        snapshots.Add(("inference output", net.Forward(input, batch)));
        net.ZeroGradients();
        snapshots.Add(("inference ∂E/∂input", net.BackwardOutput(outputGradient)));
        snapshots.Add(("inference ∂E/∂θ", net.Gradients()));
        return snapshots;
    }

    /// <summary>The CPU network, its GPU variant or the float64 reference, behind one double-valued face.</summary>
    private interface IRunner : IDisposable
    {
        bool Training { set; }
        void Set(double[] parameters, double[] state);
        double[] Parameters();
        double[] State();
        double[] Gradients();
        double[] Forward(double[] input, int batch);
        IEnumerable<(string Name, double[] Values)> Masks(int batch);
        double Loss(double[] target);
        void ZeroGradients();
        void Backward(double[] target);
        double[] BackwardOutput(double[] outputGradient);
        double TrainStep(double[] input, double[] target, Optimizer optimizer, int batch);
        double MeanLoss();
    }

    private static T[] To<T>(double[] values) where T : unmanaged, IFloatingPointIeee754<T> => values.Select(T.CreateChecked).ToArray();

    private static double[] From<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = double.CreateChecked(values[i]);
        return result;
    }

    /// <summary>Dropout masks and Sampling's ε: drawn from the same counter-based generator on both, compared bit for bit.</summary>
    private static string[] MaskViews(Type type) => type.GetProperties()
        .Select(p => p.Name).Where(n => (n.StartsWith("Dropout", StringComparison.Ordinal) && n.EndsWith("Mask", StringComparison.Ordinal))
            || (n.StartsWith("Sampling", StringComparison.Ordinal) && n.EndsWith("Epsilon", StringComparison.Ordinal))).ToArray();

    private sealed class CpuRunner<T>(Type type, int seed) : IRunner where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly INetwork<T> _net = (INetwork<T>)Activator.CreateInstance(type, 4, seed)!;
        private int _batch;
        public bool Training { set => _net.Training = value; }
        public void Set(double[] parameters, double[] state) { To<T>(parameters).CopyTo(_net.Parameters); To<T>(state).CopyTo(_net.State); }
        public double[] Parameters() => From<T>(_net.Parameters);
        public double[] State() => From<T>(_net.State);
        public double[] Gradients() => From<T>(_net.Gradients);
        public double[] Forward(double[] input, int batch) { _batch = batch; return From(_net.Forward(To<T>(input), batch)); }
        public IEnumerable<(string, double[])> Masks(int batch) => MaskViews(_net.GetType()).Select(m => (m, From<T>(GpuCompare.ReadView<T>(_net, m)))).ToList();
        public double Loss(double[] target) => double.CreateChecked(_net.Loss(To<T>(target)));
        public void ZeroGradients() => _net.ZeroGradients();
        public void Backward(double[] target) => _net.Backward(To<T>(target));
        public double[] BackwardOutput(double[] outputGradient)
        {
            var inputGradient = new T[_batch * _net.InputSize];
            _net.Backward(To<T>(outputGradient), inputGradient);
            return From<T>(inputGradient);
        }
        private readonly List<double> _losses = [];
        public double TrainStep(double[] input, double[] target, Optimizer optimizer, int batch)
        {
            double loss = double.CreateChecked(_net.TrainStep(To<T>(input), To<T>(target), optimizer, batch));
            _losses.Add(loss);
            return loss;
        }
        public double MeanLoss() => _losses.Average();   // every step here has the same batch: the sample-weighted mean is this
        public void Dispose() { }
    }

    private sealed class GpuRunner<T>(Type type, NetGen.Gpu.GpuDevice device, int seed) : IRunner where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly GpuNetwork<T> _net = GpuCompare.CreateGpu<T>(type, device, maxBatch: 4, seed);
        private readonly string[] _masks = MaskViews(type);
        private int _batch;
        public bool Training { set => _net.Training = value; }
        public void Set(double[] parameters, double[] state)
        {
            var cpu = (INetwork<T>)Activator.CreateInstance(type, 1, seed)!;
            To<T>(parameters).CopyTo(cpu.Parameters);
            To<T>(state).CopyTo(cpu.State);
            _net.CopyFrom(cpu);
        }
        public double[] Parameters() => From<T>(_net.GetParameters());
        public double[] State() => From<T>(_net.GetState());
        public double[] Gradients() => From<T>(_net.GetGradients());
        public double[] Forward(double[] input, int batch) { _batch = batch; return From(_net.Forward(To<T>(input), batch)); }
        public IEnumerable<(string, double[])> Masks(int batch) => _masks.Select(m => (m, From<T>(GpuCompare.ReadGpu<T>(_net, "Get" + m, batch)))).ToList();
        public double Loss(double[] target) => double.CreateChecked(_net.Loss(To<T>(target)));
        public void ZeroGradients() => _net.ZeroGradients();
        public void Backward(double[] target) => _net.Backward(To<T>(target));
        public double[] BackwardOutput(double[] outputGradient)
        {
            var inputGradient = new T[_batch * _net.InputSize];
            _net.Backward(To<T>(outputGradient), inputGradient);
            return From<T>(inputGradient);
        }
        public double TrainStep(double[] input, double[] target, Optimizer optimizer, int batch)
        {
            _net.TrainStep(To<T>(input), To<T>(target), optimizer, batch);
            _net.AccumulateLoss();   // the running sum on the device: one read-back for the mean below
            return double.CreateChecked(_net.Loss());
        }
        public double MeanLoss() => double.CreateChecked(_net.TakeMeanLoss());
        public void Dispose() => _net.Dispose();
    }

    [Fact]
    public void EveryLayerHasItsKernels()
    {
        // One kernel per layer and pass: forward for every layer but Flatten (and activations fused into the Dense or
        // Conv2D before them), backward for every parametric or non-trivial layer.
        var gpu = Compiled.Value.GetType(Namespace + ".SquaredHingeCnn+Gpu", throwOnError: true)!;
        var names = GpuCompare.Kernels(gpu).Select(m => m.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        output.WriteLine(string.Join(", ", names));
        Assert.Equal(
            ["AdagradUpdate", "AdamUpdate", "AvgPool1Backward", "AvgPool1Forward", "ClipCoefficient", "ClipSquares",
             "Conv2D1Forward", "Conv2D1InputGradient", "Conv2D1PenaltyGradient", "Conv2D1WeightGradient", "Conv2D1WeightGradientPartials",
             "Dense1Forward", "Dense1InputGradient", "Dense1WeightGradient", "LossAccumulate", "LossGradient", "LossTerms", "PenaltySums",
             "ReLU1Backward", "RmsPropUpdate", "SgdUpdate"],
            names);
    }
}
