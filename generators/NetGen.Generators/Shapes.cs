using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using NetGen.Generators.Model;

namespace NetGen.Generators;

/// <summary>A problem with a declaration, found by shape inference. The analyzers report it with its descriptor.</summary>
/// <param name="Descriptor">The diagnostic (<see cref="Descriptors"/>): its ID, title and severity.</param>
/// <param name="Message">What is wrong, with the numbers, and the fix.</param>
/// <param name="LayerIndex">Index into <see cref="NetworkSpec.Layers"/>, or −1 for the whole declaration.</param>
internal sealed record ShapeProblem(Microsoft.CodeAnalysis.DiagnosticDescriptor Descriptor, string Message, int LayerIndex)
{
    public string Id => Descriptor.Id;

    /// <summary>A warning (or information) does not stop code generation.</summary>
    public bool IsWarning => Descriptor.DefaultSeverity != Microsoft.CodeAnalysis.DiagnosticSeverity.Error;

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

    /// <summary>Values of a shape as an int, saturating at int.MaxValue (see <see cref="Product"/>).</summary>
    public static int Size(ImmutableArray<int> shape)
    {
        long size = Product(shape);
        return size > int.MaxValue ? int.MaxValue : (int)size;
    }

    /// <summary>The number of values of a shape, saturating at long.MaxValue instead of wrapping (four dimensions of
    /// 65,536 multiply to 2^64, which wrapped to 0 and passed every size check); 0 when a dimension is not positive.</summary>
    public static long Product(IEnumerable<int> shape) => Product(shape.Select(d => (long)d));

    /// <summary>As <see cref="Product(IEnumerable{int})"/>, of long factors.</summary>
    public static long Product(IEnumerable<long> shape)
    {
        long p = 1;
        foreach (long d in shape)
        {
            if (d <= 0) return 0;
            p = p > long.MaxValue / d ? long.MaxValue : p * d;
        }
        return p;
    }

    /// <summary>A count for a message: "4,294,967,296", or "more than 9.2e18" when it saturated.</summary>
    internal static string Count(long n) => n == long.MaxValue ? "more than 9.2e18" : n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Why a finite option cannot be written as a literal of the network's element type, or null: the code
    /// uses it (and small multiples of it, such as 2·L2 in the penalty's gradient) as a literal, which must be a finite
    /// number of that type, and a non-zero option must not round to 0 in it (it would silently compute something else).</summary>
    internal static string? OutOfPrecision(double value, bool isDouble)
    {
        if (Math.Abs(value) > (isDouble ? double.MaxValue / 4 : float.MaxValue / 4.0))
            return $"it is beyond what a {(isDouble ? "double" : "float")} network can compute with (at most ±{(isDouble ? "4.4e307" : "8.5e37")} for an option)";
        if (value != 0 && !isDouble && (float)value == 0)
            return "it rounds to 0 in a float network (below 1.4e-45): use a larger value, or Precision = Precision.Double";
        return null;
    }

    public static bool IsActivation(LayerKind kind) => kind is not (LayerKind.Unknown or LayerKind.Input) && LayerCatalog.Of(kind).IsActivation;

    public static string FormatShape(ImmutableArray<int> shape) => "(None, " + string.Join(", ", shape) + ")";

    /// <summary>Gates per recurrent cell: 1 (SimpleRNN), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o).</summary>
    public static int Gates(LayerKind kind) => kind switch { LayerKind.GRU => 3, LayerKind.LSTM => 4, _ => 1 };

