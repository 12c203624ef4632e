using System.Globalization;
using System.Numerics;
using System.Reflection;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using NetGen.Deploy.Tests.Infrastructure;

namespace NetGen.Deploy.Tests.Onnx;

/// <summary>One network to export: how to make it, with seeded random weights and state, in inference mode.</summary>
public abstract class ExportCase(string name)
{
    public string Name { get; } = name;

    public abstract string Precision { get; }

    /// <summary>True when ONNX Runtime lacked a double kernel and the model ran with its tensors cast to float.</summary>
    public bool RanAsFloat { get; protected set; }

    /// <summary>The exported model.</summary>
    public abstract byte[] Export();

    /// <summary>Whether every layer of the network has an ONNX mapping (<see cref="NetGen.Onnx.SupportedKinds"/>).</summary>
    public abstract bool Exportable { get; }

    /// <summary>Runs NetGen and ONNX Runtime on the same random batch; returns the largest |difference| and the
    /// largest |output| of NetGen's.</summary>
    public abstract (double MaxDifference, double MaxOutput, int Values) Compare(int batch, int seed);

    public override string ToString() => Name;
}

/// <summary>A case for a network of element type <typeparamref name="T"/>.</summary>
public sealed class ExportCase<T>(string name, Func<INetwork<T>> create) : ExportCase(name) where T : unmanaged, IFloatingPointIeee754<T>
{
    public override string Precision => typeof(T) == typeof(double) ? "double" : "float";

    /// <summary>The network with every parameter uniform in ±1/√fan-in (so deep nets neither vanish nor explode) and
    /// batch-norm running statistics made non-trivial (means in ±0.5, variances in [0.5, 2]).</summary>
    public INetwork<T> Network(int seed)
    {
        var net = create();
        var random = new SeededRandom(seed);
        foreach (var tensor in net.Tensors)
        {
            Span<T> values = (tensor.Buffer == TensorBuffer.Parameters ? net.Parameters : net.State).Slice(tensor.Offset, tensor.Length);
            int fanIn = tensor.Shape.Length > 1 ? tensor.Length / tensor.Shape[0] : 1;
            for (int i = 0; i < values.Length; i++)
            {
                double u = random.NextDouble();
                double v = tensor.Name.EndsWith("RunningVariance", StringComparison.Ordinal) ? 0.5 + 1.5 * u
                    : tensor.Name.EndsWith("RunningMean", StringComparison.Ordinal) ? u - 0.5
                    : tensor.Name.EndsWith("Gamma", StringComparison.Ordinal) ? 0.5 + u
                    : (2 * u - 1) * 1.5 / Math.Sqrt(fanIn);
                values[i] = T.CreateChecked(v);
            }
        }
        net.Training = false;
        return net;
    }

    public override byte[] Export() => NetGen.Onnx.ToBytes(Network(1), Name);

    public override bool Exportable => Network(1).Layers.All(l => NetGen.Onnx.SupportedKinds.Contains(l.Kind));

    private static double[] Run<TRun>(byte[] model, TRun[] x, long[] shape) where TRun : unmanaged, INumberBase<TRun>
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        using var input = OrtValue.CreateTensorValueFromMemory(x, shape);
        using var run = new RunOptions();
        using var outputs = session.Run(run, [NetGen.Onnx.InputName], [input], [NetGen.Onnx.OutputName]);
        return [.. outputs[0].GetTensorDataAsSpan<TRun>().ToArray().Select(double.CreateChecked)];
    }

    public override (double MaxDifference, double MaxOutput, int Values) Compare(int batch, int seed)
    {
        var net = Network(1);
        var random = new SeededRandom(seed);
        var x = new T[batch * net.InputSize];
        // Token ids (exact integers below the vocabulary) for a network that starts with an Embedding, else values in ±1.
        int vocabulary = net.Layers.Count > 0 && net.Layers[0].Kind == "Embedding" ? (int)net.Layers[0].Option("Vocabulary") : 0;
        for (int i = 0; i < x.Length; i++) x[i] = T.CreateChecked(vocabulary > 0 ? random.NextInt(vocabulary) : 2 * random.NextDouble() - 1);
        double[] expected = [.. net.Forward(x, batch).ToArray().Select(double.CreateChecked)];

        var shape = new long[] { batch }.Concat(net.Layers.Count > 0 ? net.Layers[0].InputShape.Select(d => (long)d) : [net.InputSize]).ToArray();
        byte[] model = NetGen.Onnx.ToBytes(net, Name);
        double[] actual;
        try
        {
            actual = Run(model, x, shape);
        }
        catch (OnnxRuntimeException e) when (typeof(T) == typeof(double) && (e.Message.Contains("NotImplemented", StringComparison.Ordinal) || e.Message.Contains("does not support double", StringComparison.Ordinal)))
        {
            // ONNX Runtime's CPU provider has no double Conv, ConvTranspose, AveragePool, RNN, GRU or LSTM: run the same graph with every double
            // tensor cast to float (the file's structure is what is tested; the tolerance holds for float32).
            RanAsFloat = true;
            actual = Run(OnnxModels.ToFloat(model), x.Select(v => float.CreateChecked(v)).ToArray(), shape);
        }
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, maxOut = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.False(double.IsNaN(expected[i]) || double.IsNaN(actual[i]), $"{Name}: NaN at {i} (NetGen {expected[i]}, ONNX Runtime {actual[i]})");
            maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - actual[i]));
            maxOut = Math.Max(maxOut, Math.Abs(expected[i]));
        }
        return (maxDiff, maxOut, expected.Length);
    }
}

