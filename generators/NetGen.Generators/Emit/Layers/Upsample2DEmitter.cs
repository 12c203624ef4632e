using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Upsample2D by an integer factor f over (C, H, W) → (C, H·f, W·f), no parameters.
/// Nearest   y[c, oy, ox] = x[c, ⌊oy/f⌋, ⌊ox/f⌋];  backward ∂E/∂x[c, iy, ix] = Σ of ∂E/∂y over its f × f block.
/// Bilinear  (align_corners = False, as nn.Upsample) per axis: s = max((o + ½)/f − ½, 0), i₀ = ⌊s⌋,
///           i₁ = min(i₀ + 1, n − 1), λ = s − i₀; y = Σ (1 − λ or λ)·(1 − μ or μ)·x at the four corners;
///           backward scatters ∂E/∂y to the same four corners with the same weights.
/// One sample and channel at a time; every size is a literal.
/// </summary>
internal sealed class Upsample2DEmitter : LayerEmitter
{
    public static readonly Upsample2DEmitter Instance = new();

    private static bool Bilinear(LayerPlan l) => ((Upsample2DOptions)l.Spec.Options).Mode == 1;

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = l.InC, H = l.InH, W = l.InW, f = l.Stride, OH = l.OutH, OW = l.OutW;
        string x = EmitContext.A(l.Index), y = EmitContext.A(l.Index + 1), t = c.T;
        w.Line($"// Layer {l.Index}: {l.PascalName} ({C}×{H}×{W} → {C}×{OH}×{OW}, {(Bilinear(l) ? "bilinear" : "nearest")}, factor {f})");
        w.Open($"for (int plane = 0; plane < batch * {C}; plane++)");
        w.Line($"global::System.ReadOnlySpan<{t}> src = {x}.AsSpan(plane * {H * W}, {H * W});");
        w.Line($"global::System.Span<{t}> dst = {y}.AsSpan(plane * {OH * OW}, {OH * OW});");
        if (!Bilinear(l))
        {
            w.Open($"for (int oy = 0; oy < {OH}; oy++)");
            w.Line($"global::System.ReadOnlySpan<{t}> row = src.Slice(oy / {f} * {W}, {W});");
            w.Line($"global::System.Span<{t}> line = dst.Slice(oy * {OW}, {OW});");
            w.Line($"for (int ox = 0; ox < {OW}; ox++) line[ox] = row[ox / {f}];");
            w.Close();
        }
        else
        {
            w.Open($"for (int oy = 0; oy < {OH}; oy++)");
            Axis(w, c, "oy", "y", H, f);
            w.Open($"for (int ox = 0; ox < {OW}; ox++)");
            Axis(w, c, "ox", "x", W, f);
            w.Line($"dst[oy * {OW} + ox] = ({c.Lit(1)} - ly) * (({c.Lit(1)} - lx) * src[y0 * {W} + x0] + lx * src[y0 * {W} + x1]) + ly * (({c.Lit(1)} - lx) * src[y1 * {W} + x0] + lx * src[y1 * {W} + x1]);");
            w.Close();
            w.Close();
        }
        w.Close();
    }

    /// <summary>Source index pair and weight for output coordinate <paramref name="o"/> on an axis of <paramref name="n"/>.</summary>
    private static void Axis(CodeWriter w, EmitContext c, string o, string name, int n, int f)
    {
        w.Line($"{c.T} s{name} = {c.Math}.Max(({c.T})(({o} + {c.Lit(0.5)}) / {c.Lit(f)} - {c.Lit(0.5)}), {c.Lit(0)});");
        w.Line($"int {name}0 = (int)s{name}, {name}1 = {name}0 < {n - 1} ? {name}0 + 1 : {name}0;");
        w.Line($"{c.T} l{name} = s{name} - {name}0;");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = l.InC, H = l.InH, W = l.InW, f = l.Stride, OH = l.OutH, OW = l.OutW;
        string dy = EmitContext.D(l.Index + 1), dx = EmitContext.D(l.Index), t = c.T;
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: each input pixel collects the gradient of the output pixels computed from it");
        w.Line($"{dx}.AsSpan(0, batch * {C * H * W}).Clear();");
        w.Open($"for (int plane = 0; plane < batch * {C}; plane++)");
        w.Line($"global::System.ReadOnlySpan<{t}> src = {dy}.AsSpan(plane * {OH * OW}, {OH * OW});");
        w.Line($"global::System.Span<{t}> dst = {dx}.AsSpan(plane * {H * W}, {H * W});");
        if (!Bilinear(l))
        {
            w.Open($"for (int oy = 0; oy < {OH}; oy++)");
            w.Line($"global::System.Span<{t}> row = dst.Slice(oy / {f} * {W}, {W});");
            w.Line($"global::System.ReadOnlySpan<{t}> line = src.Slice(oy * {OW}, {OW});");
            w.Line($"for (int ox = 0; ox < {OW}; ox++) row[ox / {f}] += line[ox];");
            w.Close();
        }
        else
        {
            w.Open($"for (int oy = 0; oy < {OH}; oy++)");
            Axis(w, c, "oy", "y", H, f);
            w.Open($"for (int ox = 0; ox < {OW}; ox++)");
            Axis(w, c, "ox", "x", W, f);
            w.Line($"{t} g = src[oy * {OW} + ox];");
            w.Line($"dst[y0 * {W} + x0] += ({c.Lit(1)} - ly) * ({c.Lit(1)} - lx) * g;");
            w.Line($"dst[y0 * {W} + x1] += ({c.Lit(1)} - ly) * lx * g;");
            w.Line($"dst[y1 * {W} + x0] += ly * ({c.Lit(1)} - lx) * g;");
            w.Line($"dst[y1 * {W} + x1] += ly * lx * g;");
            w.Close();
            w.Close();
        }
        w.Close();
        if (l.Index == 0) w.Close();
    }

    public override void GpuForward(GpuWriter g, LayerPlan layer) => throw ReshapeEmitter.NoGpu(layer);

    public override void GpuBackward(GpuWriter g, LayerPlan layer) => throw ReshapeEmitter.NoGpu(layer);
}
