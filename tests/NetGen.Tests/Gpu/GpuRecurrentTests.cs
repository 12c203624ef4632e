using System.Numerics;
using System.Reflection;
using NetGen.Gpu;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests.Gpu;

/// <summary>
/// The sequence layers' GPU kernels against the CPU path, on the emulator (small sizes, so each case runs in about a
/// second): SimpleRNN (tanh, ReLU), GRU and LSTM, one and two directions, the last state or every step, stacked,
/// Embedding, a Dense at every step (with a fused activation), the per-step Softmax and each loss over every step, in
/// float with a float64 reference, and one network in double. For each: the forward output, the loss, ∂E/∂θ from the
/// loss, ∂E/∂θ and ∂E/∂input from a given ∂E/∂output, the loss against per-step labels, three SGD steps (momentum,
/// clipping by norm) and three Adam steps (their losses and the parameters after them), and an inference pass. The
/// comparison is GpuLayerTests': within 1e-5 of the largest |value| (1e-12 in double), or no further from float64 than
/// 4× the CPU float path is.
/// </summary>
[Collection(GpuCollection.Name)]
public sealed class GpuRecurrentTests(GpuFixture fixture, ITestOutputHelper output)
{
    private const string Namespace = "NetGen.Tests.GpuRecurrent";

    /// <summary>(name, loss, batch, declaration without its class line).</summary>
    internal static readonly (string Name, LossFunction Loss, int Batch, string Declaration)[] Networks =
    [
        ("RnnTanhLast", LossFunction.MeanSquaredError, 3,
            "[Network(Loss = LossFunction.MeanSquaredError)]\n[Input(4, 3)]\n[SimpleRNN(5)]\n[Dense(2)]"),
        ("RnnReluSequences", LossFunction.HalfSquaredError, 2,
            "[Network(Loss = LossFunction.HalfSquaredError)]\n[Input(3, 2)]\n[SimpleRNN(4, ReturnSequences = true, Activation = RecurrentActivation.ReLU)]"),
        ("GruLastSoftmax", LossFunction.CrossEntropy, 3,
            "[Network(Loss = LossFunction.CrossEntropy)]\n[Input(5, 2)]\n[GRU(3)]\n[Dense(3), Softmax]"),
        ("GruBidirectionalSequences", LossFunction.MeanSquaredError, 2,
            "[Network(Loss = LossFunction.MeanSquaredError)]\n[Input(4, 2)]\n[GRU(2, ReturnSequences = true, Bidirectional = true)]"),
        ("LstmLast", LossFunction.MeanAbsoluteError, 3,
            "[Network(Loss = LossFunction.MeanAbsoluteError)]\n[Input(5, 3)]\n[LSTM(4)]\n[Dense(2)]"),
        ("LstmBidirectionalLast", LossFunction.CrossEntropy, 2,
            "[Network(Loss = LossFunction.CrossEntropy)]\n[Input(4, 2)]\n[LSTM(3, Bidirectional = true)]\n[Dense(3), Softmax]"),
        ("StackedPerStep", LossFunction.CrossEntropy, 2,
            "[Network(Loss = LossFunction.CrossEntropy)]\n[Input(4, 2)]\n[LSTM(3, ReturnSequences = true)]\n[GRU(2, ReturnSequences = true, Bidirectional = true)]\n[Dense(3), Softmax]"),
        ("EmbeddingLstm", LossFunction.CrossEntropy, 2,
            "[Network(Loss = LossFunction.CrossEntropy)]\n[Input(5)]\n[Embedding(6, 3)]\n[LSTM(4, ReturnSequences = true)]\n[Dense(6), Softmax]"),
        ("PerStepDenseTanh", LossFunction.MeanAbsoluteError, 2,
            "[Network(Loss = LossFunction.MeanAbsoluteError)]\n[Input(3, 4)]\n[Dense(3), Tanh]\n[SimpleRNN(2)]"),
        ("PerStepHinge", LossFunction.MulticlassSquaredHinge, 2,
            "[Network(Loss = LossFunction.MulticlassSquaredHinge)]\n[Input(3, 2)]\n[GRU(3, ReturnSequences = true)]\n[Dense(4)]"),
        ("PerStepSigmoid", LossFunction.BinaryCrossEntropy, 2,
            "[Network(Loss = LossFunction.BinaryCrossEntropy)]\n[Input(3, 2)]\n[SimpleRNN(3, ReturnSequences = true, Bidirectional = true)]\n[Dense(2), Sigmoid]"),
        ("EmbeddingGruDouble", LossFunction.CrossEntropy, 3,
            "[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]\n[Input(4)]\n[Embedding(5, 2)]\n[GRU(3, ReturnSequences = true, Bidirectional = true)]\n[Dense(5), Softmax]"),
        // Per-step binary cross-entropy summed over each sample's values: divided by the samples, not the rows (as the CPU).
        ("PerStepSigmoidSummed", LossFunction.BinaryCrossEntropySummed, 2,
            "[Network(Loss = LossFunction.BinaryCrossEntropySummed)]\n[Input(3, 2)]\n[SimpleRNN(3, ReturnSequences = true)]\n[Dense(2), Sigmoid]"),
        ("PerStepPlainHinge", LossFunction.MulticlassHinge, 3,
            "[Network(Loss = LossFunction.MulticlassHinge)]\n[Input(4, 2)]\n[LSTM(2, ReturnSequences = true)]\n[Dense(3)]"),
    ];

