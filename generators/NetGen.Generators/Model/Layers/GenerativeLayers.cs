using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

// The generative layers (Module 6): Reshape, Upsample2D, Conv2DTranspose, Sampling.

/// <summary>[Reshape(dims)]: the new shape of one sample.</summary>
internal sealed record ReshapeOptions(EquatableArray<int> Shape) : LayerOptions;

/// <summary>[Reshape(C, H, W)] / [Reshape(T, F)] / [Reshape(n)]: any layout → Image, Sequence or Vector of the same size, a view (no data moves).</summary>
internal sealed class ReshapeLayer : LayerDefinition<ReshapeAttribute>
{
    public static readonly ReshapeLayer Instance = new();

    private ReshapeLayer() : base(LayerKind.Reshape, "reshape", onnxOperator: "Reshape")
    {
    }

    public override LayerEmitter Emitter => ReshapeEmitter.Instance;

    protected override LayerOptions Options(ReshapeAttribute a) => new ReshapeOptions(new EquatableArray<int>(a.Shape ?? Array.Empty<int>()));

    public override Layout Infer(LayerRule rule)
    {
        var target = ImmutableArray.CreateRange(((ReshapeOptions)rule.Layer.Options).Shape);
        string written = $"[Reshape({string.Join(", ", target)})]";
        if (target.Length is 0 or > 3 || target.Any(d => d <= 0))
        {
            rule.Report(Descriptors.BadSize, $"{written}: give one positive dimension for a vector (e.g. [Reshape(784)]), two for a sequence of T steps × F features (e.g. [Reshape(28, 28)]) or three for (C, H, W) (e.g. [Reshape(128, 7, 7)]).",
                target.Length is 0 or > 3 ? null : "shape[" + target.IndexOf(target.First(d => d <= 0)) + "]");
            return rule.Input;
        }
        long want = target.Aggregate(1L, (a, d) => a * d);
        int have = rule.Input.Size;
        if (want != have)
        {
            string hint = target.Length == 3 && have % (target[1] * target[2]) == 0 ? $" (e.g. [Reshape({have / (target[1] * target[2])}, {target[1]}, {target[2]})])" : "";
            rule.Report(Descriptors.ReshapeSizeMismatch, $"{written} holds {want} values per sample but is fed {Shapes.FormatShape(rule.Input.Shape)}, {have} values: a reshape keeps every value. Make the layer before it produce {want} values (e.g. [Dense({want})]), or reshape to a shape of {have} values{hint}.");
        }
        return target.Length switch { 1 => Layout.Vector(target[0]), 2 => Layout.Sequence(target[0], target[1]), _ => Layout.Image(target[0], target[1], target[2]) };
    }

    public override string Title(LayerPlan l) => "Reshape";
}

/// <summary>[Upsample2D(factor, Mode)].</summary>
internal sealed record Upsample2DOptions(int Factor, int Mode) : LayerOptions;

/// <summary>[Upsample2D(f)]: Image(C, H, W) → Image(C, f·H, f·W); the factor is kept in the plan's stride.</summary>
internal sealed class Upsample2DLayer : LayerDefinition<Upsample2DAttribute>
{
    public static readonly Upsample2DLayer Instance = new();

    private Upsample2DLayer() : base(LayerKind.Upsample2D, "up_sampling2d", onnxOperator: "Resize")
    {
    }

    public override LayerEmitter Emitter => Upsample2DEmitter.Instance;

    protected override LayerOptions Options(Upsample2DAttribute a) => new Upsample2DOptions(a.Factor, (int)a.Mode);