    /// <summary>Infers shapes and the parameter layout. Returns a plan, or null with the problems that prevent one.</summary>
    public static NetworkPlan? Infer(NetworkSpec spec, out ImmutableArray<ShapeProblem> problems)
    {
        var found = new List<ShapeProblem>();
        var layers = spec.Layers;
        int inputAt = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i].Kind != LayerKind.Input) continue;
            if (inputAt >= 0) found.Add(new(Descriptors.RepeatedInput, "[Input] appears more than once: a network has exactly one input; remove the extra [Input].", i));
            else inputAt = i;
        }
        if (inputAt < 0)
            found.Add(new(Descriptors.NoInput, $"{spec.ClassName} has no [Input(...)] attribute: add one before the first layer, e.g. [Input(784)] or [Input(1, 28, 28)].", -1));
        else if (inputAt != 0)
            found.Add(new(Descriptors.InputNotFirst, $"[Input] must be the first layer attribute of {spec.ClassName}; move it above [{layers[0].AttributeName}].", inputAt));

        var planned = ImmutableArray.CreateBuilder<LayerPlan>();
        var kindCounts = new Dictionary<LayerKind, int>();
        ImmutableArray<int> shape = ImmutableArray<int>.Empty;
        ImmutableArray<int> inputShape = ImmutableArray<int>.Empty;
        if (inputAt >= 0)
        {
            inputShape = InputLayer.ShapeOf(layers[inputAt]);
            if (inputShape.Length == 0)
                found.Add(new(Descriptors.BadSize, "[Input] needs the dimensions of one sample, but none were given (no arguments, null, default or an empty array): write them as arguments, e.g. [Input(784)] or [Input(1, 28, 28)].", inputAt)
                    { Argument = "shape" });
            else if (inputShape.Any(d => d <= 0))
                found.Add(new(Descriptors.BadSize, $"[Input({string.Join(", ", inputShape)})]: every dimension must be a positive integer, e.g. [Input(784)].", inputAt)
                    { Argument = "shape[" + inputShape.IndexOf(inputShape.First(d => d <= 0)) + "]" });
            else if (Product(inputShape) > MaxValuesPerSample)
                found.Add(new(Descriptors.BadSize, $"[Input({string.Join(", ", inputShape)})] holds {string.Join(" × ", inputShape.Select(d => d.ToString("N0", CultureInfo.InvariantCulture)))} = {Count(Product(inputShape))} values per sample, more than the {Count(MaxValuesPerSample)} NetGen allows per tensor; check the dimensions.", inputAt));
            shape = inputShape;
        }

        long offset = 0, trainable = 0;
        int state = 0;
        var layout = Layout.Declared(shape);
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if (layer.Kind == LayerKind.Input) continue;
            if (layer.Kind == LayerKind.Unknown)
            {
                found.Add(new(Descriptors.CannotHonour, $"[{layer.AttributeName}] could not be read: check its arguments against the attribute's constructor.", i));
                continue;
            }
            kindCounts.TryGetValue(layer.Kind, out int count);
            kindCounts[layer.Kind] = ++count;
            var definition = LayerCatalog.Of(layer.Kind);
            var rule = new LayerRule(spec, i, layout, found);
            Layout output = definition.Infer(rule);
            if (!(layer.L1 >= 0) || !(layer.L2 >= 0) || double.IsInfinity(layer.L1) || double.IsInfinity(layer.L2))
                found.Add(new(Descriptors.BadSize, $"[{layer.AttributeName}(L1 = {layer.L1}, L2 = {layer.L2})]: penalties must be zero or small positive numbers, e.g. L2 = 1e-4.", i)
                    { Argument = !(layer.L1 >= 0) || double.IsInfinity(layer.L1) ? "L1" : "L2" });
            var plan = new LayerPlan(layer, planned.Count, count, layout, output)
            {
                KernelH = rule.Window.KH, KernelW = rule.Window.KW, Stride = rule.Window.Stride, PadH = rule.Window.PH, PadW = rule.Window.PW,
            };
            bool reported = found.Any(p => p.LayerIndex == i && !p.IsWarning);
            // Every option the code writes as a literal must be a finite number of the network's element type
            // (LeakyReLU(1e39) in a float network printed "Infinityf", which does not compile).
            if (!reported)
                foreach (var (option, value) in definition.Info(plan))
                    if (!double.IsNaN(value) && !double.IsInfinity(value) && OutOfPrecision(value, spec.IsDouble) is string why)
                    {
                        found.Add(new(Descriptors.BadSize, $"[{layer.AttributeName}({option} = {value.ToString("R", CultureInfo.InvariantCulture)})]: {why}.", i)
                            { Argument = option + "|" + char.ToLowerInvariant(option[0]) + option.Substring(1) });
                        reported = true;
                    }
                    else if (double.IsNaN(value) || double.IsInfinity(value))
                    {
                        found.Add(new(Descriptors.BadSize, $"[{layer.AttributeName}({option} = {value.ToString(CultureInfo.InvariantCulture)})]: the option must be a finite number.", i)
                            { Argument = option + "|" + char.ToLowerInvariant(option[0]) + option.Substring(1) });
                        reported = true;
                    }
            // Every tensor against the documented limit, in saturating arithmetic (Conv2D with Padding = 8192, or 2^26
            // filters, made 806M values per sample unchecked).
            if (!reported && Product(output.Shape) > MaxValuesPerSample && !found.Any(p => p.Descriptor == Descriptors.BadSize))   // (one report per cause: not again after an input too large)
                found.Add(new(Descriptors.BadSize, $"[{layer.AttributeName}] outputs {FormatShape(output.Shape)} = {Count(Product(output.Shape))} values per sample, more than the {Count(MaxValuesPerSample)} NetGen allows per tensor: make it smaller (fewer units or filters, less padding, a larger stride).", i));
            // The layer's named tensors, placed one after another in Parameters or State.
            var parameters = ImmutableArray.CreateBuilder<PlacedSlot>();
            var states = ImmutableArray.CreateBuilder<PlacedSlot>();
            foreach (var slot in definition.Slots(plan))
            {
                if (slot.State)
                {
                    states.Add(new PlacedSlot(slot, state));
                    state += slot.Count;
                }
                else
                {
                    parameters.Add(new PlacedSlot(slot, (int)Math.Min(offset, int.MaxValue)));
                    offset += slot.Count;
                    if (slot.Trainable) trainable += slot.Count;
                }
            }
            plan.Parameters = parameters.ToImmutable();
            plan.States = states.ToImmutable();
            planned.Add(plan);
            shape = output.Shape;
            layout = output;
        }
        if (planned.Count == 0 && inputAt >= 0 && !layers.Any(l => l.Kind == LayerKind.Unknown))
            found.Add(new(Descriptors.NoLayers, $"{spec.ClassName} has an input but no layers: add at least one, e.g. [Dense(10)].", -1));
        if (offset > int.MaxValue / 2 && !found.Any(p => p.Descriptor == Descriptors.BadSize))
            found.Add(new(Descriptors.BadSize, $"{spec.ClassName} would have {offset} parameters, more than one buffer can hold; make the layers smaller.", -1));
        if (spec.UnrollThreshold < 0 || spec.UnrollThreshold > MaxUnrollThreshold)
            found.Add(new(Descriptors.CannotHonour, $"UnrollThreshold = {spec.UnrollThreshold} must be between 0 (no unrolling) and {MaxUnrollThreshold}: unrolled code grows with the square of a layer's width.", -1) { Argument = "UnrollThreshold" });
        if (!Enum.IsDefined(typeof(LossKind), spec.Loss))
            found.Add(new(Descriptors.CannotHonour, $"Loss = {(int)spec.Loss} is not a LossFunction: use one of {string.Join(", ", Enum.GetNames(typeof(LossKind)))}.", -1) { Argument = "Loss" });
        if (spec.Precision is not (0 or 1))
            found.Add(new(Descriptors.CannotHonour, $"Precision = {spec.Precision} is not a Precision: use Precision.Single or Precision.Double.", -1) { Argument = "Precision" });
        if (planned.Count > 0 && Enum.IsDefined(typeof(LossKind), spec.Loss) && !CheckPerStepLoss(spec, layout, found))
            CheckActivationsAndLoss(spec, Size(shape), found);
        if (planned.Count > 0) DetectionHeadRules.Check(spec, shape, found);

        if (found.Any(p => !p.IsWarning))
        {
            problems = found.ToImmutableArray();
            return null;
        }

        var result = new NetworkPlan(spec, inputShape, planned.ToImmutable()) { ParameterCount = offset, TrainableCount = trainable, StateCount = state };
        CodeBudget.Apply(result, found);   // which layers are unrolled, whether Explain is emitted (NG0048, NG0049)
        problems = found.ToImmutableArray();
        return result;
    }

    /// <summary>A convolution's or pooling's window as declared: kernel (or pool size), stride, padding.</summary>
    internal readonly record struct Window(bool Conv, string Name, int Size, int KernelHeight, int KernelWidth, int Stride, int Padding,
        bool RoundDown, bool ExplicitKernel, bool StrideWritten);

    /// <summary>The window of a Conv2D, MaxPool or AvgPool layer: a pool's stride 0 is its size.</summary>
    internal static Window WindowOf(LayerSpec layer) => layer.Options switch
    {
        Conv2DOptions c => new Window(true, "Conv2D", c.Filters, c.ResolvedKernelHeight, c.ResolvedKernelWidth, c.Stride, c.Padding, c.RoundDown,
            c.KernelHeight > 0 || c.KernelWidth > 0, true),
        PoolOptions p => new Window(false, layer.Kind.ToString(), p.Size, p.Size, p.Size, p.Stride > 0 ? p.Stride : p.Size, 0, p.RoundDown, false, p.Stride != 0),
        _ => new Window(false, layer.AttributeName, 0, 0, 0, 0, 0, false, false, false),
    };

    /// <summary>The shape rule of a window over an image: Image(C, H, W) → Image(filters or C, OH, OW); records problems.</summary>
    internal static Layout InferWindow(LayerRule rule, Window window)
    {
        var found = rule.Found;
        int index = rule.Index;
        var shape = rule.Input.Shape;
        bool conv = window.Conv;
        string name = window.Name;
        int size = window.Size;
        int kh = window.KernelHeight, kw = window.KernelWidth, stride = window.Stride;
        rule.Window = (kh, kw, stride, 0, 0);
        int channels = conv ? size : (rule.Input.IsImage ? rule.Input.Channels : 0);
        string windowArgument = conv ? (kh <= 0 || kh > 4096 ? "KernelHeight|Kernel" : "KernelWidth|Kernel") : "size";
        if (conv && (channels <= 0 || channels > MaxValuesPerSample))
            found.Add(new(Descriptors.BadSize, $"[Conv2D({channels})]: the number of filters must be a positive integer, e.g. [Conv2D(32)].", index) { Argument = "filters" });
        bool badWindow = kh <= 0 || kw <= 0 || kh > 4096 || kw > 4096;
        if (badWindow)
            found.Add(new(Descriptors.BadSize, $"[{name}]: the window {kh}×{kw} must be positive and at most 4096, e.g. {(conv ? "Kernel = 3" : $"[{name}(2)]")}.", index) { Argument = windowArgument });
        // A pool's stride defaults to its size: a bad size is reported once, on the size.
        if ((stride <= 0 || stride > 4096) && (conv || window.StrideWritten || !badWindow))
            found.Add(new(Descriptors.BadSize, $"[{name}]: Stride = {stride} must be a positive integer no larger than 4096.", index) { Argument = "Stride" });
        if (conv && window.Padding < -1)
            found.Add(new(Descriptors.BadSize, $"[Conv2D]: Padding = {window.Padding} must be zero or positive, or Padding.Same.", index) { Argument = "Padding" });
        if (!rule.Input.IsImage)
        {
            found.Add(new(Descriptors.WrongRank, $"[{name}] needs a (C, H, W) input but is fed {FormatShape(shape)}: declare the input as [Input(channels, height, width)], or remove [Flatten] before it.", index));
            return Layout.Image(Math.Max(channels, 1), 1, 1);
        }
        if (badWindow || stride <= 0 || stride > 4096 || (conv && window.Padding < -1) || (conv && channels <= 0))
            return Layout.Image(Math.Max(channels, 1), 1, 1);

        // A square window over a square input: one message for both axes, not the same one twice.
        bool square = shape[1] == shape[2] && kh == kw;
        int before = found.Count;
        int outH = Axis(square ? "height and width" : "height", shape[1], kh, "KernelHeight|Kernel", out int ph);
        int pw = ph, outW = outH;
        if (!square) outW = Axis("width", shape[2], kw, "KernelWidth|Kernel", out pw);
        rule.Window = (kh, kw, stride, ph, pw);
        if (stride > kh || stride > kw)
            found.Add(new(Descriptors.StrideSkips, $"[{name}] Stride = {stride} is larger than the window {kh}×{kw}: {stride - Math.Min(kh, kw)} row(s) or column(s) between windows are never read.", index)
                { Argument = conv ? "Stride" : "Stride|size" });
        for (int p = before; p < found.Count; p++)
            if (found[p].Descriptor == Descriptors.WindowTooLarge || found[p].Descriptor == Descriptors.SameNotSymmetric || found[p].Descriptor == Descriptors.DoesNotTile) found[p] = found[p] with { Fixes = WindowFixes(window, shape) };
        return Layout.Image(channels, Math.Max(outH, 1), Math.Max(outW, 1));

        int Axis(string axis, int input, int k, string kernelArgument, out int pad)
        {
            pad = conv ? window.Padding : 0;
            if (pad == -1)
            {
                // Same: output ⌈input / stride⌉, padded equally on both sides.
                int want = (input + stride - 1) / stride;
                int total = Math.Max(0, (want - 1) * stride + k - input);
                if (total % 2 != 0)
                {
                    found.Add(new(Descriptors.SameNotSymmetric, $"[Conv2D] Padding.Same on the {axis} ({input}, kernel {k}, stride {stride}) needs {total} padding in all, which cannot be split equally between both borders: use an odd kernel or give Padding as a number.", index) { Argument = "Padding" });
                    pad = 0;
                    return 1;
                }
                pad = total / 2;
            }
            long padded = (long)input + 2L * pad;
            if (padded < k)
            {
                found.Add(new(Descriptors.WindowTooLarge, $"[{name}] window {k} is larger than the {(pad > 0 ? "padded " : "")}input {axis} {padded}: use a smaller {(conv ? "kernel" : "window")}{(conv ? " or more padding" : "")}.", index)
                    { Argument = conv ? kernelArgument : "size" });
                return 1;
            }
            if (conv && pad >= k)
                found.Add(new(Descriptors.PaddingNotSmaller, $"[Conv2D] padding {pad} is not smaller than the kernel {k} on the {axis}: some outputs see only padding.", index) { Argument = "Padding" });
            long span = padded - k;
            if (span % stride != 0 && !window.RoundDown)
                found.Add(new(Descriptors.DoesNotTile, NotTilingMessage(name, conv, axis, input, k, stride, pad, window), index)
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

    private static string NotTilingMessage(string name, bool conv, string axis, int input, int k, int stride, int pad, Window window)
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
        if (conv && !window.ExplicitKernel && !options.Any(o => o.StartsWith("padding", StringComparison.Ordinal)))
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
    internal static ImmutableArray<ShapeFix> WindowFixes(LayerSpec layer, ImmutableArray<int> shape) => WindowFixes(WindowOf(layer), shape);

    private static ImmutableArray<ShapeFix> WindowFixes(Window window, ImmutableArray<int> shape)
    {
        var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
        if (shape.Length != 3) return fixes.ToImmutable();
        bool conv = window.Conv;
        int kh = window.KernelHeight, kw = window.KernelWidth, stride = window.Stride;
        int h = shape[1], w = shape[2];
        if (kh <= 0 || kw <= 0 || stride <= 0) return fixes.ToImmutable();
        int pad = conv ? window.Padding : 0;

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
            if (conv && !window.ExplicitKernel && !fixes.Any(f => f.Operations.StartsWith("set:Padding", StringComparison.Ordinal)))
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

    /// <summary>The binary cross-entropies (mean, or summed per sample), which read probabilities and fuse with a final Sigmoid.</summary>
    public static bool IsBinaryCrossEntropy(LossKind loss) => loss is LossKind.BinaryCrossEntropy or LossKind.BinaryCrossEntropySummed;

    /// <summary>The output length of a transposed convolution on one axis: (in − 1)·s − 2p + k + op.</summary>
    internal static long TransposedOutput(int input, int k, int stride, int pad, int outputPadding) =>
        (long)(input - 1) * stride - 2L * pad + k + outputPadding;

    /// <summary>The (padding, output padding) with 0 ≤ op &lt; s and 0 ≤ p &lt; k that give <paramref name="want"/>, smallest
    /// padding first; null when none does.</summary>
    internal static (int Pad, int OutputPadding)? TransposedPaddingFor(int input, int k, int stride, long want)
    {
        for (int p = 0; p < Math.Max(k, 1); p++)
        {
            long op = want - TransposedOutput(input, k, stride, p, 0);
            if (op >= 0 && op < stride) return (p, (int)op);
        }
        return null;
    }

    /// <summary>Every output length a transposed convolution can reach with 0 ≤ p &lt; k and 0 ≤ op &lt; s, with the
    /// settings that give it, largest first.</summary>
    internal static List<(long Size, int Pad, int OutputPadding)> TransposedOptions(int input, int k, int stride)
    {
        var options = new List<(long, int, int)>();
        for (int p = 0; p < Math.Max(k, 1); p++)
            for (int op = 0; op < stride && op < 64; op++)
            {
                long size = TransposedOutput(input, k, stride, p, op);
                if (size > 0 && !options.Any(o => o.Item1 == size)) options.Add((size, p, op));
            }
        return options.OrderByDescending(o => o.Item1).ToList();
    }

    private static bool IsSquaredOrAbsolute(LossKind loss) => loss is LossKind.HalfSquaredError or LossKind.MeanSquaredError
        or LossKind.SumSquaredError or LossKind.MeanAbsoluteError or LossKind.SumAbsoluteError;

    /// <summary>
    /// A sequence output makes a per-step loss: one target row per step. A class loss (cross-entropy, the hinges) or a
    /// Softmax over one value per step has a single class, so no target but class 0 can match it (NG0056); the fixes are
    /// NG0026's, per step. True when it reported (the general activation/loss rules would then contradict it).
    /// </summary>
    private static bool CheckPerStepLoss(NetworkSpec spec, Layout output, List<ShapeProblem> found)
    {
        if (!output.IsSequence || output.Features != 1) return false;
        int last = spec.Layers.Count - 1;
        while (last >= 0 && spec.Layers[last].Kind is LayerKind.Input or LayerKind.Unknown) last--;
        if (last < 0) return false;
        var lastKind = spec.Layers[last].Kind;
        bool classLoss = spec.Loss is LossKind.CrossEntropy or LossKind.MulticlassHinge or LossKind.MulticlassSquaredHinge;
        if (lastKind != LayerKind.Softmax && !classLoss) return false;
        string lastName = spec.Layers[last].AttributeName;
        bool activation = IsActivation(lastKind) && lastKind != LayerKind.Identity;
        var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
        if (lastKind == LayerKind.Sigmoid) fixes.Add(new ShapeFix("Use Loss = LossFunction.BinaryCrossEntropy", "net:Loss=LossFunction.BinaryCrossEntropy"));
        else if (activation || lastKind == LayerKind.Identity)
            fixes.Add(new ShapeFix($"Replace [{lastName}] with [Sigmoid] and use Loss = LossFunction.BinaryCrossEntropy", "replace:Sigmoid;net:Loss=LossFunction.BinaryCrossEntropy"));
        else
        {
            fixes.Add(new ShapeFix($"Add [Sigmoid] after [{lastName}] and use Loss = LossFunction.BinaryCrossEntropy", "insert-after:Sigmoid;net:Loss=LossFunction.BinaryCrossEntropy"));
            fixes.Add(new ShapeFix("Use Loss = LossFunction.MeanSquaredError (a number per step)", "net:Loss=LossFunction.MeanSquaredError"));
        }
        string what = lastKind == LayerKind.Softmax ? "[Softmax] over one value per step is always 1" : $"Loss = {spec.Loss} over one value per step has a single class";
        found.Add(new(Descriptors.PerStepTargetMismatch,
            $"The output is a sequence of {output.Steps} steps × 1 value, so the loss takes one target per step, and {what}: no per-step target but class 0 can match it, the loss stays constant and nothing trains. " +
            "For a yes/no per step use [Sigmoid] with Loss = LossFunction.BinaryCrossEntropy; for a number, Loss = LossFunction.MeanSquaredError; for C classes per step end with [Dense(C)] (and [Softmax]).", last)
            { Related = "Loss", Fixes = fixes.ToImmutable() });
        return true;
    }

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
                    found.Add(new(Descriptors.ActivationFirst, $"[{name}] comes before any Dense or Conv2D layer, so it is applied to the raw input: put it after a layer, or remove it.", i)
                        { Fixes = ImmutableArray.Create(new ShapeFix($"Remove [{name}]", "remove")) });
                else if (previous >= 0 && IsActivation(layers[previous].Kind))
                    found.Add(new(Descriptors.TwoActivations, $"[{name}] directly follows [{layers[previous].AttributeName}]: two activations in a row apply one non-linearity to the other's output; keep one.", i)
                        { Fixes = ImmutableArray.Create(new ShapeFix($"Remove [{name}]", "remove")) });
            }
            if (kind is LayerKind.Dense or LayerKind.Conv2D or LayerKind.Conv2DTranspose or LayerKind.SimpleRNN or LayerKind.GRU or LayerKind.LSTM or LayerKind.Embedding) weighted = true;
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
            found.Add(new(Descriptors.SoftmaxOverOneUnit, message, last) { Related = "Loss", Fixes = fixes.ToImmutable() });
        }
        else if (spec.Loss == LossKind.CrossEntropy)
        {
            if (lastKind == LayerKind.Softmax) return;   // the fused softmax + cross-entropy: gradient p − t
            if (activation)
                found.Add(new(Descriptors.CrossEntropyAfterActivation, $"Loss = CrossEntropy reads the outputs of [{lastName}] as logits and applies softmax to them: a squashed score makes a poor logit. End with [Softmax], or with no activation.", last)
                    { Related = "Loss", Fixes = ImmutableArray.Create(new ShapeFix($"Replace [{lastName}] with [Softmax]", "replace:Softmax"), new ShapeFix($"Remove [{lastName}]", "remove")) });
            else
                found.Add(new(Descriptors.FusedCrossEntropy, $"Loss = CrossEntropy with no [Softmax] after [{lastName}]: the {outputSize} outputs are logits and the loss applies softmax itself (the fused log-softmax form, as PyTorch's CrossEntropyLoss). Forward returns logits; add [Softmax] for probabilities — training is the same either way.", last)
                    { Related = "Loss", Fixes = ImmutableArray.Create(new ShapeFix(addTitle("Softmax"), add("Softmax"))) });
        }
        else if (lastKind == LayerKind.Softmax)
        {
            string why = IsBinaryCrossEntropy(spec.Loss)
                ? "BinaryCrossEntropy reads each output as an independent probability, while Softmax makes the outputs compete and sum to 1"
                : IsSquaredOrAbsolute(spec.Loss)
                    ? $"with {loss} the gradient through Softmax vanishes as soon as it saturates, which is why Softmax is paired with cross-entropy"
                    : $"{loss} expects raw class scores, and Softmax squashes them into (0, 1) so every margin is below 1";
            var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
            fixes.Add(new ShapeFix("Use Loss = LossFunction.CrossEntropy", "net:Loss=LossFunction.CrossEntropy"));
            fixes.Add(IsBinaryCrossEntropy(spec.Loss) ? new ShapeFix("Replace [Softmax] with [Sigmoid]", "replace:Sigmoid") : new ShapeFix("Remove [Softmax]", "remove"));
            found.Add(new(Descriptors.SoftmaxLossMismatch, $"[Softmax] does not fit Loss = {loss}: {why}.", last) { Related = "Loss", Fixes = fixes.ToImmutable() });
        }
        else if (IsBinaryCrossEntropy(spec.Loss) && lastKind != LayerKind.Sigmoid)
        {
            found.Add(new(Descriptors.BinaryCrossEntropyWithoutSigmoid, $"Loss = BinaryCrossEntropy needs each output to be a probability in (0, 1), but the last layer is [{lastName}]: end with [Sigmoid].", last)
                { Related = "Loss", Fixes = ImmutableArray.Create(new ShapeFix(addTitle("Sigmoid"), add("Sigmoid"))) });
        }
    }

    /// <summary>Whether a Dense layer is emitted as straight-line code.</summary>
    public static bool IsUnrolled(NetworkPlan plan, LayerPlan layer) => layer.Index < plan.Unrolled.Length && plan.Unrolled[layer.Index];

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
          .Append(plan.FusedSoftmaxCrossEntropy ? ", fused with Softmax" : plan.FusedSigmoidBinaryCrossEntropy ? ", fused with Sigmoid" : "").Append(")\n");
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

    private static string LayerTitle(LayerPlan l) => l.Definition.Title(l);
}