/// <summary>Every network the export tests cover.</summary>
public static class ExportCases
{
    /// <summary>The snapshot-tested reference networks (tests/NetGen.Tests/Networks), compiled into this project.</summary>
    public static IEnumerable<ExportCase> Snapshot() => FromAssembly(typeof(NetGen.Tests.Networks.LeNet).Assembly, "NetGen.Tests.Networks", "snapshot/")
        .Where(c => c.Exportable);

    /// <summary>The reference networks with a layer the export does not map (none since every kind has a mapping):
    /// OnnxExportTests checks the export would refuse each, naming the layer.</summary>
    public static IEnumerable<ExportCase> NotExportable() => FromAssembly(typeof(NetGen.Tests.Networks.LeNet).Assembly, "NetGen.Tests.Networks", "snapshot/")
        .Where(c => !c.Exportable);

    /// <summary>Every network the course samples declare (Modules 1, 2, 3, 5 and 6), found by reflection so a new one
    /// is covered.</summary>
    public static IEnumerable<ExportCase> Course() =>
        FromAssembly(typeof(Module1.NeuralNetworks.WorkedExample).Assembly, "Module1.NeuralNetworks", "module1/")
            .Concat(FromAssembly(typeof(Module2.Optimization.HandSvm).Assembly, "Module2.Optimization", "module2/"))
            .Concat(FromAssembly(typeof(Module3.Cnn.LeNet).Assembly, "Module3.Cnn", "module3/"))
            .Concat(FromAssembly(typeof(Module5.Sequences.RowLstm).Assembly, "Module5.Sequences", "module5/"))
            .Concat(FromAssembly(typeof(Module6.Generative.DcganGenerator).Assembly, "Module6.Generative", "module6/"));

    /// <summary>How many random networks: <see cref="RandomDenseAndConvolutional"/> dense or convolutional ones, then
    /// sequence and generative ones alternating.</summary>
    public const int RandomCount = 40;

    public const int RandomDenseAndConvolutional = 24;

    private static readonly Lazy<(Assembly Assembly, List<string> Names, List<bool> Doubles)> RandomCompiled = new(CompileRandom);

    /// <summary><see cref="RandomCount"/> random networks (seeded): dense or convolutional, every layer kind and
    /// activation, float and double, compiled in memory by the generator.</summary>
    public static IEnumerable<ExportCase> Random()
    {
        var (assembly, names, doubles) = RandomCompiled.Value;
        for (int i = 0; i < names.Count; i++)
        {
            string type = "NetGen.Deploy.Random." + names[i];
            yield return doubles[i]
                ? new ExportCase<double>("random/" + names[i], () => Generated.Create<double>(assembly, type, 4))
                : new ExportCase<float>("random/" + names[i], () => Generated.Create<float>(assembly, type, 4));
        }
    }

    public static IEnumerable<ExportCase> All() => Snapshot().Concat(Course()).Concat(Random());

    private static IEnumerable<ExportCase> FromAssembly(Assembly assembly, string ns, string prefix)
    {
        foreach (var type in assembly.GetTypes().Where(t => t.Namespace == ns && !t.IsNested && !t.IsAbstract).OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var ctor = type.GetConstructor([typeof(int), typeof(int)]);
            if (ctor is null) continue;
            if (typeof(INetwork<float>).IsAssignableFrom(type))
                yield return new ExportCase<float>(prefix + type.Name, () => (INetwork<float>)ctor.Invoke([4, 42]));
            else if (typeof(INetwork<double>).IsAssignableFrom(type))
                yield return new ExportCase<double>(prefix + type.Name, () => (INetwork<double>)ctor.Invoke([4, 42]));
        }
    }

