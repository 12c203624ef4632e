using System.Globalization;
using System.Reflection;
using System.Text;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>An activation in a test network's declaration.</summary>
internal enum DenseAct { Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Identity, Step, ELU, SiLU }

/// <summary>One [Dense(units)] and the activations that follow it, in order.</summary>
internal sealed record DenseLayerSpec(int Units, DenseAct[] Activations, bool Bias = true, bool TrainBias = true);

/// <summary>
/// A dense network described in data, so tests can declare it to the generator, know its parameter layout, and run
/// an independent reference forward pass (used to keep inputs away from the kinks of ReLU).
/// </summary>
internal sealed record DenseNetSpec(string Name, LossFunction Loss, int Inputs, DenseLayerSpec[] Layers, int? UnrollThreshold = null)
{
    /// <summary>The slope every LeakyReLU in the test networks is declared with.</summary>
    public const double LeakyAlpha = 0.1;

    public int Outputs => Layers[^1].Units;

    public DenseAct? LastActivation => Layers[^1].Activations.Length > 0 ? Layers[^1].Activations[^1] : null;

    /// <summary>Cross-entropy after a final Softmax: the loss reads the logits (fused).</summary>
    public bool FusedSoftmax => Loss == LossFunction.CrossEntropy && LastActivation == DenseAct.Softmax;

    public bool HasKinks => Layers.Any(l => l.Activations.Any(a => a is DenseAct.ReLU or DenseAct.LeakyReLU));

    /// <summary>Every block of the flat parameter buffer in order: weights [out × in] then bias [out], per layer.</summary>
    public IEnumerable<(int Layer, bool IsBias, int Offset, int Count, int FanIn, bool Trainable)> Blocks()
    {
        int offset = 0, fanIn = Inputs;
        for (int l = 0; l < Layers.Length; l++)
        {
            var layer = Layers[l];
            yield return (l, false, offset, layer.Units * fanIn, fanIn, true);
            offset += layer.Units * fanIn;
            if (layer.Bias)
            {
                yield return (l, true, offset, layer.Units, fanIn, layer.TrainBias);
                offset += layer.Units;
            }
            fanIn = layer.Units;
        }
    }

    public int ParameterCount => Blocks().Sum(b => b.Count);

    /// <summary>Names parameter <paramref name="index"/> for failure messages, e.g. "Dense2 W[1,0]".</summary>
    public string ParameterName(int index)
    {
        foreach (var b in Blocks())
        {
            if (index < b.Offset || index >= b.Offset + b.Count) continue;
            int k = index - b.Offset;
            return b.IsBias ? $"Dense{b.Layer + 1} b[{k}]" : $"Dense{b.Layer + 1} W[{k / b.FanIn},{k % b.FanIn}]";
        }
        return $"#{index}";
    }

    /// <summary>The C# declaration the generator compiles.</summary>
    public string Declaration()
    {
        var sb = new StringBuilder();
        sb.Append("[Network(Loss = LossFunction.").Append(Loss).Append(", Precision = Precision.Double");
        if (UnrollThreshold is int u) sb.Append(", UnrollThreshold = ").Append(u.ToString(CultureInfo.InvariantCulture));
        sb.Append(")]\n");
        sb.Append("[Input(").Append(Inputs.ToString(CultureInfo.InvariantCulture)).Append(")]\n");
        foreach (var layer in Layers)
        {
            sb.Append("[Dense(").Append(layer.Units.ToString(CultureInfo.InvariantCulture));
            if (!layer.Bias) sb.Append(", Bias = false");
            if (layer.Bias && !layer.TrainBias) sb.Append(", TrainBias = false");
            sb.Append(')');
            foreach (var a in layer.Activations)
                sb.Append(", ").Append(a == DenseAct.LeakyReLU ? "LeakyReLU(" + LeakyAlpha.ToString("R", CultureInfo.InvariantCulture) + ")" : a.ToString());
            sb.Append("]\n");
        }
        sb.Append("public partial class ").Append(Name).Append(";\n");
        return sb.ToString();
    }

