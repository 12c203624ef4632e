using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Inverted dropout with rate r. Training: mask = 0 with probability r, else 1/(1 − r); y = x·mask, so the
/// expected output equals the input and inference needs no rescaling. Inference: y = x.
/// Backward ∂E/∂x = ∂E/∂y·mask. Masks are counter-based (NetGen.CounterRandom, keyed by seed, layer and training pass): same seed, same masks,
/// on the CPU and in the GPU kernel.
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
        double rate = l.Options<DropoutOptions>().Rate;
        string x = EmitContext.A(l.Index), y = EmitContext.A(l.Index + 1), mask = "_mask" + l.Index, count = $"batch * {l.OutputSize}";
        w.Line($"// Layer {l.Index}: {l.PascalName}, rate {rate}: in training y = x·mask, mask = 0 (p = {rate}) or 1/(1 − {rate}); in inference y = x");
        w.Open("if (Training)");
        w.Line($"ulong key = global::NetGen.CounterRandom.Key(_seed, {l.Index}, _dropoutPass);   // value k of the mask is a function of (key, k): the GPU kernel draws the same");
        w.Line($"for (int k = 0; k < {count}; k++) {mask}[k] = global::NetGen.CounterRandom.Uniform(key, (ulong)k) < {CodeWriter.Literal(rate, false)} ? {c.Lit(0)} : {c.Lit(1.0 / (1.0 - rate))};");
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

    // ---- GPU (ILGPU) --------------------------------------------------------------------------------------------

    public override void GpuForward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        double rate = l.Options<DropoutOptions>().Rate;
        string mask = g.Buffer("_mask" + l.Index, $"(long)maxBatch * {l.OutputSize}", $"{l.PascalName}: 0 or 1/(1 − rate) per value of the last forward pass");
        string field = g.Kernel(l.PascalName + "Forward",
            $"{l.PascalName} forward for value i: mask = 0 when CounterRandom.Uniform(key, i) < {rate} (the CPU's draw), else 1/(1 − {rate}); all 1 in inference; y = x·mask",
            new[] { g.V("x"), g.V("y"), g.V("mask"), ("ulong", "key"), ("int", "training") }, w =>
        {
            w.Line($"{c.T} m = training == 0 ? {c.Lit(1)} : global::NetGen.CounterRandom.Uniform(key, (ulong)i) < {CodeWriter.Literal(rate, false)} ? {c.Lit(0)} : {c.Lit(1.0 / (1.0 - rate))};");
            w.Line("mask[i] = m;");
            w.Line("y[i] = x[i] * m;");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName}, rate {rate}: counter-based masks keyed by (seed, layer, pass), identical to the CPU's");
        g.Launch(field, $"batch * {l.OutputSize}", GpuWriter.A(l.Index), GpuWriter.A(l.Index + 1), mask,
            $"global::NetGen.CounterRandom.Key(_seed, {l.Index}, _dropoutPass)", "training ? 1 : 0");
    }

    public override void GpuBackward(GpuWriter g, LayerPlan l)
    {
        string field = g.Kernel(l.PascalName + "Backward", $"{l.PascalName} backward for value i: ∂E/∂x = ∂E/∂y·mask",
            new[] { g.V("dy"), g.V("mask"), g.V("dx") }, w => w.Line("dx[i] = dy[i] * mask[i];"));
        if (l.Index == 0) g.Host.Open("if (inputGradient)");
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} backward");
        g.Launch(field, $"batch * {l.OutputSize}", GpuWriter.D(l.Index + 1), $"_mask{l.Index}.View", GpuWriter.D(l.Index));
        if (l.Index == 0) g.Host.Close();
    }
}
