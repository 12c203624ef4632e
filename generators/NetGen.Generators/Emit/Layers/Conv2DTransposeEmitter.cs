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
/// (TensorPrimitives): the transpose of Conv2D's im2col form. Single-threaded on the CPU; the GPU kernels gather
/// (one thread per output value, per input value, per weight and sample group).
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

    // ---- GPU (ILGPU) ------------------------------------------------------------------------------------------------
    // Gathers instead of the CPU's scatter (no atomics): output (f, oy, ox) sums the input positions iy with
    // iy·S − P + u = oy, i.e. u ≡ oy + P (mod S); ∂E/∂x is Conv2D's forward over ∂E/∂y; ∂E/∂w is summed per sample group,
    // then per weight in group order, as Conv2D's.

    /// <summary>Sample groups of the weight-gradient partials (as Conv2D's).</summary>
    private const int Groups = 16;

    public override void GpuForward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int C = l.InC, H = l.InH, W = l.InW, F = l.OutC, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, S = l.Stride, Po = OH * OW;
        string field = g.Kernel(l.PascalName + "Forward",
            $"{l.PascalName} forward for value i = (sample n, filter f, oy, ox): y = {(l.BiasCount > 0 ? "b[f] + " : "")}Σ_(c,u,v) w[c, f, u, v]·x[n, c, iy, ix] over iy·{S} − {l.PadH} + u = oy, ix·{S} − {l.PadW} + v = ox inside the input",
            new[] { g.V("x"), g.V("p"), g.V("y") }, w =>
        {
            w.Line($"int n = i / {F * Po}, f = i / {Po} - n * {F}, at = i - (i / {Po}) * {Po}, oy = at / {OW}, ox = at - oy * {OW};");
            w.Line($"{c.T} sum = {(l.BiasCount > 0 ? $"p[{l.BiasOffset} + f]" : c.Lit(0))}, carry = {c.Lit(0)};");
            w.Open($"for (int u = 0; u < {KH}; u++)");
            w.Line($"int ry = oy + {l.PadH} - u;");
            w.Line($"if (ry < 0 || ry % {S} != 0 || ry / {S} >= {H}) continue;");
            w.Open($"for (int v = 0; v < {KW}; v++)");
            w.Line($"int rx = ox + {l.PadW} - v;");
            w.Line($"if (rx < 0 || rx % {S} != 0 || rx / {S} >= {W}) continue;");
            w.Line($"for (int ch = 0; ch < {C}; ch++) Accumulate(ref sum, ref carry, p[{l.WeightOffset} + ((ch * {F} + f) * {KH} + u) * {KW} + v] * x[n * {C * H * W} + ch * {H * W} + ry / {S} * {W} + rx / {S}]);");
            w.Close(); w.Close();
            w.Line("y[i] = sum;");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} ({C}×{H}×{W} → {F}×{OH}×{OW}, kernel {KH}×{KW}, stride {S}, padding {l.PadH},{l.PadW}), one thread per output value");
        g.Launch(field, $"batch * {l.OutputSize}", GpuWriter.A(l.Index), "P", GpuWriter.A(l.Index + 1));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int C = l.InC, H = l.InH, W = l.InW, F = l.OutC, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, S = l.Stride, Po = OH * OW, Pi = H * W;
        bool trainBias = l.BiasCount > 0 && l.TrainBias;
        int weights = l.WeightCount, count = weights + (trainBias ? F : 0);
        string t = c.T;
        string partials = g.Buffer("_wpartials" + l.Index, (Groups * count).ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"{l.PascalName}: ∂E/∂w and ∂E/∂b summed over each of up to {Groups} sample groups");
        string weightField = g.Kernel(l.PascalName + "WeightGradientPartials",
            $"{l.PascalName}, thread i = (group, k): the sum over samples n ≡ group (mod groups) and input positions of x[n, c, iy, ix]·δ[n, f, iy·{S} − {l.PadH} + u, ix·{S} − {l.PadW} + v] " +
            $"for weight k = (c, f, u, v) < {weights}" + (trainBias ? $", of δ[n, f, ·] for bias k = {weights} + f" : ""),
            new[] { g.V("x"), g.V("dy"), g.V("partials"), ("int", "batch"), ("int", "groups") }, w =>
        {
            w.Line($"int group = i / {count}, k = i - group * {count};");
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            if (trainBias)
            {
                w.Open($"if (k >= {weights})");
                w.Line($"int filter = k - {weights};");
                w.Line($"for (int n = group; n < batch; n += groups) for (int at = 0; at < {Po}; at++) Accumulate(ref sum, ref carry, dy[(n * {F} + filter) * {Po} + at]);");
                w.Line("partials[i] = sum;");
                w.Line("return;");
                w.Close();
            }
            w.Line($"int ch = k / {F * KH * KW}, f = k / {KH * KW} - ch * {F}, u = k / {KW} - k / {KH * KW} * {KH}, v = k - k / {KW} * {KW};");
            w.Open("for (int n = group; n < batch; n += groups)");
            w.Open($"for (int iy = 0; iy < {H}; iy++)");
            w.Line($"int oy = iy * {S} - {l.PadH} + u;");
            w.Line($"if (oy < 0 || oy >= {OH}) continue;");
            w.Open($"for (int ix = 0; ix < {W}; ix++)");
            w.Line($"int ox = ix * {S} - {l.PadW} + v;");
            w.Line($"if (ox >= 0 && ox < {OW}) Accumulate(ref sum, ref carry, x[n * {C * Pi} + ch * {Pi} + iy * {W} + ix] * dy[(n * {F} + f) * {Po} + oy * {OW} + ox]);");
            w.Close(); w.Close(); w.Close();
            w.Line("partials[i] = sum;");
        });
        string reduceField = g.Kernel(l.PascalName + "WeightGradient",
            $"{l.PascalName} ∂E/∂w[k] (and ∂E/∂b) += the sum of the groups' partials for parameter k = i, in group order",
            new[] { g.V("partials"), g.V("grad"), ("int", "groups") }, w =>
        {
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            w.Line($"for (int group = 0; group < groups; group++) Accumulate(ref sum, ref carry, partials[group * {count} + i]);");
            if (trainBias)
                w.Line($"if (i >= {weights}) grad[{l.BiasOffset} + i - {weights}] += sum; else grad[{l.WeightOffset} + i] += sum;");
            else
                w.Line($"grad[{l.WeightOffset} + i] += sum;");
        });
        string inputField = g.Kernel(l.PascalName + "InputGradient",
            $"{l.PascalName} ∂E/∂x[n, c, iy, ix] = Σ_(f,u,v) w[c, f, u, v]·δ[n, f, iy·{S} − {l.PadH} + u, ix·{S} − {l.PadW} + v] (inside the output)",
            new[] { g.V("p"), g.V("dy"), g.V("dx") }, w =>
        {
            w.Line($"int n = i / {C * Pi}, ch = i / {Pi} - n * {C}, at = i - (i / {Pi}) * {Pi}, iy = at / {W}, ix = at - iy * {W};");
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            w.Open($"for (int u = 0; u < {KH}; u++)");
            w.Line($"int oy = iy * {S} - {l.PadH} + u;");
            w.Line($"if (oy < 0 || oy >= {OH}) continue;");
            w.Open($"for (int v = 0; v < {KW}; v++)");
            w.Line($"int ox = ix * {S} - {l.PadW} + v;");
            w.Line($"if (ox < 0 || ox >= {OW}) continue;");
            w.Line($"for (int f = 0; f < {F}; f++) Accumulate(ref sum, ref carry, p[{l.WeightOffset} + ((ch * {F} + f) * {KH} + u) * {KW} + v] * dy[(n * {F} + f) * {Po} + oy * {OW} + ox]);");
            w.Close(); w.Close();
            w.Line("dx[i] = sum;");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂w{(trainBias ? ", ∂E/∂b" : "")} (per sample group, then per parameter), ∂E/∂x (one thread per input value)");
        g.Host.Line($"int groups{l.Index} = global::System.Math.Min(batch, {Groups});");
        g.Launch(weightField, $"groups{l.Index} * {count}", GpuWriter.A(l.Index), GpuWriter.D(l.Index + 1), partials, "batch", $"groups{l.Index}");
        g.Launch(reduceField, count.ToString(System.Globalization.CultureInfo.InvariantCulture), partials, "G", $"groups{l.Index}");
        if (l.Index == 0) g.Host.Open("if (inputGradient)");
        g.Launch(inputField, $"batch * {l.InputSize}", "P", GpuWriter.D(l.Index + 1), GpuWriter.D(l.Index));
        if (l.Index == 0) g.Host.Close();
    }
}