    /// <summary>A plain re-implementation of the forward pass. <paramref name="closestKink"/> is the smallest |x| seen
    /// at the input of any ReLU or LeakyReLU (infinity when there is none).</summary>
    public double[] ReferenceForward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> input, int batch, out double closestKink)
    {
        closestKink = double.PositiveInfinity;
        var output = new double[batch * Outputs];
        for (int n = 0; n < batch; n++)
        {
            double[] x = input.Slice(n * Inputs, Inputs).ToArray();
            int offset = 0;
            foreach (var layer in Layers)
            {
                var z = new double[layer.Units];
                int bias = offset + layer.Units * x.Length;
                for (int j = 0; j < layer.Units; j++)
                {
                    double s = 0;
                    for (int i = 0; i < x.Length; i++) s += parameters[offset + j * x.Length + i] * x[i];
                    z[j] = s + (layer.Bias ? parameters[bias + j] : 0);
                }
                offset = bias + (layer.Bias ? layer.Units : 0);
                foreach (var a in layer.Activations)
                {
                    if (a is DenseAct.ReLU or DenseAct.LeakyReLU)
                        foreach (double v in z) closestKink = Math.Min(closestKink, Math.Abs(v));
                    Apply(a, z);
                }
                x = z;
            }
            x.CopyTo(output, n * Outputs);
        }
        return output;
    }

    private static void Apply(DenseAct a, double[] z)
    {
        switch (a)
        {
            case DenseAct.Softmax:
                double max = z.Max(), sum = 0;
                for (int j = 0; j < z.Length; j++) sum += z[j] = Math.Exp(z[j] - max);
                for (int j = 0; j < z.Length; j++) z[j] /= sum;
                return;
            default:
                for (int j = 0; j < z.Length; j++)
                    z[j] = a switch
                    {
                        DenseAct.Sigmoid => 1 / (1 + Math.Exp(-z[j])),
                        DenseAct.Tanh => Math.Tanh(z[j]),
                        DenseAct.ReLU => Math.Max(z[j], 0),
                        DenseAct.LeakyReLU => z[j] >= 0 ? z[j] : LeakyAlpha * z[j],
                        DenseAct.Step => z[j] >= 0 ? 1 : 0,
                        DenseAct.ELU => z[j] > 0 ? z[j] : Math.Exp(z[j]) - 1,   // PyTorch's nn.ELU, α = 1 (the default)
                        DenseAct.SiLU => z[j] / (1 + Math.Exp(-z[j])),   // PyTorch's nn.SiLU
                        _ => z[j],
                    };
                return;
        }
    }

    /// <summary>One source file declaring every network in <paramref name="specs"/> in namespace <paramref name="ns"/>.</summary>
    public static string Source(string ns, IEnumerable<DenseNetSpec> specs)
    {
        var sb = new StringBuilder("using NetGen;\n\nnamespace ").Append(ns).Append(";\n\n");
        foreach (var s in specs) sb.Append(s.Declaration()).Append('\n');
        return sb.ToString();
    }

    /// <summary>A deterministic seed from a name (string.GetHashCode is randomised per process).</summary>
    public static long StableSeed(string text, int salt)
    {
        ulong h = 14695981039346656037UL;
        foreach (char ch in text) { h ^= ch; h *= 1099511628211UL; }
        return (long)(h ^ (ulong)salt * 0x9E3779B97F4A7C15UL);
    }
}

/// <summary>The networks the gradient checks run on, declared in one source and compiled once.</summary>
internal static class GradientCheckNetworks
{
    public const string Namespace = "NetGen.Tests.GradientCheck";

    /// <summary>The largest batch a test uses; every network is built for it, so smaller batches also check that
    /// only the first batch rows of each buffer are read.</summary>
    public const int MaxBatch = 5;

    public static readonly int[] BatchSizes = [1, 3, 5];

