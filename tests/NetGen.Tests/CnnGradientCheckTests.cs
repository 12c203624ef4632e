using System.Globalization;
using System.Reflection;
using System.Text;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>A layer kind of a CNN test network; the names are NetGen's, so a layer's views are named Kind + ordinal
/// (Conv2D1Weights, BatchNorm2Gamma, Dropout1Mask …).</summary>
internal enum CnnKind { Conv2D, MaxPool, AvgPool, Flatten, Dense, BatchNorm, Dropout, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, Identity }

/// <summary>One layer attribute of a CNN test network, in data: the tests render it as C#, infer its shapes
/// independently of the generator, and the PyTorch oracle rebuilds it.</summary>
internal sealed record CnnLayer(CnnKind Kind)
{
    /// <summary><see cref="Padding"/> value meaning <c>Padding.Same</c>.</summary>
    public const int Same = -1;

    /// <summary>Filters (Conv2D), units (Dense) or the window (pools).</summary>
    public int Size { get; init; }
    public int KernelHeight { get; init; }
    public int KernelWidth { get; init; }
    /// <summary>Conv2D: the stride. Pools: 0 means the window size (NetGen's default).</summary>
    public int Stride { get; init; }
    public int Padding { get; init; }
    public bool Bias { get; init; } = true;
    public bool RoundDown { get; init; }
    public double Rate { get; init; }
    public double Momentum { get; init; } = 0.1;
    public double Epsilon { get; init; } = 1e-5;
    public double Alpha { get; init; } = 0.01;

    public static CnnLayer Conv(int filters, int kernel = 3, int stride = 1, int padding = 0, bool bias = true, bool roundDown = false) =>
        new(CnnKind.Conv2D) { Size = filters, KernelHeight = kernel, KernelWidth = kernel, Stride = stride, Padding = padding, Bias = bias, RoundDown = roundDown };

    public static CnnLayer ConvHW(int filters, int kernelHeight, int kernelWidth, int stride = 1, int padding = 0, bool bias = true, bool roundDown = false) =>
        new(CnnKind.Conv2D) { Size = filters, KernelHeight = kernelHeight, KernelWidth = kernelWidth, Stride = stride, Padding = padding, Bias = bias, RoundDown = roundDown };

    public static CnnLayer MaxPool(int size, int stride = 0, bool roundDown = false) => new(CnnKind.MaxPool) { Size = size, Stride = stride, RoundDown = roundDown };

    public static CnnLayer AvgPool(int size, int stride = 0, bool roundDown = false) => new(CnnKind.AvgPool) { Size = size, Stride = stride, RoundDown = roundDown };

    public static CnnLayer Dense(int units, bool bias = true) => new(CnnKind.Dense) { Size = units, Bias = bias };

    public static CnnLayer BatchNorm(double momentum = 0.1, double epsilon = 1e-5) => new(CnnKind.BatchNorm) { Momentum = momentum, Epsilon = epsilon };

    public static CnnLayer Dropout(double rate) => new(CnnKind.Dropout) { Rate = rate };

    public static CnnLayer LeakyReLU(double alpha) => new(CnnKind.LeakyReLU) { Alpha = alpha };

    public static readonly CnnLayer Flatten = new(CnnKind.Flatten);
    public static readonly CnnLayer ReLU = new(CnnKind.ReLU);
    public static readonly CnnLayer Sigmoid = new(CnnKind.Sigmoid);
    public static readonly CnnLayer Tanh = new(CnnKind.Tanh);
    public static readonly CnnLayer Softmax = new(CnnKind.Softmax);
    public static readonly CnnLayer Identity = new(CnnKind.Identity);

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The attribute as the user writes it, e.g. <c>Conv2D(3, Kernel = 3, Stride = 2, Padding = Padding.Same)</c>.</summary>
    public string Attribute()
    {
        switch (Kind)
        {
            case CnnKind.Conv2D:
                var sb = new StringBuilder("Conv2D(").Append(Size);
                if (KernelHeight == KernelWidth) sb.Append(", Kernel = ").Append(KernelHeight);
                else sb.Append(", KernelHeight = ").Append(KernelHeight).Append(", KernelWidth = ").Append(KernelWidth);
                if (Stride != 1) sb.Append(", Stride = ").Append(Stride);
                if (Padding == Same) sb.Append(", Padding = Padding.Same");
                else if (Padding != 0) sb.Append(", Padding = ").Append(Padding);
                if (!Bias) sb.Append(", Bias = false");
                if (RoundDown) sb.Append(", RoundDown = true");
                return sb.Append(')').ToString();
            case CnnKind.MaxPool:
            case CnnKind.AvgPool:
                var pool = new StringBuilder(Kind.ToString()).Append('(').Append(Size);
                if (Stride != 0) pool.Append(", Stride = ").Append(Stride);
                if (RoundDown) pool.Append(", RoundDown = true");
                return pool.Append(')').ToString();
            case CnnKind.Dense:
                return $"Dense({Size}{(Bias ? "" : ", Bias = false")})";
            case CnnKind.BatchNorm:
                return Momentum == 0.1 && Epsilon == 1e-5 ? "BatchNorm" : $"BatchNorm(Momentum = {F(Momentum)}, Epsilon = {F(Epsilon)})";
            case CnnKind.Dropout:
                return $"Dropout({F(Rate)})";
            case CnnKind.LeakyReLU:
                return $"LeakyReLU({F(Alpha)})";
            default:
                return Kind.ToString();
        }
    }
}

/// <summary>A layer with its shapes and parameter layout, inferred by the tests (not by the generator).</summary>
internal sealed record CnnGeometry(CnnLayer Layer, int Index, string Name, int[] In, int[] Out, int KernelHeight, int KernelWidth, int Stride,
    int PadH, int PadW, int WeightOffset, int WeightCount, int BiasOffset, int BiasCount, int StateOffset, int Channels)
{
    public int InSize => In.Aggregate(1, (a, d) => a * d);
    public int OutSize => Out.Aggregate(1, (a, d) => a * d);
}

/// <summary>One block of the flat parameter buffer: a layer's weights, bias, γ or β, with the view that exposes it.</summary>
internal sealed record CnnBlock(CnnGeometry Layer, string View, int Offset, int Count, double FanIn, bool IsWeight);

/// <summary>A CNN test network in data: its declaration, shapes and parameter/state layout.</summary>
internal sealed class CnnSpec
{
    public CnnSpec(string name, LossFunction loss, int[] input, CnnLayer[] layers, int? unrollThreshold = null)
    {
        Name = name;
        Loss = loss;
        Input = input;
        Layers = layers;
        UnrollThreshold = unrollThreshold;
        Geometry = Infer();
    }

