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

    // ---- GPU (ILGPU): one thread per output value forward, one per input value backward (a gather, no atomics) ----

    public override void GpuForward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int H = l.InH, W = l.InW, f = l.Stride, OH = l.OutH, OW = l.OutW;
        bool bilinear = Bilinear(l);
        string field = g.Kernel(l.PascalName + "Forward",
            bilinear
                ? $"{l.PascalName} forward for value i = (plane, oy, ox): the bilinear mix of the four inputs around ((oy + ½)/{f} − ½, (ox + ½)/{f} − ½), clamped"
                : $"{l.PascalName} forward for value i = (plane, oy, ox): y = x[plane, oy / {f}, ox / {f}]",
            new[] { g.V("x"), g.V("y") }, w =>
        {
            w.Line($"int plane = i / {OH * OW}, at = i - plane * {OH * OW}, oy = at / {OW}, ox = at - oy * {OW}, src = plane * {H * W};");
            if (!bilinear)
            {
                w.Line($"y[i] = x[src + oy / {f} * {W} + ox / {f}];");
                return;
            }
            Axis(w, c, "oy", "y", H, f);
            Axis(w, c, "ox", "x", W, f);
            w.Line($"y[i] = ({c.Lit(1)} - ly) * (({c.Lit(1)} - lx) * x[src + y0 * {W} + x0] + lx * x[src + y0 * {W} + x1]) + ly * (({c.Lit(1)} - lx) * x[src + y1 * {W} + x0] + lx * x[src + y1 * {W} + x1]);");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} ({l.InC}×{H}×{W} → {l.InC}×{OH}×{OW}, {(bilinear ? "bilinear" : "nearest")}, factor {f})");
        g.Launch(field, $"batch * {l.OutputSize}", GpuWriter.A(l.Index), GpuWriter.A(l.Index + 1));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int H = l.InH, W = l.InW, f = l.Stride, OH = l.OutH, OW = l.OutW;
        bool bilinear = Bilinear(l);
        string t = c.T;
        string field = g.Kernel(l.PascalName + "Backward",
            bilinear
                ? $"{l.PascalName} backward for input value i = (plane, iy, ix): Σ of ∂E/∂y·weight over the outputs within {f} rows/columns whose four corners include (iy, ix)"
                : $"{l.PascalName} backward for input value i = (plane, iy, ix): Σ of ∂E/∂y over its {f}×{f} block",
            new[] { g.V("dy"), g.V("dx") }, w =>
        {
            w.Line($"int plane = i / {H * W}, at = i - plane * {H * W}, iy = at / {W}, ix = at - iy * {W}, src = plane * {OH * OW};");
            w.Line($"{t} sum = {c.Lit(0)};");
            if (!bilinear)
            {
                w.Line($"for (int oy = iy * {f}; oy < iy * {f} + {f}; oy++) for (int ox = ix * {f}; ox < ix * {f} + {f}; ox++) sum += dy[src + oy * {OW} + ox];");
                w.Line("dx[i] = sum;");
                return;
            }
            // Output row oy reads input rows y0 = ⌊s⌋ and y1 ≤ y0 + 1 with s ≈ (oy + ½)/f − ½: rows (iy − 1)·f ≤ oy < (iy + 2)·f cover every reader of iy.
            w.Line($"int oyEnd = global::System.Math.Min({OH}, (iy + 2) * {f}), oxEnd = global::System.Math.Min({OW}, (ix + 2) * {f});");
            w.Open($"for (int oy = global::System.Math.Max(0, (iy - 1) * {f}); oy < oyEnd; oy++)");
            Axis(w, c, "oy", "y", H, f);
            w.Line($"{t} wy = (y0 == iy ? {c.Lit(1)} - ly : {c.Lit(0)}) + (y1 == iy ? ly : {c.Lit(0)});");
            w.Line($"if (wy == {c.Lit(0)}) continue;");
            w.Open($"for (int ox = global::System.Math.Max(0, (ix - 1) * {f}); ox < oxEnd; ox++)");
            Axis(w, c, "ox", "x", W, f);
            w.Line($"{t} wx = (x0 == ix ? {c.Lit(1)} - lx : {c.Lit(0)}) + (x1 == ix ? lx : {c.Lit(0)});");
            w.Line($"sum += wy * wx * dy[src + oy * {OW} + ox];");
            w.Close();
            w.Close();
            w.Line("dx[i] = sum;");
        });
        if (l.Index == 0) g.Host.Open("if (inputGradient)");
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} backward: each input value gathers the gradient of the outputs computed from it");
        g.Launch(field, $"batch * {l.InputSize}", GpuWriter.D(l.Index + 1), GpuWriter.D(l.Index));
        if (l.Index == 0) g.Host.Close();
    }
}
