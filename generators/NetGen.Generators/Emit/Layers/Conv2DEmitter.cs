using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Conv2D over (C, H, W) → (F, OH, OW), a cross-correlation, one sample at a time. Stride-1 layers compute the forward
/// pass and ∂E/∂W directly from the padded input (Conv2DEmitter.Direct.cs); strided layers, and ∂E/∂x always, go
/// through im2col:
///   col[k, p] = x[c, oy·S + u − P, ox·S + v − P]   (0 outside the image), k = (c, u, v), p = oy·OW + ox
/// Forward   y[f, p] = Σ_k w[f, k]·col[k, p] + b[f]           (a register-blocked product: filters × positions)
/// Backward  ∂E/∂w[f, k] += Σ_p δ[f, p]·col[k, p]   ∂E/∂b[f] += Σ_p δ[f, p]
///           ∂E/∂col[k, p] = Σ_f w[f, k]·δ[f, p], scattered back to ∂E/∂x (col2im: overlapping windows add up)
/// A column buffer holds one sample (C·KH·KW rows × OH·OW positions) per thread; a strided layer's training forward
/// pass also keeps every sample's columns for the backward pass when they fit in 4M values (else backward recomputes
/// them). Rows are contiguous along the positions, which is the layout y[f, ·] has, so the products need no
/// transposes. Stride-1 layers scatter ∂E/∂col back by input rows (Col2ImRows), summing in registers.
/// </summary>
internal sealed partial class Conv2DEmitter : LayerEmitter
{
    public static readonly Conv2DEmitter Instance = new();

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        w.Line($"private readonly {c.T}[] _col{layer.Index};   // {layer.PascalName} im2col buffer, one sample ({K(layer)} window values × {layer.OutH * layer.OutW} positions) per thread (Parallelism.Slot)");
        w.Line($"private readonly {c.T}[] _gsum{layer.Index};   // {layer.PascalName} ∂E/∂W and ∂E/∂b summed over one chunk's samples, per sample chunk (Parallelism.SampleChunks)");
        if (Direct(c, layer))
            DirectFields(w, c, layer);
        else
            w.Line($"private readonly {c.T}[] _colBatch{layer.Index};   // {layer.PascalName} im2col of every sample of the last forward pass, reused by backward (empty when too large)");
        if (Transposed(c, layer) || Transposed(c, layer, wide: true))
            w.Line($"private readonly {c.T}[] _deltaT{layer.Index};   // {layer.PascalName} δ of one sample transposed ({layer.OutH * layer.OutW} positions × {layer.OutC} filters), per thread (Parallelism.Slot)");
        if (Phased(c, layer))
            w.Line($"private readonly {c.T}[] _phase{layer.Index};   // {layer.PascalName} one channel's {layer.Stride} phase planes ({layer.Stride} × {PhaseRows(layer)} × {PhaseWidth(layer)}), per thread (Parallelism.Slot)");
    }

    /// <summary>
    /// Whether im2col and col2im of this strided layer go through phase planes: one channel at a time, its zero-padded
    /// image is split by column phase, plane_r[y, i] = x[c, y − PH, i·S + r − PW], so that every row of col,
    /// col[(c, u, v), (oy, ·)] = plane_(v mod S)[oy·S + u, v div S + ·], is a contiguous run of OW values: vector copies
    /// (col2im: vector adds into the planes, then the planes' values go back to ∂E/∂x). Each ∂E/∂x value receives the
    /// same terms in the same (u, v, oy) order as the scalar scatter, from 0, so the sums are the same.
    /// </summary>
    private static bool Phased(EmitContext c, LayerPlan l) => !Direct(c, l) && l.Stride > 1;

    /// <summary>The most plane values per image row (im2col) or image values per row (col2im) written as straight-line
    /// copies rather than a loop with a per-value padding test.</summary>
    private const int UnrolledPhaseValues = 64;

    /// <summary>Rows of a phase plane: the padded image's, H + 2·PH.</summary>
    private static int PhaseRows(LayerPlan l) => l.InH + 2 * l.PadH;

    /// <summary>Columns of a phase plane: enough for every window read (OW + (KW − 1) div S) and every image column.</summary>
    private static int PhaseWidth(LayerPlan l) => System.Math.Max(l.OutW + (l.KernelW - 1) / l.Stride, (l.InW + 2 * l.PadW + l.Stride - 1) / l.Stride);

    /// <summary>One thread's phase planes, with a vector of slack (a short row's vector load reads past its plane).</summary>
    private static int PhaseSize(EmitContext c, LayerPlan l) => l.Stride * PhaseRows(l) * PhaseWidth(l) + GemmEmitter.Lanes(c);

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        w.Line($"_col{layer.Index} = global::NetGen.AlignedArray.Allocate<{c.T}>({layer.OutH * layer.OutW * K(layer)} * global::NetGen.Parallelism.MaxSampleParts + {2 * ColumnSlack(c, layer)});   // (a vector of slack at each end: col2im by rows reads past a thread's columns, then masks those lanes)");
        w.Line($"_gsum{layer.Index} = global::NetGen.AlignedArray.Allocate<{c.T}>({Stride(layer)} * {Chunks(c, layer, "maxBatch")});   // a chunk's sums every {Stride(layer)} values (whole cache lines)");
        int size = layer.OutH * layer.OutW * K(layer);
        if (Direct(c, layer))
            DirectAllocate(w, c, layer);
        else
            w.Line($"_colBatch{layer.Index} = (long)maxBatch * {size} <= {ColumnCacheLimit} ? new {c.T}[maxBatch * {size}] : global::System.Array.Empty<{c.T}>();   // at most {ColumnCacheLimit / (1 << 20)}M values");
        if (Transposed(c, layer) || Transposed(c, layer, wide: true))
            w.Line($"_deltaT{layer.Index} = global::NetGen.AlignedArray.Allocate<{c.T}>({Stride(layer.OutH * layer.OutW * layer.OutC)} * global::NetGen.Parallelism.MaxSampleParts);");
        if (Phased(c, layer))
            w.Line($"_phase{layer.Index} = global::NetGen.AlignedArray.Allocate<{c.T}>({Stride(PhaseSize(c, layer))} * global::NetGen.Parallelism.MaxSampleParts);   // one region per thread, each on whole cache lines");
    }

    /// <summary>
    /// Whether ∂E/∂W is computed transposed, as a broadcast product over the positions: gᵀ[k, f] += Σ_p col[k, p]·δᵀ[p, f],
    /// accumulated sample after sample in registers blocks of 8 window values × the filters, with δ of each sample
    /// transposed first (positions × filters, a few KB). The alternative, the dot form g[f, k] += Σ_p δ[f, p]·col[k, p]
    /// per sample, pays a horizontal sum for every weight and every sample, which dominates when the sums are short
    /// (LeNet's conv2: 100 positions, 2,400 weights, 64 samples). It needs at least one vector of filters; with fewer
    /// (LeNet's conv1: 6) the dot form stays, and its sums are long anyway (784 positions).
    /// The per-thread sums (_gsum) then hold the weight gradient as [window value × filter].
    /// </summary>
    /// <remarks>Per path (<see cref="MethodOn"/>): the rows form of the 256-bit path may be the filters form in the Vector512 twin.</remarks>
    private static bool Transposed(EmitContext c, LayerPlan l, bool wide = false) => MethodOn(c, l, wide) switch
    {
        ConvMethod.DirectFilters => true,
        ConvMethod.DirectRows => false,
        _ => l.OutC >= GemmEmitter.Lanes(c),
    };

    /// <summary>The largest im2col cache (values) a layer keeps for the whole batch: beyond it, backward recomputes
    /// each sample's columns instead.</summary>
    private const long ColumnCacheLimit = 1L << 22;

    private static int K(LayerPlan l) => l.InC * l.KernelH * l.KernelW;

    /// <summary>
    /// The ReLU layer right after this convolution whose passes the convolution's per-sample parts run, or null. Forward:
    /// each sample's output goes through ReLU while it is still in L1 (the same TensorPrimitives.Max(x, 0) the ReLU
    /// layer calls on the whole batch); backward: each sample's δ = x &gt; 0 ? ∂E/∂y : 0 is formed (the ReLU layer's own
    /// vector formula) just before the convolution reads it. Every value is computed as the unfused layer computes it.
    /// Only when the ReLU layer would be vectorised, and when no backward pass can start between the two layers.
    /// </summary>
    public static LayerPlan? FusedReLU(EmitContext c, LayerPlan l)
    {
        var plan = c.Plan;
        if (l.Kind != LayerKind.Conv2D || l.Index + 1 >= plan.Layers.Length) return null;
        var next = plan.Layers[l.Index + 1];
        if (next.Kind != LayerKind.ReLU || next.OutputSize <= plan.Spec.UnrollThreshold) return null;
        // Printed from the activation's formula: its TensorPrimitives forward, its vector forward (rows form) and backward.
        var f = ActivationEmitter.Formula(next);
        if (f.Library is null || ActivationEmitter.Vector(c, f.Forward, next, "x", "y", "dy") is null || ActivationEmitter.Vector(c, f.Backward, next, "x", "y", "dy") is null) return null;
        if (plan.LossInputBuffer == next.Index || plan.Layers.Length == next.Index) return null;
        return next;
    }

    /// <summary>
    /// The 2×2 max pooling after <see cref="FusedReLU"/> whose vector backward pass also applies the ReLU backward
    /// (PoolEmitter: it writes ∂E/∂ of the ReLU's input, masked by the window maximum's sign), or null. The
    /// convolution's forward part pools each sample right after computing it, and its backward part runs the pooling's
    /// backward pass for each of its samples just before reading the sample's δ, instead
    /// of forming δ from the ReLU's input: one pass over the convolution's output and the pool's ∂E/∂x fewer, and δ is
    /// written and read while it is in L1 (LeNet's conv1: 1.2 MB at batch 64, more than L2, written once).
    /// </summary>
    public static LayerPlan? FusedReLUPool(EmitContext c, LayerPlan l)
    {
        if (FusedReLU(c, l) is not { } relu || relu.Index + 1 >= c.Plan.Layers.Length) return null;
        var pool = c.Plan.Layers[relu.Index + 1];
        if (pool.Kind != LayerKind.MaxPool || !PoolEmitter.VectorMaxTiles(c, pool)) return null;
        if (c.Plan.LossInputBuffer == pool.Index || c.Plan.LossInputBuffer == pool.Index + 1) return null;
        return pool;
    }

    /// <summary>Writes im2col (or, with <paramref name="scatter"/>, col2im: dx += the columns) for the sample whose
    /// input is <c>x</c> (or whose input gradient is <c>dx</c>), reading or writing <c>_col{i}</c>.</summary>
    private static void Im2Col(CodeWriter w, EmitContext c, LayerPlan l, bool scatter, string columns)
    {
        if (Phased(c, l))
        {
            PhasedIm2Col(w, c, l, scatter, columns);
            return;
        }
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, S = l.Stride, P = OH * OW, V = GemmEmitter.Lanes(c);
        string col = "_col" + l.Index, img = scatter ? "dx" : "x";
        w.Open(scatter ? "// col2im: ∂E/∂x[c, iy, ix] += ∂E/∂col[k, p] for every window position that read x[c, iy, ix]" : "// im2col");
        w.Line($"ref {c.T} cols = ref {columns};");
        w.Line($"ref {c.T} image = ref {img}[0];");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Open($"for (int u = 0; u < {KH}; u++)");
        w.Open($"for (int v = 0; v < {KW}; v++)");
        w.Line($"ref {c.T} row = ref Unsafe.Add(ref cols, ((ch * {KH} + u) * {KW} + v) * {P});");
        if (S == 1)
            w.Line($"int lo = global::System.Math.Max(0, {l.PadW} - v), hi = global::System.Math.Min({OW}, {W + l.PadW} - v);   // the columns ox whose ix = ox + v − {l.PadW} is inside");
        w.Open($"for (int oy = 0; oy < {OH}; oy++)");
        w.Line($"int iy = oy * {S} + u - {l.PadH};");
        w.Line($"ref {c.T} at = ref Unsafe.Add(ref row, oy * {OW});");
        if (scatter)
        {
            w.Line($"if ((uint)iy >= {H}u) continue;");
            w.Line($"ref {c.T} line = ref Unsafe.Add(ref image, ch * {H * W} + iy * {W} + v - {l.PadW});   // line[ox·S] is x[ch, iy, ox·S + v − P]");
            if (S == 1 && OW >= V)
            {
                w.Open("");
                w.Line("int ox = lo;");
                w.Line($"for (; ox + {V} <= hi; ox += {V}) (Load(ref line, ox) + Load(ref at, ox)).StoreUnsafe(ref line, (nuint)ox);");
                w.Line("for (; ox < hi; ox++) Unsafe.Add(ref line, ox) += Unsafe.Add(ref at, ox);");
                w.Close();
            }
            else
                w.Line(S == 1
                    ? "for (int ox = lo; ox < hi; ox++) Unsafe.Add(ref line, ox) += Unsafe.Add(ref at, ox);"
                    : $"for (int ox = 0; ox < {OW}; ox++) if ((uint)(ox * {S} + v - {l.PadW}) < {W}u) Unsafe.Add(ref line, ox * {S}) += Unsafe.Add(ref at, ox);");
        }
        else
        {
            w.Open($"if ((uint)iy >= {H}u)");
            w.Line($"for (int ox = 0; ox < {OW}; ox++) Unsafe.Add(ref at, ox) = {c.Lit(0)};");
            w.Line("continue;");
            w.Close();
            w.Line($"ref {c.T} line = ref Unsafe.Add(ref image, ch * {H * W} + iy * {W} + v - {l.PadW});   // line[ox·S] is x[ch, iy, ox·S + v − P]");
            if (S == 1)
            {
                w.Line($"for (int ox = 0; ox < lo; ox++) Unsafe.Add(ref at, ox) = {c.Lit(0)};");
                if (OW >= V)
                {
                    // Whole vectors, then one vector ending at hi (it rewrites a few values with the same values).
                    w.Open("");
                    w.Line("int ox = lo;");
                    w.Line($"for (; ox + {V} <= hi; ox += {V}) Load(ref line, ox).StoreUnsafe(ref at, (nuint)ox);");
                    w.Line($"if (ox < hi && hi - lo >= {V}) Load(ref line, hi - {V}).StoreUnsafe(ref at, (nuint)(hi - {V}));");
                    w.Line("else for (; ox < hi; ox++) Unsafe.Add(ref at, ox) = Unsafe.Add(ref line, ox);");
                    w.Close();
                }
                else
                    w.Line("for (int ox = lo; ox < hi; ox++) Unsafe.Add(ref at, ox) = Unsafe.Add(ref line, ox);");
                w.Line($"for (int ox = hi; ox < {OW}; ox++) Unsafe.Add(ref at, ox) = {c.Lit(0)};");
            }
            else
                w.Line($"for (int ox = 0; ox < {OW}; ox++) Unsafe.Add(ref at, ox) = (uint)(ox * {S} + v - {l.PadW}) < {W}u ? Unsafe.Add(ref line, ox * {S}) : {c.Lit(0)};");
        }
        w.Close(); w.Close(); w.Close(); w.Close(); w.Close();
    }

    /// <summary>im2col (or col2im) of a strided layer through phase planes (<see cref="Phased"/>), in the running
    /// thread's <c>_phase{i}</c> region (<c>slot</c>).</summary>
    private static void PhasedIm2Col(CodeWriter w, EmitContext c, LayerPlan l, bool scatter, string columns)
    {
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, S = l.Stride, P = OH * OW, V = GemmEmitter.Lanes(c);
        int rows = PhaseRows(l), width = PhaseWidth(l), plane = rows * width;
        string t = c.T, vec = $"global::System.Runtime.Intrinsics.Vector256<{t}>", img = scatter ? "dx" : "x";
        w.Open(scatter
            ? $"// col2im through phase planes: plane_r[y, i] += ∂E/∂col rows (vectors of ox), then ∂E/∂x[c, iy, ix] = plane_((ix + {l.PadW}) mod {S})[iy + {l.PadH}, (ix + {l.PadW}) div {S}]"
            : $"// im2col through phase planes: plane_r[y, i] = x[c, y − {l.PadH}, i·{S} + r − {l.PadW}] (0 outside), then col[(c, u, v), (oy, ·)] = plane_(v mod {S})[oy·{S} + u, v div {S} + ·]");
        w.Line($"ref {t} cols = ref {columns};");
        w.Line($"ref {t} image = ref {img}[0];");
        w.Line($"ref {t} phase = ref _phase{l.Index}[slot * {Stride(PhaseSize(c, l))}];   // the running thread's planes (a sample chunk may be any part index; the scratch is per thread)");
        if (scatter && OW < V)
            w.Line($"{vec} keep = global::System.Runtime.Intrinsics.Vector256.LessThan({vec}.Indices, global::System.Runtime.Intrinsics.Vector256.Create({c.Lit(OW)}));   // the lanes of one row of ox");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        if (scatter)
            w.Line($"global::System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref phase, {S * plane}).Clear();");
        else
        {
            if (S * width <= UnrolledPhaseValues)
            {
                // Each image row's S·width plane values as straight-line copies: which ones fall on the padding is
                // known here (literals), so the copy has no per-value test.
                w.Open($"for (int y = 0; y < {rows}; y++)");
                w.Line($"ref {t} prow = ref Unsafe.Add(ref phase, y * {width});");
                w.Line($"int iy = y - {l.PadH};");
                w.Open($"if ((uint)iy >= {H}u)");
                for (int r = 0; r < S; r++)
                    w.Line($"global::System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref Unsafe.Add(ref prow, {r * plane}), {width}).Clear();");
                w.Line("continue;");
                w.Close();
                w.Line($"ref {t} line = ref Unsafe.Add(ref image, ch * {H * W} + iy * {W});   // line[ix] is x[ch, iy, ix]");
                for (int r = 0; r < S; r++)
                {
                    var copies = new System.Text.StringBuilder();
                    for (int i = 0; i < width; i++)
                    {
                        int ix = i * S + r - l.PadW;
                        if (copies.Length > 0) copies.Append(' ');
                        copies.Append((uint)ix < (uint)W
                            ? $"Unsafe.Add(ref prow, {r * plane + i}) = Unsafe.Add(ref line, {ix});"
                            : $"Unsafe.Add(ref prow, {r * plane + i}) = {c.Lit(0)};");
                    }
                    w.Line(copies.ToString());
                }
                w.Close();
            }
            else
            {
            w.Open($"for (int r = 0; r < {S}; r++)");
            w.Open($"for (int y = 0; y < {rows}; y++)");
            w.Line($"ref {t} prow = ref Unsafe.Add(ref phase, r * {plane} + y * {width});");
            w.Line($"int iy = y - {l.PadH};");
            w.Open($"if ((uint)iy >= {H}u)");
            w.Line($"global::System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref prow, {width}).Clear();");
            w.Line("continue;");
            w.Close();
            w.Line($"ref {t} line = ref Unsafe.Add(ref image, ch * {H * W} + iy * {W} + r - {l.PadW});   // line[i·{S}] is x[ch, iy, i·{S} + r − {l.PadW}]");
            w.Line($"for (int i = 0; i < {width}; i++) Unsafe.Add(ref prow, i) = (uint)(i * {S} + r - {l.PadW}) < {W}u ? Unsafe.Add(ref line, i * {S}) : {c.Lit(0)};");
            w.Close();
            w.Close();
            }
        }
        w.Open($"for (int u = 0; u < {KH}; u++)");
        w.Open($"for (int v = 0; v < {KW}; v++)");
        w.Line($"ref {t} row = ref Unsafe.Add(ref cols, ((ch * {KH} + u) * {KW} + v) * {P});");
        w.Line($"ref {t} src = ref Unsafe.Add(ref phase, (v % {S}) * {plane} + u * {width} + v / {S});   // src[oy·{S * width} + ox] is col[(ch, u, v), (oy, ox)]");
        w.Open($"for (int oy = 0; oy < {OH}; oy++)");
        w.Line($"ref {t} from = ref Unsafe.Add(ref src, oy * {S * width});");
        w.Line($"ref {t} at = ref Unsafe.Add(ref row, oy * {OW});");
        if (!scatter)
        {
            if (OW >= V)
            {
                w.Line("int ox = 0;");
                w.Line($"for (; ox + {V} <= {OW}; ox += {V}) Load(ref from, ox).StoreUnsafe(ref at, (nuint)ox);");
                if (OW % V != 0) w.Line($"Load(ref from, {OW - V}).StoreUnsafe(ref at, (nuint){OW - V});   // the last vector overlaps the one before (same values)");
            }
            else
            {
                // One vector per row: its lanes past OW land on the next rows' values, which they rewrite; the rows whose
                // vector would reach past this row of col are copied value by value.
                w.Line($"if (oy * {OW} + {V} <= {P}) Load(ref from, 0).StoreUnsafe(ref at);");
                w.Line($"else for (int ox = 0; ox < {OW}; ox++) Unsafe.Add(ref at, ox) = Unsafe.Add(ref from, ox);");
            }
        }
        else
        {
            if (OW >= V)
            {
                w.Line("int ox = 0;");
                w.Line($"for (; ox + {V} <= {OW}; ox += {V}) (Load(ref from, ox) + Load(ref at, ox)).StoreUnsafe(ref from, (nuint)ox);");
                w.Line($"for (; ox < {OW}; ox++) Unsafe.Add(ref from, ox) += Unsafe.Add(ref at, ox);");
            }
            else
            {
                // One vector per row, its lanes past OW masked to 0 (they add nothing to the plane's next values); the rows
                // whose vector would read past this row of col are added value by value.
                w.Line($"if (oy * {OW} + {V} <= {P}) (Load(ref from, 0) + (Load(ref at, 0) & keep)).StoreUnsafe(ref from);");
                w.Line($"else for (int ox = 0; ox < {OW}; ox++) Unsafe.Add(ref from, ox) += Unsafe.Add(ref at, ox);");
            }
        }
        w.Close(); w.Close(); w.Close();
        if (scatter)
        {
            w.Open($"for (int iy = 0; iy < {H}; iy++)");
            w.Line($"ref {t} line = ref Unsafe.Add(ref image, ch * {H * W} + iy * {W});");
            if (W <= UnrolledPhaseValues)
            {
                // The row's W values as straight-line copies from their planes (offsets are literals).
                w.Line($"ref {t} prow = ref Unsafe.Add(ref phase, (iy + {l.PadH}) * {width});");
                var copies = new System.Text.StringBuilder();
                for (int ix = 0; ix < W; ix++)
                {
                    if (copies.Length > 0) copies.Append(' ');
                    copies.Append($"Unsafe.Add(ref line, {ix}) = Unsafe.Add(ref prow, {((ix + l.PadW) % S) * plane + (ix + l.PadW) / S});");
                }
                w.Line(copies.ToString());
            }
            else
                w.Line($"for (int ix = 0; ix < {W}; ix++) Unsafe.Add(ref line, ix) = Unsafe.Add(ref phase, ((ix + {l.PadW}) % {S}) * {plane} + (iy + {l.PadH}) * {width} + (ix + {l.PadW}) / {S});");
            w.Close();
        }
        w.Close();
        w.Close();
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int F = l.OutC;
        w.Line($"// Layer {l.Index}: {l.PascalName} ({l.InC}×{l.InH}×{l.InW} → {F}×{l.OutH}×{l.OutW}, kernel {l.KernelH}×{l.KernelW}, stride {l.Stride}, padding {l.PadH},{l.PadW}):");
        if (Direct(c, l))
            w.Line($"// y[f, oy, ox] = Σ_(c,u,v) w[f, c, u, v]·x[c, oy + u − {l.PadH}, ox + v − {l.PadW}]{(l.BiasCount > 0 ? " + b[f]" : "")}, direct ({(Method(c, l) == ConvMethod.DirectRows ? "rows" : "filters")} form{(FormsDiffer(c, l) ? "; the filters form in the Vector512 twin" : "")}); threads split the samples");
        else
            w.Line("// y[f, p] = Σ_k w[f, k]·col[k, p] + b[f] over the im2col columns of each sample (cross-correlation); threads split the samples");
        if (SampleSplitEmitter.ForwardRunByEarlier(c, l))
        {
            w.Line($"// (run by layer {SampleSplitEmitter.Chain(c, l)[0].Index}'s sample split: each chunk of samples goes on through this layer there)");
            return;
        }
        foreach (var m in SampleSplitEmitter.Chain(c, l))   // the weights every layer of the split reads, packed before it
            PackTransposedWeights(w, c, m);
        SampleSplitEmitter.RunForward(w, c, l);
    }

    /// <summary>
    /// The sample chunks of a backward pass (the forward pass cuts each into two parts: Parallelism.ForwardParts):
    /// <c>Parallelism.SampleChunks(batch, maxChunks, minSamples)</c> with this layer's
    /// literals, a function of the batch size only, so the chunks' ∂E/∂W sums (added in chunk order) are the same bits
    /// whatever the thread count. At most <see cref="MaxChunks"/> chunks, so up to that many threads share a pass, and
    /// fewer for a layer with many weights (the chunks' sums, <c>_gsum</c>, stay under 1M values; at least 2 chunks);
    /// at least enough samples per chunk that clearing and adding a chunk's sums (and folding the rows form's lane sums)
    /// costs under 1/64 of the chunk's backward multiply-adds.
    /// </summary>
    internal static string Chunks(EmitContext c, LayerPlan l, string batch)
    {
        long reduce = l.ParameterCount + (Method(c, l) == ConvMethod.DirectRows ? (GemmEmitter.Lanes(c) + 1L) * l.WeightCount : 0);
        int maxChunks = (int)System.Math.Max(2, System.Math.Min(MaxChunks, (1L << 20) / System.Math.Max(1, l.ParameterCount)));
        long work = System.Math.Max(1, 2L * l.MultiplyAdds);
        int minSamples = (int)System.Math.Min(1 << 16, (64 * reduce + work - 1) / work);
        return $"global::NetGen.Parallelism.SampleChunks({batch}, {maxChunks}, {minSamples})";
    }

    /// <summary>A chunk's region of _gsum: the layer's parameter count rounded up to whole 64-byte cache lines, so two
    /// threads' chunks never write the same line.</summary>
    private static int Stride(LayerPlan l) => Stride(l.ParameterCount);

    /// <summary><paramref name="count"/> rounded up to a multiple of 16 values (a 64-byte cache line of floats).</summary>
    internal static int Stride(int count) => (count + 15) / 16 * 16;

    /// <summary>The most sample chunks a convolution's pass is cut into (measured: docs/performance.md).</summary>
    internal const int MaxChunks = 8;

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        bool trainBias = l.BiasCount > 0 && l.TrainBias;
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂w[f] += Σ_p δ[f, p]·col[·, p]{(trainBias ? ", ∂E/∂b[f] += Σ_p δ[f, p]" : "")}, ∂E/∂x = col2im(Σ_f w[f]·δ[f, p]);");
        w.Line("// threads take the batch's sample chunks, each chunk summing its samples' ∂E/∂w, ∂E/∂b; the sums are added in chunk order");
        w.Line($"int chunks = {Chunks(c, l, "batch")};");
        SampleSplitEmitter.RunBackward(w, c, l, "chunks", descend: false);
        w.Open("for (int chunk = 0; chunk < chunks; chunk++)");
        ByLayout(w, c, l, transposed =>
        {
            if (transposed)
            {
                w.Line($"// the chunk's ∂E/∂w is held transposed, [window value × filter]");
                w.Line($"ref {c.T} sumT = ref _gsum{l.Index}[chunk * {Stride(l)}];");
                w.Line($"for (int f = 0; f < {l.OutC}; f++) for (int k = 0; k < {K(l)}; k++) _g[{l.WeightOffset} + f * {K(l)} + k] += Unsafe.Add(ref sumT, k * {l.OutC} + f);");
            }
            else
                w.Line($"{c.Tp}.Add<{c.T}>(_g.AsSpan({l.WeightOffset}, {l.WeightCount}), _gsum{l.Index}.AsSpan(chunk * {Stride(l)}, {l.WeightCount}), _g.AsSpan({l.WeightOffset}, {l.WeightCount}));");
        });
        if (trainBias)
            w.Line($"{c.Tp}.Add<{c.T}>(_g.AsSpan({l.BiasOffset}, {l.BiasCount}), _gsum{l.Index}.AsSpan(chunk * {Stride(l)} + {l.WeightCount}, {l.BiasCount}), _g.AsSpan({l.BiasOffset}, {l.BiasCount}));");
        w.Close();
    }

    /// <summary>Writes the reduction of a chunk's ∂E/∂W sums for their layout (<paramref name="write"/>(transposed)): as
    /// is when both paths share it, else both, chosen by the JIT-time test the part methods hand over by.</summary>
    private static void ByLayout(CodeWriter w, EmitContext c, LayerPlan l, System.Action<bool> write)
    {
        bool narrow = Transposed(c, l), wide = Transposed(c, l, wide: true);
        if (narrow == wide)
        {
            write(narrow);
            return;
        }
        w.Open($"if ({WideTest(c, l, "batch")})   // the Vector512 twin's form (the test the part methods hand over by)");
        write(wide);
        w.Close();
        w.Open("else");
        write(narrow);
        w.Close();
    }

    public override bool CanDescend(EmitContext c, LayerPlan layer) => true;

    public override void DescendBackward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        bool trainBias = l.BiasCount > 0 && l.TrainBias;
        int pc = l.ParameterCount;
        w.Line($"// Layer {l.Index}: {l.PascalName} backward fused with the plain-SGD step: the sample chunks compute ∂E/∂x (with the weights from");
        w.Line($"// before the step) and their samples' ∂E/∂w{(trainBias ? ", ∂E/∂b" : "")} sums, added in chunk order as Backward adds them; then w ← w − η·Σ{(trainBias ? ", b ← b − η·Σ" : "")}");
        w.Line($"int chunks = {Chunks(c, l, "batch")};");
        SampleSplitEmitter.RunBackward(w, c, l, "chunks", descend: true);
        w.Line($"global::System.Span<{c.T}> total = _gsum{l.Index}.AsSpan(0, {pc});");
        w.Line($"for (int chunk = 1; chunk < chunks; chunk++) {c.Tp}.Add<{c.T}>(total, _gsum{l.Index}.AsSpan(chunk * {Stride(l)}, {pc}), total);");
        ByLayout(w, c, l, transposed =>
        {
            if (transposed)
            {
                w.Line($"ref {c.T} sumT = ref total[0];   // transposed, [window value × filter]");
                w.Line($"for (int f = 0; f < {l.OutC}; f++) for (int k = 0; k < {K(l)}; k++) _p[{l.WeightOffset} + f * {K(l)} + k] += _sgdRate * Unsafe.Add(ref sumT, k * {l.OutC} + f);");
            }
            else
                w.Line($"{c.Tp}.MultiplyAdd<{c.T}>(total.Slice(0, {l.WeightCount}), _sgdRate, _p.AsSpan({l.WeightOffset}, {l.WeightCount}), _p.AsSpan({l.WeightOffset}, {l.WeightCount}));");
        });
        if (trainBias)
            w.Line($"{c.Tp}.MultiplyAdd<{c.T}>(total.Slice({l.WeightCount}, {l.BiasCount}), _sgdRate, _p.AsSpan({l.BiasOffset}, {l.BiasCount}), _p.AsSpan({l.BiasOffset}, {l.BiasCount}));");
    }

    public override void ParallelCases(CodeWriter w, EmitContext c, LayerPlan l)
    {
        w.Line($"case {Op(l, 0)}: {l.PascalName}ForwardPart(part, parts); break;");
        w.Line($"case {Op(l, 1)}: {l.PascalName}BackwardPart(part, parts); break;");
    }

    /// <summary>The per-thread bodies: a range of samples each, with their Vector512 twins where a direct kernel fills
    /// wide vectors (the 256-bit body hands over to the twin where Vector512 is accelerated, a JIT-time constant).</summary>
    private static void PartMethods(CodeWriter w, EmitContext c, LayerPlan l)
    {
        ForwardPart(w, c, l, wide: false);
        if (WideForwardPart(c, l)) ForwardPart(w, c, l, wide: true);
        BackwardPart(w, c, l, wide: false);
        if (WideBackwardPart(c, l)) BackwardPart(w, c, l, wide: true);
    }

    /// <summary>The 256-bit part method's first statement when it has a twin.</summary>
    private static void HandOver(CodeWriter w, EmitContext c, LayerPlan l, string method)
    {
        w.Open(FormsDiffer(c, l)
            ? $"if ({WideTest(c, l, "_batch")})   // full-width AVX-512 runs the Vector512 twin (a JIT-time constant), in another form: from {MinSwitchedBatch} samples on"
            : $"if ({WideTest(c, l, "_batch")})   // a JIT-time constant: full-width AVX-512 runs the Vector512 twin");
        w.Line($"{method}512(part, parts);");
        w.Line("return;");
        w.Close();
    }

    private static void ForwardPart(CodeWriter w, EmitContext c, LayerPlan l, bool wide)
    {
        int inSize = l.InputSize, outSize = l.OutputSize, P = l.OutH * l.OutW, k = K(l), F = l.OutC;
        if (wide)
            w.Line($"/// <summary>The Vector512 twin of {l.PascalName}ForwardPart.</summary>");
        else
            w.Line($"/// <summary>{l.PascalName} forward for chunk <paramref name=\"part\"/> of <paramref name=\"parts\"/> of the batch's samples (scratch: the running thread's slot).</summary>");
        w.Open($"private void {l.PascalName}ForwardPart{(wide ? "512" : "")}(int part, int parts)");
        if (!wide && WideForwardPart(c, l)) HandOver(w, c, l, l.PascalName + "ForwardPart");
        w.Line("(int n0, int n1) = global::NetGen.Parallelism.Range(_batch, parts, part);");
        w.Line("int slot = global::NetGen.Parallelism.Slot;");
        bool direct = Direct(c, l);
        if (!direct) w.Line($"bool cache = _colBatch{l.Index}.Length > 0 && Training;   // kept for backward: training passes only");
        w.Open("for (int n = n0; n < n1; n++)");
        if (direct)
            DirectForward(w, c, l, wide);
        else
        {
            w.Line($"global::System.Span<{c.T}> x = {EmitContext.A(l.Index)}.AsSpan(n * {inSize}, {inSize});");
            w.Line($"ref {c.T} columns = ref cache ? ref _colBatch{l.Index}[n * {P * k}] : ref _col{l.Index}[slot * {P * k}];");
            Im2Col(w, c, l, scatter: false, "columns");
            w.Line($"{l.PascalName}Forward(ref _p[{l.WeightOffset}], ref columns, ref {EmitContext.A(l.Index + 1)}[n * {outSize}]{(l.BiasCount > 0 ? $", ref _p[{l.BiasOffset}]" : "")}, 0, {F}, 0, {P});");
        }
        if (FusedReLU(c, l) is { } relu && MethodOn(c, l, wide) != ConvMethod.DirectRows)   // (the rows form stores the activation itself)
            w.Line(ActivationEmitter.LibraryForward(c, relu, $"{EmitContext.A(l.Index + 1)}.AsSpan(n * {outSize}, {outSize})", $"{EmitContext.A(relu.Index + 1)}.AsSpan(n * {outSize}, {outSize})") + $";   // layer {relu.Index}, {relu.Kind}, fused");
        if (FusedReLUPool(c, l) is { } forwardPool)
        {
            w.Open($"// layer {forwardPool.Index}, max pooling, fused: this sample's windows while the ReLU's output is in L1");
            PoolEmitter.VectorMaxForward(w, c, forwardPool, wide ? true : WideForwardPart(c, l) ? false : null);   // a twin's pooling takes its width
            w.Close();
        }
        w.Close();
        w.Close();
        w.Line();
    }

    private static void BackwardPart(CodeWriter w, EmitContext c, LayerPlan l, bool wide)
    {
        int inSize = l.InputSize, outSize = l.OutputSize, P = l.OutH * l.OutW, k = K(l), F = l.OutC;
        bool trainBias = l.BiasCount > 0 && l.TrainBias, direct = Direct(c, l);
        if (wide)
            w.Line($"/// <summary>The Vector512 twin of {l.PascalName}BackwardPart.</summary>");
        else
        {
            w.Line($"/// <summary>{l.PascalName} backward for chunk <paramref name=\"part\"/> of <paramref name=\"parts\"/> of the batch's samples: their");
            w.Line($"/// ∂E/∂w and ∂E/∂b summed into the chunk's region of _gsum{l.Index}{(l.Index == 0 ? ", and ∂E/∂x when asked for" : ", and their ∂E/∂x")} (scratch: the running thread's slot).</summary>");
        }
        w.Open($"private void {l.PascalName}BackwardPart{(wide ? "512" : "")}(int part, int parts)");
        if (!wide && WideBackwardPart(c, l)) HandOver(w, c, l, l.PascalName + "BackwardPart");
        w.Line("(int n0, int n1) = global::NetGen.Parallelism.Range(_batch, parts, part);");
        w.Line("int slot = global::NetGen.Parallelism.Slot;");
        w.Line($"global::System.Span<{c.T}> sum = _gsum{l.Index}.AsSpan(part * {Stride(l)}, {l.ParameterCount});");
        w.Line("sum.Clear();");
        if (MethodOn(c, l, wide) == ConvMethod.DirectRows)
            w.Line($"_gvec{l.Index}.AsSpan(slot * {Stride(l.WeightCount * GvecLanes(c, l))}, {l.WeightCount * DirectLanes(c, wide && WideDirect(c, l))}).Clear();");
        if (!direct) w.Line($"bool cache = _colBatch{l.Index}.Length > 0 && _columnsKept;   // the forward pass kept every sample's columns");
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"ref {c.T} work = ref _col{l.Index}[{ColumnSlack(c, l)} + slot * {P * k}];");
        if (direct)
            PaddedInput(w, c, l);
        else
        {
            w.Line($"ref {c.T} columns = ref cache ? ref _colBatch{l.Index}[n * {P * k}] : ref work;");
            w.Open("if (!cache)");
            w.Line($"global::System.Span<{c.T}> x = {EmitContext.A(l.Index)}.AsSpan(n * {inSize}, {inSize});");
            Im2Col(w, c, l, scatter: false, "columns");
            w.Close();
        }
        if (FusedReLUPool(c, l) is { } pool)
        {
            w.Open($"// layers {pool.Index} and {pool.Index - 1}, max pooling and ReLU backward, fused: δ = ∂E/∂ of this layer's output for this sample, formed while it stays in L1");
            PoolEmitter.VectorMaxBackward(w, c, pool, c.Plan.Layers[pool.Index - 1], wide ? true : WideBackwardPart(c, l) ? false : null);
            w.Close();
        }
        else if (FusedReLU(c, l) is { } fused)
        {
            string vec = "global::System.Runtime.Intrinsics." + VN(wide);
            var formula = ActivationEmitter.Formula(fused);
            string Load(string r) => $"{vec}.LoadUnsafe(ref {r}, (nuint)k)";
            w.Open($"// layer {fused.Index}, {fused.Kind} backward, fused: {formula.BackwardWords.Replace("∂E/∂x = ", "δ = ")} for this sample");
            w.Line($"ref {c.T} rx = ref {EmitContext.A(l.Index + 1)}[n * {outSize}], rdy = ref {EmitContext.D(fused.Index + 1)}[n * {outSize}], rdx = ref {EmitContext.D(l.Index + 1)}[n * {outSize}];");
            if (formula.Backward.Reads("y")) w.Line($"ref {c.T} ry = ref {EmitContext.A(fused.Index + 1)}[n * {outSize}];");
            w.Line("int k = 0;");
            w.Line($"for (; k + {vec}<{c.T}>.Count <= {outSize}; k += {vec}<{c.T}>.Count) " +
                   $"{vec}.StoreUnsafe({ActivationEmitter.Vector(c, formula.Backward, fused, Load("rx"), Load("ry"), Load("rdy"), vec)}, ref rdx, (nuint)k);");
            w.Line($"for (; k < {outSize}; k++) Unsafe.Add(ref rdx, k) = {ActivationEmitter.Scalar(c, formula.Backward, fused, "Unsafe.Add(ref rx, k)", "Unsafe.Add(ref ry, k)", "Unsafe.Add(ref rdy, k)")};");
            w.Close();
        }
        if (Transposed(c, l, wide))
        {
            w.Line($"// δᵀ of the sample, [position × filter]; then gᵀ[k, f] += Σ_p col[k, p]·δᵀ[p, f]");
            w.Line($"ref {c.T} deltaT = ref _deltaT{l.Index}[slot * {Stride(P * F)}];");
            w.Line($"ref {c.T} delta = ref {EmitContext.D(l.Index + 1)}[n * {outSize}];");
            if (direct) Transpose(w, c, "delta", "deltaT", rows: F, cols: P);
            else w.Line($"for (int f = 0; f < {F}; f++) for (int p = 0; p < {P}; p++) Unsafe.Add(ref deltaT, p * {F} + f) = Unsafe.Add(ref delta, f * {P} + p);");
            if (direct) DirectWeightGradient(w, c, l, wide);
            else w.Line($"{l.PascalName}WeightGradient(ref columns, ref deltaT, ref sum[0], 0, {k}, 0, {F});");
        }
        else if (direct)
            DirectWeightGradient(w, c, l, wide);
        else
            w.Line($"{l.PascalName}WeightGradient(ref {EmitContext.D(l.Index + 1)}[n * {outSize}], ref columns, ref sum[0], 0, {F}, 0, {k});");
        if (trainBias)
            w.Line($"for (int f = 0; f < {F}; f++) sum[{l.WeightCount} + f] += {c.Tp}.Sum<{c.T}>({EmitContext.D(l.Index + 1)}.AsSpan(n * {outSize} + f * {P}, {P}));");
        if (l.Index == 0) w.Open("if (_inputGradient)");
        // col2im by rows at this path's width, else (rows narrower than a wide vector) the 256-bit one, in the twin too; else the scatter
        bool? rowsWide = Col2ImByRows(c, l, wide) ? wide : Col2ImByRows(c, l) ? false : null;
        if (rowsWide is null || !ColumnGradientByChannel(c, l))   // (else Col2ImRows forms it channel by channel)
        {
            w.Line("// ∂E/∂col into the thread's column buffer, then col2im adds every window's share back into ∂E/∂x.");
            w.Line($"{l.PascalName}ColumnGradient(ref _p[{l.WeightOffset}], ref {EmitContext.D(l.Index + 1)}[n * {outSize}], ref work, 0, {k}, 0, {P});");
        }
        if (rowsWide is { } rows)
            Col2ImRows(w, c, l, rows);
        else
        {
            w.Line($"global::System.Span<{c.T}> dx = {EmitContext.D(l.Index)}.AsSpan(n * {inSize}, {inSize});");
            w.Line("dx.Clear();");
            Im2Col(w, c, l, scatter: true, "work");
        }
        if (l.Index == 0) w.Close();
        w.Close();
        if (MethodOn(c, l, wide) == ConvMethod.DirectRows) DirectLaneSums(w, c, l, wide);
        w.Close();
        w.Line();
    }

    public override bool HasKernels(EmitContext c, LayerPlan layer) => true;

    public override void Kernels(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int P = l.OutH * l.OutW, k = K(l), F = l.OutC;
        string name = l.PascalName;
        PartMethods(w, c, l);
        if (NeedsTranspose8x8(c) && FirstFiltersLayer(c, l))
            Transpose8x8Helper(w);
        if (NeedsWideHelpers(c) && c.Plan.Layers.First(x => x.Kind == LayerKind.Conv2D && (WideForwardPart(c, x) || WideBackwardPart(c, x))) == l)
            WideHelpers(w, c);
        if (!Direct(c, l))   // the direct forms write their products inline in the part methods
        {
            int mr = System.Math.Min(F, 8);
            GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
            {
                Method = name + "Forward",
                Summary = $"{name} forward, one sample: y[f, p] = Σ_k w[f, k]·col[k, p]{(l.BiasCount > 0 ? " + b[f]" : "")} for filters m0 ≤ f &lt; m1 and positions n0 ≤ p &lt; n1 ({k} window values).",
                N = P, K = k, AName = "w", BName = "col", CName = "y",
                LdA = k, LdB = P, LdC = P,
                Mode = l.BiasCount > 0 ? GemmEmitter.Mode.AssignBiasByRow : GemmEmitter.Mode.Assign,
                MR = mr, NV = mr > 6 ? 3 : 4, Pack = false, M = F,
            });
            if (Transposed(c, l))
                GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
                {
                    Method = name + "WeightGradient",
                    Summary = $"{name} ∂E/∂W transposed, one sample: gᵀ[k, f] += Σ_p col[k, p]·δᵀ[p, f] for window values m0 ≤ k &lt; m1 and filters n0 ≤ f &lt; n1 ({P} positions).",
                    N = F, K = P, AName = "col", BName = "deltaT", CName = "gT",
                    LdA = P, LdB = F, LdC = F,
                    Mode = GemmEmitter.Mode.Accumulate,
                    MR = 8, NV = System.Math.Min(3, (F + GemmEmitter.Lanes(c) - 1) / GemmEmitter.Lanes(c)), Pack = false, M = k,
                });
            else
                GemmEmitter.Dot(w, c, new GemmEmitter.Product
                {
                    Method = name + "WeightGradient",
                    Summary = $"{name} ∂E/∂W, one sample: g[f, k] += Σ_p δ[f, p]·col[k, p] for filters m0 ≤ f &lt; m1 and window values n0 ≤ k &lt; n1 ({P} positions).",
                    N = k, K = P, AName = "delta", BName = "col", CName = "g",
                    LdA = P, LdB = P, LdC = k,
                    Mode = GemmEmitter.Mode.Accumulate,
                    MR = 4, NV = 4, M = F,
                });
        }
        GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
        {
            Method = name + "ColumnGradient",
            Summary = $"{name} ∂E/∂col, one sample: col[k, p] = Σ_f w[f, k]·δ[f, p] for window values m0 ≤ k &lt; m1 and positions n0 ≤ p &lt; n1 ({F} filters).",
            N = P, K = F, AName = "w", BName = "delta", CName = "col",
            LdA = 1, AStepK = k, LdB = P, LdC = P,
            Mode = GemmEmitter.Mode.Assign,
            MR = 8, NV = 3, Pack = false, M = ColumnGradientByChannel(c, l) ? l.KernelH * l.KernelW : k,   // (a channel's rows, or all; k is a multiple of a channel's)
        });
    }

    /// <summary>The most sample groups a GPU weight gradient is split into (partials are Groups × parameters values), for
    /// Conv2D and Conv2DTranspose.</summary>
    internal const int Groups = 16;

    // ---- GPU (ILGPU): direct convolution, one thread per output value, parameter or input value ----------------

    public override void GpuForward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int C = l.InC, H = l.InH, W = l.InW, F = l.OutC, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, S = l.Stride, P = OH * OW;
        var act = GpuWriter.FusedActivation(c.Plan, l);
        var parameters = act is null ? new[] { g.V("x"), g.V("p"), g.V("y") } : new[] { g.V("x"), g.V("p"), g.V("y"), g.V("z") };
        string field = g.Kernel(l.PascalName + "Forward",
            $"{l.PascalName} forward for value i = (sample n, filter f, oy, ox): y = Σ_(c,u,v) w[f, c, u, v]·x[n, c, oy·{S} + u − {l.PadH}, ox·{S} + v − {l.PadW}]" +
            (l.BiasCount > 0 ? " + b[f]" : "") + " (0 outside the image)" + (act is null ? "" : $"; z = {act.Kind}(y), layer {act.Index} fused"), parameters, w =>
        {
            w.Line($"int n = i / {F * P}, f = i / {P} - n * {F}, at = i - (i / {P}) * {P}, oy = at / {OW}, ox = at - oy * {OW};");
            w.Line($"{c.T} sum = {(l.BiasCount > 0 ? $"p[{l.BiasOffset} + f]" : c.Lit(0))}, carry = {c.Lit(0)};");
            w.Open($"for (int ch = 0; ch < {C}; ch++)");
            w.Open($"for (int u = 0; u < {KH}; u++)");
            w.Line($"int iy = oy * {S} + u - {l.PadH};");
            w.Line($"if (iy < 0 || iy >= {H}) continue;");
            w.Open($"for (int v = 0; v < {KW}; v++)");
            w.Line($"int ix = ox * {S} + v - {l.PadW};");
            w.Line($"if (ix >= 0 && ix < {W}) Accumulate(ref sum, ref carry, p[{l.WeightOffset} + ((f * {C} + ch) * {KH} + u) * {KW} + v] * x[n * {C * H * W} + ch * {H * W} + iy * {W} + ix]);");
            w.Close(); w.Close(); w.Close();
            w.Line("y[i] = sum;");
            if (act is not null) w.Line($"z[i] = {g.Activation(act, "sum")};");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} ({C}×{H}×{W} → {F}×{OH}×{OW}, kernel {KH}×{KW}, stride {S}, padding {l.PadH},{l.PadW}), direct{(act is null ? "" : $", {act.Kind} fused")}");
        if (act is null) g.Launch(field, $"batch * {l.OutputSize}", GpuWriter.A(l.Index), "P", GpuWriter.A(l.Index + 1));
        else g.Launch(field, $"batch * {l.OutputSize}", GpuWriter.A(l.Index), "P", GpuWriter.A(l.Index + 1), GpuWriter.A(l.Index + 2));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int C = l.InC, H = l.InH, W = l.InW, F = l.OutC, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, S = l.Stride, P = OH * OW;
        string t = c.T;
        var weightGradient = GpuWeightGradient(g, l, P,
            $"the sum over samples n ≡ group (mod groups) and positions of δ[n, f, oy, ox]·x[n, c, oy·{S} + u − {l.PadH}, ox·{S} + v − {l.PadW}] for weight k = (f, c, u, v)",
            "δ[n, f, oy, ox]", w =>
            {
                w.Line($"int f = k / {C * KH * KW}, ch = k / {KH * KW} - f * {C}, u = k / {KW} - k / {KH * KW} * {KH}, v = k - k / {KW} * {KW};");
                w.Open("for (int n = group; n < batch; n += groups)");
                w.Open($"for (int oy = 0; oy < {OH}; oy++)");
                w.Line($"int iy = oy * {S} + u - {l.PadH};");
                w.Line($"if (iy < 0 || iy >= {H}) continue;");
                w.Open($"for (int ox = 0; ox < {OW}; ox++)");
                w.Line($"int ix = ox * {S} + v - {l.PadW};");
                w.Line($"if (ix >= 0 && ix < {W}) Accumulate(ref sum, ref carry, dy[(n * {F} + f) * {P} + oy * {OW} + ox] * x[n * {C * H * W} + ch * {H * W} + iy * {W} + ix]);");
                w.Close(); w.Close(); w.Close();
            });
        string inputField = g.Kernel(l.PascalName + "InputGradient",
            $"{l.PascalName} ∂E/∂x[n, c, iy, ix] = Σ over (f, u, v) with oy = (iy + {l.PadH} − u)/{S}, ox = (ix + {l.PadW} − v)/{S} whole and inside: w[f, c, u, v]·δ[n, f, oy, ox]",
            new[] { g.V("p"), g.V("dy"), g.V("dx") }, w =>
        {
            w.Line($"int n = i / {C * H * W}, ch = i / {H * W} - n * {C}, at = i - (i / {H * W}) * {H * W}, iy = at / {W}, ix = at - iy * {W};");
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            w.Open($"for (int u = 0; u < {KH}; u++)");
            w.Line($"int ry = iy + {l.PadH} - u;");
            w.Line($"if (ry < 0 || ry % {S} != 0 || ry / {S} >= {OH}) continue;");
            w.Open($"for (int v = 0; v < {KW}; v++)");
            w.Line($"int rx = ix + {l.PadW} - v;");
            w.Line($"if (rx < 0 || rx % {S} != 0 || rx / {S} >= {OW}) continue;");
            w.Line($"for (int f = 0; f < {F}; f++) Accumulate(ref sum, ref carry, p[{l.WeightOffset} + ((f * {C} + ch) * {KH} + u) * {KW} + v] * dy[(n * {F} + f) * {P} + ry / {S} * {OW} + rx / {S}]);");
            w.Close(); w.Close();
            w.Line("dx[i] = sum;");
        });
        GpuLaunchBackward(g, l, weightGradient, inputField);
    }

    /// <summary>The GPU's ∂E/∂w and ∂E/∂b of a convolution, shared by Conv2D and Conv2DTranspose (which differ only in the
    /// terms a weight sums, <paramref name="weightTerms"/>). ∂E/∂w sums batch × positions terms per weight: one thread
    /// per weight would leave a GPU with a few hundred threads each running a chain of tens of thousands of additions.
    /// The batch is split into up to <see cref="Groups"/> sample groups: thread (group, k) sums its samples into a
    /// partial (a bias k ≥ weights sums δ over the <paramref name="positions"/> output positions of its filter), then one
    /// thread per parameter adds the partials in group order (the result does not depend on the launch).
    /// <paramref name="weightTerms"/> writes the weight's loops, adding into sum (Kahan, with carry) for k, group, batch and
    /// groups; <paramref name="biasDelta"/> names the δ a bias sums. Returns the two kernels' fields and the partials' buffer.</summary>
    internal static (string Weight, string Reduce, string Partials) GpuWeightGradient(GpuWriter g, LayerPlan l, int positions, string weightWords,
        string biasDelta, System.Action<CodeWriter> weightTerms)
    {
        var c = g.C;
        int F = l.OutC, weights = l.WeightCount;
        bool trainBias = l.BiasCount > 0 && l.TrainBias;
        int count = weights + (trainBias ? F : 0);
        string t = c.T;
        string partials = g.Buffer("_wpartials" + l.Index, (Groups * count).ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"{l.PascalName}: ∂E/∂w and ∂E/∂b summed over each of up to {Groups} sample groups");
        string weightField = g.Kernel(l.PascalName + "WeightGradientPartials",
            $"{l.PascalName}, thread i = (group, k): {weightWords} < {weights}" + (trainBias ? $", of {biasDelta} for bias k = {weights} + f" : ""),
            new[] { g.V("x"), g.V("dy"), g.V("partials"), ("int", "batch"), ("int", "groups") }, w =>
        {
            w.Line($"int group = i / {count}, k = i - group * {count};");
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            if (trainBias)
            {
                w.Open($"if (k >= {weights})");
                w.Line($"int filter = k - {weights};");
                w.Line($"for (int n = group; n < batch; n += groups) for (int at = 0; at < {positions}; at++) Accumulate(ref sum, ref carry, dy[(n * {F} + filter) * {positions} + at]);");
                w.Line("partials[i] = sum;");
                w.Line("return;");
                w.Close();
            }
            weightTerms(w);
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
        return (weightField, reduceField, partials);
    }

    /// <summary>The host's launches of a convolution's GPU backward: ∂E/∂w and ∂E/∂b per sample group, their sum per
    /// parameter, then ∂E/∂x (skipped for the first layer unless the input's gradient is asked for).</summary>
    internal static void GpuLaunchBackward(GpuWriter g, LayerPlan l, (string Weight, string Reduce, string Partials) weightGradient, string inputField)
    {
        var (weightField, reduceField, partials) = weightGradient;
        bool trainBias = l.BiasCount > 0 && l.TrainBias;
        int count = l.WeightCount + (trainBias ? l.OutC : 0);
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂w{(trainBias ? ", ∂E/∂b" : "")} (per sample group, then per parameter), ∂E/∂x (one thread per input value)");
        g.Host.Line($"int groups{l.Index} = global::System.Math.Min(batch, {Groups});");
        g.Launch(weightField, $"groups{l.Index} * {count}", GpuWriter.A(l.Index), GpuWriter.D(l.Index + 1), partials, "batch", $"groups{l.Index}");
        g.Launch(reduceField, count.ToString(System.Globalization.CultureInfo.InvariantCulture), partials, "G", $"groups{l.Index}");
        if (l.Index == 0) g.Host.Open("if (inputGradient)");
        g.Launch(inputField, $"batch * {l.InputSize}", "P", GpuWriter.D(l.Index + 1), GpuWriter.D(l.Index));
        if (l.Index == 0) g.Host.Close();
    }
}