    public string Name { get; }
    public LossFunction Loss { get; }
    public int[] Input { get; }
    public CnnLayer[] Layers { get; }
    public int? UnrollThreshold { get; }
    public IReadOnlyList<CnnGeometry> Geometry { get; }

    public int InputSize => Input.Aggregate(1, (a, d) => a * d);
    public int OutputSize => Geometry[^1].OutSize;
    public int ParameterCount { get; private set; }
    public int StateCount { get; private set; }

    /// <summary>Cross-entropy after a final Softmax: the loss reads the logits.</summary>
    public bool FusedSoftmax => Loss == LossFunction.CrossEntropy && Layers[^1].Kind == CnnKind.Softmax;

    public bool Has(CnnKind kind) => Layers.Any(l => l.Kind == kind);

    private List<CnnGeometry> Infer()
    {
        var result = new List<CnnGeometry>();
        var counts = new Dictionary<CnnKind, int>();
        int[] shape = Input;
        int offset = 0, state = 0;
        for (int i = 0; i < Layers.Length; i++)
        {
            var l = Layers[i];
            counts[l.Kind] = counts.GetValueOrDefault(l.Kind) + 1;
            string name = l.Kind + counts[l.Kind].ToString(CultureInfo.InvariantCulture);
            int[] outShape = shape;
            int kh = 0, kw = 0, stride = 0, ph = 0, pw = 0, wOff = 0, wCount = 0, bOff = 0, bCount = 0, sOff = 0, channels = 0;
            switch (l.Kind)
            {
                case CnnKind.Conv2D:
                case CnnKind.MaxPool:
                case CnnKind.AvgPool:
                {
                    if (shape.Length != 3) throw new InvalidOperationException($"{Name}: {name} needs a (C, H, W) input");
                    bool conv = l.Kind == CnnKind.Conv2D;
                    kh = conv ? l.KernelHeight : l.Size;
                    kw = conv ? l.KernelWidth : l.Size;
                    stride = conv ? l.Stride : (l.Stride > 0 ? l.Stride : l.Size);
                    int outH = Axis(shape[1], kh, out ph), outW = Axis(shape[2], kw, out pw);
                    outShape = [conv ? l.Size : shape[0], outH, outW];
                    if (conv)
                    {
                        wOff = offset;
                        wCount = l.Size * shape[0] * kh * kw;
                        bOff = offset + wCount;
                        bCount = l.Bias ? l.Size : 0;
                        offset += wCount + bCount;
                    }

                    int Axis(int input, int k, out int pad)
                    {
                        pad = conv ? l.Padding : 0;
                        if (pad == CnnLayer.Same)
                        {
                            int want = (input + stride - 1) / stride, total = Math.Max(0, (want - 1) * stride + k - input);
                            if (total % 2 != 0) throw new InvalidOperationException($"{Name}: {name} Same padding is uneven");
                            pad = total / 2;
                        }
                        int span = input + 2 * pad - k;
                        if (span < 0) throw new InvalidOperationException($"{Name}: {name} window larger than its input");
                        if (span % stride != 0 && !l.RoundDown) throw new InvalidOperationException($"{Name}: {name} does not tile; set RoundDown");
                        return span / stride + 1;
                    }
                    break;
                }
                case CnnKind.Flatten:
                    outShape = [shape.Aggregate(1, (a, d) => a * d)];
                    break;
                case CnnKind.Dense:
                    if (shape.Length != 1) throw new InvalidOperationException($"{Name}: {name} needs a vector input");
                    wOff = offset;
                    wCount = l.Size * shape[0];
                    bOff = offset + wCount;
                    bCount = l.Bias ? l.Size : 0;
                    offset += wCount + bCount;
                    outShape = [l.Size];
                    break;
                case CnnKind.BatchNorm:
                    channels = shape[0];
                    wOff = offset;
                    wCount = channels;
                    bOff = offset + channels;
                    bCount = channels;
                    offset += 2 * channels;
                    sOff = state;
                    state += 2 * channels;
                    break;
            }
            result.Add(new CnnGeometry(l, i, name, shape, outShape, kh, kw, stride, ph, pw, wOff, wCount, bOff, bCount, sOff, channels));
            shape = outShape;
        }
        ParameterCount = offset;
        StateCount = state;
        return result;
    }

    /// <summary>Every parameter block in buffer order.</summary>
    public IEnumerable<CnnBlock> Blocks()
    {
        foreach (var g in Geometry)
        {
            switch (g.Layer.Kind)
            {
                case CnnKind.Conv2D:
                    int fanIn = g.In[0] * g.KernelHeight * g.KernelWidth;
                    yield return new(g, g.Name + "Weights", g.WeightOffset, g.WeightCount, fanIn, true);
                    if (g.BiasCount > 0) yield return new(g, g.Name + "Bias", g.BiasOffset, g.BiasCount, fanIn, false);
                    break;
                case CnnKind.Dense:
                    yield return new(g, g.Name + "Weights", g.WeightOffset, g.WeightCount, g.In[0], true);
                    if (g.BiasCount > 0) yield return new(g, g.Name + "Bias", g.BiasOffset, g.BiasCount, g.In[0], false);
                    break;
                case CnnKind.BatchNorm:
                    yield return new(g, g.Name + "Gamma", g.WeightOffset, g.WeightCount, 1, true);
                    yield return new(g, g.Name + "Beta", g.BiasOffset, g.BiasCount, 1, false);
                    break;
            }
        }
    }

    /// <summary>Names parameter <paramref name="index"/> for failure messages, e.g. "Conv2D1Weights[f=1, c=0, u=2, v=1]".</summary>
    public string ParameterName(int index)
    {
        foreach (var b in Blocks())
        {
            if (index < b.Offset || index >= b.Offset + b.Count) continue;
            int k = index - b.Offset;
            var g = b.Layer;
            if (g.Layer.Kind == CnnKind.Conv2D && b.IsWeight)
            {
                int kw = g.KernelWidth, kh = g.KernelHeight, c = g.In[0];
                return $"{b.View}[f={k / (c * kh * kw)}, c={k / (kh * kw) % c}, u={k / kw % kh}, v={k % kw}]";
            }
            if (g.Layer.Kind == CnnKind.Dense && b.IsWeight) return $"{b.View}[{k / g.In[0]}, {k % g.In[0]}]";
            return $"{b.View}[{k}]";
        }
        return $"#{index}";
    }

    /// <summary>Names input value <paramref name="k"/> of a batch, e.g. "x[n=1, c=0, y=2, x=3]".</summary>
    public string InputName(int k)
    {
        int n = k / InputSize, i = k % InputSize;
        return Input.Length == 3 ? $"x[n={n}, c={i / (Input[1] * Input[2])}, y={i / Input[2] % Input[1]}, x={i % Input[2]}]" : $"x[n={n}, {i}]";
    }