    public static readonly DenseAct[] Activations = [DenseAct.Sigmoid, DenseAct.Tanh, DenseAct.ReLU, DenseAct.LeakyReLU, DenseAct.Softmax, DenseAct.Identity, DenseAct.ELU, DenseAct.SiLU];

    public static readonly LossFunction[] Losses =
        [LossFunction.HalfSquaredError, LossFunction.MeanSquaredError, LossFunction.CrossEntropy, LossFunction.BinaryCrossEntropy, LossFunction.MeanAbsoluteError];

    public static string Abbreviation(LossFunction loss) => loss switch
    {
        LossFunction.HalfSquaredError => "HSE",
        LossFunction.MeanSquaredError => "MSE",
        LossFunction.CrossEntropy => "CE",
        LossFunction.BinaryCrossEntropy => "BCE",
        _ => "MAE",
    };

    public static readonly IReadOnlyList<DenseNetSpec> All = Build();

    private static readonly Dictionary<string, DenseNetSpec> ByName = All.ToDictionary(s => s.Name);

    private static readonly Lazy<Assembly> Compiled = new(() => GeneratorHarness.CompileAndLoad(DenseNetSpec.Source(Namespace, All)));

    public static DenseNetSpec Get(string name) => ByName[name];

    public static INetwork<double> Create(DenseNetSpec spec, int maxBatch = MaxBatch) =>
        GeneratorHarness.Create<double>(Compiled.Value, Namespace + "." + spec.Name, maxBatch, seed: 1);

    private static List<DenseNetSpec> Build()
    {
        var specs = new List<DenseNetSpec>();
        // Every activation × every loss. The depth cycles 1, 2, 3 and the emission alternates between the default
        // threshold (these small layers are unrolled) and UnrollThreshold = 0 (Dense as vectorised loops, activations
        // as library kernels), so every activation and every loss is seen at every depth and in both code paths.
        // Crossing everything would multiply the generated code, and its compile is most of this class's run time.
        for (int a = 0; a < Activations.Length; a++)
            for (int l = 0; l < Losses.Length; l++)
                specs.Add(Combination(Activations[a], Losses[l], depth: 1 + (a + l) % 3, loops: (a + l) % 2 == 1));

        DenseLayerSpec D(int units, params DenseAct[] acts) => new(units, acts);

        // One architecture with every Dense unrolled (the largest threshold, 4096; 9 → 8 is 72 multiply-adds, a loop by
        // default) and with every Dense a loop.
        DenseLayerSpec[] wide = [D(8, DenseAct.Tanh), D(6, DenseAct.LeakyReLU), D(4, DenseAct.Softmax)];
        specs.Add(new("Wide_AllUnrolled_CE", LossFunction.CrossEntropy, 9, wide, UnrollThreshold: 4096));
        specs.Add(new("Wide_AllLoops_CE", LossFunction.CrossEntropy, 9, wide, UnrollThreshold: 0));
        // Default threshold 64: the 10 → 8 layer (80 multiply-adds) is a loop, the later ones are unrolled.
        specs.Add(new("Mixed_LoopThenUnrolled_MSE", LossFunction.MeanSquaredError, 10, [D(8, DenseAct.ReLU), D(6, DenseAct.Sigmoid), D(4, DenseAct.Identity)]));
        // Layers without bias (the first and last), one with.
        DenseLayerSpec[] noBias = [new(4, [DenseAct.ReLU], Bias: false), D(3, DenseAct.Tanh), new(3, [DenseAct.Softmax], Bias: false)];
        specs.Add(new("NoBias_Unrolled_CE", LossFunction.CrossEntropy, 3, noBias));
        specs.Add(new("NoBias_Loops_HSE", LossFunction.HalfSquaredError, 3, noBias, UnrollThreshold: 0));
        // Held biases: their gradient must stay exactly zero.
        DenseLayerSpec[] held = [new(4, [DenseAct.Sigmoid], TrainBias: false), D(3, DenseAct.Tanh), new(2, [DenseAct.Identity], TrainBias: false)];
        specs.Add(new("HeldBias_Unrolled_MSE", LossFunction.MeanSquaredError, 3, held));
        specs.Add(new("HeldBias_Loops_MSE", LossFunction.MeanSquaredError, 3, held, UnrollThreshold: 0));
        // Dense layers with no activation at all (a linear output read as logits by cross-entropy).
        specs.Add(new("NoActivation_CE", LossFunction.CrossEntropy, 2, [D(3), D(3, DenseAct.Tanh), D(3)]));
        return specs;
    }

