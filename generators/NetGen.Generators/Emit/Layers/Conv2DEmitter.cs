using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Conv2D over (C, H, W) → (F, OH, OW), computed as cross-correlation through im2col, one sample at a time:
///   col[p, (c, u, v)] = x[c, oy·S + u − P, ox·S + v − P]   (0 outside the image), p = oy·OW + ox
/// Forward   y[f, p] = Σ_k w[f, k]·col[p, k] + b[f]            (a vectorised dot product per output value)
/// Backward  ∂E/∂w[f, k] += Σ_p δ[f, p]·col[p, k]    ∂E/∂b[f] += Σ_p δ[f, p]
///           ∂E/∂col[p, k] = Σ_f δ[f, p]·w[f, k], scattered back to ∂E/∂x (col2im: overlapping windows add up)
/// The column buffer is per sample (P × C·KH·KW values), so memory does not grow with the batch.
/// </summary>
internal sealed class Conv2DEmitter : LayerEmitter
{
    public static readonly Conv2DEmitter Instance = new();

    public override void Initialize(CodeWriter w, EmitContext c, LayerPlan layer) => DenseEmitter.InitializeWeights(w, c, layer,
        fanIn: layer.InC * layer.KernelH * layer.KernelW, fanOut: layer.OutC * layer.KernelH * layer.KernelW);

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"private readonly {c.T}[] _col{layer.Index};   // {layer.PascalName} im2col buffer, one sample: {layer.OutH * layer.OutW} positions × {K(layer)} window values");

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"_col{layer.Index} = new {c.T}[{layer.OutH * layer.OutW * K(layer)}];");

    private static int K(LayerPlan l) => l.InC * l.KernelH * l.KernelW;

    /// <summary>Writes the im2col loop for sample <c>n</c> into <c>_col{i}</c>.</summary>
    private static void Im2Col(CodeWriter w, LayerPlan l, bool scatter)
    {
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, S = l.Stride, k = K(l);
        string col = "_col" + l.Index;
        w.Open($"for (int oy = 0; oy < {OH}; oy++)");
        w.Open($"for (int ox = 0; ox < {OW}; ox++)");
        w.Line($"int row = (oy * {OW} + ox) * {k};");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Open($"for (int u = 0; u < {KH}; u++)");
        w.Line($"int iy = oy * {S} + u - {l.PadH};");
        w.Open($"for (int v = 0; v < {KW}; v++)");
        w.Line($"int ix = ox * {S} + v - {l.PadW};");
        w.Line($"int at = row + (ch * {KH} + u) * {KW} + v;");
        w.Line($"bool inside = (uint)iy < {H}u && (uint)ix < {W}u;");
        w.Line(scatter
            ? $"if (inside) dx[ch * {H * W} + iy * {W} + ix] += {col}[at];"
            : $"{col}[at] = inside ? x[ch * {H * W} + iy * {W} + ix] : 0;");
        w.Close(); w.Close(); w.Close(); w.Close(); w.Close();
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int inSize = l.InputSize, outSize = l.OutputSize, P = l.OutH * l.OutW, k = K(l), F = l.OutC;
        w.Line($"// Layer {l.Index}: {l.PascalName} ({l.InC}×{l.InH}×{l.InW} → {F}×{l.OutH}×{l.OutW}, kernel {l.KernelH}×{l.KernelW}, stride {l.Stride}, padding {l.PadH},{l.PadW}):");
        w.Line("// y[f, p] = Σ_k w[f, k]·col[p, k] + b[f] over the im2col columns of each sample (cross-correlation)");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"global::System.ReadOnlySpan<{c.T}> x = {EmitContext.A(l.Index)}.AsSpan(n * {inSize}, {inSize});");
        w.Line($"global::System.Span<{c.T}> y = {EmitContext.A(l.Index + 1)}.AsSpan(n * {outSize}, {outSize});");
        Im2Col(w, l, scatter: false);
        w.Open($"for (int f = 0; f < {F}; f++)");
        w.Line($"global::System.ReadOnlySpan<{c.T}> wf = _p.AsSpan({l.WeightOffset} + f * {k}, {k});");
        w.Line($"{c.T} b = {(l.BiasCount > 0 ? $"_p[{l.BiasOffset} + f]" : c.Lit(0))};");
        w.Line($"for (int p = 0; p < {P}; p++) y[f * {P} + p] = {c.Tp}.Dot<{c.T}>(wf, _col{l.Index}.AsSpan(p * {k}, {k})) + b;");
        w.Close();
        w.Close();
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int inSize = l.InputSize, outSize = l.OutputSize, P = l.OutH * l.OutW, k = K(l), F = l.OutC;
        bool trainBias = l.BiasCount > 0 && l.Spec.TrainBias;
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂w[f] += Σ_p δ[f, p]·col[p]{(trainBias ? ", ∂E/∂b[f] += Σ_p δ[f, p]" : "")}, ∂E/∂x = col2im(Σ_f δ[f, p]·w[f])");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"global::System.ReadOnlySpan<{c.T}> x = {EmitContext.A(l.Index)}.AsSpan(n * {inSize}, {inSize});");
        w.Line($"global::System.ReadOnlySpan<{c.T}> delta = {EmitContext.D(l.Index + 1)}.AsSpan(n * {outSize}, {outSize});");
        Im2Col(w, l, scatter: false);
        w.Open($"for (int f = 0; f < {F}; f++)");
        w.Line($"global::System.Span<{c.T}> gw = _g.AsSpan({l.WeightOffset} + f * {k}, {k});");
        w.Line($"{c.T} gb = {c.Lit(0)};");
        w.Open($"for (int p = 0; p < {P}; p++)");
        w.Line($"{c.T} d = delta[f * {P} + p];");
        w.Line("gb += d;");
        w.Line($"{c.Tp}.MultiplyAdd<{c.T}>(_col{l.Index}.AsSpan(p * {k}, {k}), d, gw, gw);");
        w.Close();
        if (trainBias) w.Line($"_g[{l.BiasOffset} + f] += gb;");
        w.Close();
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Line("// ∂E/∂col, reusing the column buffer, then col2im adds every window's share back into ∂E/∂x.");
        w.Line($"global::System.Span<{c.T}> dx = {EmitContext.D(l.Index)}.AsSpan(n * {inSize}, {inSize});");
        w.Line("dx.Clear();");
        w.Open($"for (int p = 0; p < {P}; p++)");
        w.Line($"global::System.Span<{c.T}> dcol = _col{l.Index}.AsSpan(p * {k}, {k});");
        w.Line("dcol.Clear();");
        w.Line($"for (int f = 0; f < {F}; f++) {c.Tp}.MultiplyAdd<{c.T}>(_p.AsSpan({l.WeightOffset} + f * {k}, {k}), delta[f * {P} + p], dcol, dcol);");
        w.Close();
        Im2Col(w, l, scatter: true);
        if (l.Index == 0) w.Close();
        w.Close();
    }
}
