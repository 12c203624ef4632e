using System.Globalization;
using System.Reflection;
using System.Text.Json;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests.Oracle;

/// <summary>A [Theory] reported as skipped, with the reason, when no Python interpreter can import torch.</summary>
public sealed class CnnTorchTheoryAttribute : TheoryAttribute
{
    public CnnTorchTheoryAttribute()
    {
        if (TorchOracle.Python is null) Skip = TorchOracle.SkipReason;
    }
}

/// <summary>
/// Random CNNs (seeded) compared with PyTorch 1.13 autograd in float64: Conv2D (kernels 1–3, some non-square, stride
/// 1–2, padding 0–1 or Same, RoundDown where the windows do not tile — PyTorch floors), activations, MaxPool/AvgPool,
/// BatchNorm in training mode (2-D and 1-D), Dropout (NetGen's masks fed to torch), Flatten, Dense, and each of the
/// five losses. Per case: the output, the loss, every parameter gradient of the loss, the parameter and input
/// gradients of Φ = Σ g ⊙ output for a random g; then three <c>TrainStep</c>s with <c>Sgd(0.1)</c> against
/// torch.optim.SGD(lr = 0.1): the step losses, the parameters and the batch-norm running statistics (State); then, in
/// inference mode (model.eval()), the output and the Φ gradients again. Every value within 1e−9·max(1, |torch|). One generated source declares every network; one Python run computes every case.
/// </summary>
public sealed class CnnTorchOracleTests(ITestOutputHelper output)
{
    private const int CaseCount = 24;
    private const int Steps = 3;
    private const double LearningRate = 0.1;
    private const double Tolerance = 1e-9;
    private const string Namespace = "NetGen.Tests.CnnTorchOracle";

    private static readonly LossFunction[] Losses =
        [LossFunction.HalfSquaredError, LossFunction.MeanSquaredError, LossFunction.CrossEntropy, LossFunction.BinaryCrossEntropy, LossFunction.MeanAbsoluteError];