    public override Layout Infer(LayerRule rule)
    {
        var o = (Upsample2DOptions)rule.Layer.Options;
        int factor = o.Factor;
        rule.Window = (0, 0, Math.Max(factor, 1), 0, 0);
        if (factor < 1 || factor > 64)
            rule.Report(Descriptors.BadSize, $"[Upsample2D({factor})]: the factor must be an integer from 1 to 64, e.g. [Upsample2D(2)].", "factor");
        if (o.Mode is not (0 or 1))
            rule.Report(Descriptors.CannotHonour, $"[Upsample2D] Mode = {o.Mode} is not an UpsampleMode: use UpsampleMode.Nearest or UpsampleMode.Bilinear.", "Mode");
        if (!rule.Input.IsImage)
        {
            int size = rule.Input.Size;
            rule.Found.Add(new(Descriptors.WrongRank, $"[Upsample2D] enlarges (C, H, W) images but is fed {Shapes.FormatShape(rule.Input.Shape)}: put [Reshape(C, H, W)] before it.", rule.Index)
                { Fixes = size % 49 == 0 ? ImmutableArray.Create(new ShapeFix($"Insert [Reshape({size / 49}, 7, 7)] before [Upsample2D]", $"insert-before:Reshape({size / 49}, 7, 7)")) : ImmutableArray<ShapeFix>.Empty });
            return rule.Input;
        }
        if (factor < 1 || factor > 64) return rule.Input;
        long h = (long)rule.Input.Height * factor, w = (long)rule.Input.Width * factor;
        if (h * w * rule.Input.Channels > Shapes.MaxValuesPerSample)
        {
            rule.Report(Descriptors.BadSize, $"[Upsample2D({factor})] would make {rule.Input.Channels}×{h}×{w} values per sample, more than {Shapes.MaxValuesPerSample}.", "factor");
            return rule.Input;
        }
        return Layout.Image(rule.Input.Channels, (int)h, (int)w);
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        var o = (Upsample2DOptions)l.Spec.Options;
        yield return ("Factor", o.Factor);
        yield return ("Mode", o.Mode);
    }

    public override string Title(LayerPlan l) => $"Upsample2D ×{l.Stride}" + (((Upsample2DOptions)l.Spec.Options).Mode == 1 ? " bilinear" : "");
}

/// <summary>[Conv2DTranspose(filters, Kernel, Stride, Padding, OutputPadding, OutputSize, Bias)].</summary>
internal sealed record Conv2DTransposeOptions(int Filters, int Kernel, int Stride, int Padding, int OutputPadding, int OutputSize, bool Bias) : LayerOptions;

/// <summary>[Conv2DTranspose]: Image(C, H, W) → Image(F, (H − 1)·s − 2p + k + op, …); weights [C, F, k, k] as nn.ConvTranspose2d.</summary>
internal sealed class Conv2DTransposeLayer : LayerDefinition<Conv2DTransposeAttribute>
{
    public static readonly Conv2DTransposeLayer Instance = new();

    private Conv2DTransposeLayer() : base(LayerKind.Conv2DTranspose, "conv2d_transpose", onnxOperator: "ConvTranspose")
    {
    }

    public override LayerEmitter Emitter => Conv2DTransposeEmitter.Instance;

    protected override LayerOptions Options(Conv2DTransposeAttribute a) =>
        new Conv2DTransposeOptions(a.Filters, a.Kernel, a.Stride, a.Padding, a.OutputPadding, a.OutputSize, a.Bias);

