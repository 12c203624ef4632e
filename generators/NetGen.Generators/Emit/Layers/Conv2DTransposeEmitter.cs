using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Conv2DTranspose over (C, H, W) → (F, OH, OW), OH = (H − 1)·S − 2P + K + OP, weights w[c, j] with j = (f, u, v)
/// (PyTorch's [C_in, F, K, K]), one sample at a time. With p = (iy, ix) an input position:
///   colᵀ[p, j] = Σ_c x[c, p]·w[c, j]                                      (each input pixel's K×K×F contribution)
/// Forward   y[f, iy·S − P + u, ix·S − P + v] += colᵀ[p, (f, u, v)], y starting at b[f]   (col2im; outside is cut off)
/// Backward  dcolᵀ[p, (f, u, v)] = ∂E/∂y[f, iy·S − P + u, ix·S − P + v] (0 outside)  (im2col of ∂E/∂y)
///           ∂E/∂w[c, j] += Σ_p x[c, p]·dcolᵀ[p, j]    ∂E/∂x[c, p] = Σ_j w[c, j]·dcolᵀ[p, j]    ∂E/∂b[f] += Σ ∂E/∂y[f, ·]
/// The inner loops run over j, the F·K·K contiguous values of a weight row, as vector operations
/// (TensorPrimitives): the transpose of Conv2D's im2col form. CPU only, single-threaded.
/// </summary>
internal sealed class Conv2DTransposeEmitter : LayerEmitter
{
    public static readonly Conv2DTransposeEmitter Instance = new();

    private static int J(LayerPlan l) => l.OutC * l.KernelH * l.KernelW;