    private static (Assembly, List<string>, List<bool>) CompileRandom()
    {
        var random = new SeededRandom(20_261_205);
        var source = new StringBuilder("using NetGen;\nnamespace NetGen.Deploy.Random;\n");
        var names = new List<string>();
        var doubles = new List<bool>();
        string[] hidden = ["ReLU", "Sigmoid", "Tanh", "LeakyReLU(0.2)", "Identity", "Step", ""];
        string[] last = ["Softmax", "Sigmoid", "Identity", "Tanh", "ReLU", "LeakyReLU(0.05)"];

        // One network's declaration: [Network(Loss, Precision)], the input, its layers, the class.
        void Declare(string name, string loss, bool dbl, string input, List<string> layers)
        {
            source.Append(CultureInfo.InvariantCulture, $"[Network(Loss = LossFunction.{loss}{(dbl ? ", Precision = Precision.Double" : "")})]\n{input}\n");
            foreach (string layer in layers) source.Append(layer).Append('\n');
            source.Append(CultureInfo.InvariantCulture, $"public partial class {name};\n\n");
            names.Add(name);
            doubles.Add(dbl);
        }

        for (int n = 0; n < RandomCount; n++)
        {
            bool dbl = n % 3 == 2;
            bool image = n % 2 == 0;
            var layers = new List<string>();
            string Pick(string[] from) => from[random.NextInt(from.Length)];
            string input;
            if (n >= RandomDenseAndConvolutional)
            {
                bool sequence = n % 2 == 0;
                string kindName = sequence ? "Seq" : "Gen";
                input = sequence ? RandomSequence(random, layers, n) : RandomGenerative(random, layers, n);
                string lastLayer = sequence && n % 4 == 0 ? "Softmax" : Pick(["Identity", "Tanh", "Sigmoid"]);
                layers.Add($"[Dense({2 + random.NextInt(5)}), {lastLayer}]");
                Declare($"Random{n:D2}_{kindName}_{(dbl ? "F64" : "F32")}", lastLayer == "Softmax" ? "CrossEntropy" : "MeanSquaredError", dbl, input, layers);
                continue;
            }
            if (image)
            {
                int c = 1 + random.NextInt(3), h = 5 + random.NextInt(8), w = 5 + random.NextInt(8);
                input = $"[Input({c}, {h}, {w})]";
                int blocks = 1 + random.NextInt(2);
                for (int b = 0; b < blocks && h >= 3 && w >= 3; b++)
                {
                    int filters = 1 + random.NextInt(6);
                    int kh = 1 + random.NextInt(3), kw = random.NextInt(3) == 0 ? 1 + random.NextInt(3) : kh;
                    int stride = 1 + random.NextInt(Math.Min(kh, kw) >= 2 ? 2 : 1);
                    string pad;
                    int ph, pw;
                    if (stride == 1 && kh == kw && kh % 2 == 1 && random.NextInt(3) == 0) { pad = ", Padding = Padding.Same"; ph = pw = kh / 2; }
                    else { int p = random.NextInt(2); pad = p == 0 ? "" : $", Padding = {p}"; ph = pw = p; }
                    int oh = (h + 2 * ph - kh) / stride + 1, ow = (w + 2 * pw - kw) / stride + 1;
                    bool roundDown = (h + 2 * ph - kh) % stride != 0 || (w + 2 * pw - kw) % stride != 0;
                    string kernel = kh == kw ? $"Kernel = {kh}" : $"KernelHeight = {kh}, KernelWidth = {kw}";
                    string bias = random.NextInt(4) == 0 ? ", Bias = false" : "";
                    layers.Add($"[Conv2D({filters}, {kernel}, Stride = {stride}{pad}{bias}{(roundDown ? ", RoundDown = true" : "")})]");
                    h = oh; w = ow;
                    string act = Pick(hidden);
                    if (act.Length > 0) layers.Add($"[{act}]");
                    if (random.NextInt(3) == 0) layers.Add("[BatchNorm(Epsilon = 0.001)]");
                    if (h >= 2 && w >= 2 && random.NextInt(3) != 0)
                    {
                        int k = 2, s = random.NextInt(3) == 0 ? 1 : 2;
                        bool rd = (h - k) % s != 0 || (w - k) % s != 0;
                        string pool = random.NextInt(2) == 0 ? "MaxPool" : "AvgPool";
                        layers.Add($"[{pool}({k}{(s != k ? $", Stride = {s}" : "")}{(rd ? ", RoundDown = true" : "")})]");
                        h = (h - k) / s + 1; w = (w - k) / s + 1;
                    }
                    if (random.NextInt(4) == 0) layers.Add("[Dropout(0.3)]");
                }
                layers.Add("[Flatten]");
            }
            else
            {
                input = $"[Input({1 + random.NextInt(20)})]";
            }
            int dense = 1 + random.NextInt(3);
            for (int d = 0; d < dense - 1; d++)
            {
                layers.Add($"[Dense({1 + random.NextInt(16)}{(random.NextInt(5) == 0 ? ", Bias = false" : "")})]");
                string act = Pick(hidden);
                if (act.Length > 0) layers.Add($"[{act}]");
                if (random.NextInt(4) == 0) layers.Add("[BatchNorm]");
                if (random.NextInt(4) == 0) layers.Add("[Dropout(0.5)]");
            }
            string final = last[n % last.Length];
            layers.Add($"[Dense({2 + random.NextInt(9)}), {final}]");
            Declare($"Random{n:D2}_{(image ? "Cnn" : "Mlp")}_{(dbl ? "F64" : "F32")}", final == "Softmax" ? "CrossEntropy" : "MeanSquaredError", dbl, input, layers);
        }
        Declarations = source.ToString();
        return (Generated.CompileAndLoad(Declarations), names, doubles);
    }

