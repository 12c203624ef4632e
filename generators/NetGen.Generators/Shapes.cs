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
/// <param name="IsWarning">A warning does not stop code generation.</param>
internal sealed record ShapeProblem(string Id, string Message, int LayerIndex, bool IsWarning = false);

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

    public static int Size(ImmutableArray<int> shape)
    {
        long size = 1;
        foreach (int d in shape) size *= d;
        return size > int.MaxValue ? int.MaxValue : (int)size;
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
            if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
                found.Add(new("NG0004", $"[Input({string.Join(", ", inputShape)})]: every dimension must be a positive integer, e.g. [Input(784)].", inputAt));
            else if ((long)inputShape.Aggregate(1L, (a, d) => a * d) > MaxValuesPerSample)
                found.Add(new("NG0004", $"[Input({string.Join(", ", inputShape)})] holds more than {MaxValuesPerSample} values per sample; check the dimensions.", inputAt));
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
                        found.Add(new("NG0004", $"[Dense({units})]: the number of units must be a positive integer, e.g. [Dense(10)].", i));
                    if (shape.Length > 1)
                        found.Add(new("NG0010", $"[Dense({units})] is fed a {shape.Length}-D tensor {FormatShape(shape)}: add [Flatten] before it.", i));
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
                        found.Add(new("NG0004", $"[BatchNorm(Momentum = {layer.Momentum})]: the momentum must be in [0, 1], e.g. 0.1.", i));
                    if (!(layer.Epsilon > 0) || double.IsInfinity(layer.Epsilon))
                        found.Add(new("NG0004", $"[BatchNorm(Epsilon = {layer.Epsilon})]: ε must be a small positive number, e.g. 1e-5.", i));
                    break;
                case LayerKind.Dropout:
                    if (!(layer.Rate >= 0 && layer.Rate < 1))
                        found.Add(new("NG0004", $"[Dropout({layer.Rate})]: the rate is the probability of dropping a value and must be in [0, 1), e.g. 0.5.", i));
                    break;
                case LayerKind.Softmax:
                    if (i != layers.Count - 1)
                        found.Add(new("NG0020", "[Softmax] must be the last layer: it turns scores into class probabilities; use ReLU, Tanh or Sigmoid between layers.", i));
                    break;
                case LayerKind.LeakyReLU:
                    if (double.IsNaN(layer.Alpha) || double.IsInfinity(layer.Alpha))
                        found.Add(new("NG0005", "[LeakyReLU] needs a finite slope, e.g. [LeakyReLU(0.01)].", i));
                    break;
            }
            if (!(layer.L1 >= 0) || !(layer.L2 >= 0) || double.IsInfinity(layer.L1) || double.IsInfinity(layer.L2))
                found.Add(new("NG0004", $"[{layer.AttributeName}(L1 = {layer.L1}, L2 = {layer.L2})]: penalties must be zero or small positive numbers, e.g. L2 = 1e-4.", i));
            else if ((layer.L1 > 0 || layer.L2 > 0) && layer.Kind is not (LayerKind.Dense or LayerKind.Conv2D))
                found.Add(new("NG0005", $"[{layer.AttributeName}] has no weights to regularise: put L1/L2 on a Dense or Conv2D layer.", i));
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
        if (offset > int.MaxValue / 2)
            found.Add(new("NG0004", $"{spec.ClassName} would have {offset} parameters, more than one buffer can hold; make the layers smaller.", -1));
        if (spec.UnrollThreshold < 0 || spec.UnrollThreshold > MaxUnrollThreshold)
            found.Add(new("NG0005", $"UnrollThreshold = {spec.UnrollThreshold} must be between 0 (no unrolling) and {MaxUnrollThreshold}: unrolled code grows with the square of a layer's width.", -1));
        if (!Enum.IsDefined(typeof(LossKind), spec.Loss))
            found.Add(new("NG0005", $"Loss = {(int)spec.Loss} is not a LossFunction: use one of {string.Join(", ", Enum.GetNames(typeof(LossKind)))}.", -1));
        if (spec.Precision is not (0 or 1))
            found.Add(new("NG0005", $"Precision = {spec.Precision} is not a Precision: use Precision.Single or Precision.Double.", -1));

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
        if (conv && (channels <= 0 || channels > MaxValuesPerSample))
            found.Add(new("NG0004", $"[Conv2D({channels})]: the number of filters must be a positive integer, e.g. [Conv2D(32)].", index));
        if (kh <= 0 || kw <= 0 || kh > 4096 || kw > 4096)
            found.Add(new("NG0004", $"[{name}]: the window {kh}×{kw} must be positive, e.g. {(conv ? "Kernel = 3" : $"[{name}(2)]")}.", index));
        if (stride <= 0 || stride > 4096)
            found.Add(new("NG0004", $"[{name}]: Stride = {stride} must be a positive integer.", index));
        if (conv && layer.Padding < -1)
            found.Add(new("NG0004", $"[Conv2D]: Padding = {layer.Padding} must be zero or positive, or Padding.Same.", index));
        if (shape.Length != 3)
        {
            found.Add(new("NG0011", $"[{name}] needs a (C, H, W) input but is fed {FormatShape(shape)}: declare the input as [Input(channels, height, width)], or remove [Flatten] before it.", index));
            return ImmutableArray.Create(Math.Max(channels, 1), 1, 1);
        }
        if (kh <= 0 || kw <= 0 || stride <= 0 || (conv && layer.Padding < -1) || (conv && channels <= 0))
            return ImmutableArray.Create(Math.Max(channels, 1), 1, 1);

        int outH = Axis("height", shape[1], kh, out int ph);
        int outW = Axis("width", shape[2], kw, out int pw);
        window = (kh, kw, stride, ph, pw);
        return ImmutableArray.Create(channels, Math.Max(outH, 1), Math.Max(outW, 1));

        int Axis(string axis, int input, int k, out int pad)
        {
            pad = conv ? layer.Padding : 0;
            if (pad == -1)
            {
                // Same: output ⌈input / stride⌉, padded equally on both sides.
                int want = (input + stride - 1) / stride;
                int total = Math.Max(0, (want - 1) * stride + k - input);
                if (total % 2 != 0)
                {
                    found.Add(new("NG0013", $"[Conv2D] Padding.Same on the {axis} ({input}, kernel {k}, stride {stride}) needs {total} padding in all, which cannot be split equally between both borders: use an odd kernel or give Padding as a number.", index));
                    pad = 0;
                    return 1;
                }
                pad = total / 2;
            }
            long padded = (long)input + 2L * pad;
            if (padded < k)
            {
                found.Add(new("NG0012", $"[{name}] window {k} is larger than the {(pad > 0 ? "padded " : "")}input {axis} {padded}: use a smaller {(conv ? "kernel" : "window")}{(conv ? " or more padding" : "")}.", index));
                return 1;
            }
            if (conv && pad >= k)
                found.Add(new("NG0015", $"[Conv2D] padding {pad} is not smaller than the kernel {k} on the {axis}: some outputs see only padding.", index, IsWarning: true));
            long span = padded - k;
            if (span % stride != 0 && !layer.RoundDown)
            {
                found.Add(new("NG0014", $"[{name}] does not tile the input {axis}: ({input} + 2·{pad} − {k}) / {stride} + 1 = {span}/{stride} + 1 is not an integer. " +
                    $"Change the stride{(conv ? ", padding" : "")} or window, or set RoundDown = true to drop the last {span % stride} row(s) as PyTorch does.", index));
            }
            return (int)Math.Min(span / stride + 1, MaxValuesPerSample);
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