    private static int P(LayerPlan l) => l.InH * l.InW;

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan l)
        => w.Line($"private readonly {c.T}[] _colT{l.Index};   // {l.PascalName}: one sample's colᵀ or dcolᵀ, {P(l)} input positions × {J(l)} (filter, u, v)");

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan l)
        => w.Line($"_colT{l.Index} = new {c.T}[{(long)P(l) * J(l)}];");

    /// <summary>Loops over every (input position, filter, u, v) whose output position is inside, with <c>at</c> the
    /// output offset within the sample and <c>j</c> the column of colᵀ; <paramref name="body"/> writes the statement.</summary>
    private static void Positions(CodeWriter w, LayerPlan l, string body)
    {
        int H = l.InH, W = l.InW, K = l.KernelH, S = l.Stride, OH = l.OutH, OW = l.OutW;
        w.Open($"for (int iy = 0; iy < {H}; iy++)");
        w.Open($"for (int ix = 0; ix < {W}; ix++)");
        w.Line($"int p = iy * {W} + ix;");
        w.Open($"for (int f = 0; f < {l.OutC}; f++)");
        w.Open($"for (int u = 0; u < {K}; u++)");
        w.Line($"int oy = iy * {S} - {l.PadH} + u;");
        w.Line($"if ((uint)oy >= {OH}u) continue;");
        w.Open($"for (int v = 0; v < {K}; v++)");
        w.Line($"int ox = ix * {S} - {l.PadW} + v;");
        w.Line($"if ((uint)ox >= {OW}u) continue;");
        w.Line($"int at = (f * {OH} + oy) * {OW} + ox, j = (f * {K} + u) * {K} + v;");
        w.Line(body);
        w.Close(); w.Close(); w.Close(); w.Close(); w.Close();
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = l.InC, F = l.OutC, inSize = l.InputSize, outSize = l.OutputSize, Pn = P(l), Jn = J(l), planeOut = l.OutH * l.OutW;
        string t = c.T, x = EmitContext.A(l.Index), y = EmitContext.A(l.Index + 1), col = "_colT" + l.Index;
        w.Line($"// Layer {l.Index}: {l.PascalName} ({C}×{l.InH}×{l.InW} → {F}×{l.OutH}×{l.OutW}, kernel {l.KernelH}×{l.KernelW}, stride {l.Stride}, padding {l.PadH},{l.PadW}):");
        w.Line($"// colᵀ[p, (f, u, v)] = Σ_c x[c, p]·w[c, f, u, v], then y[f, iy·{l.Stride} − {l.PadH} + u, ix·{l.Stride} − {l.PadW} + v] += colᵀ[(iy, ix), (f, u, v)]{(l.BiasCount > 0 ? " over y = b[f]" : "")}");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"global::System.ReadOnlySpan<{t}> xs = {x}.AsSpan(n * {inSize}, {inSize});");
        w.Line($"global::System.Span<{t}> ys = {y}.AsSpan(n * {outSize}, {outSize});");
        w.Line($"global::System.Span<{t}> cols = {col}.AsSpan(0, {(long)Pn * Jn});");
        w.Line("cols.Clear();");
        w.Open($"for (int p = 0; p < {Pn}; p++)");
        w.Line($"global::System.Span<{t}> row = cols.Slice(p * {Jn}, {Jn});");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Line($"{t} xv = xs[ch * {Pn} + p];");
        w.Line($"if (xv != {c.Lit(0)}) {c.Tp}.MultiplyAdd<{t}>(_p.AsSpan({l.WeightOffset} + ch * {Jn}, {Jn}), xv, row, row);   // zeros (after a ReLU) add nothing");
        w.Close();
        w.Close();
        if (l.BiasCount > 0)
            w.Line($"for (int f = 0; f < {F}; f++) ys.Slice(f * {planeOut}, {planeOut}).Fill(_p[{l.BiasOffset} + f]);");
        else
            w.Line("ys.Clear();");
        Positions(w, l, "ys[at] += cols[p * " + Jn + " + j];");
        w.Close();
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = l.InC, F = l.OutC, inSize = l.InputSize, outSize = l.OutputSize, Pn = P(l), Jn = J(l), planeOut = l.OutH * l.OutW;
        string t = c.T, x = EmitContext.A(l.Index), dy = EmitContext.D(l.Index + 1), dx = EmitContext.D(l.Index), col = "_colT" + l.Index;
        bool trainBias = l.BiasCount > 0 && l.TrainBias;
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: dcolᵀ = im2col(∂E/∂y); ∂E/∂w[c, ·] += Σ_p x[c, p]·dcolᵀ[p, ·]; ∂E/∂x[c, p] = w[c, ·]·dcolᵀ[p, ·]{(trainBias ? "; ∂E/∂b[f] += Σ ∂E/∂y[f, ·]" : "")}");
        w.Line(l.Index == 0 ? "bool wantInput = inputGradient;" : "const bool wantInput = true;");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"global::System.ReadOnlySpan<{t}> xs = {x}.AsSpan(n * {inSize}, {inSize});");
        w.Line($"global::System.ReadOnlySpan<{t}> dys = {dy}.AsSpan(n * {outSize}, {outSize});");
        w.Line($"global::System.Span<{t}> cols = {col}.AsSpan(0, {(long)Pn * Jn});");
        w.Line("cols.Clear();");
        Positions(w, l, "cols[p * " + Jn + " + j] = dys[at];");
        if (trainBias)
            w.Line($"for (int f = 0; f < {F}; f++) _g[{l.BiasOffset} + f] += {c.Tp}.Sum<{t}>(dys.Slice(f * {planeOut}, {planeOut}));");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Line($"global::System.Span<{t}> gw = _g.AsSpan({l.WeightOffset} + ch * {Jn}, {Jn});");
        w.Line($"global::System.ReadOnlySpan<{t}> wr = _p.AsSpan({l.WeightOffset} + ch * {Jn}, {Jn});");
        w.Open($"for (int p = 0; p < {Pn}; p++)");
        w.Line($"global::System.ReadOnlySpan<{t}> row = cols.Slice(p * {Jn}, {Jn});");
        w.Line($"{t} xv = xs[ch * {Pn} + p];");
        w.Line($"if (xv != {c.Lit(0)}) {c.Tp}.MultiplyAdd<{t}>(row, xv, gw, gw);");
        w.Line($"if (wantInput) {dx}[n * {inSize} + ch * {Pn} + p] = {c.Tp}.Dot<{t}>(wr, row);");
        w.Close();
        w.Close();
        w.Close();
    }

    public override void GpuForward(GpuWriter g, LayerPlan layer) => throw ReshapeEmitter.NoGpu(layer);

    public override void GpuBackward(GpuWriter g, LayerPlan layer) => throw ReshapeEmitter.NoGpu(layer);
}
