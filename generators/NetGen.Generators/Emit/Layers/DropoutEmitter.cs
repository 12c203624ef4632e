using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Inverted dropout with rate r. Training: mask = 0 with probability r, else 1/(1 − r); y = x·mask, so the
/// expected output equals the input and inference needs no rescaling. Inference: y = x.
/// Backward ∂E/∂x = ∂E/∂y·mask. Masks are drawn from the network's seeded generator: same seed, same masks.
/// </summary>
internal sealed class DropoutEmitter : LayerEmitter
{
    public static readonly DropoutEmitter Instance = new();

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"private readonly {c.T}[] _mask{layer.Index};   // {layer.PascalName}: 0 or 1/(1 − rate) per value of the last forward pass");

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"_mask{layer.Index} = new {c.T}[maxBatch * {layer.OutputSize}];");

    public override void Views(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        w.Line($"/// <summary>The mask {layer.PascalName} applied in the last forward pass (0 or 1/(1 − rate); all 1 in inference).</summary>");
        w.Line($"public global::System.ReadOnlySpan<{c.T}> {layer.PascalName}Mask => _mask{layer.Index}.AsSpan(0, _batch * {layer.OutputSize});");
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        double rate = l.Spec.Rate;
        string x = EmitContext.A(l.Index), y = EmitContext.A(l.Index + 1), mask = "_mask" + l.Index, count = $"batch * {l.OutputSize}";
        w.Line($"// Layer {l.Index}: {l.PascalName}, rate {rate}: in training y = x·mask, mask = 0 (p = {rate}) or 1/(1 − {rate}); in inference y = x");
        w.Open("if (Training)");
        w.Line($"for (int k = 0; k < {count}; k++) {mask}[k] = _random.NextDouble() < {CodeWriter.Literal(rate, true)} ? {c.Lit(0)} : {c.Lit(1.0 / (1.0 - rate))};");
        w.Close();
        w.Line($"else {mask}.AsSpan(0, {count}).Fill({c.Lit(1)});");
        w.Line($"{c.Tp}.Multiply<{c.T}>({x}.AsSpan(0, {count}), {mask}.AsSpan(0, {count}), {y}.AsSpan(0, {count}));");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        string count = $"batch * {l.OutputSize}";
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂x = ∂E/∂y·mask");
        w.Line($"{c.Tp}.Multiply<{c.T}>({EmitContext.D(l.Index + 1)}.AsSpan(0, {count}), _mask{l.Index}.AsSpan(0, {count}), {EmitContext.D(l.Index)}.AsSpan(0, {count}));");
        if (l.Index == 0) w.Close();
    }
}