    public override Layout Infer(LayerRule rule)
    {
        var o = (Conv2DTransposeOptions)rule.Layer.Options;
        var found = rule.Found;
        int index = rule.Index, filters = o.Filters, k = o.Kernel, s = o.Stride, pad = o.Padding, op = o.OutputPadding;
        rule.Window = (k, k, s, 0, 0);
        var fallback = Layout.Image(Math.Max(filters, 1), 1, 1);
        bool bad = false;
        if (filters <= 0 || filters > Shapes.MaxValuesPerSample) { rule.Report(Descriptors.BadSize, $"[Conv2DTranspose({filters})]: the number of filters must be a positive integer, e.g. [Conv2DTranspose(64)].", "filters"); bad = true; }
        if (k <= 0 || k > 4096) { rule.Report(Descriptors.BadSize, $"[Conv2DTranspose]: Kernel = {k} must be a positive integer no larger than 4096, e.g. Kernel = 4.", "Kernel"); bad = true; }
        if (s <= 0 || s > 64) { rule.Report(Descriptors.BadSize, $"[Conv2DTranspose]: Stride = {s} must be an integer from 1 to 64, e.g. Stride = 2.", "Stride"); bad = true; }
        if (pad < -1) { rule.Report(Descriptors.BadSize, $"[Conv2DTranspose]: Padding = {pad} must be zero or positive, or Padding.Same.", "Padding"); bad = true; }
        if (o.OutputSize < 0) { rule.Report(Descriptors.BadSize, $"[Conv2DTranspose]: OutputSize = {o.OutputSize} must be positive (or 0 to derive it from the padding).", "OutputSize"); bad = true; }
        if (!rule.Input.IsImage)
        {
            int c = Math.Max(rule.Input.Size / 49, 1);
            rule.Report(Descriptors.WrongRank, $"[Conv2DTranspose] needs a (C, H, W) input but is fed {Shapes.FormatShape(rule.Input.Shape)}: put [Reshape(C, H, W)] before it, e.g. [Reshape({c}, 7, 7)] after a Dense layer of {c * 49} units.");
            return fallback;
        }
        if (bad) return fallback;
        var shape = rule.Input.Shape;
        if (op < 0 || op >= s)
        {
            var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
            var sizes = new List<string>();
            for (int o2 = 0; o2 < s; o2++)
            {
                long size = Shapes.TransposedOutput(shape[1], k, s, Math.Max(pad, 0), o2);
                if (size <= 0) continue;
                sizes.Add($"OutputPadding = {o2} (output {size})");
                fixes.Add(new($"Set OutputPadding = {o2} (output {size}×{Shapes.TransposedOutput(shape[2], k, s, Math.Max(pad, 0), o2)})", $"set:OutputPadding={o2}"));
            }
            found.Add(new(Descriptors.OutputPaddingNotBelowStride, $"[Conv2DTranspose] OutputPadding = {op} must be at least 0 and smaller than the stride {s} (as nn.ConvTranspose2d requires): it only picks between the {s} output sizes a stride-{s} convolution maps back to the same input size. Use {(sizes.Count > 0 ? string.Join(" or ", sizes) : "OutputPadding = 0")}.", index)
                { Argument = "OutputPadding", Fixes = fixes.ToImmutable() });
            return fallback;
        }
        int[] outputs = new int[2], pads = new int[2];
        for (int axis = 0; axis < 2; axis++)
        {
            int input = shape[1 + axis];
            long want = pad == -1 ? (long)input * s : o.OutputSize;
            int p = pad == -1 ? 0 : pad, o2 = op;
            if (want > 0)
            {
                if (Shapes.TransposedPaddingFor(input, k, s, want) is { } chosen) { p = chosen.Pad; o2 = chosen.OutputPadding; }
                else
                {
                    var options = Shapes.TransposedOptions(input, k, s);
                    string asked = pad == -1 ? $"Padding.Same asks for {input}·{s} = {want}" : $"OutputSize = {want}";
                    var fixes = options.OrderBy(x => Math.Abs(x.Size - want)).Take(4).Select(x => new ShapeFix($"Set Padding = {x.Pad}, OutputPadding = {x.OutputPadding} (output {x.Size})",
                        (o.OutputSize > 0 ? "set:OutputSize=0;" : "") + $"set:Padding={x.Pad};set:OutputPadding={x.OutputPadding}")).ToImmutableArray();
                    found.Add(new(Descriptors.TransposedOutputUnreachable, $"[Conv2DTranspose] {asked} on an input of {input}, but no padding gives it with kernel {k} and stride {s}: the output is ({input} − 1)·{s} − 2·Padding + {k} + OutputPadding with 0 ≤ OutputPadding < {s}. Sizes that work: {string.Join(", ", options.Take(8).Select(x => $"{x.Size} (Padding = {x.Pad}, OutputPadding = {x.OutputPadding})"))}.", index)
                        { Argument = pad == -1 ? "Padding" : "OutputSize", Fixes = fixes });
                    return fallback;
                }
            }
            long outSize = Shapes.TransposedOutput(input, k, s, p, o2);
            if (outSize <= 0 || outSize > 65536)
            {
                var options = Shapes.TransposedOptions(input, k, s);
                found.Add(new(Descriptors.TransposedOutputUnreachable, $"[Conv2DTranspose] on an input of {input} gives ({input} − 1)·{s} − 2·{p} + {k} + {o2} = {outSize} rows: {(outSize <= 0 ? "the padding removes the whole output" : "too large")}. Sizes that work: {string.Join(", ", options.Take(8).Select(x => $"{x.Size} (Padding = {x.Pad}, OutputPadding = {x.OutputPadding})"))}.", index)
                    { Argument = "Padding", Fixes = options.Take(4).Select(x => new ShapeFix($"Set Padding = {x.Pad}, OutputPadding = {x.OutputPadding} (output {x.Size})", $"set:Padding={x.Pad};set:OutputPadding={x.OutputPadding}")).ToImmutableArray() });
                return fallback;
            }
            outputs[axis] = (int)outSize;
            pads[axis] = p;
        }
        if ((long)filters * outputs[0] * outputs[1] > Shapes.MaxValuesPerSample
            || Shapes.Product(new[] { filters, k, k, shape[1], shape[2] }) > Shapes.MaxValuesPerSample)
        {
            rule.Report(Descriptors.BadSize, $"[Conv2DTranspose({filters})] would make {filters}×{outputs[0]}×{outputs[1]} values per sample (and {filters}·{k}·{k} × {shape[1]}·{shape[2]} columns), more than the {Shapes.Count(Shapes.MaxValuesPerSample)} NetGen allows per tensor.", "filters");
            return fallback;
        }
        rule.Window = (k, k, s, pads[0], pads[1]);
        return Layout.Image(filters, outputs[0], outputs[1]);
    }