    /// <summary>Two inputs, hidden layers of 3 units using <paramref name="act"/> (Tanh when it is Softmax, which may
    /// only end a network), 3 outputs ending in <paramref name="act"/>, followed by a Sigmoid when the loss is binary
    /// cross-entropy and the activation does not already give values in (0, 1).</summary>
    private static DenseNetSpec Combination(DenseAct act, LossFunction loss, int depth, bool loops)
    {
        DenseAct hidden = act == DenseAct.Softmax ? DenseAct.Tanh : act;
        DenseAct[] last = loss == LossFunction.BinaryCrossEntropy && act is not (DenseAct.Sigmoid or DenseAct.Softmax) ? [act, DenseAct.Sigmoid] : [act];
        var layers = Enumerable.Range(0, depth).Select(i => new DenseLayerSpec(3, i == depth - 1 ? last : [hidden])).ToArray();
        return new($"{act}_{Abbreviation(loss)}_D{depth}{(loops ? "_Loops" : "")}", loss, 2, layers, loops ? 0 : null);
    }
}

/// <summary>
/// Central-difference gradient checks, in double, of every generated network in <see cref="GradientCheckNetworks"/>:
/// ∂E/∂θ from <c>Backward(target)</c> for every parameter, and ∂Φ/∂θ, ∂Φ/∂x from <c>Backward(outputGradient,
/// inputGradient)</c> for Φ = Σ outputGradient ⊙ output. Step is not differentiable and is checked separately
/// (Rosenblatt's rule).
/// </summary>
public sealed class GradientCheckTests(ITestOutputHelper output)
{
    /// <summary>The central-difference step.</summary>
    private const double H = 1e-6;
    /// <summary>The bound on |a − n| / max(|a| + |n|, 1e-8).</summary>
    private const double Tolerance = 1e-6;
    /// <summary>The step of the fourth-order stencil that re-measures a derivative too small for H to resolve: with
    /// H = 1e-6 the quotient's rounding error is about ulp(E)/H ≈ 1e-10, which is already 1e-6 of a gradient of
    /// 1e-4. [8(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))] / 12h has rounding error ≈ 1e-13 at h = 1e-3 and truncation
    /// error h⁴·f⁽⁵⁾/30 ≈ 1e-13, so it resolves gradients down to about 1e-7 at the same tolerance.</summary>
    private const double RefinedH = 1e-3;
    /// <summary>How far every ReLU/LeakyReLU input is kept from 0, so no step (up to 2·RefinedH) crosses the kink.</summary>
    private const double KinkMargin = 0.02;

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var spec in GradientCheckNetworks.All)
            foreach (int batch in GradientCheckNetworks.BatchSizes)
                data.Add(spec.Name, batch);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossGradientMatchesFiniteDifferences(string network, int batch)
    {
        var spec = GradientCheckNetworks.Get(network);
        var net = GradientCheckNetworks.Create(spec);
        Assert.Equal(spec.ParameterCount, net.Parameters.Length);
        var (input, target) = Problem(spec, net, batch, new SeededRandom(DenseNetSpec.StableSeed(network, batch)));

        net.ZeroGradients();
        net.Forward(input, batch);
        net.Backward(target);
        double[] analytic = net.Gradients.ToArray();

        // Backward again without zeroing: gradients accumulate.
        net.Backward(target);
        for (int i = 0; i < analytic.Length; i++)
            Assert.True(Math.Abs(net.Gradients[i] - 2 * analytic[i]) <= 1e-12 * Math.Max(1, Math.Abs(analytic[i])),
                $"{spec.ParameterName(i)}: a second Backward gave {net.Gradients[i]:R}, expected 2 × {analytic[i]:R}");

        double Objective()
        {
            net.Forward(input, batch);
            return net.Loss(target);
        }
        var stats = new Stats();
        CheckParameters(spec, net, analytic, Objective, "∂E/∂θ", stats);
        output.WriteLine($"{network}, batch {batch}: loss {Objective():R}; {stats}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputGradientBackpropMatchesFiniteDifferences(string network, int batch)
    {
        var spec = GradientCheckNetworks.Get(network);
        var net = GradientCheckNetworks.Create(spec);
        var random = new SeededRandom(DenseNetSpec.StableSeed(network, 1000 + batch));
        var (input, _) = Problem(spec, net, batch, random);
        double[] outputGradient = Enumerable.Range(0, batch * spec.Outputs).Select(_ => random.NextDouble(-1, 1)).ToArray();

        net.ZeroGradients();
        net.Forward(input, batch);
        var inputGradient = new double[batch * spec.Inputs];
        net.Backward(outputGradient, inputGradient);
        double[] analytic = net.Gradients.ToArray();

        // Skipping the input gradient (an empty span) must not change the parameter gradients.
        net.ZeroGradients();
        net.Forward(input, batch);
        net.Backward(outputGradient, Span<double>.Empty);
        Assert.Equal(analytic, net.Gradients.ToArray());

        double Objective()
        {
            var y = net.Forward(input, batch);
            double s = 0;
            for (int k = 0; k < y.Length; k++) s += outputGradient[k] * y[k];
            return s;
        }
        var stats = new Stats();
        CheckParameters(spec, net, analytic, Objective, "∂Φ/∂θ", stats);

        var failures = new List<string>();
        for (int k = 0; k < input.Length; k++)
        {
            double x0 = input[k];
            var (numeric, error) = Compare(inputGradient[k], x => { input[k] = x; return Objective(); }, x0, stats);
            input[k] = x0;
            if (!(error < Tolerance))
                failures.Add($"∂Φ/∂x[sample {k / spec.Inputs}, {k % spec.Inputs}]: backprop {inputGradient[k]:R}, finite difference {numeric:R}, relative error {error:E2}");
        }
        Assert.True(failures.Count == 0, $"{network}, batch {batch}: {failures.Count} of {input.Length} input gradients disagree:\n" + string.Join("\n", failures.Take(20)));
        output.WriteLine($"{network}, batch {batch}: {stats}");
    }

    /// <summary>What a check compared.</summary>
    private sealed class Stats
    {
        public int Compared, Refined, Held;
        public double WorstError;

        public override string ToString() =>
            $"{Compared} derivatives compared, max relative error {WorstError:E2}" +
            (Refined > 0 ? $" ({Refined} below H's resolution re-measured with the fourth-order stencil)" : "") +
            (Held > 0 ? $", {Held} held parameters exactly 0" : "");
    }

    /// <summary>Central difference of <paramref name="at"/> (the objective as a function of one value) around
    /// <paramref name="x0"/> with step H; when that misses <paramref name="analytic"/>, the fourth-order stencil with
    /// step RefinedH decides (see <see cref="RefinedH"/>). Returns the deciding estimate and its relative error.</summary>
    private static (double Numeric, double Error) Compare(double analytic, Func<double, double> at, double x0, Stats stats)
    {
        stats.Compared++;
        double up = x0 + H, down = x0 - H;
        double numeric = (at(up) - at(down)) / (up - down);
        double error = RelativeError(analytic, numeric);
        if (!(error < Tolerance))
        {
            const double h = RefinedH;
            numeric = (8 * (at(x0 + h) - at(x0 - h)) - (at(x0 + 2 * h) - at(x0 - 2 * h))) / (12 * h);
            error = RelativeError(analytic, numeric);
            stats.Refined++;
        }
        stats.WorstError = Math.Max(stats.WorstError, error);
        return (numeric, error);
    }

    /// <summary>Seeded parameters, inputs and valid targets, redrawn until no ReLU input is near its kink (and, for
    /// MAE, targets are placed well away from the outputs). Also checks Forward against a plain re-implementation.</summary>
    private static (double[] Input, double[] Target) Problem(DenseNetSpec spec, INetwork<double> net, int batch, SeededRandom random)
    {
        for (int attempt = 0; attempt < 10_000; attempt++)
        {
            var p = net.Parameters;
            foreach (var b in spec.Blocks())
            {
                double scale = b.IsBias ? 0.5 : 1.5 / Math.Sqrt(b.FanIn);
                for (int i = b.Offset; i < b.Offset + b.Count; i++) p[i] = random.NextDouble(-scale, scale);
            }
            var input = new double[batch * spec.Inputs];
            for (int i = 0; i < input.Length; i++) input[i] = (random.NextDouble() < 0.5 ? -1 : 1) * random.NextDouble(0.2, 1.5);

            double[] reference = spec.ReferenceForward(p, input, batch, out double closestKink);
            if (closestKink < KinkMargin) continue;
            double[] actual = net.Forward(input, batch).ToArray();
            Assert.Equal(reference.Length, actual.Length);
            for (int k = 0; k < actual.Length; k++)
                Assert.True(Math.Abs(actual[k] - reference[k]) <= 1e-12 * Math.Max(1, Math.Abs(reference[k])),
                    $"{spec.Name}: Forward output {k} is {actual[k]:R}, a plain re-implementation gives {reference[k]:R}");
            return (input, Target(spec, actual, batch, random));
        }
        throw new InvalidOperationException($"{spec.Name}: could not draw inputs away from the ReLU kinks.");
    }

    /// <summary>A target valid for the loss: probabilities (one-hot for every other sample) for cross-entropy, values
    /// in (0, 1) for binary cross-entropy, outputs ± 0.1–0.6 for MAE (never at its kink), anything for squared errors.</summary>
    internal static double[] Target(DenseNetSpec spec, ReadOnlySpan<double> output, int batch, SeededRandom random)
    {
        int m = spec.Outputs;
        var target = new double[batch * m];
        for (int n = 0; n < batch; n++)
        {
            var row = target.AsSpan(n * m, m);
            switch (spec.Loss)
            {
                case LossFunction.CrossEntropy when n % 2 == 0:
                    row[random.NextInt(m)] = 1;
                    break;
                case LossFunction.CrossEntropy:
                    for (int j = 0; j < m; j++) row[j] = random.NextDouble(0.05, 1);
                    double sum = 0;
                    foreach (double v in row) sum += v;
                    for (int j = 0; j < m; j++) row[j] /= sum;
                    break;
                case LossFunction.BinaryCrossEntropy:
                    for (int j = 0; j < m; j++) row[j] = random.NextDouble(0.05, 0.95);
                    break;
                case LossFunction.MeanAbsoluteError:
                    for (int j = 0; j < m; j++) row[j] = output[n * m + j] + (random.NextDouble() < 0.5 ? -1 : 1) * random.NextDouble(0.1, 0.6);
                    break;
                default:
                    for (int j = 0; j < m; j++) row[j] = random.NextDouble(-1, 1.5);
                    break;
            }
        }
        return target;
    }

    /// <summary>Compares <paramref name="analytic"/> with finite differences of <paramref name="objective"/> over every
    /// trainable parameter; held parameters (TrainBias = false) must have a gradient of exactly zero.</summary>
    private static void CheckParameters(DenseNetSpec spec, INetwork<double> net, double[] analytic, Func<double> objective, string what, Stats stats)
    {
        var failures = new List<string>();
        foreach (var b in spec.Blocks())
        {
            for (int i = b.Offset; i < b.Offset + b.Count; i++)
            {
                if (!b.Trainable)
                {
                    stats.Held++;
                    if (analytic[i] != 0) failures.Add($"{what} {spec.ParameterName(i)} is held (TrainBias = false) but its gradient is {analytic[i]:R}, not 0");
                    continue;
                }
                double p0 = net.Parameters[i];
                var (numeric, error) = Compare(analytic[i], v => { net.Parameters[i] = v; return objective(); }, p0, stats);
                net.Parameters[i] = p0;
                if (!(error < Tolerance))
                    failures.Add($"{what} {spec.ParameterName(i)}: backprop {analytic[i]:R}, finite difference {numeric:R}, relative error {error:E2}");
            }
        }
        Assert.True(failures.Count == 0, $"{spec.Name}: {failures.Count} of {analytic.Length} parameter gradients disagree:\n" + string.Join("\n", failures.Take(20)));
    }

    private static double RelativeError(double a, double n) => Math.Abs(a - n) / Math.Max(Math.Abs(a) + Math.Abs(n), 1e-8);

    // ---- Step: Rosenblatt's rule ------------------------------------------------------------------------------------

    /// <summary>With Step (straight-through backward), HalfSquaredError and SGD at batch 1, a training step is exactly
    /// the perceptron rule w ← w + α(d − y)x, b ← b + α(d − y). Inputs, weights and α are dyadic, so every value is
    /// exact and the comparison is bit-for-bit.</summary>
    [Theory]
    [InlineData("Perceptron_Unrolled")]
    [InlineData("Perceptron_Loops")]
    [InlineData("Perceptron")]   // the reference network compiled into this project
    public void StepWithHalfSquaredErrorAndSgdIsRosenblattsRule(string network)
    {
        INetwork<double> net = network == "Perceptron"
            ? new Networks.Perceptron()
            : GeneratorHarness.Create<double>(Rosenblatt.Value, "NetGen.Tests.Rosenblatt." + network, 1);
        int inputs = network == "Perceptron" ? 2 : 3, units = network == "Perceptron" ? 1 : 2;
        Assert.Equal(units * inputs + units, net.Parameters.Length);

        const double alpha = 0.25;
        var random = new SeededRandom(DenseNetSpec.StableSeed(network, 7));
        double Dyadic(int range) => (random.NextInt(2 * range + 1) - range) / 4.0;   // multiples of ¼ in [−range/4, range/4]
        var w = new double[units * inputs];
        var b = new double[units];
        for (int i = 0; i < w.Length; i++) w[i] = Dyadic(4);
        for (int j = 0; j < units; j++) b[j] = Dyadic(4);
        w.CopyTo(net.Parameters);
        b.CopyTo(net.Parameters[w.Length..]);

        // A linearly separable problem per unit (a random hyperplane), so the rule both corrects and then stops changing.
        var samples = Enumerable.Range(0, 16).Select(_ => Enumerable.Range(0, inputs).Select(_ => Dyadic(8)).ToArray()).ToArray();
        double[][] desired = samples.Select(x => Enumerable.Range(0, units)
            .Select(j => x.Select((v, i) => v * (i + j % 2 + 1) * (i % 2 == 0 ? 1 : -1)).Sum() + 0.125 >= 0 ? 1.0 : 0.0).ToArray()).ToArray();

        int updates = 0;
        for (int epoch = 0; epoch < 30; epoch++)
        {
            for (int s = 0; s < samples.Length; s++)
            {
                double[] x = samples[s], d = desired[s];
                var y = new double[units];
                double expectedLoss = 0;
                for (int j = 0; j < units; j++)
                {
                    double net_j = b[j];
                    for (int i = 0; i < inputs; i++) net_j += w[j * inputs + i] * x[i];
                    y[j] = net_j >= 0 ? 1 : 0;
                    expectedLoss += 0.5 * (d[j] - y[j]) * (d[j] - y[j]);
                }
                for (int j = 0; j < units; j++)
                {
                    if (d[j] != y[j]) updates++;
                    for (int i = 0; i < inputs; i++) w[j * inputs + i] += alpha * (d[j] - y[j]) * x[i];
                    b[j] += alpha * (d[j] - y[j]);
                }

                double loss = net.TrainStep(x, d, new Sgd(alpha));
                Assert.Equal(y, net.Output.ToArray());
                Assert.Equal(expectedLoss, loss);
                Assert.Equal([.. w, .. b], net.Parameters.ToArray());
            }
        }
        Assert.True(updates > 0, "the problem never made the perceptron update; the test would prove nothing");
        output.WriteLine($"{network}: {30 * samples.Length} steps, {updates} unit updates, all bit-identical to Rosenblatt's rule");
    }

    private static readonly Lazy<Assembly> Rosenblatt = new(() => GeneratorHarness.CompileAndLoad("""
        using NetGen;

        namespace NetGen.Tests.Rosenblatt;

        [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
        [Input(3)]
        [Dense(2), Step]
        public partial class Perceptron_Unrolled;

        [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double, UnrollThreshold = 0)]
        [Input(3)]
        [Dense(2), Step]
        public partial class Perceptron_Loops;
        """));

    // ---- Labels ---------------------------------------------------------------------------------------------------

    /// <summary>Every cross-entropy network (fused or on logits, unrolled or loops), one network per other loss, and
    /// the networks without or with held biases.</summary>
    public static TheoryData<string> LabelCases()
    {
        var all = GradientCheckNetworks.All;
        var data = new TheoryData<string>();
        foreach (var spec in all.Where(s => s.Loss == LossFunction.CrossEntropy)
                     .Concat(GradientCheckNetworks.Losses.Where(l => l != LossFunction.CrossEntropy).Select(l => all.First(s => s.Loss == l)))
                     .Concat(all.Where(s => s.Layers.Any(l => !l.Bias || !l.TrainBias)))
                     .Distinct())
            data.Add(spec.Name);
        return data;
    }

    /// <summary>Loss(labels), Backward(labels) and TrainStep(labels) equal the one-hot target overloads bit for bit.</summary>
    [Theory]
    [MemberData(nameof(LabelCases))]
    public void LabelOverloadsEqualOneHotTargets(string network)
    {
        var spec = GradientCheckNetworks.Get(network);
        const int batch = 5;
        var random = new SeededRandom(DenseNetSpec.StableSeed(network, 99));
        var withLabels = GradientCheckNetworks.Create(spec);
        var withTargets = GradientCheckNetworks.Create(spec);
        var (input, _) = Problem(spec, withLabels, batch, random);
        withLabels.Parameters.CopyTo(withTargets.Parameters);

        int m = spec.Outputs;
        int[] labels = Enumerable.Range(0, batch).Select(_ => random.NextInt(m)).ToArray();
        labels[0] = m - 1;   // the last class too
        var oneHot = new double[batch * m];
        for (int n = 0; n < batch; n++) oneHot[n * m + labels[n]] = 1;

        withLabels.ZeroGradients();
        withTargets.ZeroGradients();
        withLabels.Forward(input, batch);
        withTargets.Forward(input, batch);
        Assert.Equal(withTargets.Loss(oneHot), withLabels.Loss(labels));
        withLabels.Backward(labels);
        withTargets.Backward(oneHot);
        Assert.Equal(withTargets.Gradients.ToArray(), withLabels.Gradients.ToArray());
        Assert.Contains(withLabels.Gradients.ToArray(), g => g != 0);

        var sgd = new Sgd(0.1);
        for (int step = 0; step < 3; step++)
            Assert.Equal(withTargets.TrainStep(input, oneHot, sgd, batch), withLabels.TrainStep(input, labels, sgd, batch));
        Assert.Equal(withTargets.Parameters.ToArray(), withLabels.Parameters.ToArray());
    }
}
