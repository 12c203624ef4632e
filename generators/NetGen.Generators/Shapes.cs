using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using NetGen.Generators.Model;

namespace NetGen.Generators;

/// <summary>A problem with a declaration, found by shape inference. The analyzers report these with stable IDs.</summary>
/// <param name="Id">The diagnostic ID, NG0001 …</param>
/// <param name="Message">What is wrong, with the numbers, and the fix.</param>
/// <param name="LayerIndex">Index into <see cref="NetworkSpec.Layers"/>, or −1 for the whole declaration.</param>
/// <param name="IsWarning">A warning (or information) does not stop code generation.</param>
internal sealed record ShapeProblem(string Id, string Message, int LayerIndex, bool IsWarning = false)
{
    /// <summary>The argument the problem is about, for the diagnostic's location: a named argument ("Stride"), a
    /// constructor parameter ("units"), or an element of a params array ("shape[1]"); several separated by '|' are
    /// tried in order and the first one written is used. Null: the whole attribute. With <see cref="LayerIndex"/> −1, an
    /// argument of [Network] ("Loss"), or null for the class itself.</summary>
    public string? Argument { get; init; }

    /// <summary>A [Network] argument that is part of the problem too (e.g. "Loss" for a loss that does not fit the
    /// output activation): an additional location.</summary>
    public string? Related { get; init; }

    /// <summary>Edits that fix the problem, offered as code fixes.</summary>
    public ImmutableArray<ShapeFix> Fixes { get; init; } = ImmutableArray<ShapeFix>.Empty;
}

/// <summary>An edit that fixes a <see cref="ShapeProblem"/>, as the code fixes apply it.</summary>
/// <param name="Title">What the light-bulb shows, with the numbers, e.g. "Set Padding = 3 (output 5×5)".</param>
/// <param name="Operations">Edits separated by ';', applied to the problem's layer attribute: <c>set:Name=Value</c>
/// (a named argument), <c>net:Name=Value</c> (a named argument of [Network]), <c>insert-before:Attr</c>,
/// <c>insert-after:Attr</c>, <c>replace:Attr</c>, <c>remove</c>.</param>
internal sealed record ShapeFix(string Title, string Operations);

/// <summary>
/// Shape inference: the single source of truth for shape rules, a pure function from a declaration to a plan or a
/// list of problems. The generator emits from the plan; the analyzers report the problems.
/// </summary>
internal static class Shapes
{
    /// <summary>Largest tensor (values per sample) a layer may produce; beyond it a declaration is surely a typo.</summary>
    public const int MaxValuesPerSample = 1 << 26;

    /// <summary>Largest UnrollThreshold: beyond it straight-line code stops paying and source size explodes.</summary>
    public const int MaxUnrollThreshold = 4096;

    private static string Count(long n) => n == long.MaxValue ? "more than 9.2e18" : n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>The options a layer's code uses as literals, by the argument name the diagnostic points at.</summary>
    private static IEnumerable<(string Argument, double Value)> PrecisionOptions(LayerSpec layer)
    {
        if (layer.Kind == LayerKind.LeakyReLU) yield return ("alpha", layer.Alpha);
        if (layer.Kind == LayerKind.BatchNorm) { yield return ("Epsilon", layer.Epsilon); yield return ("Momentum", layer.Momentum); }
        if (layer.L1 != 0) yield return ("L1", layer.L1);
        if (layer.L2 != 0) yield return ("L2", layer.L2);
    }

    /// <summary>Why a finite option cannot be written as a literal of the network's element type, or null.</summary>
    internal static string? OutOfPrecision(double value, bool isDouble)
    {
        double twice = value * 2;
        if (isDouble ? double.IsInfinity(twice) : float.IsInfinity((float)twice))
            return $"it is beyond the range of a {(isDouble ? "double" : "float")} network (±{(isDouble ? "8.9e307" : "1.7e38")} for an option)";
        if (value != 0 && !isDouble && (float)value == 0)
            return "it rounds to 0 in a float network (below 1.4e-45)";
        return null;
    }

    public static int Size(ImmutableArray<int> shape)
    {
        long size = Product(shape);
        return size > int.MaxValue ? int.MaxValue : (int)size;
    }

    /// <summary>The number of values of a shape, saturating at long.MaxValue instead of wrapping (four dimensions of
    /// 65,536 multiply to 2^64, which wrapped to 0); 0 when a dimension is not positive.</summary>
    public static long Product(System.Collections.Generic.IEnumerable<int> shape)
    {
        long p = 1;
        foreach (int d in shape)
        {
            if (d <= 0) return 0;
            p = p > long.MaxValue / d ? long.MaxValue : p * d;
        }
        return p;
    }

    public static bool IsSpatial(LayerKind kind) => kind is LayerKind.Conv2D or LayerKind.MaxPool or LayerKind.AvgPool;

    public static bool IsActivation(LayerKind kind) => kind is LayerKind.Step or LayerKind.Sigmoid or LayerKind.Tanh
        or LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.Softmax or LayerKind.Identity;