    internal static readonly IReadOnlyList<(CnnSpec Spec, int Batch)> Networks = Enumerable.Range(0, CaseCount).Select(RandomNetwork).ToList();

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var (spec, _) in Networks) data.Add(spec.Name);
        return data;
    }

    /// <summary>A random CNN: 1–2 convolution blocks (Conv2D, optional BatchNorm, activation, pooling, dropout), Flatten,
    /// an optional hidden Dense block, and an output Dense whose activation suits the loss. Some layers are forced by
    /// the index so that every kind appears in the set whatever the draws.</summary>
    private static (CnnSpec, int) RandomNetwork(int index)
    {
        var r = new SeededRandom(CnnSpec.StableSeed("torch-cnn", index));
        bool Chance(double p) => r.NextDouble() < p;
        int channels = 1 + r.NextInt(3), height = 6 + r.NextInt(4), width = 6 + r.NextInt(4);
        int h = height, w = width;
        var layers = new List<CnnLayer>();
        int blocks = 1 + r.NextInt(2);
        for (int b = 0; b < blocks && Math.Min(h, w) >= 3; b++)
        {
            int filters = 2 + r.NextInt(3), kh, kw;
            if (Chance(0.25) || (index % 8 == 5 && b == 0)) { kh = 1 + r.NextInt(3); kw = 1 + r.NextInt(3); if (kh == kw) kw = kh % 3 + 1; }
            else kh = kw = 1 + r.NextInt(3);
            int stride = 1 + r.NextInt(2), padding = r.NextInt(2);
            if (padding >= Math.Min(kh, kw)) padding = 0;   // a window of only padding is legal but pointless
            bool same = stride == 1 && kh == kw && kh % 2 == 1 && kh > 1 && Chance(0.3);
            int pad = same ? (kh - 1) / 2 : padding;
            int spanH = h + 2 * pad - kh, spanW = w + 2 * pad - kw;
            bool roundDown = spanH % stride != 0 || spanW % stride != 0;
            layers.Add(CnnLayer.ConvHW(filters, kh, kw, stride, same ? CnnLayer.Same : padding, bias: !Chance(0.15), roundDown: roundDown));
            h = spanH / stride + 1;
            w = spanW / stride + 1;
            if (Chance(0.35) || (index % 3 == 0 && b == 0))
                layers.Add(Chance(0.3) ? CnnLayer.BatchNorm(momentum: 0.2, epsilon: 1e-3) : CnnLayer.BatchNorm());
            AddActivation(layers, r, allowNone: true);
            if ((Chance(0.5) || index % 4 == 2) && Math.Min(h, w) >= 2)
            {
                int size = Math.Min(h, w) >= 3 && Chance(0.4) ? 3 : 2;
                int poolStride = r.NextInt(3);   // 0 = the window size (NetGen's default), 1 or 2
                int ph = (h - size) / (poolStride == 0 ? size : poolStride) + 1, pw = (w - size) / (poolStride == 0 ? size : poolStride) + 1;
                int s = poolStride == 0 ? size : poolStride;
                bool poolRoundDown = (h - size) % s != 0 || (w - size) % s != 0;
                layers.Add(Chance(0.5) ? CnnLayer.MaxPool(size, poolStride, poolRoundDown) : CnnLayer.AvgPool(size, poolStride, poolRoundDown));
                h = ph;
                w = pw;
            }
            if (Chance(0.15) || (index % 4 == 1 && b == 0)) layers.Add(CnnLayer.Dropout(0.25));
        }
        layers.Add(CnnLayer.Flatten);
        if (Chance(0.6) || index % 3 == 2)
        {
            layers.Add(CnnLayer.Dense(3 + r.NextInt(4), bias: !Chance(0.1)));
            if (Chance(0.3) || index % 3 == 2) layers.Add(CnnLayer.BatchNorm());
            AddActivation(layers, r, allowNone: false);
            if (Chance(0.2) || index % 4 == 3) layers.Add(CnnLayer.Dropout(0.5));
        }
        var loss = Losses[index % Losses.Length];
        layers.Add(CnnLayer.Dense(2 + r.NextInt(3)));
        switch (loss)
        {
            case LossFunction.CrossEntropy:
                if (index % 2 == 0 || Chance(0.5)) layers.Add(CnnLayer.Softmax);   // otherwise the loss reads the output as logits
                break;
            case LossFunction.BinaryCrossEntropy:
                layers.Add(CnnLayer.Sigmoid);
                break;
            default:
                int pick = r.NextInt(4);
                if (pick == 1) layers.Add(CnnLayer.Tanh);
                else if (pick == 2) layers.Add(CnnLayer.Identity);
                else if (pick == 3) layers.Add(CnnLayer.Sigmoid);
                break;
        }
        int batch = 2 + r.NextInt(3);
        var spec = new CnnSpec($"RandomCnn{index:D2}", loss, [channels, height, width], [.. layers], index % 3 == 1 ? 0 : null);
        return (spec, batch);
    }

    private static void AddActivation(List<CnnLayer> layers, SeededRandom r, bool allowNone)
    {
        switch (r.NextInt(allowNone ? 5 : 4))
        {
            case 0: layers.Add(CnnLayer.ReLU); break;
            case 1: layers.Add(CnnLayer.LeakyReLU(0.1)); break;
            case 2: layers.Add(CnnLayer.Tanh); break;
            case 3: layers.Add(CnnLayer.Sigmoid); break;
        }
    }

    // ---- Running NetGen, then PyTorch once ------------------------------------------------------------------------

    /// <summary>What NetGen computed for one case, and what the oracle is given.</summary>
    private sealed class NetGenRun
    {
        public required CnnSpec Spec { get; init; }
        public required int Batch { get; init; }
        public double[] Parameters0 = [], State0 = [], Input = [], Target = [], OutputGradient = [];
        public List<double[][]> Masks { get; } = [];
        public double[] Output = [], Gradients = [], PhiGradients = [], PhiInputGradient = [], StateAfterForward = [], StepLosses = [], Parameters = [], State = [];
        public double[] EvalOutput = [], EvalPhiGradients = [], EvalPhiInputGradient = [];
        public double Loss;
        public Exception? Failure;
    }

    private sealed record OracleRun(Dictionary<string, NetGenRun> NetGen, Dictionary<string, JsonElement> Torch, string TorchVersion, TimeSpan NetGenTime, TimeSpan PythonTime);

    private static readonly Lazy<OracleRun> Run = new(RunAll);

    private static OracleRun RunAll()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var assembly = GeneratorHarness.CompileAndLoad(CnnSpec.Source(Namespace, Networks.Select(n => n.Spec)));
        var runs = Networks.Select(n => RunNetGen(assembly, n.Spec, n.Batch)).ToDictionary(r => r.Spec.Name);
        var netgenTime = clock.Elapsed;

        var cases = runs.Values.Where(r => r.Failure is null).Select(r => new Dictionary<string, object>
        {
            ["name"] = r.Spec.Name,
            ["input_shape"] = r.Spec.Input,
            ["layers"] = r.Spec.Geometry.Select(Describe).ToArray(),
            ["loss"] = r.Spec.Loss.ToString(),
            ["batch"] = r.Batch,
            ["parameters"] = r.Parameters0,
            ["state"] = r.State0,
            ["input"] = r.Input,
            ["target"] = r.Target,
            ["output_gradient"] = r.OutputGradient,
            ["masks"] = r.Masks,
            ["steps"] = Steps,
            ["lr"] = LearningRate,
        }).ToArray();

        using var document = TorchOracle.RunCases("torch_cnn_oracle.py", cases, TimeSpan.FromSeconds(180));
        var torch = document.RootElement.GetProperty("results").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.Clone());
        return new(runs, torch, document.RootElement.GetProperty("torch").GetString()!, netgenTime, clock.Elapsed - netgenTime);
    }

    /// <summary>One layer for the oracle, with the shapes and paddings the tests inferred (Padding.Same resolved).</summary>
    private static Dictionary<string, object> Describe(CnnGeometry g)
    {
        var l = g.Layer;
        var d = new Dictionary<string, object> { ["kind"] = l.Kind.ToString(), ["in"] = g.In, ["out"] = g.Out };
        switch (l.Kind)
        {
            case CnnKind.Conv2D:
                d["filters"] = l.Size; d["kh"] = g.KernelHeight; d["kw"] = g.KernelWidth; d["stride"] = g.Stride;
                d["pad_h"] = g.PadH; d["pad_w"] = g.PadW; d["bias"] = l.Bias;
                break;
            case CnnKind.MaxPool:
            case CnnKind.AvgPool:
                d["size"] = l.Size; d["stride"] = g.Stride;
                break;
            case CnnKind.Dense:
                d["units"] = l.Size; d["bias"] = l.Bias;
                break;
            case CnnKind.BatchNorm:
                d["momentum"] = l.Momentum; d["eps"] = l.Epsilon;
                break;
            case CnnKind.Dropout:
                d["rate"] = l.Rate;
                break;
            case CnnKind.LeakyReLU:
                d["alpha"] = l.Alpha;
                break;
        }
        return d;
    }

    private static NetGenRun RunNetGen(Assembly assembly, CnnSpec spec, int batch)
    {
        var run = new NetGenRun { Spec = spec, Batch = batch };
        try
        {
            var net = GeneratorHarness.Create<double>(assembly, Namespace + "." + spec.Name, maxBatch: 4, seed: 3);
            Assert.True(net.Training, "a new network is in training mode");
            Assert.Equal(spec.ParameterCount, net.Parameters.Length);
            Assert.Equal(spec.StateCount, net.State.Length);
            // New running statistics are PyTorch's: mean 0, variance 1.
            foreach (var g in spec.Geometry.Where(g => g.Layer.Kind == CnnKind.BatchNorm))
            {
                Assert.All(CnnViews.Read(net, g.Name + "RunningMean"), v => Assert.Equal(0.0, v));
                Assert.All(CnnViews.Read(net, g.Name + "RunningVariance"), v => Assert.Equal(1.0, v));
                Assert.All(CnnViews.Read(net, g.Name + "Gamma"), v => Assert.Equal(1.0, v));
                Assert.All(CnnViews.Read(net, g.Name + "Beta"), v => Assert.Equal(0.0, v));
            }
            var random = new SeededRandom(CnnSpec.StableSeed("torch-cnn-data/" + spec.Name, batch));
            spec.Randomize(net, random);
            run.Parameters0 = net.Parameters.ToArray();
            run.State0 = net.State.ToArray();
            run.Input = Enumerable.Range(0, batch * spec.InputSize).Select(_ => random.NextDouble(-1.5, 1.5)).ToArray();
            run.OutputGradient = Enumerable.Range(0, batch * spec.OutputSize).Select(_ => random.NextDouble(-1, 1)).ToArray();
            string[] dropouts = spec.Geometry.Where(g => g.Layer.Kind == CnnKind.Dropout).Select(g => g.Name + "Mask").ToArray();
            double[][] Masks() => dropouts.Select(m => CnnViews.Read(net, m)).ToArray();

            run.Output = net.Forward(run.Input, batch).ToArray();
            run.Masks.Add(Masks());
            run.StateAfterForward = net.State.ToArray();
            run.Target = spec.Target(run.Output, batch, random);
            run.Loss = net.Loss(run.Target);
            net.ZeroGradients();
            net.Backward(run.Target);
            run.Gradients = net.Gradients.ToArray();
            net.ZeroGradients();
            run.PhiInputGradient = new double[run.Input.Length];
            net.Backward(run.OutputGradient, run.PhiInputGradient);
            run.PhiGradients = net.Gradients.ToArray();

            var sgd = new Sgd(LearningRate);
            var losses = new List<double>();
            for (int step = 0; step < Steps; step++)
            {
                losses.Add(net.TrainStep(run.Input, run.Target, sgd, batch));
                run.Masks.Add(Masks());
            }
            run.StepLosses = [.. losses];
            run.Parameters = net.Parameters.ToArray();
            run.State = net.State.ToArray();

            // Inference: running statistics, dropout off; it must leave the state alone.
            net.Training = false;
            run.EvalOutput = net.Forward(run.Input, batch).ToArray();
            Assert.All(Masks(), mask => Assert.All(mask, v => Assert.Equal(1.0, v)));
            net.ZeroGradients();
            run.EvalPhiInputGradient = new double[run.Input.Length];
            net.Backward(run.OutputGradient, run.EvalPhiInputGradient);
            run.EvalPhiGradients = net.Gradients.ToArray();
            Assert.Equal(run.State, net.State.ToArray());
        }
        catch (Exception e)
        {
            run.Failure = e;
        }
        return run;
    }

    // ---- The comparison ---------------------------------------------------------------------------------------------

    [CnnTorchTheory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string network)
    {
        var oracle = Run.Value;
        var netgen = oracle.NetGen[network];
        var spec = netgen.Spec;
        string description = $"{network} (batch {netgen.Batch}, input {string.Join("×", spec.Input)}, loss {spec.Loss}):\n{spec.Declaration()}";
        if (netgen.Failure is not null) throw new InvalidOperationException("NetGen failed on " + description, netgen.Failure);
        var torch = oracle.Torch[network];
        if (torch.TryGetProperty("error", out var error)) Assert.Fail($"the oracle failed on {description}{error.GetString()}");

        var failures = new List<string>();
        double worst = 0;
        void Compare(string what, IReadOnlyList<double> actual, string property, Func<int, string>? name = null)
        {
            var element = torch.GetProperty(property);
            double[] expected = element.ValueKind == JsonValueKind.Array ? element.EnumerateArray().Select(e => e.GetDouble()).ToArray() : [element.GetDouble()];
            if (actual.Count != expected.Length)
            {
                failures.Add($"{what}: NetGen has {actual.Count} values, PyTorch {expected.Length}");
                return;
            }
            for (int i = 0; i < expected.Length; i++)
            {
                double error = Math.Abs(actual[i] - expected[i]) / Math.Max(1, Math.Abs(expected[i]));
                worst = Math.Max(worst, double.IsNaN(error) ? double.PositiveInfinity : error);
                if (!(error <= Tolerance))
                    failures.Add($"{what} {(name is null ? i.ToString(CultureInfo.InvariantCulture) : name(i))}: NetGen {actual[i]:R}, PyTorch {expected[i]:R}");
            }
        }

        Compare("output", netgen.Output, "output");
        Compare("loss", [netgen.Loss], "loss");
        Compare("∂E/∂θ", netgen.Gradients, "gradients", spec.ParameterName);
        Compare("∂Φ/∂θ", netgen.PhiGradients, "phi_gradients", spec.ParameterName);
        Compare("∂Φ/∂x", netgen.PhiInputGradient, "phi_input_gradient", spec.InputName);
        Compare("State after the first forward", netgen.StateAfterForward, "state_after_forward");
        Compare("TrainStep loss", netgen.StepLosses, "step_losses");
        Compare("parameters after 3 steps", netgen.Parameters, "parameters", spec.ParameterName);
        Compare("State after 3 steps", netgen.State, "state");
        Compare("inference output", netgen.EvalOutput, "eval_output");
        Compare("inference ∂Φ/∂θ", netgen.EvalPhiGradients, "eval_phi_gradients", spec.ParameterName);
        Compare("inference ∂Φ/∂x", netgen.EvalPhiInputGradient, "eval_phi_input_gradient", spec.InputName);
        Assert.True(failures.Count == 0, $"{failures.Count} values differ from PyTorch {oracle.TorchVersion} for {description}" + string.Join("\n", failures.Take(25)));

        int dropped = netgen.Masks.Sum(m => m.Sum(mask => mask.Count(v => v == 0)));
        output.WriteLine($"{network}: batch {netgen.Batch}, {spec.ParameterCount} parameters, {spec.StateCount} state values, {dropped} values dropped over 4 passes; " +
            $"max error {worst:E2} (PyTorch {oracle.TorchVersion}; all cases: compile and NetGen {oracle.NetGenTime.TotalSeconds:F1} s, Python {oracle.PythonTime.TotalSeconds:F1} s)");
        output.WriteLine(spec.Declaration());
    }

    /// <summary>The random set exercises every layer kind, option and loss the oracle is meant to cover.</summary>
    [Fact]
    public void RandomNetworksCoverEveryLayerKindAndLoss()
    {
        var layers = Networks.SelectMany(n => n.Spec.Geometry).ToList();
        var missing = new List<string>();
        void Expect(string what, bool present) { if (!present) missing.Add(what); }
        Expect("Conv2D stride 2", layers.Any(g => g.Layer.Kind == CnnKind.Conv2D && g.Stride == 2));
        Expect("Conv2D padding 1", layers.Any(g => g.Layer.Kind == CnnKind.Conv2D && g.Layer.Padding == 1));
        Expect("Conv2D Padding.Same", layers.Any(g => g.Layer.Kind == CnnKind.Conv2D && g.Layer.Padding == CnnLayer.Same));
        Expect("Conv2D non-square kernel", layers.Any(g => g.Layer.Kind == CnnKind.Conv2D && g.KernelHeight != g.KernelWidth));
        Expect("Conv2D RoundDown", layers.Any(g => g.Layer.Kind == CnnKind.Conv2D && g.Layer.RoundDown));
        Expect("Conv2D without bias", layers.Any(g => g.Layer.Kind == CnnKind.Conv2D && !g.Layer.Bias));
        Expect("MaxPool", layers.Any(g => g.Layer.Kind == CnnKind.MaxPool));
        Expect("AvgPool", layers.Any(g => g.Layer.Kind == CnnKind.AvgPool));
        Expect("overlapping pool", layers.Any(g => g.Layer.Kind is CnnKind.MaxPool or CnnKind.AvgPool && g.Stride < g.KernelHeight));
        Expect("pool RoundDown", layers.Any(g => g.Layer.Kind is CnnKind.MaxPool or CnnKind.AvgPool && g.Layer.RoundDown));
        Expect("BatchNorm over channels", layers.Any(g => g.Layer.Kind == CnnKind.BatchNorm && g.In.Length == 3));
        Expect("BatchNorm over features", layers.Any(g => g.Layer.Kind == CnnKind.BatchNorm && g.In.Length == 1));
        Expect("BatchNorm non-default", layers.Any(g => g.Layer.Kind == CnnKind.BatchNorm && g.Layer.Momentum != 0.1));
        Expect("Dropout over channels", layers.Any(g => g.Layer.Kind == CnnKind.Dropout && g.In.Length == 3));
        Expect("Dropout over features", layers.Any(g => g.Layer.Kind == CnnKind.Dropout && g.In.Length == 1));
        foreach (var kind in new[] { CnnKind.ReLU, CnnKind.LeakyReLU, CnnKind.Tanh, CnnKind.Sigmoid, CnnKind.Softmax, CnnKind.Identity })
            Expect(kind.ToString(), layers.Any(g => g.Layer.Kind == kind));
        foreach (var loss in Losses) Expect(loss.ToString(), Networks.Any(n => n.Spec.Loss == loss));
        Expect("cross-entropy on logits (no Softmax)", Networks.Any(n => n.Spec.Loss == LossFunction.CrossEntropy && !n.Spec.FusedSoftmax));
        Expect("cross-entropy after Softmax", Networks.Any(n => n.Spec.FusedSoftmax));
        Expect("UnrollThreshold = 0", Networks.Any(n => n.Spec.UnrollThreshold == 0));
        Assert.True(missing.Count == 0, "the random CNNs never contain: " + string.Join(", ", missing));
        Assert.True(Networks.Count >= 20);
        Assert.All(Networks, n => Assert.InRange(n.Batch, 2, 4));
    }
}