    public override IEnumerable<ParameterSlot> Slots(LayerPlan l)
    {
        if (!l.InputLayout.IsImage || !l.OutputLayout.IsImage) yield break;
        var o = (Conv2DTransposeOptions)l.Spec.Options;
        int c = l.InC, f = l.OutC;
        // Each output value sums about C·K²/S² products (a stride-S transposed convolution spreads every input over S² positions).
        var init = SlotInit.GlorotOrHe(System.Math.Max(1, c * l.KernelH * l.KernelW / (l.Stride * l.Stride)), f * l.KernelH * l.KernelW);
        yield return new("Weights", ImmutableArray.Create(c, f, l.KernelH, l.KernelW), init, true, false,
            $"weights, [{c} input channels × {f} filters × {l.KernelH} × {l.KernelW}] row-major (nn.ConvTranspose2d's layout).");
        if (o.Bias) yield return new("Bias", ImmutableArray.Create(f), SlotInit.Zeros, true, false, $"bias, {f} values.");
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        var o = (Conv2DTransposeOptions)l.Spec.Options;
        yield return ("Filters", o.Filters);
        yield return ("KernelHeight", l.KernelH);
        yield return ("KernelWidth", l.KernelW);
        yield return ("Stride", l.Stride);
        yield return ("PadHeight", l.PadH);
        yield return ("PadWidth", l.PadW);
        yield return ("OutputPaddingHeight", l.OutH - Shapes.TransposedOutput(l.InH, l.KernelH, l.Stride, l.PadH, 0));
        yield return ("OutputPaddingWidth", l.OutW - Shapes.TransposedOutput(l.InW, l.KernelW, l.Stride, l.PadW, 0));
        yield return ("Bias", Flag(o.Bias));
    }

    public override string Title(LayerPlan l) => $"Conv2DTranspose {l.KernelH}×{l.KernelW}" + (l.Stride != 1 ? $" /{l.Stride}" : "")
        + (l.PadH != 0 || l.PadW != 0 ? $" pad {l.PadH}" + (l.PadW != l.PadH ? $",{l.PadW}" : "") : "");
}

/// <summary>[Sampling(β)].</summary>
internal sealed record SamplingOptions(double Beta) : LayerOptions;

/// <summary>[Sampling]: Vector(2·L) → Vector(L), z = μ + σ·ε, with β·KL in the loss.</summary>
internal sealed class SamplingLayer : LayerDefinition<SamplingAttribute>
{
    public static readonly SamplingLayer Instance = new();

    private SamplingLayer() : base(LayerKind.Sampling, "sampling", onnxOperator: "Slice")   // inference: z = μ, the first half
    {
    }

    public override LayerEmitter Emitter => SamplingEmitter.Instance;

    protected override LayerOptions Options(SamplingAttribute a) => new SamplingOptions(a.Beta);

    public override Layout Infer(LayerRule rule)
    {
        double beta = ((SamplingOptions)rule.Layer.Options).Beta;
        if (!(beta >= 0) || double.IsInfinity(beta))
            rule.Report(Descriptors.BadSize, $"[Sampling({beta})]: β weighs the KL term and must be a finite number ≥ 0, e.g. [Sampling(1.0)].", "beta");
        int size = rule.Input.Size;
        if (!rule.Input.IsVector || size % 2 != 0)
        {
            int units = rule.Input.IsVector ? size + 1 : Math.Max(2, size / 2 * 2);
            rule.Report(Descriptors.SamplingNeedsEvenVector, $"[Sampling] reads μ and log σ² as the two halves of a vector of 2·L values, but is fed {Shapes.FormatShape(rule.Input.Shape)}: {(!rule.Input.IsVector ? "flatten it and " : "")}give the layer before it an even number of units, e.g. [Dense({units})] for L = {units / 2}.");
            return Layout.Vector(Math.Max(size / 2, 1));
        }
        return Layout.Vector(size / 2);
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        yield return ("Beta", ((SamplingOptions)l.Spec.Options).Beta);
    }

    public override string Title(LayerPlan l)
    {
        double beta = ((SamplingOptions)l.Spec.Options).Beta;
        return "Sampling" + (beta != 1 ? " β " + beta.ToString("R", CultureInfo.InvariantCulture) : "");
    }
}