    public static string SnakeName(LayerKind kind) => kind switch
    {
        LayerKind.ReLU => "re_lu",
        LayerKind.LeakyReLU => "leaky_re_lu",
        LayerKind.Conv2D => "conv2d",
        LayerKind.MaxPool => "max_pooling2d",
        LayerKind.AvgPool => "average_pooling2d",
        LayerKind.BatchNorm => "batch_normalization",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public static string FormatShape(ImmutableArray<int> shape) => "(None, " + string.Join(", ", shape) + ")";

    /// <summary>Infers shapes and the parameter layout. Returns a plan, or null with the problems that prevent one.</summary>
    public static NetworkPlan? Infer(NetworkSpec spec, out ImmutableArray<ShapeProblem> problems)
    {
        var found = new List<ShapeProblem>();
        var layers = spec.Layers;
        int inputAt = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i].Kind != LayerKind.Input) continue;
            if (inputAt >= 0) found.Add(new("NG0002", "[Input] appears more than once: a network has exactly one input; remove the extra [Input].", i));
            else inputAt = i;
        }
        if (inputAt < 0)
            found.Add(new("NG0001", $"{spec.ClassName} has no [Input(...)] attribute: add one before the first layer, e.g. [Input(784)] or [Input(1, 28, 28)].", -1));
        else if (inputAt != 0)
            found.Add(new("NG0003", $"[Input] must be the first layer attribute of {spec.ClassName}; move it above [{layers[0].AttributeName}].", inputAt));

        var planned = ImmutableArray.CreateBuilder<LayerPlan>();
        var kindCounts = new Dictionary<LayerKind, int>();
        ImmutableArray<int> shape = ImmutableArray<int>.Empty;
        ImmutableArray<int> inputShape = ImmutableArray<int>.Empty;
        if (inputAt >= 0)
        {
            inputShape = ImmutableArray.CreateRange(layers[inputAt].Sizes);
            if (inputShape.Length == 0)
                found.Add(new("NG0004", "[Input] needs its dimensions (null, default or an empty array was given): write them as arguments, e.g. [Input(784)] or [Input(1, 28, 28)].", inputAt)
                    { Argument = "shape" });
            else if (inputShape.Any(d => d <= 0))
                found.Add(new("NG0004", $"[Input({string.Join(", ", inputShape)})]: every dimension must be a positive integer, e.g. [Input(784)].", inputAt)
                    { Argument = "shape[" + inputShape.IndexOf(inputShape.First(d => d <= 0)) + "]" });
            else if (Product(inputShape) > MaxValuesPerSample)
                found.Add(new("NG0004", $"[Input({string.Join(", ", inputShape)})] holds {Count(Product(inputShape))} values per sample, more than the {Count(MaxValuesPerSample)} NetGen allows per tensor; check the dimensions.", inputAt));
            shape = inputShape;
        }

        long offset = 0, trainable = 0;
        int state = 0;
        var spatial = new Dictionary<int, (int KH, int KW, int Stride, int PH, int PW)>();
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if (layer.Kind == LayerKind.Input) continue;
            if (layer.Kind == LayerKind.Unknown)
            {
                found.Add(new("NG0005", $"[{layer.AttributeName}] could not be read: check its arguments against the attribute's constructor.", i));
                continue;
            }
            kindCounts.TryGetValue(layer.Kind, out int count);
            kindCounts[layer.Kind] = ++count;
            ImmutableArray<int> outShape = shape;
            switch (layer.Kind)
            {
                case LayerKind.Dense:
                    int units = layer.Sizes.Count > 0 ? layer.Sizes[0] : 0;
                    if (units <= 0 || units > MaxValuesPerSample)
                        found.Add(new("NG0004", $"[Dense({units})]: the number of units must be a positive integer{(units > MaxValuesPerSample ? $" no larger than {MaxValuesPerSample}" : "")}, e.g. [Dense(10)].", i) { Argument = "units" });
                    if (shape.Length > 1)
                        found.Add(new("NG0010", $"[Dense({units})] is fed a {shape.Length}-D tensor {FormatShape(shape)}: add [Flatten] before it to read its {Size(shape)} values as a vector.", i)
                            { Fixes = ImmutableArray.Create(new ShapeFix("Insert [Flatten] before [Dense]", "insert-before:Flatten")) });
                    outShape = ImmutableArray.Create(units);
                    break;
                case LayerKind.Conv2D:
                case LayerKind.MaxPool:
                case LayerKind.AvgPool:
                    outShape = InferSpatial(layer, i, shape, found, out var window);
                    spatial[planned.Count] = window;
                    break;
                case LayerKind.Flatten:
                    outShape = ImmutableArray.Create(Size(shape));
                    break;
                case LayerKind.BatchNorm:
                    if (shape.Length != 1 && shape.Length != 3)
                        found.Add(new("NG0011", $"[BatchNorm] normalises per feature of a vector or per channel of a (C, H, W) tensor, but it is fed {FormatShape(shape)}.", i));
                    if (!(layer.Momentum >= 0 && layer.Momentum <= 1))
                        found.Add(new("NG0004", $"[BatchNorm(Momentum = {layer.Momentum})]: the momentum must be in [0, 1], e.g. 0.1.", i) { Argument = "Momentum" });
                    if (!(layer.Epsilon > 0) || double.IsInfinity(layer.Epsilon))
                        found.Add(new("NG0004", $"[BatchNorm(Epsilon = {layer.Epsilon})]: ε must be a small positive number, e.g. 1e-5.", i) { Argument = "Epsilon" });
                    break;
                case LayerKind.Dropout:
                    if (!(layer.Rate >= 0 && layer.Rate < 1))
                        found.Add(new("NG0004", $"[Dropout({layer.Rate})]: the rate is the probability of dropping a value and must be in [0, 1), e.g. 0.5.", i) { Argument = "rate" });
                    break;
                case LayerKind.Softmax:
                    if (i != layers.Count - 1)
                        found.Add(new("NG0020", $"[Softmax] must be the last layer, but [{layers[layers.Count - 1].AttributeName}] follows it: it turns scores into class probabilities; use ReLU, Tanh or Sigmoid between layers.", i)
                            { Fixes = ImmutableArray.Create(new ShapeFix("Replace [Softmax] with [ReLU]", "replace:ReLU"), new ShapeFix("Remove [Softmax]", "remove")) });
                    break;
                case LayerKind.LeakyReLU:
                    if (double.IsNaN(layer.Alpha) || double.IsInfinity(layer.Alpha))
                        found.Add(new("NG0005", "[LeakyReLU] needs a finite slope, e.g. [LeakyReLU(0.01)].", i) { Argument = "alpha" });
                    break;
            }
            if (!(layer.L1 >= 0) || !(layer.L2 >= 0) || double.IsInfinity(layer.L1) || double.IsInfinity(layer.L2))
                found.Add(new("NG0004", $"[{layer.AttributeName}(L1 = {layer.L1}, L2 = {layer.L2})]: penalties must be zero or small positive numbers, e.g. L2 = 1e-4.", i)
                    { Argument = !(layer.L1 >= 0) || double.IsInfinity(layer.L1) ? "L1" : "L2" });
            else if ((layer.L1 > 0 || layer.L2 > 0) && layer.Kind is not (LayerKind.Dense or LayerKind.Conv2D))
                found.Add(new("NG0005", $"[{layer.AttributeName}] has no weights to regularise: put L1/L2 on a Dense or Conv2D layer.", i) { Argument = layer.L1 > 0 ? "L1" : "L2" });
            // Every option the emitter writes as a literal (and twice it: 2·L2 in the penalty's gradient) must be a finite
            // number of the network's element type, and must not round to 0 in it: else the generated code says Infinity
            // (which does not compile) or silently computes something else.
            foreach (var (argument, value) in PrecisionOptions(layer))
                if (!double.IsNaN(value) && !double.IsInfinity(value) && OutOfPrecision(value, spec.IsDouble) is string why)
                    found.Add(new("NG0004", $"[{layer.AttributeName}({argument} = {value.ToString("R", CultureInfo.InvariantCulture)})]: {why}; use a value well inside the range (e.g. {(argument == "Epsilon" ? "1e-5" : argument == "alpha" ? "0.01" : "1e-4")}).", i) { Argument = argument });
            // Every tensor against the documented limit, in saturating long arithmetic (a convolution with Padding = 8192,
            // or 2^26 filters, produced 806M values per sample unchecked).
            if (Product(outShape) > MaxValuesPerSample && !found.Any(p => p.LayerIndex == i && p.Id == "NG0004"))
                found.Add(new("NG0004", $"[{layer.AttributeName}] outputs {FormatShape(outShape)} = {Count(Product(outShape))} values per sample, more than the {Count(MaxValuesPerSample)} NetGen allows per tensor: make it smaller (fewer units or filters, less padding, a larger stride).", i));
            var plan = new LayerPlan(layer, planned.Count, count, shape, outShape);
            if (layer.Kind == LayerKind.Dense)
            {
                plan.WeightOffset = (int)Math.Min(offset, int.MaxValue);
                plan.WeightCount = (int)Math.Min((long)plan.InputSize * plan.OutputSize, int.MaxValue);
                plan.BiasOffset = plan.WeightOffset + plan.WeightCount;
                plan.BiasCount = layer.Bias ? plan.OutputSize : 0;
                offset += (long)plan.WeightCount + plan.BiasCount;
                trainable += plan.TrainableCount;
            }
            if (spatial.TryGetValue(plan.Index, out var win))
            {
                plan.KernelH = win.KH; plan.KernelW = win.KW; plan.Stride = win.Stride; plan.PadH = win.PH; plan.PadW = win.PW;
            }
            if (layer.Kind == LayerKind.Conv2D && shape.Length == 3 && outShape.Length == 3)
            {
                plan.WeightOffset = (int)Math.Min(offset, int.MaxValue);
                plan.WeightCount = (int)Math.Min((long)outShape[0] * shape[0] * plan.KernelH * plan.KernelW, int.MaxValue);
                plan.BiasOffset = plan.WeightOffset + plan.WeightCount;
                plan.BiasCount = layer.Bias ? outShape[0] : 0;
                offset += (long)plan.WeightCount + plan.BiasCount;
                trainable += plan.TrainableCount;
            }
            if (layer.Kind == LayerKind.BatchNorm)
            {
                int channels = shape.Length == 3 ? shape[0] : Size(shape);
                plan.WeightOffset = (int)Math.Min(offset, int.MaxValue);   // γ
                plan.WeightCount = channels;
                plan.BiasOffset = plan.WeightOffset + channels;              // β
                plan.BiasCount = channels;
                offset += 2L * channels;
                trainable += 2L * channels;
                plan.StateOffset = state;                                    // running mean, running variance
                plan.StateCount = 2 * channels;
                state += 2 * channels;
            }
            planned.Add(plan);
            shape = outShape;
        }
        if (planned.Count == 0 && inputAt >= 0 && !layers.Any(l => l.Kind == LayerKind.Unknown))
            found.Add(new("NG0006", $"{spec.ClassName} has an input but no layers: add at least one, e.g. [Dense(10)].", -1));
        if (offset > int.MaxValue / 2 && !found.Any(p => p.Id == "NG0004"))
            found.Add(new("NG0004", $"{spec.ClassName} would have {offset} parameters, more than one buffer can hold; make the layers smaller.", -1));
        if (spec.UnrollThreshold < 0 || spec.UnrollThreshold > MaxUnrollThreshold)
            found.Add(new("NG0005", $"UnrollThreshold = {spec.UnrollThreshold} must be between 0 (no unrolling) and {MaxUnrollThreshold}: unrolled code grows with the square of a layer's width.", -1) { Argument = "UnrollThreshold" });
        if (!Enum.IsDefined(typeof(LossKind), spec.Loss))
            found.Add(new("NG0005", $"Loss = {(int)spec.Loss} is not a LossFunction: use one of {string.Join(", ", Enum.GetNames(typeof(LossKind)))}.", -1) { Argument = "Loss" });
        if (spec.Precision is not (0 or 1))
            found.Add(new("NG0005", $"Precision = {spec.Precision} is not a Precision: use Precision.Single or Precision.Double.", -1) { Argument = "Precision" });
        if (planned.Count > 0 && Enum.IsDefined(typeof(LossKind), spec.Loss))
            CheckActivationsAndLoss(spec, Size(shape), found);

        problems = found.ToImmutableArray();
        if (found.Any(p => !p.IsWarning)) return null;

        var result = new NetworkPlan(spec, inputShape, planned.ToImmutable()) { ParameterCount = offset, TrainableCount = trainable, StateCount = state };
        result.Explainable = result.Layers.Any(l => l.Kind == LayerKind.Dense)
            && result.Layers.All(l => l.Kind == LayerKind.Dense ? IsUnrolled(result, l) : l.IsActivation);
        return result;
    }

    /// <summary>Output shape of a convolution or pooling window over a (C, H, W) input; records problems.</summary>
    private static ImmutableArray<int> InferSpatial(LayerSpec layer, int index, ImmutableArray<int> shape, List<ShapeProblem> found,
        out (int KH, int KW, int Stride, int PH, int PW) window)
    {
        bool conv = layer.Kind == LayerKind.Conv2D;
        string name = conv ? "Conv2D" : layer.Kind.ToString();
        int size = layer.Sizes.Count > 0 ? layer.Sizes[0] : 0;
        int kh = conv ? (layer.KernelHeight > 0 ? layer.KernelHeight : layer.Kernel) : size;
        int kw = conv ? (layer.KernelWidth > 0 ? layer.KernelWidth : layer.Kernel) : size;
        int stride = conv ? layer.Stride : (layer.Stride > 0 ? layer.Stride : size);
        window = (kh, kw, stride, 0, 0);
        int channels = conv ? size : (shape.Length == 3 ? shape[0] : 0);
        string windowArgument = conv ? (kh <= 0 || kh > 4096 ? "KernelHeight|Kernel" : "KernelWidth|Kernel") : "size";
        if (conv && (channels <= 0 || channels > MaxValuesPerSample))
            found.Add(new("NG0004", $"[Conv2D({channels})]: the number of filters must be a positive integer, e.g. [Conv2D(32)].", index) { Argument = "filters" });
        bool badWindow = kh <= 0 || kw <= 0 || kh > 4096 || kw > 4096;
        if (badWindow)
            found.Add(new("NG0004", $"[{name}]: the window {kh}×{kw} must be positive and at most 4096, e.g. {(conv ? "Kernel = 3" : $"[{name}(2)]")}.", index) { Argument = windowArgument });
        // A pool's stride defaults to its size: a bad size is reported once, on the size.
        if ((stride <= 0 || stride > 4096) && (conv || layer.Stride != 0 || !badWindow))
            found.Add(new("NG0004", $"[{name}]: Stride = {stride} must be a positive integer no larger than 4096.", index) { Argument = "Stride" });
        if (conv && layer.Padding < -1)
            found.Add(new("NG0004", $"[Conv2D]: Padding = {layer.Padding} must be zero or positive, or Padding.Same.", index) { Argument = "Padding" });
        if (shape.Length != 3)
        {
            found.Add(new("NG0011", $"[{name}] needs a (C, H, W) input but is fed {FormatShape(shape)}: declare the input as [Input(channels, height, width)], or remove [Flatten] before it.", index));
            return ImmutableArray.Create(Math.Max(channels, 1), 1, 1);
        }
        if (badWindow || stride <= 0 || stride > 4096 || (conv && layer.Padding < -1) || (conv && channels <= 0))
            return ImmutableArray.Create(Math.Max(channels, 1), 1, 1);

        // A square window over a square input: one message for both axes, not the same one twice.
        bool square = shape[1] == shape[2] && kh == kw;
        int before = found.Count;
        int outH = Axis(square ? "height and width" : "height", shape[1], kh, "KernelHeight|Kernel", out int ph);
        int pw = ph, outW = outH;
        if (!square) outW = Axis("width", shape[2], kw, "KernelWidth|Kernel", out pw);
        window = (kh, kw, stride, ph, pw);
        if (stride > kh || stride > kw)
            found.Add(new("NG0016", $"[{name}] Stride = {stride} is larger than the window {kh}×{kw}: {stride - Math.Min(kh, kw)} row(s) or column(s) between windows are never read.", index, IsWarning: true)
                { Argument = conv ? "Stride" : "Stride|size" });
        for (int p = before; p < found.Count; p++)
            if (found[p].Id is "NG0012" or "NG0013" or "NG0014") found[p] = found[p] with { Fixes = WindowFixes(layer, shape) };
        return ImmutableArray.Create(channels, Math.Max(outH, 1), Math.Max(outW, 1));

        int Axis(string axis, int input, int k, string kernelArgument, out int pad)
        {
            pad = conv ? layer.Padding : 0;
            if (pad == -1)
            {
                // Same: output ⌈input / stride⌉, padded equally on both sides.
                int want = (input + stride - 1) / stride;
                int total = Math.Max(0, (want - 1) * stride + k - input);
                if (total % 2 != 0)
                {
                    found.Add(new("NG0013", $"[Conv2D] Padding.Same on the {axis} ({input}, kernel {k}, stride {stride}) needs {total} padding in all, which cannot be split equally between both borders: use an odd kernel or give Padding as a number.", index) { Argument = "Padding" });
                    pad = 0;
                    return 1;
                }
                pad = total / 2;
            }
            long padded = (long)input + 2L * pad;
            if (padded < k)
            {
                found.Add(new("NG0012", $"[{name}] window {k} is larger than the {(pad > 0 ? "padded " : "")}input {axis} {padded}: use a smaller {(conv ? "kernel" : "window")}{(conv ? " or more padding" : "")}.", index)
                    { Argument = conv ? kernelArgument : "size" });
                return 1;
            }
            if (conv && pad >= k)
                found.Add(new("NG0015", $"[Conv2D] padding {pad} is not smaller than the kernel {k} on the {axis}: some outputs see only padding.", index, IsWarning: true) { Argument = "Padding" });
            long span = padded - k;
            if (span % stride != 0 && !layer.RoundDown)
                found.Add(new("NG0014", NotTilingMessage(name, conv, axis, input, k, stride, pad, layer), index)
                    { Argument = conv ? "Stride|Padding|" + kernelArgument : "Stride|size" });
            return (int)Math.Min(span / stride + 1, MaxValuesPerSample);
        }
    }

    /// <summary>Output length of windows of <paramref name="k"/> moved by <paramref name="stride"/> over
    /// input + 2·pad values, or −1 when they do not fit, or do not tile and <paramref name="roundDown"/> is false.</summary>
    internal static int WindowOutput(int input, int k, int stride, int pad, bool roundDown)
    {
        if (k <= 0 || stride <= 0 || pad < 0) return -1;
        long padded = (long)input + 2L * pad;
        if (padded < k) return -1;
        long span = padded - k;
        if (span % stride != 0 && !roundDown) return -1;
        return (int)Math.Min(span / stride + 1, MaxValuesPerSample);
    }

    /// <summary>The padding on each border that Padding.Same gives, or −1 when it cannot be split equally.</summary>
    internal static int SamePadding(int input, int k, int stride)
    {
        int want = (input + stride - 1) / stride;
        int total = Math.Max(0, (want - 1) * stride + k - input);
        return total % 2 == 0 ? total / 2 : -1;
    }

    private static string NotTilingMessage(string name, bool conv, string axis, int input, int k, int stride, int pad, LayerSpec layer)
    {
        long span = (long)input + 2L * pad - k;
        var sb = new StringBuilder();
        sb.Append($"[{name}] does not tile the input {axis}: ({input} + 2·{pad} − {k}) / {stride} + 1 = {span}/{stride} + 1 is not an integer.");
        var options = new List<string>();
        if (conv)
        {
            var paddings = Enumerable.Range(0, Math.Min(k, 64) + 1).Select(p => (p, o: WindowOutput(input, k, stride, p, false))).Where(x => x.o > 0).Take(8).ToList();
            if (paddings.Count > 0)
                options.Add((paddings.Count == 1 ? "padding " : "paddings ") + string.Join(", ", paddings.Select(x => $"{x.p} (output {x.o})")));
            else if (stride % 2 == 0 && (input - k) % 2 != 0)
                sb.Append($" No padding P works: {input} + 2·P − {k} is odd for every P, and the stride {stride} is even.");
        }
        var strides = Enumerable.Range(Math.Max(stride - 64, 1), Math.Max(Math.Min(stride - 1, 64), 0)).Reverse()
            .Select(s => (s, o: WindowOutput(input, k, s, pad, false))).Where(x => x.o > 0).Take(2).ToList();
        if (strides.Count > 0) options.Add(string.Join(" or ", strides.Select(x => $"Stride = {x.s} (output {x.o})")));
        if (conv && layer.KernelHeight <= 0 && layer.KernelWidth <= 0 && !options.Any(o => o.StartsWith("padding", StringComparison.Ordinal)))
        {
            foreach (int k2 in new[] { k - 1, k + 1 })
            {
                if (k2 < 1) continue;
                int p2 = Enumerable.Range(0, k2).Where(p => WindowOutput(input, k2, stride, p, false) > 0).DefaultIfEmpty(-1).First();
                if (p2 >= 0) options.Add($"Kernel = {k2} with Padding = {p2} (output {WindowOutput(input, k2, stride, p2, false)})");
            }
        }
        options.Add($"RoundDown = true to drop the last {span % stride} row(s) as PyTorch does (output {span / stride + 1})");
        sb.Append(" Use ").Append(string.Join("; or ", options)).Append('.');
        return sb.ToString();
    }

    /// <summary>The edits that make a window tile both axes of <paramref name="shape"/>: each padding (labelled with
    /// the output it gives), Padding.Same, each stride, a kernel one smaller or larger, RoundDown.</summary>
    internal static ImmutableArray<ShapeFix> WindowFixes(LayerSpec layer, ImmutableArray<int> shape)
    {
        var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
        if (shape.Length != 3) return fixes.ToImmutable();
        bool conv = layer.Kind == LayerKind.Conv2D;
        int size = layer.Sizes.Count > 0 ? layer.Sizes[0] : 0;
        int kh = conv ? (layer.KernelHeight > 0 ? layer.KernelHeight : layer.Kernel) : size;
        int kw = conv ? (layer.KernelWidth > 0 ? layer.KernelWidth : layer.Kernel) : size;
        int stride = conv ? layer.Stride : (layer.Stride > 0 ? layer.Stride : size);
        int h = shape[1], w = shape[2];
        if (kh <= 0 || kw <= 0 || stride <= 0) return fixes.ToImmutable();
        int pad = conv ? layer.Padding : 0;

        (int H, int W) Output(int k1, int k2, int s, int p, bool roundDown)
        {
            int ph = p, pw = p;
            if (p == -1) { ph = SamePadding(h, k1, s); pw = SamePadding(w, k2, s); if (ph < 0 || pw < 0) return (-1, -1); }
            return (WindowOutput(h, k1, s, ph, roundDown), WindowOutput(w, k2, s, pw, roundDown));
        }
        static bool Ok((int H, int W) o) => o.H > 0 && o.W > 0;
        string Label((int H, int W) o) => $"output {o.H}×{o.W}";

        bool tiles = Ok(Output(kh, kw, stride, pad, false));
        if (conv)
        {
            for (int p = 0; p <= Math.Max(kh, kw) && fixes.Count < 8; p++)
            {
                if (p == pad) continue;
                var o = Output(kh, kw, stride, p, false);
                if (Ok(o)) fixes.Add(new($"Set Padding = {p} ({Label(o)}{(p >= Math.Min(kh, kw) ? ", padding not smaller than the kernel" : "")})", $"set:Padding={p}"));
            }
            if (pad != -1 && Ok(Output(kh, kw, stride, -1, false)))
                fixes.Add(new($"Set Padding = Padding.Same ({Label(Output(kh, kw, stride, -1, false))})", "set:Padding=Padding.Same"));
        }
        if (!tiles)
        {
            for (int s = stride - 1, offered = 0; s >= 1 && offered < 4; s--)
            {
                var o = Output(kh, kw, s, pad, false);
                if (Ok(o)) { fixes.Add(new($"Set Stride = {s} ({Label(o)})", $"set:Stride={s}")); offered++; }
            }
            if (conv && layer.KernelHeight <= 0 && layer.KernelWidth <= 0 && !fixes.Any(f => f.Operations.StartsWith("set:Padding", StringComparison.Ordinal)))
            {
                foreach (int k2 in new[] { kh - 1, kh + 1 })
                {
                    if (k2 < 1) continue;
                    for (int p = 0; p < k2; p++)
                    {
                        var o = Output(k2, k2, stride, p, false);
                        if (!Ok(o)) continue;
                        fixes.Add(new($"Set Kernel = {k2}, Padding = {p} ({Label(o)})", $"set:Kernel={k2};set:Padding={p}"));
                        break;
                    }
                }
            }
            var floor = Output(kh, kw, stride, pad, true);
            if (Ok(floor)) fixes.Add(new($"Set RoundDown = true ({Label(floor)}, the border dropped as PyTorch does)", "set:RoundDown=true"));
        }
        return fixes.ToImmutable();
    }

    private static bool IsSquaredOrAbsolute(LossKind loss) => loss is LossKind.HalfSquaredError or LossKind.MeanSquaredError
        or LossKind.SumSquaredError or LossKind.MeanAbsoluteError or LossKind.SumAbsoluteError;

    /// <summary>Rules about activations and the loss: none stops generation, each is a warning or a note.</summary>
    private static void CheckActivationsAndLoss(NetworkSpec spec, int outputSize, List<ShapeProblem> found)
    {
        var layers = spec.Layers;
        bool weighted = false;
        int previous = -1, last = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            var kind = layers[i].Kind;
            if (kind is LayerKind.Input or LayerKind.Unknown) continue;
            string name = layers[i].AttributeName;
            if (IsActivation(kind))
            {
                if (!weighted)
                    found.Add(new("NG0022", $"[{name}] comes before any Dense or Conv2D layer, so it is applied to the raw input: put it after a layer, or remove it.", i, IsWarning: true)
                        { Fixes = ImmutableArray.Create(new ShapeFix($"Remove [{name}]", "remove")) });
                else if (previous >= 0 && IsActivation(layers[previous].Kind))
                    found.Add(new("NG0021", $"[{name}] directly follows [{layers[previous].AttributeName}]: two activations in a row apply one non-linearity to the other's output; keep one.", i, IsWarning: true)
                        { Fixes = ImmutableArray.Create(new ShapeFix($"Remove [{name}]", "remove")) });
            }
            if (kind is LayerKind.Dense or LayerKind.Conv2D) weighted = true;
            previous = last = i;
        }
        if (last < 0) return;

        var lastKind = layers[last].Kind;
        string lastName = layers[last].AttributeName;
        bool activation = IsActivation(lastKind) && lastKind != LayerKind.Identity;
        string add(string attribute) => (activation || lastKind == LayerKind.Identity ? "replace:" : "insert-after:") + attribute;
        string addTitle(string attribute) => activation || lastKind == LayerKind.Identity ? $"Replace [{lastName}] with [{attribute}]" : $"Add [{attribute}] after [{lastName}]";
        string loss = spec.Loss.ToString();

        if (outputSize == 1 && (lastKind == LayerKind.Softmax || spec.Loss == LossKind.CrossEntropy))
        {
            var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
            fixes.Add(lastKind == LayerKind.Sigmoid
                ? new ShapeFix("Use Loss = LossFunction.BinaryCrossEntropy", "net:Loss=LossFunction.BinaryCrossEntropy")
                : new ShapeFix($"{addTitle("Sigmoid")} and use Loss = LossFunction.BinaryCrossEntropy", add("Sigmoid") + ";net:Loss=LossFunction.BinaryCrossEntropy"));
            if (lastKind != LayerKind.Softmax && !activation)
                fixes.Add(new ShapeFix("Use Loss = LossFunction.MeanSquaredError (regression)", "net:Loss=LossFunction.MeanSquaredError"));
            string message = lastKind == LayerKind.Softmax
                ? "[Softmax] over a single output is always 1: its gradient is zero and nothing trains. For a yes/no output use [Sigmoid] with Loss = LossFunction.BinaryCrossEntropy."
                : "Loss = CrossEntropy over a single output: the softmax of one value is always 1, so the loss is 0 and nothing trains. For a yes/no output use [Sigmoid] with Loss = LossFunction.BinaryCrossEntropy; for a number, Loss = LossFunction.MeanSquaredError.";
            found.Add(new("NG0026", message, last, IsWarning: true) { Related = "Loss", Fixes = fixes.ToImmutable() });
        }
        else if (spec.Loss == LossKind.CrossEntropy)
        {
            if (lastKind == LayerKind.Softmax) return;   // the fused softmax + cross-entropy: gradient p − t
            if (activation)
                found.Add(new("NG0027", $"Loss = CrossEntropy reads the outputs of [{lastName}] as logits and applies softmax to them: a squashed score makes a poor logit. End with [Softmax], or with no activation.", last, IsWarning: true)
                    { Related = "Loss", Fixes = ImmutableArray.Create(new ShapeFix($"Replace [{lastName}] with [Softmax]", "replace:Softmax"), new ShapeFix($"Remove [{lastName}]", "remove")) });
            else
                found.Add(new("NG0023", $"Loss = CrossEntropy with no [Softmax] after [{lastName}]: the {outputSize} outputs are logits and the loss applies softmax itself (the fused log-softmax form, as PyTorch's CrossEntropyLoss). Forward returns logits; add [Softmax] for probabilities — training is the same either way.", last, IsWarning: true)
                    { Related = "Loss", Fixes = ImmutableArray.Create(new ShapeFix(addTitle("Softmax"), add("Softmax"))) });
        }
        else if (lastKind == LayerKind.Softmax)
        {
            string why = spec.Loss == LossKind.BinaryCrossEntropy
                ? "BinaryCrossEntropy reads each output as an independent probability, while Softmax makes the outputs compete and sum to 1"
                : IsSquaredOrAbsolute(spec.Loss)
                    ? $"with {loss} the gradient through Softmax vanishes as soon as it saturates, which is why Softmax is paired with cross-entropy"
                    : $"{loss} expects raw class scores, and Softmax squashes them into (0, 1) so every margin is below 1";
            var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
            fixes.Add(new ShapeFix("Use Loss = LossFunction.CrossEntropy", "net:Loss=LossFunction.CrossEntropy"));
            fixes.Add(spec.Loss == LossKind.BinaryCrossEntropy ? new ShapeFix("Replace [Softmax] with [Sigmoid]", "replace:Sigmoid") : new ShapeFix("Remove [Softmax]", "remove"));
            found.Add(new("NG0024", $"[Softmax] does not fit Loss = {loss}: {why}.", last, IsWarning: true) { Related = "Loss", Fixes = fixes.ToImmutable() });
        }
        else if (spec.Loss == LossKind.BinaryCrossEntropy && lastKind != LayerKind.Sigmoid)
        {
            found.Add(new("NG0025", $"Loss = BinaryCrossEntropy needs each output to be a probability in (0, 1), but the last layer is [{lastName}]: end with [Sigmoid].", last, IsWarning: true)
                { Related = "Loss", Fixes = ImmutableArray.Create(new ShapeFix(addTitle("Sigmoid"), add("Sigmoid"))) });
        }
    }

    /// <summary>Whether a Dense layer is emitted as straight-line code.</summary>
    public static bool IsUnrolled(NetworkPlan plan, LayerPlan layer) => layer.MultiplyAdds <= plan.Spec.UnrollThreshold;

    /// <summary>The Keras-style summary table.</summary>
    public static string Summary(NetworkPlan plan)
    {
        var rows = new List<(string Name, string Shape, string Params)>
        {
            ("input (Input)", FormatShape(plan.InputShape), "0"),
        };
        foreach (var l in plan.Layers)
            rows.Add(($"{l.SnakeName} ({LayerTitle(l)})", FormatShape(l.OutputShape), (l.ParameterCount + l.StateCount).ToString("N0", CultureInfo.InvariantCulture)));
        int w1 = Math.Max(28, rows.Max(r => r.Name.Length) + 2), w2 = Math.Max(26, rows.Max(r => r.Shape.Length) + 2), w3 = 11;
        int width = 1 + w1 + w2 + w3;
        var sb = new StringBuilder();
        string loss = plan.Spec.Loss.ToString();
        sb.Append("Network: \"").Append(plan.Spec.ClassName).Append("\" (").Append(plan.ElementType).Append(", loss: ").Append(loss)
          .Append(plan.FusedSoftmaxCrossEntropy ? ", fused with Softmax" : "").Append(")\n");
        sb.Append('_', width).Append('\n');
        sb.Append(' ').Append("Layer (type)".PadRight(w1)).Append("Output Shape".PadRight(w2)).Append("Param #").Append('\n');
        sb.Append('=', width).Append('\n');
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append(' ').Append(rows[i].Name.PadRight(w1)).Append(rows[i].Shape.PadRight(w2)).Append(rows[i].Params).Append('\n');
            if (i < rows.Count - 1) sb.Append('_', width).Append('\n');
        }
        sb.Append('=', width).Append('\n');
        // As Keras counts them: batch-norm running statistics are non-trainable parameters (NetGen keeps them in State).
        long total = plan.ParameterCount + plan.StateCount;
        sb.Append("Total params: ").Append(total.ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Trainable params: ").Append(plan.TrainableCount.ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Non-trainable params: ").Append((total - plan.TrainableCount).ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append('_', width).Append('\n');
        return sb.ToString();
    }

    private static string LayerTitle(LayerPlan l) => l.Kind switch
    {
        LayerKind.Conv2D => $"Conv2D {l.KernelH}×{l.KernelW}" + (l.Stride != 1 ? $" /{l.Stride}" : "") + (l.PadH != 0 || l.PadW != 0 ? $" pad {l.PadH}" + (l.PadW != l.PadH ? $",{l.PadW}" : "") : ""),
        LayerKind.MaxPool or LayerKind.AvgPool => $"{l.Kind} {l.KernelH}×{l.KernelW}" + (l.Stride != l.KernelH ? $" /{l.Stride}" : ""),
        LayerKind.Dropout => "Dropout " + l.Spec.Rate.ToString("R", CultureInfo.InvariantCulture),
        LayerKind.LeakyReLU => "LeakyReLU " + l.Spec.Alpha.ToString("R", CultureInfo.InvariantCulture),
        _ => l.Kind.ToString(),
    };
}