    public string Declaration()
    {
        var sb = new StringBuilder("[Network(Loss = LossFunction.").Append(Loss).Append(", Precision = Precision.Double");
        if (UnrollThreshold is int u) sb.Append(", UnrollThreshold = ").Append(u);
        sb.Append(")]\n[Input(").Append(string.Join(", ", Input)).Append(")]\n");
        foreach (var l in Layers) sb.Append('[').Append(l.Attribute()).Append("]\n");
        return sb.Append("public partial class ").Append(Name).Append(";\n").ToString();
    }

    /// <summary>One source file declaring every network of <paramref name="specs"/> in namespace <paramref name="ns"/>.</summary>
    public static string Source(string ns, IEnumerable<CnnSpec> specs)
    {
        // 'global using System;': generated code calls MemoryExtensions.AsSpan unqualified (implicit usings in a project).
        var sb = new StringBuilder("global using System;\nusing NetGen;\n\nnamespace ").Append(ns).Append(";\n\n");
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

    /// <summary>Fills every parameter with seeded values of a sensible scale (weights ±1.5/√fan-in, biases and β ±0.5,
    /// γ in [0.5, 1.5]), and the batch-norm running statistics with means ±0.5 and variances in [0.5, 2].</summary>
    public void Randomize(INetwork<double> net, SeededRandom random)
    {
        var p = net.Parameters;
        foreach (var b in Blocks())
        {
            bool gamma = b.Layer.Layer.Kind == CnnKind.BatchNorm && b.IsWeight;
            for (int i = b.Offset; i < b.Offset + b.Count; i++)
                p[i] = gamma ? random.NextDouble(0.5, 1.5) : b.IsWeight ? random.NextDouble(-1.5, 1.5) / Math.Sqrt(b.FanIn) : random.NextDouble(-0.5, 0.5);
        }
        var s = net.State;
        foreach (var g in Geometry.Where(g => g.Layer.Kind == CnnKind.BatchNorm))
            for (int ch = 0; ch < g.Channels; ch++)
            {
                s[g.StateOffset + ch] = random.NextDouble(-0.5, 0.5);
                s[g.StateOffset + g.Channels + ch] = random.NextDouble(0.5, 2);
            }
    }

    /// <summary>A target valid for the loss: probability rows (one-hot for even samples) for cross-entropy, values in
    /// (0, 1) for binary cross-entropy, outputs ± 0.1–0.6 for MAE (away from its kink), anything for squared errors.</summary>
    public double[] Target(ReadOnlySpan<double> output, int batch, SeededRandom random)
    {
        int m = OutputSize;
        var target = new double[batch * m];
        for (int n = 0; n < batch; n++)
        {
            var row = target.AsSpan(n * m, m);
            switch (Loss)
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

    /// <summary>The smallest distance of the last forward pass from a kink: |x| at every ReLU/LeakyReLU input, and the
    /// gap between the largest and the second largest value of every MaxPool window (a tie would let a step of h move
    /// the arg-max). Infinity when the network has no kinks.</summary>
    public double KinkDistance(object net, ReadOnlySpan<double> input, int batch)
    {
        double closest = double.PositiveInfinity;
        foreach (var g in Geometry)
        {
            if (g.Layer.Kind is not (CnnKind.ReLU or CnnKind.LeakyReLU or CnnKind.MaxPool)) continue;
            double[] x = g.Index == 0 ? input.ToArray() : CnnViews.Read(net, Geometry[g.Index - 1].Name + "Output");
            if (g.Layer.Kind != CnnKind.MaxPool)
            {
                foreach (double v in x) closest = Math.Min(closest, Math.Abs(v));
                continue;
            }
            int C = g.In[0], H = g.In[1], W = g.In[2];
            for (int n = 0; n < batch; n++)
                for (int c = 0; c < C; c++)
                    for (int oy = 0; oy < g.Out[1]; oy++)
                        for (int ox = 0; ox < g.Out[2]; ox++)
                        {
                            double best = double.NegativeInfinity, second = double.NegativeInfinity;
                            for (int u = 0; u < g.KernelHeight; u++)
                                for (int v = 0; v < g.KernelWidth; v++)
                                {
                                    double value = x[n * g.InSize + c * H * W + (oy * g.Stride + u) * W + ox * g.Stride + v];
                                    if (value > best) { second = best; best = value; }
                                    else if (value > second) second = value;
                                }
                            closest = Math.Min(closest, best - second);
                        }
        }
        return closest;
    }
}

/// <summary>Reads and writes a generated network's named views (Conv2D1Weights, Dropout1Mask, MaxPool1Output …)
/// through reflection: they return spans, so they are called through closed delegates rather than GetValue.</summary>
internal static class CnnViews
{
    private delegate Span<double> Writable();

    private delegate ReadOnlySpan<double> Readable();

    private static MethodInfo Getter(object net, string view) =>
        net.GetType().GetProperty(view, BindingFlags.Public | BindingFlags.Instance)?.GetMethod
        ?? throw new InvalidOperationException($"{net.GetType().Name} has no view named {view}");

    public static bool Has(object net, string view) => net.GetType().GetProperty(view, BindingFlags.Public | BindingFlags.Instance) is not null;

    public static double[] Read(object net, string view)
    {
        var getter = Getter(net, view);
        return getter.ReturnType == typeof(Span<double>)
            ? ((Writable)Delegate.CreateDelegate(typeof(Writable), net, getter))().ToArray()
            : ((Readable)Delegate.CreateDelegate(typeof(Readable), net, getter))().ToArray();
    }

    public static void Write(object net, string view, ReadOnlySpan<double> values)
    {
        var getter = Getter(net, view);
        if (getter.ReturnType != typeof(Span<double>)) throw new InvalidOperationException($"{view} is read-only");
        var span = ((Writable)Delegate.CreateDelegate(typeof(Writable), net, getter))();
        if (span.Length != values.Length) throw new InvalidOperationException($"{view} holds {span.Length} values, not {values.Length}");
        values.CopyTo(span);
    }
}

/// <summary>A gradient-check case: a network, the mode it is checked in, and the batch sizes.</summary>
internal sealed record CnnGradientCase(CnnSpec Spec, bool Training, int[] Batches)
{
    /// <summary>Dropout in training redraws its mask at every Forward: each evaluation then runs a fresh network with
    /// the same seed, whose first Forward draws the same mask ("same seed, same masks"), so the objective is a fixed
    /// function of the parameters and the input.</summary>
    public bool FreshPerForward => Training && Spec.Has(CnnKind.Dropout);
}

/// <summary>The CNN networks the gradient checks run on, declared in one source and compiled once.</summary>
internal static class CnnGradientNetworks
{
    public const string Namespace = "NetGen.Tests.CnnGradientCheck";
    public const int MaxBatch = 3;
    public const int Seed = 7;

    private static readonly int[] AllBatches = [1, 2, 3];
    /// <summary>Batch norm over features in training: one sample has zero variance and a constant output.</summary>
    private static readonly int[] CoupledBatches = [2, 3];


    public static readonly IReadOnlyList<CnnGradientCase> All = Build();

    /// <summary>Networks for the exact dropout checks (not finite-differenced).</summary>
    public static readonly IReadOnlyList<CnnSpec> DropoutOnly =
    [
        new("DropoutOnly_Chw", LossFunction.HalfSquaredError, [2, 3, 3], [CnnLayer.Dropout(0.25)]),
        new("DropoutOnly_Vector", LossFunction.HalfSquaredError, [12], [CnnLayer.Dropout(0.5)]),
        new("DropoutThenDense", LossFunction.HalfSquaredError, [2, 3, 3], [CnnLayer.Dropout(0.25), CnnLayer.Flatten, CnnLayer.Dense(3)]),
        new("DropoutInside", LossFunction.HalfSquaredError, [2, 4, 4], [CnnLayer.Conv(3, 3, padding: 1), CnnLayer.Tanh, CnnLayer.Dropout(0.4), CnnLayer.Flatten, CnnLayer.Dense(3)]),
    ];

    private static readonly Dictionary<string, CnnGradientCase> ByName = All.ToDictionary(c => c.Spec.Name);

    private static readonly Lazy<Assembly> Compiled = new(() =>
        GeneratorHarness.CompileAndLoad(CnnSpec.Source(Namespace, All.Select(c => c.Spec).Concat(DropoutOnly))));

    public static CnnGradientCase Get(string name) => ByName[name];

    public static INetwork<double> Create(CnnSpec spec) => GeneratorHarness.Create<double>(Compiled.Value, Namespace + "." + spec.Name, MaxBatch, Seed);

    private static List<CnnGradientCase> Build()
    {
        var cases = new List<CnnGradientCase>();
        void Add(string name, LossFunction loss, int[] input, CnnLayer[] layers, bool training = true, int[]? batches = null) =>
            cases.Add(new(new CnnSpec(name, loss, input, layers), training, batches ?? AllBatches));
        const LossFunction HSE = LossFunction.HalfSquaredError, MSE = LossFunction.MeanSquaredError, CE = LossFunction.CrossEntropy,
            BCE = LossFunction.BinaryCrossEntropy, MAE = LossFunction.MeanAbsoluteError;
        var L = (CnnLayer[] l) => l;

        // ---- Conv2D: stride 1 and 2, padding 0/1/2/Same, non-square kernels, no bias, RoundDown ----
        Add("Conv_K3_S1_P0", HSE, [2, 5, 5], L([CnnLayer.Conv(3, 3)]));
        Add("Conv_K3_S1_P1_Tanh", MSE, [2, 5, 5], L([CnnLayer.Conv(3, 3, padding: 1), CnnLayer.Tanh]));
        Add("Conv_K3_S1_P2", HSE, [1, 4, 4], L([CnnLayer.Conv(2, 3, padding: 2)]));
        Add("Conv_K3_Same_Sigmoid", BCE, [2, 5, 5], L([CnnLayer.Conv(2, 3, padding: CnnLayer.Same), CnnLayer.Sigmoid]));
        Add("Conv_K5_Same", HSE, [1, 6, 6], L([CnnLayer.Conv(2, 5, padding: CnnLayer.Same)]));
        Add("Conv_K3_S2_Same", MSE, [2, 5, 5], L([CnnLayer.Conv(3, 3, stride: 2, padding: CnnLayer.Same)]));
        Add("Conv_K3_S2_P0", HSE, [3, 7, 7], L([CnnLayer.Conv(4, 3, stride: 2)]));
        Add("Conv_K2_S2_P1", MAE, [2, 6, 6], L([CnnLayer.Conv(3, 2, stride: 2, padding: 1)]));
        Add("Conv_K2x3_Tanh", HSE, [2, 5, 7], L([CnnLayer.ConvHW(3, 2, 3), CnnLayer.Tanh]));
        Add("Conv_K2x3_S2_P1", HSE, [2, 6, 5], L([CnnLayer.ConvHW(2, 2, 3, stride: 2, padding: 1)]));
        Add("Conv_K3x1_P1", MSE, [3, 4, 5], L([CnnLayer.ConvHW(2, 3, 1, padding: 1), CnnLayer.Identity]));
        Add("Conv_NoBias_LeakyReLU", HSE, [3, 4, 4], L([CnnLayer.Conv(2, 3, padding: 1, bias: false), CnnLayer.LeakyReLU(0.1)]));
        Add("Conv_RoundDown_S2", HSE, [2, 6, 6], L([CnnLayer.Conv(2, 3, stride: 2, roundDown: true)]));
        Add("Conv_RoundDown_S3_P1", HSE, [1, 8, 7], L([CnnLayer.Conv(2, 2, stride: 3, padding: 1, roundDown: true)]));
        Add("Conv_Stack_ReLU", HSE, [2, 6, 6], L([CnnLayer.Conv(3, 3, padding: 1), CnnLayer.ReLU, CnnLayer.Conv(2, 2, stride: 2), CnnLayer.Sigmoid]));

        // ---- Pooling ----
        Add("MaxPool2_Only", HSE, [2, 4, 4], L([CnnLayer.MaxPool(2)]));
        Add("MaxPool2_AfterConv", HSE, [2, 6, 6], L([CnnLayer.Conv(2, 3, padding: 1), CnnLayer.MaxPool(2), CnnLayer.ReLU]));
        Add("MaxPool3_S2", HSE, [2, 7, 7], L([CnnLayer.Conv(2, 3, padding: 1), CnnLayer.Tanh, CnnLayer.MaxPool(3, stride: 2)]));
        Add("MaxPool3_S2_RoundDown", MSE, [1, 6, 6], L([CnnLayer.Conv(2, 3, padding: 1), CnnLayer.MaxPool(3, stride: 2, roundDown: true)]));
        Add("AvgPool2_AfterConv", HSE, [2, 6, 6], L([CnnLayer.Conv(2, 3, padding: 1), CnnLayer.Tanh, CnnLayer.AvgPool(2)]));
        Add("AvgPool3_S2_Overlapping", MSE, [2, 7, 7], L([CnnLayer.Conv(2, 3, padding: 1), CnnLayer.AvgPool(3, stride: 2)]));
        Add("AvgPool2_S1_First", HSE, [2, 5, 5], L([CnnLayer.AvgPool(2, stride: 1), CnnLayer.Conv(2, 2)]));
        Add("AvgPool3_S1_Overlapping", HSE, [1, 5, 5], L([CnnLayer.Conv(2, 1), CnnLayer.AvgPool(3, stride: 1)]));
        // Stride larger than the window: the inputs between windows get no gradient.
        Add("MaxPool2_S3_Gaps", HSE, [2, 8, 8], L([CnnLayer.MaxPool(2, stride: 3), CnnLayer.Conv(2, 2)]));
        Add("AvgPool2_S3_Gaps", MSE, [2, 8, 8], L([CnnLayer.AvgPool(2, stride: 3), CnnLayer.Tanh]));

        // ---- Flatten then Dense ----
        Add("Flatten_Dense_Softmax_CE", CE, [2, 5, 5], L([CnnLayer.Conv(3, 3), CnnLayer.Tanh, CnnLayer.Flatten, CnnLayer.Dense(4), CnnLayer.Softmax]));
        Add("Flatten_First", MSE, [2, 3, 3], L([CnnLayer.Flatten, CnnLayer.Dense(4), CnnLayer.Tanh, CnnLayer.Dense(3)]));
        Add("LeNetLike_CE", CE, [1, 8, 8], L([CnnLayer.Conv(2, 3, padding: 1), CnnLayer.MaxPool(2), CnnLayer.Tanh, CnnLayer.Conv(3, 3), CnnLayer.ReLU,
            CnnLayer.Flatten, CnnLayer.Dense(3), CnnLayer.Softmax]));
        Add("Flatten_Dense_Logits_CE", CE, [2, 4, 4], L([CnnLayer.Conv(2, 3, stride: 1), CnnLayer.Sigmoid, CnnLayer.Flatten, CnnLayer.Dense(3)]));

        // ---- BatchNorm, training (batch statistics) and inference (running statistics) ----
        CnnLayer[] bnConv = [CnnLayer.Conv(3, 3, padding: 1), CnnLayer.BatchNorm(), CnnLayer.Tanh];
        Add("BN_Conv_Train", HSE, [2, 4, 4], bnConv);
        Add("BN_Conv_Infer", HSE, [2, 4, 4], bnConv, training: false);
        CnnLayer[] bnFirst = [CnnLayer.BatchNorm(momentum: 0.2, epsilon: 1e-3), CnnLayer.Conv(2, 2), CnnLayer.Sigmoid];
        Add("BN_First_Train", HSE, [3, 3, 3], bnFirst);
        Add("BN_First_Infer", HSE, [3, 3, 3], bnFirst, training: false);
        CnnLayer[] bnDense = [CnnLayer.Flatten, CnnLayer.Dense(4), CnnLayer.BatchNorm(), CnnLayer.Sigmoid, CnnLayer.Dense(3)];
        // Over features with batch 2, x̂ = ±√(σ²/(σ² + ε)): the output hangs on the input only through ε (gradients ~1e−8,
        // below what finite differences resolve). Batch 2 is therefore checked with a large ε, the default ε at batch 3.
        Add("BN_Dense_Train", MSE, [2, 3, 3], bnDense, batches: [3]);
        Add("BN_Dense_LargeEpsilon_Train", MSE, [2, 3, 3], [CnnLayer.Flatten, CnnLayer.Dense(4), CnnLayer.BatchNorm(momentum: 0.3, epsilon: 0.5), CnnLayer.Sigmoid, CnnLayer.Dense(3)],
            batches: CoupledBatches);
        Add("BN_Dense_Infer", MSE, [2, 3, 3], bnDense, training: false);
        CnnLayer[] bnBoth = [CnnLayer.Conv(2, 3, padding: 1), CnnLayer.BatchNorm(), CnnLayer.MaxPool(2), CnnLayer.ReLU, CnnLayer.Flatten,
            CnnLayer.Dense(4), CnnLayer.BatchNorm(), CnnLayer.Tanh, CnnLayer.Dense(3), CnnLayer.Softmax];
        Add("BN_ConvAndDense_Train_CE", CE, [1, 6, 6], bnBoth, batches: [3]);
        Add("BN_ConvAndDense_LargeEpsilon_Train_CE", CE, [1, 6, 6], [.. bnBoth[..6], CnnLayer.BatchNorm(epsilon: 0.5), .. bnBoth[7..]], batches: [2]);
        Add("BN_ConvAndDense_Infer_CE", CE, [1, 6, 6], bnBoth, training: false);

        // ---- Dropout: inference (identity) and training with a fixed mask (fresh network per evaluation) ----
        CnnLayer[] dropConv = [CnnLayer.Conv(2, 3, padding: 1), CnnLayer.Tanh, CnnLayer.Dropout(0.3), CnnLayer.Flatten, CnnLayer.Dense(3)];
        Add("Dropout_Conv_Infer", HSE, [2, 4, 4], dropConv, training: false);
        Add("Dropout_Conv_Train", HSE, [2, 4, 4], dropConv);
        Add("Dropout_Dense_Train_CE", CE, [1, 4, 4], L([CnnLayer.Flatten, CnnLayer.Dense(6), CnnLayer.ReLU, CnnLayer.Dropout(0.5), CnnLayer.Dense(3), CnnLayer.Softmax]));
        Add("Dropout_BN_Train_BCE", BCE, [2, 4, 4], L([CnnLayer.Conv(2, 3, padding: 1), CnnLayer.BatchNorm(), CnnLayer.Dropout(0.25), CnnLayer.Sigmoid,
            CnnLayer.Flatten, CnnLayer.Dense(2), CnnLayer.Sigmoid]));
        return cases;
    }
}

/// <summary>
/// Central-difference gradient checks, in double, of CNN layers compiled by the generator: ∂Φ/∂θ and ∂Φ/∂x from
/// <c>Backward(outputGradient, inputGradient)</c> for Φ = Σ outputGradient ⊙ output, and ∂E/∂θ from
/// <c>Backward(target)</c>, against (f(θ + h) − f(θ − h)) / 2h with h = 1e−6; relative error |a − n| / max(|a| + |n|, 1e−8)
/// below 1e−6. Inputs and parameters are redrawn until no ReLU input and no MaxPool window is within 1e−2 of a kink.
/// <para>
/// Resolution. A difference quotient cannot resolve less than the rounding of the outputs it differences, about
/// ε·|y|/h ≈ 2e−10·|y| at h = 1e−6. Two things keep that from masquerading as a backprop error, without loosening the
/// tolerance: (1) the difference f(θ + h) − f(θ − h) is summed output by output from y⁺ − y⁻ (exact, by Sterbenz), not
/// taken between two large sums whose own rounding would dominate; (2) a component that fails at h = 1e−6 — one that
/// is small only because larger terms cancel, e.g. 4e−5 out of terms of 0.3 — is measured again, 100× more precisely,
/// by the fourth-order central difference (4·q(h) − q(2h))/3 at h = 1e−4, q being the central quotient (truncation
/// ~h⁴, ~1e−16), and must then meet
/// the same 1e−6. A gradient that is exactly zero (a bias feeding a training-mode BatchNorm: the batch mean removes it)
/// has no relative error; it passes only when backprop gives |a| ≤ 1e−12 and the precise difference |n| ≤ 1e−10.
/// Every such re-measurement is counted in the test output.
/// </para>
/// </summary>
public sealed class CnnGradientCheckTests(ITestOutputHelper output)
{
    private const double H = 1e-6;
    private const double PreciseH = 1e-4;
    private const double Tolerance = 1e-6;
    private const double KinkMargin = 1e-2;
    private const double ZeroGradient = 1e-12;
    private const double ZeroDifference = 1e-10;

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var c in CnnGradientNetworks.All)
            foreach (int batch in c.Batches)
                data.Add(c.Spec.Name, batch);
        return data;
    }

    public static TheoryData<string> Networks()
    {
        var data = new TheoryData<string>();
        foreach (var c in CnnGradientNetworks.All) data.Add(c.Spec.Name);
        return data;
    }

    /// <summary>The output of one forward pass, and the logits when the loss reads them (fused softmax).</summary>
    private sealed record Evaluation(double[] Output, double[] Logits);

    /// <summary>The fixed part of a check: parameters, state, input and mode; <see cref="Run"/> evaluates the network.</summary>
    private sealed class Problem(CnnGradientCase testCase, INetwork<double> net, double[] input, int batch)
    {
        public CnnSpec Spec => testCase.Spec;
        public INetwork<double> Net { get; } = net;
        public double[] Input { get; } = input;
        public int Batch { get; } = batch;
        public double[] State { get; } = net.State.ToArray();

        /// <summary>Forward with the network's current parameters (for fresh networks: this problem's parameters and
        /// state copied into a new instance, whose first mask is the same every time). Returns the network that ran.</summary>
        public INetwork<double> Run()
        {
            if (!testCase.FreshPerForward)
            {
                Net.Forward(Input, Batch);
                return Net;
            }
            var fresh = CnnGradientNetworks.Create(Spec);
            fresh.Training = true;
            Net.Parameters.CopyTo(fresh.Parameters);
            State.CopyTo(fresh.State);
            fresh.Forward(Input, Batch);
            return fresh;
        }

        public Evaluation Evaluate()
        {
            var ran = Run();
            double[] y = ran.Output.ToArray();
            double[] logits = Spec.FusedSoftmax ? CnnViews.Read(ran, Spec.Geometry[^2].Name + "Output") : y;
            return new(y, logits);
        }
    }

    /// <summary>An objective f and the difference f(a) − f(b) computed stably from the two evaluations.</summary>
    private sealed record Objective(string Name, Func<Evaluation, double> Value, Func<Evaluation, Evaluation, double> Difference);

    private static Objective Phi(double[] g) => new("∂Φ", e =>
    {
        double s = 0;
        for (int k = 0; k < g.Length; k++) s += g[k] * e.Output[k];
        return s;
    }, (a, b) =>
    {
        double s = 0;
        for (int k = 0; k < g.Length; k++) s += g[k] * (a.Output[k] - b.Output[k]);
        return s;
    });

    /// <summary>The network's loss, re-implemented term by term (checked against <c>Loss(target)</c> at the base point),
    /// with each term's difference written so that it is computed from y⁺ − y⁻ without cancellation.</summary>
    private static Objective LossObjective(CnnSpec spec, double[] t, int batch)
    {
        int m = spec.OutputSize, count = t.Length;
        switch (spec.Loss)
        {
            case LossFunction.HalfSquaredError:
            case LossFunction.MeanSquaredError:
            {
                double scale = spec.Loss == LossFunction.HalfSquaredError ? 0.5 / batch : 1.0 / count;
                return new("∂E", e => Sum(k => (t[k] - e.Output[k]) * (t[k] - e.Output[k])) * scale,
                    (a, b) => Sum(k => (b.Output[k] - a.Output[k]) * (2 * t[k] - a.Output[k] - b.Output[k])) * scale);
            }
            case LossFunction.MeanAbsoluteError:
                // Targets are at least 0.1 from the outputs: |t − y| is linear around them.
                return new("∂E", e => Sum(k => Math.Abs(t[k] - e.Output[k])) / count,
                    (a, b) => Sum(k => Math.Sign(a.Output[k] - t[k]) * (a.Output[k] - b.Output[k])) / count);
            case LossFunction.BinaryCrossEntropy:
                return new("∂E", e => -Sum(k => t[k] * Math.Log(e.Output[k]) + (1 - t[k]) * Math.Log(1 - e.Output[k])) / count,
                    (a, b) => -Sum(k => t[k] * Log1P((a.Output[k] - b.Output[k]) / b.Output[k])
                        + (1 - t[k]) * Log1P(-(a.Output[k] - b.Output[k]) / (1 - b.Output[k]))) / count);
            default:
                // Cross-entropy on logits z (Σ t = 1 per sample): E_n = log Σ e^z − Σ t·z, and
                // E_n(a) − E_n(b) = log1p(Σ e^(z_b − max)·expm1(z_a − z_b) / Σ e^(z_b − max)) − Σ t·(z_a − z_b).
                return new("∂E", e => Sum(n =>
                {
                    var z = e.Logits.AsSpan(n * m, m);
                    double max = double.NegativeInfinity, s = 0, tz = 0;
                    foreach (double v in z) max = Math.Max(max, v);
                    for (int j = 0; j < m; j++) { s += Math.Exp(z[j] - max); tz += t[n * m + j] * z[j]; }
                    return max + Math.Log(s) - tz;
                }, batch) / batch, (a, b) => Sum(n =>
                {
                    var za = a.Logits.AsSpan(n * m, m);
                    var zb = b.Logits.AsSpan(n * m, m);
                    double max = double.NegativeInfinity, s = 0, change = 0, tz = 0;
                    foreach (double v in zb) max = Math.Max(max, v);
                    for (int j = 0; j < m; j++)
                    {
                        double w = Math.Exp(zb[j] - max), d = za[j] - zb[j];
                        s += w;
                        change += w * ExpM1(d);
                        tz += t[n * m + j] * d;
                    }
                    return Log1P(change / s) - tz;
                }, batch) / batch);
        }

        double Sum(Func<int, double> term, int n = -1)
        {
            double s = 0;
            for (int k = 0; k < (n < 0 ? count : n); k++) s += term(k);
            return s;
        }
    }

    /// <summary>log(1 + x), accurate for tiny x (Goldberg; .NET's LogP1 computes Log(1 + x)).</summary>
    private static double Log1P(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>eˣ − 1, accurate for tiny x (Kahan).</summary>
    private static double ExpM1(double x)
    {
        double u = Math.Exp(x);
        if (u == 1) return x;
        double um1 = u - 1;
        return um1 == -1 ? -1 : um1 * x / Math.Log(u);
    }

    private static Problem Draw(CnnGradientCase c, int batch, SeededRandom random)
    {
        var spec = c.Spec;
        for (int attempt = 0; attempt < 2000; attempt++)
        {
            var net = CnnGradientNetworks.Create(spec);
            net.Training = c.Training;
            Assert.Equal(spec.ParameterCount, net.Parameters.Length);
            Assert.Equal(spec.StateCount, net.State.Length);
            spec.Randomize(net, random);
            var input = new double[batch * spec.InputSize];
            for (int i = 0; i < input.Length; i++) input[i] = random.NextDouble(-1.5, 1.5);
            var problem = new Problem(c, net, input, batch);
            var ran = problem.Run();
            if (spec.KinkDistance(ran, input, batch) >= KinkMargin) return problem;
        }
        throw new InvalidOperationException($"{spec.Name}: could not draw a problem away from the kinks.");
    }

    /// <summary>Counts of how each component passed, for the test output.</summary>
    private sealed class Tally
    {
        public int Checked, Remeasured;
        public double Worst;
        public List<string> Zero { get; } = [];

        public override string ToString() => $"{Checked} checked, max relative error {Worst:E2}" +
            (Remeasured > 0 ? $", {Remeasured} re-measured at h = {PreciseH}" : "") + (Zero.Count > 0 ? $", {Zero.Count} exactly zero ({string.Join(", ", Zero)})" : "");
    }

    /// <summary>Checks one component: <paramref name="set"/> moves it (a parameter or an input value) to a value.</summary>
    private static string? CheckComponent(Problem problem, Objective f, string name, double analytic, double x0, Action<double> set, Tally tally)
    {
        double Quotient(double h)
        {
            double up = x0 + h, down = x0 - h;
            set(up);
            var plus = problem.Evaluate();
            set(down);
            var minus = problem.Evaluate();
            set(x0);
            return f.Difference(plus, minus) / (up - down);
        }

        tally.Checked++;
        double numeric = Quotient(H), error = RelativeError(analytic, numeric);
        if (error < Tolerance)
        {
            tally.Worst = Math.Max(tally.Worst, error);
            return null;
        }
        double precise = (4 * Quotient(PreciseH) - Quotient(2 * PreciseH)) / 3;
        double preciseError = RelativeError(analytic, precise);
        if (preciseError < Tolerance)
        {
            tally.Remeasured++;
            tally.Worst = Math.Max(tally.Worst, preciseError);
            return null;
        }
        if (Math.Abs(analytic) <= ZeroGradient && Math.Abs(precise) <= ZeroDifference)
        {
            tally.Zero.Add(name);
            return null;
        }
        return $"backprop {analytic:R}, finite difference {numeric:R} (h = {H}), {precise:R} (fourth order, h = {PreciseH}), relative error {error:E2} / {preciseError:E2}";
    }

    private static double[] CheckParameters(Problem problem, double[] analytic, Objective f, Tally tally, List<string> failures)
    {
        var spec = problem.Spec;
        Assert.Equal(spec.ParameterCount, analytic.Length);
        var p = problem.Net.Parameters.ToArray();
        for (int i = 0; i < p.Length; i++)
        {
            int at = i;
            string? failure = CheckComponent(problem, f, spec.ParameterName(i), analytic[i], p[i], v => problem.Net.Parameters[at] = v, tally);
            if (failure is not null) failures.Add($"{f.Name}/∂{spec.ParameterName(i)}: {failure}");
        }
        return p;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputGradientBackpropMatchesFiniteDifferences(string network, int batch)
    {
        var c = CnnGradientNetworks.Get(network);
        var spec = c.Spec;
        var random = new SeededRandom(CnnSpec.StableSeed("cnn-phi/" + network, batch));
        var problem = Draw(c, batch, random);
        double[] g = Enumerable.Range(0, batch * spec.OutputSize).Select(_ => random.NextDouble(-1, 1)).ToArray();

        var ran = problem.Run();
        ran.ZeroGradients();
        var inputGradient = new double[batch * spec.InputSize];
        ran.Backward(g, inputGradient);
        double[] analytic = ran.Gradients.ToArray();
        if (c.FreshPerForward) AssertSameMasks(spec, ran, problem.Run());

        // An empty input-gradient span must not change the parameter gradients.
        var again = problem.Run();
        again.ZeroGradients();
        again.Backward(g, Span<double>.Empty);
        Assert.Equal(analytic, again.Gradients.ToArray());

        var f = Phi(g);
        var failures = new List<string>();
        var parameters = new Tally();
        CheckParameters(problem, analytic, f, parameters, failures);
        var inputs = new Tally();
        var x = problem.Input;
        for (int k = 0; k < x.Length; k++)
        {
            int at = k;
            string? failure = CheckComponent(problem, f, spec.InputName(k), inputGradient[k], x[k], v => x[at] = v, inputs);
            if (failure is not null) failures.Add($"∂Φ/∂{spec.InputName(k)}: {failure}");
        }
        Assert.True(failures.Count == 0, $"{network}, batch {batch}: {failures.Count} of {analytic.Length + x.Length} gradients disagree:\n" + string.Join("\n", failures.Take(20)));
        output.WriteLine($"{network}, batch {batch}: parameters {parameters}; inputs {inputs}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossGradientMatchesFiniteDifferences(string network, int batch)
    {
        var c = CnnGradientNetworks.Get(network);
        var spec = c.Spec;
        var random = new SeededRandom(CnnSpec.StableSeed("cnn-loss/" + network, batch));
        var problem = Draw(c, batch, random);
        var ran = problem.Run();
        double[] target = spec.Target(ran.Output, batch, random);
        double loss = ran.Loss(target);

        ran.ZeroGradients();
        ran.Backward(target);
        double[] analytic = ran.Gradients.ToArray();

        var f = LossObjective(spec, target, batch);
        double mine = f.Value(problem.Evaluate());
        Assert.True(Math.Abs(mine - loss) <= 1e-12 * Math.Max(1, Math.Abs(loss)), $"{network}: Loss(target) is {loss:R}, the loss re-implemented term by term gives {mine:R}");
        var failures = new List<string>();
        var tally = new Tally();
        CheckParameters(problem, analytic, f, tally, failures);
        Assert.True(failures.Count == 0, $"{network}, batch {batch}: {failures.Count} of {analytic.Length} parameter gradients disagree:\n" + string.Join("\n", failures.Take(20)));
        output.WriteLine($"{network}, batch {batch}: loss {loss:R}; parameters {tally}");
    }

    /// <summary>The named views alias the flat buffers at the layout the tests expect (PyTorch's: Conv2D [F, C, kh, kw]
    /// then bias; BatchNorm γ then β, running mean then running variance in State).</summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void ViewsAliasTheDocumentedLayout(string network)
    {
        var spec = CnnGradientNetworks.Get(network).Spec;
        var net = CnnGradientNetworks.Create(spec);
        for (int i = 0; i < net.Parameters.Length; i++) net.Parameters[i] = i + 1;
        for (int i = 0; i < net.State.Length; i++) net.State[i] = -(i + 1);
        foreach (var b in spec.Blocks())
            Assert.Equal(Enumerable.Range(b.Offset + 1, b.Count).Select(v => (double)v).ToArray(), CnnViews.Read(net, b.View));
        foreach (var g in spec.Geometry.Where(g => g.Layer.Kind == CnnKind.BatchNorm))
        {
            Assert.Equal(Enumerable.Range(g.StateOffset + 1, g.Channels).Select(v => -(double)v).ToArray(), CnnViews.Read(net, g.Name + "RunningMean"));
            Assert.Equal(Enumerable.Range(g.StateOffset + g.Channels + 1, g.Channels).Select(v => -(double)v).ToArray(), CnnViews.Read(net, g.Name + "RunningVariance"));
        }
        var type = net.GetType();
        Assert.Equal(spec.InputSize, (int)type.GetField("InputSize")!.GetValue(null)!);
        Assert.Equal(spec.OutputSize, (int)type.GetField("OutputSize")!.GetValue(null)!);
        Assert.Equal((long)spec.ParameterCount, (long)type.GetField("ParameterCount")!.GetValue(null)!);
    }

    /// <summary>Dropout's own forward and backward, exactly: in training y = x·mask with the mask the network reports
    /// (every entry 0 or 1/(1 − rate), both occurring) and ∂E/∂x = ∂E/∂y·mask; in inference y = x and the mask is 1;
    /// a new Forward draws a new mask; the same seed draws the same masks. (The finite-difference checks above cover
    /// dropout inside networks with a fixed mask.)</summary>
    [Fact]
    public void DropoutAppliesAndBackpropagatesTheRecordedMaskExactly()
    {
        foreach (var spec in CnnGradientNetworks.DropoutOnly)
        {
            var drop = spec.Geometry.Single(g => g.Layer.Kind == CnnKind.Dropout);
            double rate = drop.Layer.Rate, keep = 1 / (1 - rate);
            const int batch = 3;
            var random = new SeededRandom(CnnSpec.StableSeed("dropout/" + spec.Name, 0));
            var net = CnnGradientNetworks.Create(spec);
            spec.Randomize(net, random);
            // Dyadic weights, inputs and output gradients (multiples of 1/8): every sum below is exact in double, so the
            // only rounding is the one multiplication by the mask, in the network and here alike.
            var dense = spec.Geometry.FirstOrDefault(g => g.Layer.Kind == CnnKind.Dense);
            if (dense is not null)
                for (int i = 0; i < dense.WeightCount + dense.BiasCount; i++) net.Parameters[dense.WeightOffset + i] = (random.NextInt(17) - 8) / 8.0;
            double Dyadic() => (random.NextInt(33) - 16) / 8.0;
            double[] x = Enumerable.Range(0, batch * spec.InputSize).Select(_ => Dyadic()).ToArray();
            double[] g = Enumerable.Range(0, batch * spec.OutputSize).Select(_ => Dyadic()).ToArray();

            net.Training = true;
            net.Forward(x, batch);
            double[] mask = CnnViews.Read(net, "Dropout1Mask");
            Assert.Equal(batch * drop.OutSize, mask.Length);
            Assert.All(mask, m => Assert.True(m == 0 || m == keep, $"{spec.Name}: mask value {m:R} is neither 0 nor 1/(1 − {rate}) = {keep:R}"));
            Assert.Contains(0.0, mask);
            Assert.Contains(keep, mask);
            double[] before = drop.Index == 0 ? x : CnnViews.Read(net, spec.Geometry[drop.Index - 1].Name + "Output");
            double[] after = CnnViews.Read(net, "Dropout1Output");
            for (int k = 0; k < mask.Length; k++) Assert.Equal(before[k] * mask[k], after[k]);

            if (drop.Index == 0)
            {
                // ∂E/∂y at the dropout's output: g itself, or Wᵀg through the Dense that follows (Flatten is a view).
                var dy = new double[batch * drop.OutSize];
                for (int n = 0; n < batch; n++)
                    for (int i = 0; i < drop.OutSize; i++)
                    {
                        if (dense is null) { dy[n * drop.OutSize + i] = g[n * drop.OutSize + i]; continue; }
                        double s = 0;
                        for (int j = 0; j < dense.Out[0]; j++) s += net.Parameters[dense.WeightOffset + j * dense.In[0] + i] * g[n * dense.Out[0] + j];
                        dy[n * drop.OutSize + i] = s;
                    }
                var dx = new double[x.Length];
                net.Backward(g, dx);
                for (int k = 0; k < dx.Length; k++)
                    Assert.True(dy[k] * mask[k] == dx[k], $"{spec.Name}: ∂E/∂{spec.InputName(k)} is {dx[k]:R}, expected ∂E/∂y·mask = {dy[k]:R}·{mask[k]:R}");
            }

            // The same seed draws the same first mask; the next Forward draws another.
            var twin = CnnGradientNetworks.Create(spec);
            net.Parameters.CopyTo(twin.Parameters);
            twin.Forward(x, batch);
            Assert.Equal(mask, CnnViews.Read(twin, "Dropout1Mask"));
            Assert.Equal(net.Output.ToArray(), twin.Output.ToArray());
            net.Forward(x, batch);
            Assert.NotEqual(mask, CnnViews.Read(net, "Dropout1Mask"));

            net.Training = false;
            net.Forward(x, batch);
            Assert.All(CnnViews.Read(net, "Dropout1Mask"), m => Assert.Equal(1.0, m));
            before = drop.Index == 0 ? x : CnnViews.Read(net, spec.Geometry[drop.Index - 1].Name + "Output");
            Assert.Equal(before, CnnViews.Read(net, "Dropout1Output"));
            if (drop.Index == 0)
            {
                var dx = new double[x.Length];
                net.Backward(g, dx);
                if (dense is null) Assert.Equal(g, dx);
            }
            output.WriteLine($"{spec.Name}: {mask.Count(m => m == 0)} of {mask.Length} dropped at rate {rate}");
        }
    }

    private static void AssertSameMasks(CnnSpec spec, INetwork<double> a, INetwork<double> b)
    {
        foreach (var g in spec.Geometry.Where(g => g.Layer.Kind == CnnKind.Dropout))
        {
            double[] mask = CnnViews.Read(a, g.Name + "Mask");
            Assert.Equal(mask, CnnViews.Read(b, g.Name + "Mask"));
            Assert.Contains(0.0, mask);
        }
    }

    private static double RelativeError(double a, double n) => Math.Abs(a - n) / Math.Max(Math.Abs(a) + Math.Abs(n), 1e-8);
}
