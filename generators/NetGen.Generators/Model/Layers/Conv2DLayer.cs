using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>[Conv2D(filters, Kernel | KernelHeight/KernelWidth, Stride, Padding, Bias, RoundDown, L1, L2)].</summary>
internal sealed record Conv2DOptions(int Filters, int Kernel, int KernelHeight, int KernelWidth, int Stride, int Padding, bool Bias, bool RoundDown, double L1, double L2)
    : LayerOptions, IWeightPenalties
{
    public int ResolvedKernelHeight => KernelHeight > 0 ? KernelHeight : Kernel;

    public int ResolvedKernelWidth => KernelWidth > 0 ? KernelWidth : Kernel;
}

internal sealed class Conv2DLayer : LayerDefinition<Conv2DAttribute>
{
    public static readonly Conv2DLayer Instance = new();

    private Conv2DLayer() : base(LayerKind.Conv2D, "conv2d", onnxOperator: "Conv")
    {
    }

    public override LayerEmitter Emitter => Conv2DEmitter.Instance;

    protected override LayerOptions Options(Conv2DAttribute a) =>
        new Conv2DOptions(a.Filters, a.Kernel, a.KernelHeight, a.KernelWidth, a.Stride, a.Padding, a.Bias, a.RoundDown, a.L1, a.L2);

    /// <summary>Image(C, H, W) → Image(filters, OH, OW), OH = (H + 2·P − KH)/S + 1 (see <see cref="Shapes.InferWindow"/>).</summary>
    public override Layout Infer(LayerRule rule)
    {
        int before = rule.Found.Count;
        var output = Shapes.InferWindow(rule, Shapes.WindowOf(rule.Layer));
        if (rule.Found.Skip(before).Any(p => !p.IsWarning) || !rule.Input.IsImage || Shapes.Product(output.Shape) > Shapes.MaxValuesPerSample)
            return output;   // (an output beyond the limit is reported by shape inference, naming it)
        // The kernels' per-sample working tensors count against the same limit as every tensor: the im2col columns
        // (C·KH·KW × OH·OW) and the input inside its zero border (C × (H + 2·PH) × (W + 2·PW)).
        var (kh, kw, _, ph, pw) = rule.Window;
        int c = rule.Input.Channels;
        long columns = Shapes.Product(new[] { c, kh, kw, output.Height, output.Width });
        long padded = Shapes.Product(new[] { c, rule.Input.Height + 2L * ph, rule.Input.Width + 2L * pw });
        if (columns > Shapes.MaxValuesPerSample)
            rule.Report(Descriptors.BadSize, $"[Conv2D] unrolls each sample into {c}·{kh}·{kw} × {output.Height}·{output.Width} = {Shapes.Count(columns)} values (its im2col columns), more than the {Shapes.Count(Shapes.MaxValuesPerSample)} NetGen allows per tensor: use a smaller kernel, fewer input channels or a larger stride.", "Kernel|KernelHeight|KernelWidth");
        else if (padded > Shapes.MaxValuesPerSample)
            rule.Report(Descriptors.BadSize, $"[Conv2D] pads each sample to {c} × {rule.Input.Height + 2L * ph} × {rule.Input.Width + 2L * pw} = {Shapes.Count(padded)} values, more than the {Shapes.Count(Shapes.MaxValuesPerSample)} NetGen allows per tensor: use less padding.", "Padding");
        return output;
    }

    public override IEnumerable<ParameterSlot> Slots(LayerPlan l)
    {
        if (!l.InputLayout.IsImage || !l.OutputLayout.IsImage) yield break;
        var o = (Conv2DOptions)l.Spec.Options;
        int f = l.OutC, c = l.InC;
        yield return new("Weights", ImmutableArray.Create(f, c, l.KernelH, l.KernelW), SlotInit.GlorotOrHe(c * l.KernelH * l.KernelW, f * l.KernelH * l.KernelW), true, false,
            $"weights, [{f} filters × {c} channels × {l.KernelH} × {l.KernelW}] row-major.");
        if (o.Bias) yield return new("Bias", ImmutableArray.Create(f), SlotInit.Zeros, true, false, $"bias, {f} values.");
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        var o = (Conv2DOptions)l.Spec.Options;
        yield return ("Filters", o.Filters);
        yield return ("KernelHeight", l.KernelH);
        yield return ("KernelWidth", l.KernelW);
        yield return ("Stride", l.Stride);
        yield return ("PadHeight", l.PadH);
        yield return ("PadWidth", l.PadW);
        yield return ("RoundDown", Flag(o.RoundDown));
        yield return ("Bias", Flag(o.Bias));
        yield return ("TrainBias", Flag(o.Bias));
        yield return ("L1", o.L1);
        yield return ("L2", o.L2);
    }

    public override string Title(LayerPlan l) => $"Conv2D {l.KernelH}×{l.KernelW}" + (l.Stride != 1 ? $" /{l.Stride}" : "")
        + (l.PadH != 0 || l.PadW != 0 ? $" pad {l.PadH}" + (l.PadW != l.PadH ? $",{l.PadW}" : "") : "");
}