    /// <summary>A random sequence network's input and recurrent layers: token ids through an Embedding, or float
    /// features; one or two recurrent layers (SimpleRNN tanh or ReLU, GRU, LSTM), bidirectional or not, the last one
    /// returning every step (then a Dense at every step) or only its last state.</summary>
    private static string RandomSequence(SeededRandom random, List<string> layers, int n)
    {
        int steps = 2 + random.NextInt(5);
        string input;
        if (random.NextInt(3) == 0)
        {
            int vocabulary = 3 + random.NextInt(10);
            input = $"[Input({steps})]";
            layers.Add($"[Embedding({vocabulary}, {1 + random.NextInt(5)})]");
        }
        else input = $"[Input({steps}, {1 + random.NextInt(6)})]";
        string[] cells = ["SimpleRNN", "GRU", "LSTM", "SimpleRNN(Activation = RecurrentActivation.ReLU)"];
        int stacked = 1 + random.NextInt(2);
        bool sequencesOut = n % 3 != 1;
        for (int k = 0; k < stacked; k++)
        {
            string cell = cells[(n / 2 + k) % cells.Length];
            string units = (1 + random.NextInt(6)).ToString(CultureInfo.InvariantCulture);
            var options = new List<string>();
            if (cell.Contains('(', StringComparison.Ordinal)) { options.Add("Activation = RecurrentActivation.ReLU"); cell = "SimpleRNN"; }
            if (k < stacked - 1 || sequencesOut) options.Add("ReturnSequences = true");
            if (random.NextInt(2) == 0) options.Add("Bidirectional = true");
            layers.Add($"[{cell}({string.Join(", ", [units, .. options])})]");
        }
        if (sequencesOut) layers.Add($"[Dense({1 + random.NextInt(5)}), Tanh]");   // at every step
        return input;
    }

    /// <summary>A random generative network: a vector reshaped to an image, transposed convolutions and upsampling
    /// (nearest or bilinear), and sometimes a Sampling layer in front (z = μ in inference).</summary>
    private static string RandomGenerative(SeededRandom random, List<string> layers, int n)
    {
        int c = 1 + random.NextInt(3), h = 2 + random.NextInt(3), w = 2 + random.NextInt(3);
        string input;
        if (n % 4 == 1)
        {
            input = $"[Input({2 * c * h * w})]";
            layers.Add("[Sampling]");
            layers.Add($"[Reshape({c}, {h}, {w})]");
        }
        else
        {
            input = $"[Input({3 + random.NextInt(6)})]";
            layers.Add($"[Dense({c * h * w}), ReLU]");
            layers.Add($"[Reshape({c}, {h}, {w})]");
        }
        int k = 2 + random.NextInt(3), s = 1 + random.NextInt(2), p = random.NextInt(Math.Min(k, 2)), op = s > 1 ? random.NextInt(s) : 0;
        string bias = random.NextInt(4) == 0 ? ", Bias = false" : "";
        layers.Add($"[Conv2DTranspose({1 + random.NextInt(4)}, Kernel = {k}, Stride = {s}, Padding = {p}{(op > 0 ? $", OutputPadding = {op}" : "")}{bias})]");
        layers.Add(random.NextInt(2) == 0 ? "[LeakyReLU(0.2)]" : "[BatchNorm]");
        layers.Add(n % 3 == 0 ? "[Upsample2D(2, Mode = UpsampleMode.Bilinear)]" : $"[Upsample2D({2 + random.NextInt(2)})]");
        layers.Add("[Flatten]");
        return input;
    }

    /// <summary>The random networks' declarations (for a failure message).</summary>
    public static string Declarations { get; private set; } = "";
}