    /// <summary>Each network in its own precision and as <c>{Name}Double</c>, the float64 reference.</summary>
    private static readonly Lazy<Assembly> Compiled = new(() =>
    {
        var source = new System.Text.StringBuilder("global using System;\nusing NetGen;\n\nnamespace " + Namespace + ";\n\n");
        foreach (var (name, _, _, declaration) in Networks)
        {
            source.Append(declaration).Append("\npublic partial class ").Append(name).Append(";\n\n");
            string asDouble = declaration.Contains("Precision.Double", StringComparison.Ordinal)
                ? declaration
                : declaration.Replace(")]\n[Input", ", Precision = Precision.Double)]\n[Input", StringComparison.Ordinal);
            source.Append(asDouble).Append("\npublic partial class ").Append(name).Append("Double;\n\n");
        }
        return GeneratorHarness.CompileAndLoad(gpu: true, source.ToString());
    });

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var n in Networks) data.Add(n.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GpuKernelsEqualTheCpuPath(string network)
    {
        var assembly = Compiled.Value;
        var type = assembly.GetType(Namespace + "." + network, throwOnError: true)!;
        var reference = assembly.GetType(Namespace + "." + network + "Double", throwOnError: true)!;
        var (_, loss, batch, declaration) = Networks.Single(n => n.Name == network);
        output.WriteLine(declaration);
        const int seed = 5;
        bool isDouble = declaration.Contains("Precision.Double", StringComparison.Ordinal);

        var refCpu = (INetwork<double>)Activator.CreateInstance(reference, 4, seed)!;
        var random = new SeededRandom(CnnSpec.StableSeed("gpu-recurrent/" + network, batch));
        GpuCompare.Randomize(refCpu, random);
        var embedding = refCpu.Layers.FirstOrDefault(l => l.Kind == "Embedding");
        double[] input = embedding is null
            ? GpuCompare.Values<double>(batch * refCpu.InputSize, random, -1.5, 1.5)
            : Enumerable.Range(0, batch * refCpu.InputSize).Select(_ => (double)random.NextInt((int)embedding.Options["Vocabulary"])).ToArray();
        var outputGradient = GpuCompare.Values<double>(batch * refCpu.OutputSize, random, -1, 1);
        var lastShape = refCpu.Layers[^1].OutputShape;
        int rows = lastShape.Length == 2 ? lastShape[0] : 1, classes = refCpu.OutputSize / rows;

        var cpu = isDouble ? (IRunner)new Runner<double>(type, null, seed) : new Runner<float>(type, null, seed);
        using var gpu = isDouble ? (IRunner)new Runner<double>(type, fixture.Device, seed) : new Runner<float>(type, fixture.Device, seed);
        using var exact = new Runner<double>(reference, null, seed);
        Assert.Equal(cpu.Parameters(), gpu.Parameters());   // same seed, same initial weights
        double[] parameters = Round(refCpu.Parameters.ToArray(), isDouble);
        input = Round(input, isDouble);
        outputGradient = Round(outputGradient, isDouble);
        foreach (var run in new[] { cpu, gpu, exact }) run.Set(parameters);
        var target = Round(GpuCompare.Target<double>(loss, exact.Forward(input, batch), batch * rows, classes, random), isDouble);
        int[]? labels = loss is LossFunction.CrossEntropy or LossFunction.MulticlassHinge or LossFunction.MulticlassSquaredHinge
            ? Enumerable.Range(0, batch * rows).Select(_ => random.NextInt(classes)).ToArray()
            : null;

        var a = Script(cpu, input, target, labels, outputGradient, batch);
        var b = Script(gpu, input, target, labels, outputGradient, batch);
        var r = Script(exact, input, target, labels, outputGradient, batch);
        double tolerance = isDouble ? GpuCompare.DoubleTolerance : GpuCompare.FloatTolerance;
        double worstForward = 0, worstGradient = 0, worstTraining = 0;
        for (int k = 0; k < a.Count; k++)
        {
            var (what, cpuValues) = a[k];
            var gpuValues = b[k].Values;
            var exactValues = r[k].Values;
            double scale = Math.Max(cpuValues.Select(Math.Abs).DefaultIfEmpty(0).Max(), 1e-30);
            double difference = MaxDifference(cpuValues, gpuValues) / scale;
            double cpuError = MaxDifference(cpuValues, exactValues) / scale, gpuError = MaxDifference(gpuValues, exactValues) / scale;
            output.WriteLine($"{what}: GPU − CPU {difference:G3}; from float64: CPU {cpuError:G3}, GPU {gpuError:G3}");
            Assert.True(gpuValues.All(double.IsFinite), $"{what}: non-finite GPU values");
            Assert.True(difference <= tolerance || gpuError <= 4 * cpuError,
                $"{what}: the GPU differs from the CPU path by {difference:G3} of the largest |value| ({scale:G4}), allowed {tolerance:G3}; " +
                $"from float64 the GPU is {gpuError:G3} off and the CPU {cpuError:G3}");
            if (what.Contains("step", StringComparison.Ordinal)) worstTraining = Math.Max(worstTraining, difference);
            else if (what.Contains('∂')) worstGradient = Math.Max(worstGradient, difference);
            else worstForward = Math.Max(worstForward, difference);
        }
        output.WriteLine($"max GPU − CPU (relative): outputs and losses {worstForward:G3}, gradients {worstGradient:G3}, after the training steps {worstTraining:G3}");
    }

    [Fact]
    public void EmbeddingIdsAreCheckedOnTheHostAsOnTheCpu()
    {
        var type = Compiled.Value.GetType(Namespace + ".EmbeddingLstm", throwOnError: true)!;
        using var gpu = GpuCompare.CreateGpu<float>(type, fixture.Device, maxBatch: 2, seed: 1);
        var cpu = (INetwork<float>)Activator.CreateInstance(type, 2, 1)!;
        foreach (float bad in new[] { 2.5f, -1f, 6f, float.NaN })
        {
            var ids = new float[] { 0, 1, 2, 3, 4, 5, 0, 1, bad, 2 };
            var onCpu = Assert.Throws<ArgumentException>(() => cpu.Forward(ids, 2));
            var onGpu = Assert.Throws<ArgumentException>(() => gpu.Forward(ids, 2));
            Assert.Equal(onCpu.Message, onGpu.Message);
            Assert.Contains("sample 1, step 3", onGpu.Message, StringComparison.Ordinal);
        }
        Assert.Equal(cpu.Forward(new float[] { 5, 4, 3, 2, 1 }, 1).ToArray(), gpu.Forward(new float[] { 5, 4, 3, 2, 1 }, 1).ToArray(),
            new ToleranceComparer(1e-6));
    }

    [Fact]
    public void SequenceLayersHaveTheirKernels()
    {
        // Forward: input products, one step kernel per layer; backward: one BPTT step kernel, the weight and input
        // gradients (the first layer's input gradient is still a kernel: Backward(∂E/∂output, ∂E/∂input) asks for it).
        var gpu = Compiled.Value.GetType(Namespace + ".StackedPerStep+Gpu", throwOnError: true)!;
        var names = GpuCompare.Kernels(gpu).Select(m => m.Name).Where(n => n.StartsWith("LSTM", StringComparison.Ordinal) || n.StartsWith("GRU", StringComparison.Ordinal) || n.StartsWith("Dense", StringComparison.Ordinal) || n.StartsWith("Softmax", StringComparison.Ordinal))
            .OrderBy(n => n, StringComparer.Ordinal).ToArray();
        output.WriteLine(string.Join(", ", names));
        Assert.Equal(
            ["Dense1Forward", "Dense1InputGradient", "Dense1WeightGradient",
             "GRU1BackwardStep", "GRU1InputGradient", "GRU1InputProducts", "GRU1Step", "GRU1WeightGradient",
             "LSTM1BackwardStep", "LSTM1InputGradient", "LSTM1InputProducts", "LSTM1Step", "LSTM1WeightGradient",
             "Softmax1Backward", "Softmax1Forward"],
            names);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));
        public int GetHashCode(float obj) => 0;
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
    private static List<(string What, double[] Values)> Script(IRunner net, double[] input, double[] target, int[]? labels, double[] outputGradient, int batch)
    {
        var snapshots = new List<(string, double[])>();
        snapshots.Add(("forward output", net.Forward(input, batch)));
        snapshots.Add(("loss", [net.Loss(target)]));
        net.ZeroGradients();
        net.Backward(target);
        snapshots.Add(("∂E/∂θ from the loss", net.Gradients()));
        net.ZeroGradients();
        snapshots.Add(("∂E/∂input", net.BackwardOutput(outputGradient)));
        snapshots.Add(("∂E/∂θ from ∂E/∂output", net.Gradients()));
        if (labels is not null)
        {
            snapshots.Add(("loss against per-step labels", [net.LabelLoss(labels)]));
            net.ZeroGradients();
            net.LabelBackward(labels);
            snapshots.Add(("∂E/∂θ from the labels", net.Gradients()));
        }
        var sgd = new Sgd(0.1, momentum: 0.9) { ClipNorm = 1.0 };
        for (int step = 1; step <= 3; step++) snapshots.Add(($"loss of SGD step {step}", [net.TrainStep(input, target, sgd, batch)]));
        snapshots.Add(("parameters after 3 SGD steps", net.Parameters()));
        var adam = new Adam(0.01);
        for (int step = 1; step <= 3; step++) snapshots.Add(($"loss of Adam step {step}", [net.TrainStep(input, target, adam, batch)]));
        snapshots.Add(("parameters after 3 Adam steps", net.Parameters()));
        net.Training = false;
        snapshots.Add(("inference output", net.Forward(input, batch)));
        net.ZeroGradients();
        snapshots.Add(("inference ∂E/∂input", net.BackwardOutput(outputGradient)));
        snapshots.Add(("inference ∂E/∂θ", net.Gradients()));
        return snapshots;
    }

    private interface IRunner : IDisposable
    {
        bool Training { set; }
        void Set(double[] parameters);
        double[] Parameters();
        double[] Gradients();
        double[] Forward(double[] input, int batch);
        double Loss(double[] target);
        double LabelLoss(int[] labels);
        void ZeroGradients();
        void Backward(double[] target);
        void LabelBackward(int[] labels);
        double[] BackwardOutput(double[] outputGradient);
        double TrainStep(double[] input, double[] target, Optimizer optimizer, int batch);
    }

    private static T[] To<T>(double[] values) where T : unmanaged, IFloatingPointIeee754<T> => values.Select(T.CreateChecked).ToArray();

    private static double[] From<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = double.CreateChecked(values[i]);
        return result;
    }

    /// <summary>The CPU network (device null) or its GPU variant behind one double-valued face.</summary>
    private sealed class Runner<T> : IRunner where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly Type _type;
        private readonly int _seed;
        private readonly INetwork<T>? _cpu;
        private readonly GpuNetwork<T>? _gpu;
        private int _batch;

        public Runner(Type type, GpuDevice? device, int seed)
        {
            _type = type;
            _seed = seed;
            if (device is null) _cpu = (INetwork<T>)Activator.CreateInstance(type, 4, seed)!;
            else _gpu = GpuCompare.CreateGpu<T>(type, device, maxBatch: 4, seed);
        }

        private int InputSize => _cpu?.InputSize ?? _gpu!.InputSize;

        public bool Training { set { if (_cpu is not null) _cpu.Training = value; else _gpu!.Training = value; } }

        public void Set(double[] parameters)
        {
            if (_cpu is not null) { To<T>(parameters).CopyTo(_cpu.Parameters); return; }
            var host = (INetwork<T>)Activator.CreateInstance(_type, 1, _seed)!;
            To<T>(parameters).CopyTo(host.Parameters);
            _gpu!.CopyFrom(host);
        }

        public double[] Parameters() => _cpu is not null ? From<T>(_cpu.Parameters) : From<T>(_gpu!.GetParameters());

        public double[] Gradients() => _cpu is not null ? From<T>(_cpu.Gradients) : From<T>(_gpu!.GetGradients());

        public double[] Forward(double[] input, int batch)
        {
            _batch = batch;
            return _cpu is not null ? From(_cpu.Forward(To<T>(input), batch)) : From(_gpu!.Forward(To<T>(input), batch));
        }

        public double Loss(double[] target) => double.CreateChecked(_cpu is not null ? _cpu.Loss(To<T>(target)) : _gpu!.Loss(To<T>(target)));

        public double LabelLoss(int[] labels) => double.CreateChecked(_cpu is not null ? _cpu.Loss(labels) : _gpu!.Loss(labels));

        public void ZeroGradients()
        {
            if (_cpu is not null) _cpu.ZeroGradients(); else _gpu!.ZeroGradients();
        }

        public void Backward(double[] target)
        {
            if (_cpu is not null) _cpu.Backward(To<T>(target)); else _gpu!.Backward(To<T>(target));
        }

        public void LabelBackward(int[] labels)
        {
            if (_cpu is not null) _cpu.Backward(labels); else _gpu!.Backward(labels);
        }

        public double[] BackwardOutput(double[] outputGradient)
        {
            var inputGradient = new T[_batch * InputSize];
            if (_cpu is not null) _cpu.Backward(To<T>(outputGradient), inputGradient);
            else _gpu!.Backward(To<T>(outputGradient), inputGradient);
            return From<T>(inputGradient);
        }

        public double TrainStep(double[] input, double[] target, Optimizer optimizer, int batch)
        {
            if (_cpu is not null) return double.CreateChecked(_cpu.TrainStep(To<T>(input), To<T>(target), optimizer, batch));
            _gpu!.TrainStep(To<T>(input), To<T>(target), optimizer, batch);
            return double.CreateChecked(_gpu.Loss());
        }

        public void Dispose() => _gpu?.Dispose();
    }
}
