using System.Collections.Generic;
using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Direct convolution for stride-1 layers: the forward pass and ∂E/∂W read the (zero-padded) input in place instead of
/// an im2col copy. im2col writes K = C·KH·KW copies of the input per sample (LeNet b64: 5 MB for conv1, 3.8 MB for
/// conv2 when kept for backward), and the products then stream those columns back from L3; here every sample's input
/// (a few KB) and δ stay in L1 and the products run from registers. Two forms, by which fills the vector lanes better:
/// <list type="bullet">
/// <item><b>Rows</b> (vectors along an output row, weights broadcast): y[f, oy, ox..ox+V) += w[f, c, u, v]·x[c, oy+u, ox+v..];
/// ∂E/∂w[f, c, u, v] += Σ δ[f, oy, ox..]·x[c, oy+u, ox+v..] with vector sums kept per lane until the part ends. A row
/// of OW outputs takes ⌈OW/V⌉ vectors, the last ending at OW (overlapping; its repeated lanes are masked off in sums).
/// Used when the output rows fill the lanes at least as well as the filters would (LeNet's conv1: 28 wide, 6 filters).</item>
/// <item><b>Filters</b> (vectors along the filters, inputs broadcast; needs F a multiple of V): yᵀ[p, f..f+V) +=
/// x[c, oy+u, ox+v]·wᵀ[(c, u, v), f..] with wᵀ packed once per forward pass, then yᵀ transposed into y; ∂E/∂wᵀ[(c, u, v),
/// f..] += Σ_p x[c, oy+u, ox+v]·δᵀ[p, f..]. Used when the rows are ragged (LeNet's conv2: 10 wide, 16 filters).</item>
/// </list>
/// Both walk register blocks of at most 24 accumulators (of 32 vector registers) with the taps unrolled and their
/// offsets literal. ∂E/∂x stays the product ∂E/∂col = Wᵀ·δ and col2im: as a direct convolution it would multiply
/// the zero border of the padded δ as well (2× the work for LeNet's conv2).
/// </summary>
internal sealed partial class Conv2DEmitter
{
    /// <summary>How a layer's forward pass and weight gradient are computed.</summary>
    internal enum ConvMethod { Im2Col, DirectRows, DirectFilters }

    /// <summary>
    /// Stride 1 only (a strided layer's taps are not contiguous along a row), and rows of at most 8 vectors and at most
    /// 16 vectors of filters: the forms unroll a row's vectors and a block's taps, and wider layers (VGG's 224-wide
    /// ones) would make methods the JIT compiles without optimisation. Rows needs a row of at least one vector;
    /// Filters needs whole vectors of filters. Rows is taken when its lane use (OW / (V·⌈OW/V⌉)) is at least Filters'
    /// (1 when F is a multiple of V), so Filters serves ragged rows only.
    /// </summary>
    internal static ConvMethod Method(EmitContext c, LayerPlan l)
    {
        int V = GemmEmitter.Lanes(c);
        if (l.Stride != 1 || l.OutH != l.InH + 2 * l.PadH - l.KernelH + 1 || l.OutW != l.InW + 2 * l.PadW - l.KernelW + 1) return ConvMethod.Im2Col;
        if (l.OutW > 8 * V || l.OutC > 16 * V) return ConvMethod.Im2Col;   // the unrolled blocks would grow past what the JIT optimises (≈ 60 KB of IL per method)
        bool rowsFit = l.OutW >= V, filtersFit = l.OutC % V == 0;
        bool raggedRows = l.OutW % V != 0;
        if (filtersFit && (!rowsFit || raggedRows)) return ConvMethod.DirectFilters;
        return rowsFit ? ConvMethod.DirectRows : ConvMethod.Im2Col;
    }

    /// <summary>
    /// The form the 256-bit path (<paramref name="wide"/> false: <see cref="Method"/>) or the Vector512 twin runs. The
    /// twin takes the filters form where the rows form would fill no wide vector (rows narrower than 16 floats, 8
    /// doubles) and the filters fill whole wide vectors (YOLO's 8-wide layers of 128 filters): its rows form would stay
    /// 256-bit. Everything that depends on the form (the scratch buffers, wᵀ packed before the parts, the layout of a
    /// chunk's ∂E/∂W sums and their reduction) then follows the same JIT-time test, Vector512.IsHardwareAccelerated.
    /// </summary>
    internal static ConvMethod MethodOn(EmitContext c, LayerPlan l, bool wide)
    {
        var method = Method(c, l);
        int wideLanes = DirectLanes(c, true);
        return wide && method == ConvMethod.DirectRows && l.OutW < wideLanes && l.OutC % wideLanes == 0 ? ConvMethod.DirectFilters : method;
    }

    /// <summary>
    /// The fewest samples for which a layer whose forms differ by path (<see cref="MethodOn"/>) runs its twin: the filters
    /// form packs wᵀ every forward pass (YOLO's conv4 and conv5: 221K weights, ≈ 0.3 ms, which made batch-1 inference
    /// 1.6× slower), the twin's gain is per sample. Below it the 256-bit rows form runs on every machine.
    /// </summary>
    internal const int MinSwitchedBatch = 4;

    /// <summary>The test under which the part methods hand over to the Vector512 twin, wᵀ is packed for it and the chunks'
    /// sums are reduced in its layout: Vector512.IsHardwareAccelerated (a JIT-time constant), and for a layer whose
    /// form differs by path also a batch of at least <see cref="MinSwitchedBatch"/> (<paramref name="batch"/>: the
    /// expression holding it where the test is written).</summary>
    internal static string WideTest(EmitContext c, LayerPlan l, string batch) =>
        FormsDiffer(c, l) ? $"Vector512.IsHardwareAccelerated && {batch} >= {MinSwitchedBatch}" : "Vector512.IsHardwareAccelerated";

    /// <summary>Whether the Vector512 twin runs another form than the 256-bit path (<see cref="MethodOn"/>).</summary>
    internal static bool FormsDiffer(EmitContext c, LayerPlan l) => MethodOn(c, l, wide: true) != Method(c, l);

    /// <summary>Whether either path runs the given form.</summary>
    private static bool OnEitherPath(EmitContext c, LayerPlan l, ConvMethod form) => Method(c, l) == form || MethodOn(c, l, wide: true) == form;

    private static bool Direct(EmitContext c, LayerPlan l) => Method(c, l) != ConvMethod.Im2Col;

    private static bool Padded(LayerPlan l) => l.PadH > 0 || l.PadW > 0;

    private static int PaddedH(LayerPlan l) => l.InH + 2 * l.PadH;

    private static int PaddedW(LayerPlan l) => l.InW + 2 * l.PadW;

    /// <summary>Sizes of <paramref name="count"/> items split into as few blocks of at most <paramref name="max"/> as
    /// possible, as even as possible (the larger blocks first).</summary>
    private static int[] EvenBlocks(int count, int max)
    {
        int blocks = (count + max - 1) / max, q = count / blocks, r = count % blocks;
        return Enumerable.Range(0, blocks).Select(b => b < r ? q + 1 : q).ToArray();
    }

    /// <summary>The vector offsets along an output row of <paramref name="ow"/> values: whole vectors, then one
    /// ending at the row's end if it is ragged.</summary>
    private static int[] RowVectors(int ow, int v)
    {
        var offsets = new List<int>();
        for (int o = 0; o + v <= ow; o += v) offsets.Add(o);
        if (ow % v != 0) offsets.Add(ow - v);
        return offsets.ToArray();
    }

    private static string I(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    // ---- The Vector512 twins ----------------------------------------------------------------------------------------
    // A layer's part methods get a …512 twin when one of its direct kernels fills wide vectors (16 floats, 8 doubles):
    // the 256-bit part method begins with `if (Vector512.IsHardwareAccelerated) { …Part512(part, parts); return; }`,
    // which the JIT folds, so a machine without AVX-512 (or a process run with DOTNET_EnableAVX512=0) keeps the 256-bit
    // code exactly. The twin runs the same forms with the lanes doubled; the pieces that do not fill a wide vector
    // (rows narrower than one, filters not a multiple of one) stay 256-bit inside it.

    /// <summary>The lanes of a direct kernel's vectors on the 256-bit (<paramref name="wide"/> false) or 512-bit path.</summary>
    internal static int DirectLanes(EmitContext c, bool wide) => wide ? 2 * GemmEmitter.Lanes(c) : GemmEmitter.Lanes(c);

    private static string VN(bool wide) => wide ? "Vector512" : "Vector256";

    private static string LoadOf(bool wide) => wide ? "WideLoad" : "Load";

    private static string FmaOf(bool wide) => wide ? "WideFma" : "Fma";

    /// <summary>Whether the direct forward pass and ∂E/∂W fill wide vectors (in the twin's form, <see cref="MethodOn"/>):
    /// rows form, a row of at least one wide vector; filters form, whole wide vectors of filters.</summary>
    internal static bool WideDirect(EmitContext c, LayerPlan l) => MethodOn(c, l, wide: true) switch
    {
        ConvMethod.DirectRows => l.OutW >= DirectLanes(c, true),
        ConvMethod.DirectFilters => l.OutC % DirectLanes(c, true) == 0,
        _ => false,
    };

    /// <summary>Whether the forward part method has a Vector512 twin.</summary>
    internal static bool WideForwardPart(EmitContext c, LayerPlan l) => WideDirect(c, l);

    /// <summary>Whether the backward part method has a Vector512 twin: wide ∂E/∂W, or a col2im by rows over wide vectors.</summary>
    internal static bool WideBackwardPart(EmitContext c, LayerPlan l) => WideDirect(c, l) || Col2ImByRows(c, l, wide: true);

    /// <summary>The most lanes a rows-form layer keeps its ∂E/∂W sums in (_gvec), over both paths.</summary>
    private static int GvecLanes(EmitContext c, LayerPlan l) => DirectLanes(c, WideDirect(c, l) && MethodOn(c, l, wide: true) == ConvMethod.DirectRows);

    /// <summary>The lanes of the widest vector the layer's col2im by rows reads (the column buffer's slack at each end).</summary>
    internal static int ColumnSlack(EmitContext c, LayerPlan l) => Col2ImByRows(c, l, wide: true) ? DirectLanes(c, true) : GemmEmitter.Lanes(c);

    /// <summary>Whether the network needs <c>WideLoad</c>/<c>WideFma</c> (a Conv2D layer with a Vector512 twin).</summary>
    internal static bool NeedsWideHelpers(EmitContext c) => c.Plan.Layers.Any(l => l.Kind == LayerKind.Conv2D && (WideForwardPart(c, l) || WideBackwardPart(c, l)));

    /// <summary>The Vector512 twins' load and FMA (their own names: GemmEmitter writes its wide helpers only when the
    /// network has wide products).</summary>
    internal static void WideHelpers(CodeWriter w, EmitContext c)
    {
        string v = $"Vector512<{c.T}>";
        w.Line("/// <summary>The convolutions' Vector512 twins: the wide vector at element <paramref name=\"i\"/> past <paramref name=\"at\"/> (no bounds check).</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Line($"private static {v} WideLoad(ref {c.T} at, nint i) => Vector512.LoadUnsafe(ref at, (nuint)i);");
        w.Line();
        w.Line("/// <summary>The convolutions' Vector512 twins: a·b + c in one rounding.</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Line($"private static {v} WideFma({v} a, {v} b, {v} c) => Vector512.FusedMultiplyAdd(a, b, c);");
        w.Line();
    }

    /// <summary>The padded copy of the sample's input (borders stay zero: only the inside is ever written), or the
    /// input itself when the layer has no padding. Declares <c>ref T xs</c>.</summary>
    private static void PaddedInput(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = l.InC, H = l.InH, W = l.InW, Hp = PaddedH(l), Wp = PaddedW(l);
        if (!Padded(l))
        {
            w.Line($"ref {c.T} xs = ref {EmitContext.A(l.Index)}[n * {l.InputSize}];   // no padding: the input is read in place");
            return;
        }
        w.Line($"ref {c.T} xs = ref _xpad{l.Index}[slot * {Stride(C * Hp * Wp)}];   // the sample's input inside a zero border of {l.PadH}×{l.PadW}: {C}×{Hp}×{Wp}");
        w.Line($"for (int ch = 0; ch < {C}; ch++) for (int iy = 0; iy < {H}; iy++) " +
               $"{EmitContext.A(l.Index)}.AsSpan(n * {l.InputSize} + ch * {H * W} + iy * {W}, {W}).CopyTo(_xpad{l.Index}.AsSpan(slot * {Stride(C * Hp * Wp)} + ch * {Hp * Wp} + (iy + {l.PadH}) * {Wp} + {l.PadW}, {W}));");
    }

    private static void DirectFields(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = l.InC, Hp = PaddedH(l), Wp = PaddedW(l);
        if (Padded(l))
            w.Line($"private readonly {c.T}[] _xpad{l.Index};   // {l.PascalName} one sample's input with its zero border ({C}×{Hp}×{Wp}), per thread (Parallelism.Slot)");
        if (Method(c, l) == ConvMethod.DirectRows)
            w.Line($"private readonly {c.T}[] _gvec{l.Index};   // {l.PascalName} ∂E/∂W summed per vector lane over one chunk's samples ({l.WeightCount} weights × {GvecLanes(c, l)} lanes), per thread (Parallelism.Slot)");
        if (OnEitherPath(c, l, ConvMethod.DirectFilters))
        {
            w.Line($"private readonly {c.T}[] _wT{l.Index};   // {l.PascalName} weights transposed, [window value × filter], packed by each forward pass");
            w.Line($"private readonly {c.T}[] _yT{l.Index};   // {l.PascalName} one sample's output transposed ({l.OutH * l.OutW} positions × {l.OutC} filters), per thread (Parallelism.Slot)");
        }
    }

    private static void DirectAllocate(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = l.InC, Hp = PaddedH(l), Wp = PaddedW(l);
        if (Padded(l))
            w.Line($"_xpad{l.Index} = global::NetGen.AlignedArray.Allocate<{c.T}>({Stride(C * Hp * Wp)} * global::NetGen.Parallelism.MaxSampleParts);");
        if (Method(c, l) == ConvMethod.DirectRows)
            w.Line($"_gvec{l.Index} = global::NetGen.AlignedArray.Allocate<{c.T}>({Stride(l.WeightCount * GvecLanes(c, l))} * global::NetGen.Parallelism.MaxSampleParts);");
        if (OnEitherPath(c, l, ConvMethod.DirectFilters))
        {
            w.Line($"_wT{l.Index} = global::NetGen.AlignedArray.Allocate<{c.T}>({l.WeightCount});");
            w.Line($"_yT{l.Index} = global::NetGen.AlignedArray.Allocate<{c.T}>({Stride(l.OutputSize)} * global::NetGen.Parallelism.MaxSampleParts);");
        }
    }

    /// <summary>Filters form: packs wᵀ before the parts run (they share it); only where the twin runs when only the twin
    /// has the filters form.</summary>
    private static void PackTransposedWeights(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int K = Conv2DEmitter.K(l), F = l.OutC;
        if (!OnEitherPath(c, l, ConvMethod.DirectFilters)) return;
        string when = Method(c, l) == ConvMethod.DirectFilters ? "" : $"if ({WideTest(c, l, "batch")}) ";
        w.Line($"{when}for (int f = 0; f < {F}; f++) for (int k = 0; k < {K}; k++) _wT{l.Index}[k * {F} + f] = _p[{l.WeightOffset} + f * {K} + k];   // wᵀ for the direct convolution");
    }

    /// <summary>The forward pass of one sample n (in a part method): y = the convolution of the padded input.</summary>
    private static void DirectForward(CodeWriter w, EmitContext c, LayerPlan l, bool wide)
    {
        int C = l.InC, F = l.OutC, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, Hp = PaddedH(l), Wp = PaddedW(l);
        wide &= WideDirect(c, l);
        int V = DirectLanes(c, wide), P = OH * OW, taps = KH * KW;
        string T = c.T, vn = VN(wide), vec = $"{vn}<{T}>", load = LoadOf(wide), fma = FmaOf(wide);
        bool bias = l.BiasCount > 0;
        var relu = FusedReLU(c, l);
        PaddedInput(w, c, l);
        if (MethodOn(c, l, wide) == ConvMethod.DirectRows)
        {
            int[] offsets = RowVectors(OW, V);
            w.Line($"// direct convolution, rows form: each output row in {V}-lane vectors at ox = {string.Join(", ", offsets)}; a block of filters × vectors in registers, {taps} taps per channel unrolled");
            w.Line($"ref {T} ws = ref _p[{l.WeightOffset}];");
            if (bias) w.Line($"ref {T} bs = ref _p[{l.BiasOffset}];");
            w.Line($"ref {T} ys = ref {EmitContext.A(l.Index + 1)}[n * {l.OutputSize}];");
            if (relu is not null)
                w.Line($"ref {T} zs = ref {EmitContext.A(relu.Index + 1)}[n * {l.OutputSize}];   // layer {relu.Index}, {relu.Kind}, fused: z stored with y, its formula's vector form ({ActivationEmitter.Formula(relu).Words})");
            w.Open($"for (int oy = 0; oy < {OH}; oy++)");
            foreach (var chunk in Chunks(offsets, 4))
            {
                int nc = chunk.Length;
                int f0 = 0;
                foreach (var group in EvenBlocks(F, System.Math.Min(24 / nc, 12)).GroupBy(s => s))
                {
                    int mf = group.Key, count = group.Count();
                    w.Open($"for (int f0 = {f0}; f0 < {f0 + mf * count}; f0 += {mf})   // {mf} filters × vectors at ox = {string.Join(", ", chunk)}");
                    for (int f = 0; f < mf; f++)
                        w.Line(string.Join(" ", Enumerable.Range(0, nc).Select(j => $"{vec} a{f}_{j} = {(bias ? $"{vn}.Create(Unsafe.Add(ref bs, f0 + {f}))" : $"{vec}.Zero")};")));
                    w.Open($"for (int ch = 0; ch < {C}; ch++)");
                    w.Line($"ref {T} xr = ref Unsafe.Add(ref xs, ch * {Hp * Wp} + oy * {Wp});");
                    w.Line($"ref {T} wr = ref Unsafe.Add(ref ws, f0 * {C * taps} + ch * {taps});");
                    w.Line($"{vec} b; " + string.Join(" ", Enumerable.Range(0, nc).Select(j => $"{vec} x{j};")));
                    for (int u = 0; u < KH; u++)
                        for (int v = 0; v < KW; v++)
                        {
                            var line = new System.Text.StringBuilder();
                            for (int j = 0; j < nc; j++) line.Append($"x{j} = {load}(ref xr, {I(u * Wp + v + chunk[j])}); ");
                            for (int f = 0; f < mf; f++)
                            {
                                line.Append($"b = {vn}.Create(Unsafe.Add(ref wr, {I(f * C * taps + u * KW + v)})); ");
                                for (int j = 0; j < nc; j++) line.Append($"a{f}_{j} = {fma}(x{j}, b, a{f}_{j}); ");
                            }
                            w.Line(line.ToString().TrimEnd());
                        }
                    w.Close();
                    for (int f = 0; f < mf; f++)
                        w.Line(string.Join(" ", Enumerable.Range(0, nc).Select(j => $"a{f}_{j}.StoreUnsafe(ref ys, (nuint)((f0 + {f}) * {P} + oy * {OW} + {chunk[j]}));")));
                    if (relu is not null)
                        for (int f = 0; f < mf; f++)
                            w.Line(string.Join(" ", Enumerable.Range(0, nc).Select(j => $"{ActivationEmitter.Vector(c, ActivationEmitter.Formula(relu).Forward, relu, $"a{f}_{j}", "", "", vn)}.StoreUnsafe(ref zs, (nuint)((f0 + {f}) * {P} + oy * {OW} + {chunk[j]}));")));
                    w.Close();
                    f0 += mf * count;
                }
            }
            w.Close();
            return;
        }

        // Filters form.
        int nfvAll = F / V;
        int[] fGroups = EvenBlocks(nfvAll, 4);
        w.Line($"// direct convolution, filters form: yᵀ[p, f] for a block of positions × {V}-lane filter vectors in registers, {taps} taps per channel unrolled; then y = (yᵀ)ᵀ");
        w.Line($"ref {T} wts = ref _wT{l.Index}[0];");
        if (bias) w.Line($"ref {T} bs = ref _p[{l.BiasOffset}];");
        w.Line($"ref {T} yts = ref _yT{l.Index}[slot * {Stride(l.OutputSize)}];");
        w.Open($"for (int oy = 0; oy < {OH}; oy++)");
        int fv0 = 0;
        foreach (var fgroup in fGroups.GroupBy(s => s))
        {
            int nfv = fgroup.Key, fcount = fgroup.Count();
            w.Open($"for (int fv = {fv0}; fv < {fv0 + nfv * fcount}; fv += {nfv})   // {nfv} vectors of {V} filters");
            int ox0 = 0;
            foreach (int np in EvenBlocks(OW, 24 / nfv))
            {
                w.Open($"// positions ox = {ox0}..{ox0 + np - 1}");
                for (int p = 0; p < np; p++)
                    w.Line(string.Join(" ", Enumerable.Range(0, nfv).Select(j => $"{vec} a{p}_{j} = {(bias ? $"{load}(ref bs, (fv + {j}) * {V})" : $"{vec}.Zero")};")));
                w.Open($"for (int ch = 0; ch < {C}; ch++)");
                w.Line($"ref {T} xr = ref Unsafe.Add(ref xs, ch * {Hp * Wp} + oy * {Wp} + {ox0});");
                w.Line($"ref {T} wr = ref Unsafe.Add(ref wts, ch * {taps * F} + fv * {V});");
                w.Line($"{vec} b; " + string.Join(" ", Enumerable.Range(0, nfv).Select(j => $"{vec} w{j};")));
                for (int u = 0; u < KH; u++)
                    for (int v = 0; v < KW; v++)
                    {
                        var line = new System.Text.StringBuilder();
                        for (int j = 0; j < nfv; j++) line.Append($"w{j} = {load}(ref wr, {I((u * KW + v) * F + j * V)}); ");
                        for (int p = 0; p < np; p++)
                        {
                            line.Append($"b = {vn}.Create(Unsafe.Add(ref xr, {I(u * Wp + v + p)})); ");
                            for (int j = 0; j < nfv; j++) line.Append($"a{p}_{j} = {fma}(b, w{j}, a{p}_{j}); ");
                        }
                        w.Line(line.ToString().TrimEnd());
                    }
                w.Close();
                for (int p = 0; p < np; p++)
                    w.Line(string.Join(" ", Enumerable.Range(0, nfv).Select(j => $"a{p}_{j}.StoreUnsafe(ref yts, (nuint)((oy * {OW} + {ox0 + p}) * {F} + (fv + {j}) * {V}));")));
                w.Close();
                ox0 += np;
            }
            w.Close();
            fv0 += nfv * fcount;
        }
        w.Close();
        w.Line($"ref {T} ys = ref {EmitContext.A(l.Index + 1)}[n * {l.OutputSize}];");
        Transpose(w, c, "yts", "ys", rows: P, cols: F);
    }

    /// <summary>∂E/∂W of one sample n (in a part method), added to the part's sums: per lane in _gvec (rows form) or
    /// transposed in <c>sum</c> (filters form, whose δᵀ the caller has written to <c>deltaT</c>).</summary>
    private static void DirectWeightGradient(CodeWriter w, EmitContext c, LayerPlan l, bool wide)
    {
        int C = l.InC, F = l.OutC, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, Hp = PaddedH(l), Wp = PaddedW(l);
        wide &= WideDirect(c, l);
        int V = DirectLanes(c, wide), P = OH * OW, taps = KH * KW, K = Conv2DEmitter.K(l);
        string T = c.T, vn = VN(wide), vec = $"{vn}<{T}>", load = LoadOf(wide), fma = FmaOf(wide);
        var tapList = Enumerable.Range(0, taps).Select(t => (U: t / KW, V: t % KW)).ToArray();
        if (MethodOn(c, l, wide) == ConvMethod.DirectRows)
        {
            int[] offsets = RowVectors(OW, V);
            int overlap = offsets.Length >= 2 ? offsets[offsets.Length - 2] + V - offsets[offsets.Length - 1] : 0;
            w.Line($"// ∂E/∂w[f, c, u, v] += Σ δ[f, oy, ox..]·x[c, oy + u, ox + v..] in {V}-lane vectors at ox = {string.Join(", ", offsets)}" +
                   (overlap > 0 ? $" (the last one's first {overlap} lanes masked: the vector before summed them)" : "") + "; sums per lane in _gvec");
            w.Line($"ref {T} ds = ref {EmitContext.D(l.Index + 1)}[n * {l.OutputSize}];");
            if (overlap > 0)
            {
                string indices = c.Plan.Spec.IsDouble ? $"{vn}<long>.Indices, {vn}.Create((long){overlap})" : $"{vn}<int>.Indices, {vn}.Create({overlap})";
                w.Line($"{vec} tail = {vn}.GreaterThanOrEqual({indices}).As{(c.Plan.Spec.IsDouble ? "Double" : "Single")}();");
            }
            int mfMax = System.Math.Min(F, 6);
            int[] fBlocks = EvenBlocks(F, mfMax);
            int ntMax = 24 / fBlocks.Max();
            int[] tBlocks = EvenBlocks(taps, ntMax);
            w.Open($"for (int ch = 0; ch < {C}; ch++)");
            w.Line($"ref {T} xc = ref Unsafe.Add(ref xs, ch * {Hp * Wp});");
            int t0 = 0;
            foreach (int nt in tBlocks)
            {
                var blockTaps = tapList.Skip(t0).Take(nt).ToArray();
                int f0 = 0;
                foreach (var group in fBlocks.GroupBy(s => s))
                {
                    int mf = group.Key, count = group.Count();
                    w.Open($"for (int f0 = {f0}; f0 < {f0 + mf * count}; f0 += {mf})   // {mf} filters × taps (u, v) = {string.Join(" ", blockTaps.Select(t => $"({t.U}, {t.V})"))}");
                    for (int f = 0; f < mf; f++)
                        w.Line(string.Join(" ", Enumerable.Range(0, nt).Select(t => $"{vec} s{f}_{t} = {vec}.Zero;")));
                    w.Open($"for (int oy = 0; oy < {OH}; oy++)");
                    w.Line($"ref {T} xr = ref Unsafe.Add(ref xc, oy * {Wp});");
                    w.Line($"ref {T} dr = ref Unsafe.Add(ref ds, f0 * {P} + oy * {OW});");
                    w.Line($"{vec} d; " + string.Join(" ", Enumerable.Range(0, nt).Select(t => $"{vec} x{t};")));
                    for (int jo = 0; jo < offsets.Length; jo++)
                    {
                        int o = offsets[jo];
                        bool masked = overlap > 0 && jo == offsets.Length - 1;
                        var line = new System.Text.StringBuilder();
                        for (int t = 0; t < nt; t++) line.Append($"x{t} = {load}(ref xr, {I(blockTaps[t].U * Wp + blockTaps[t].V + o)}); ");
                        for (int f = 0; f < mf; f++)
                        {
                            line.Append(masked ? $"d = {load}(ref dr, {I(f * P + o)}) & tail; " : $"d = {load}(ref dr, {I(f * P + o)}); ");
                            for (int t = 0; t < nt; t++) line.Append($"s{f}_{t} = {fma}(d, x{t}, s{f}_{t}); ");
                        }
                        w.Line(line.ToString().TrimEnd());
                    }
                    w.Close();
                    w.Line($"ref {T} gv = ref _gvec{l.Index}[slot * {Stride(l.WeightCount * GvecLanes(c, l))} + (f0 * {K} + ch * {taps}) * {V}];");
                    for (int f = 0; f < mf; f++)
                        w.Line(string.Join(" ", Enumerable.Range(0, nt).Select(t =>
                        {
                            string at = I((f * K + blockTaps[t].U * KW + blockTaps[t].V) * V);
                            return $"({load}(ref gv, {at}) + s{f}_{t}).StoreUnsafe(ref gv, {at});";
                        })));
                    w.Close();
                    f0 += mf * count;
                }
                t0 += nt;
            }
            w.Close();
            return;
        }

        // Filters form: gᵀ[(c, u, v), f..] += Σ_p x[c, oy + u, ox + v]·δᵀ[p, f..]
        int[] fGroups = EvenBlocks(F / V, 4);
        w.Line($"// ∂E/∂wᵀ[(c, u, v), f] += Σ_p x[c, oy + u, ox + v]·δᵀ[p, f]: a block of taps × {V}-lane filter vectors in registers over the sample's positions");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Line($"ref {T} xc = ref Unsafe.Add(ref xs, ch * {Hp * Wp});");
        int fv0 = 0;
        foreach (var fgroup in fGroups.GroupBy(s => s))
        {
            int nfv = fgroup.Key, fcount = fgroup.Count();
            int[] tBlocks = EvenBlocks(taps, 24 / nfv);
            w.Open($"for (int fv = {fv0}; fv < {fv0 + nfv * fcount}; fv += {nfv})   // {nfv} vectors of {V} filters");
            int t0 = 0;
            foreach (int nt in tBlocks)
            {
                var blockTaps = tapList.Skip(t0).Take(nt).ToArray();
                w.Open($"// taps (u, v) = {string.Join(" ", blockTaps.Select(t => $"({t.U}, {t.V})"))}");
                for (int t = 0; t < nt; t++)
                    w.Line(string.Join(" ", Enumerable.Range(0, nfv).Select(j => $"{vec} s{t}_{j} = {vec}.Zero;")));
                w.Open($"for (int oy = 0; oy < {OH}; oy++)");
                w.Open($"for (int ox = 0; ox < {OW}; ox++)");
                w.Line($"ref {T} xr = ref Unsafe.Add(ref xc, oy * {Wp} + ox);");
                w.Line($"ref {T} dr = ref Unsafe.Add(ref deltaT, (oy * {OW} + ox) * {F} + fv * {V});");
                w.Line($"{vec} b; " + string.Join(" ", Enumerable.Range(0, nfv).Select(j => $"{vec} d{j} = {load}(ref dr, {j * V});")));
                var line = new System.Text.StringBuilder();
                for (int t = 0; t < nt; t++)
                {
                    line.Append($"b = {vn}.Create(Unsafe.Add(ref xr, {I(blockTaps[t].U * Wp + blockTaps[t].V)})); ");
                    for (int j = 0; j < nfv; j++) line.Append($"s{t}_{j} = {fma}(b, d{j}, s{t}_{j}); ");
                }
                w.Line(line.ToString().TrimEnd());
                w.Close();
                w.Close();
                w.Line($"ref {T} gt = ref sum[(ch * {taps}) * {F} + fv * {V}];");
                for (int t = 0; t < nt; t++)
                    w.Line(string.Join(" ", Enumerable.Range(0, nfv).Select(j =>
                    {
                        string at = I((blockTaps[t].U * KW + blockTaps[t].V) * F + j * V);
                        return $"({load}(ref gt, {at}) + s{t}_{j}).StoreUnsafe(ref gt, {at});";
                    })));
                w.Close();
                t0 += nt;
            }
            w.Close();
            fv0 += nfv * fcount;
        }
        w.Close();
    }

    /// <summary>Rows form, at the end of a chunk: the chunk's ∂E/∂W sums are its lane sums added across lanes.</summary>
    private static void DirectLaneSums(CodeWriter w, EmitContext c, LayerPlan l, bool wide)
    {
        wide &= WideDirect(c, l);
        int V = DirectLanes(c, wide);
        w.Line($"ref {c.T} lanes = ref _gvec{l.Index}[slot * {Stride(l.WeightCount * GvecLanes(c, l))}];");
        w.Line($"for (int k = 0; k < {l.WeightCount}; k++) sum[k] = {VN(wide)}.Sum({LoadOf(wide)}(ref lanes, k * {V}));");
    }

    /// <summary>Writes dst[j, i] = src[i, j] for a rows × cols matrix (src rows contiguous, dst rows of length rows):
    /// 8×8 blocks in registers (float), the rest value by value.</summary>
    internal static void Transpose(CodeWriter w, EmitContext c, string src, string dst, int rows, int cols)
    {
        if (c.Plan.Spec.IsDouble || rows < 8 || cols < 8)
        {
            w.Line($"for (int j = 0; j < {cols}; j++) for (int i = 0; i < {rows}; i++) Unsafe.Add(ref {dst}, j * {rows} + i) = Unsafe.Add(ref {src}, i * {cols} + j);");
            return;
        }
        int rb = rows / 8 * 8, cb = cols / 8 * 8;
        w.Line($"for (int i = 0; i < {rb}; i += 8) for (int j = 0; j < {cb}; j += 8) Transpose8x8(ref Unsafe.Add(ref {src}, i * {cols} + j), {cols}, ref Unsafe.Add(ref {dst}, j * {rows} + i), {rows});");
        if (rb < rows)
            w.Line($"for (int j = 0; j < {cols}; j++) for (int i = {rb}; i < {rows}; i++) Unsafe.Add(ref {dst}, j * {rows} + i) = Unsafe.Add(ref {src}, i * {cols} + j);");
        if (cb < cols)
            w.Line($"for (int j = {cb}; j < {cols}; j++) for (int i = 0; i < {rb}; i++) Unsafe.Add(ref {dst}, j * {rows} + i) = Unsafe.Add(ref {src}, i * {cols} + j);");
    }

    /// <summary>Whether the network needs <c>Transpose8x8</c> (a float filters-form convolution).</summary>
    internal static bool NeedsTranspose8x8(EmitContext c) => !c.Plan.Spec.IsDouble &&
        c.Plan.Layers.Any(l => l.Kind == LayerKind.Conv2D && OnEitherPath(c, l, ConvMethod.DirectFilters) && l.OutH * l.OutW >= 8);

    /// <summary>Whether <paramref name="l"/> is the first filters-form layer (on either path): the one that writes <c>Transpose8x8</c>.</summary>
    internal static bool FirstFiltersLayer(EmitContext c, LayerPlan l) =>
        c.Plan.Layers.First(x => x.Kind == LayerKind.Conv2D && OnEitherPath(c, x, ConvMethod.DirectFilters)) == l;

    /// <summary>The 8×8 float transpose: the standard AVX sequence (unpack pairs of rows, shuffle pairs of pairs,
    /// swap 128-bit halves), value by value where AVX is missing.</summary>
    internal static void Transpose8x8Helper(CodeWriter w)
    {
        string avx = "global::System.Runtime.Intrinsics.X86.Avx";
        w.Line("/// <summary>dst[j·ldd + i] = src[i·lds + j] for i, j &lt; 8: an 8×8 block transposed in registers.</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Open("private static void Transpose8x8(ref float src, nint lds, ref float dst, nint ldd)");
        w.Open($"if (!{avx}.IsSupported)");
        w.Line("for (int i = 0; i < 8; i++) for (int j = 0; j < 8; j++) Unsafe.Add(ref dst, j * ldd + i) = Unsafe.Add(ref src, i * lds + j);");
        w.Line("return;");
        w.Close();
        w.Line("Vector256<float> r0 = Load(ref src, 0), r1 = Load(ref src, lds), r2 = Load(ref src, 2 * lds), r3 = Load(ref src, 3 * lds);");
        w.Line("Vector256<float> r4 = Load(ref src, 4 * lds), r5 = Load(ref src, 5 * lds), r6 = Load(ref src, 6 * lds), r7 = Load(ref src, 7 * lds);");
        w.Line($"Vector256<float> t0 = {avx}.UnpackLow(r0, r1), t1 = {avx}.UnpackHigh(r0, r1), t2 = {avx}.UnpackLow(r2, r3), t3 = {avx}.UnpackHigh(r2, r3);");
        w.Line($"Vector256<float> t4 = {avx}.UnpackLow(r4, r5), t5 = {avx}.UnpackHigh(r4, r5), t6 = {avx}.UnpackLow(r6, r7), t7 = {avx}.UnpackHigh(r6, r7);");
        w.Line($"Vector256<float> u0 = {avx}.Shuffle(t0, t2, 0x44), u1 = {avx}.Shuffle(t0, t2, 0xEE), u2 = {avx}.Shuffle(t1, t3, 0x44), u3 = {avx}.Shuffle(t1, t3, 0xEE);");
        w.Line($"Vector256<float> u4 = {avx}.Shuffle(t4, t6, 0x44), u5 = {avx}.Shuffle(t4, t6, 0xEE), u6 = {avx}.Shuffle(t5, t7, 0x44), u7 = {avx}.Shuffle(t5, t7, 0xEE);");
        w.Line($"{avx}.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref dst, 0); {avx}.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref dst, (nuint)ldd);");
        w.Line($"{avx}.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref dst, (nuint)(2 * ldd)); {avx}.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref dst, (nuint)(3 * ldd));");
        w.Line($"{avx}.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref dst, (nuint)(4 * ldd)); {avx}.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref dst, (nuint)(5 * ldd));");
        w.Line($"{avx}.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref dst, (nuint)(6 * ldd)); {avx}.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref dst, (nuint)(7 * ldd));");
        w.Close();
        w.Line();
    }

    /// <summary>Whether col2im runs by input rows (<see cref="Col2ImRows"/>): stride 1, rows of one to four vectors, padding narrower than a vector (the reads past a part's columns stay within the buffer's slack).</summary>
    /// <remarks>On the 512-bit path (<paramref name="wide"/>) with rows of one to four wide vectors; a layer may run by
    /// rows on one path and by the scatter on the other: both add the same terms in the same order from zero.</remarks>
    private static bool Col2ImByRows(EmitContext c, LayerPlan l, bool wide = false) =>
        l.Stride == 1 && l.InW >= DirectLanes(c, wide) && l.InW <= 4 * DirectLanes(c, wide) && l.PadW < DirectLanes(c, wide) && l.OutH == l.InH + 2 * l.PadH - l.KernelH + 1 && l.OutW == l.InW + 2 * l.PadW - l.KernelW + 1;

    /// <summary>
    /// col2im by input rows, for one sample n: ∂E/∂x[c, iy, ix] = Σ_(u, v) ∂E/∂col[(c, u, v), (iy + PH − u)·OW + ix + PW − v]
    /// over the windows that read x[c, iy, ix], summed in vector registers and stored once. Each term is a vector load
    /// from a row of ∂E/∂col with the lanes outside that row masked off (a constant mask per vector and v). Adding
    /// every window's row into ∂E/∂x instead (the strided path) reads back vectors just stored at an offset of one
    /// value, which the CPU cannot forward: ≈ 7 % of a LeNet step. The terms are added in the same (u, v) order from
    /// zero, so the sums are the strided path's. With <see cref="ColumnGradientByChannel"/> it also forms ∂E/∂col, one
    /// input channel at a time, right before scattering that channel back.
    /// </summary>
    private static void Col2ImRows(CodeWriter w, EmitContext c, LayerPlan l, bool wide)
    {
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, KH = l.KernelH, KW = l.KernelW, PH = l.PadH, PW = l.PadW;
        int V = DirectLanes(c, wide), P = OH * OW;
        string T = c.T, vn = VN(wide), vec = $"{vn}<{T}>";
        int[] offsets = RowVectors(W, V);
        w.Line($"// col2im by input rows ({V}-lane vectors at ix = {string.Join(", ", offsets)}): ∂E/∂x[c, iy, ix] = Σ_(u, v) ∂E/∂col[(c, u, v), (iy + {PH} − u)·{OW} + ix + {PW} − v] over the windows inside");
        w.Line($"ref {T} dxs = ref {EmitContext.D(l.Index)}[n * {l.InputSize}];");
        string lane = c.Plan.Spec.IsDouble ? "long" : "int";
        for (int j = 0; j < offsets.Length; j++)
            for (int v = 0; v < KW; v++)
            {
                // lane L reads ox = offsets[j] + L + PW − v, inside when 0 ≤ ox < OW
                var lanes = Enumerable.Range(0, V).Select(L => { int ox = offsets[j] + L + PW - v; return ox >= 0 && ox < OW ? "-1" : "0"; });
                w.Line($"{vec} m{j}_{v} = {vn}.Create({string.Join(", ", lanes.Select(x => c.Plan.Spec.IsDouble ? x + "L" : x))}).As{(c.Plan.Spec.IsDouble ? "Double" : "Single")}();");
            }
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        if (ColumnGradientByChannel(c, l))
        {
            w.Line($"// ∂E/∂col[(ch, u, v), p] = Σ_f w[f, (ch, u, v)]·δ[f, p] for this channel's {KH * KW} window values, into the first {KH * KW * P} values of the");
            w.Line("// column buffer, scattered back below while they are in L1");
            w.Line($"{l.PascalName}ColumnGradient(ref _p[{l.WeightOffset} + ch * {KH * KW}], ref {EmitContext.D(l.Index + 1)}[n * {l.OutputSize}], ref work, 0, {KH * KW}, 0, {P});");
            w.Line($"ref {T} cc = ref work;");
        }
        else
            w.Line($"ref {T} cc = ref Unsafe.Add(ref work, ch * {KH * KW * P});");
        w.Open($"for (int iy = 0; iy < {H}; iy++)");
        w.Line(string.Join(" ", Enumerable.Range(0, offsets.Length).Select(j => $"{vec} s{j} = {vec}.Zero;")));
        w.Line($"int u0 = global::System.Math.Max(0, iy + {PH - (OH - 1)}), u1 = global::System.Math.Min({KH - 1}, iy + {PH});   // the u whose window row oy = iy + {PH} − u is inside");
        w.Open("for (int u = u0; u <= u1; u++)");
        w.Line($"ref {T} cr = ref Unsafe.Add(ref cc, u * {KW * P} + (iy + {PH} - u) * {OW});   // row oy of ∂E/∂col[(c, u, 0), ·]");
        for (int v = 0; v < KW; v++)
            w.Line(string.Join(" ", Enumerable.Range(0, offsets.Length).Select(j =>
                $"s{j} += {vn}.LoadUnsafe(ref Unsafe.Add(ref cr, {I(v * P + offsets[j] + PW - v)})) & m{j}_{v};")));
        w.Close();
        w.Line(string.Join(" ", Enumerable.Range(0, offsets.Length).Select(j => $"s{j}.StoreUnsafe(ref dxs, (nuint)(ch * {H * W} + iy * {W} + {offsets[j]}));")));
        w.Close();
        w.Close();
    }

    /// <summary>
    /// Whether col2im by rows (<see cref="Col2ImRows"/>) forms ∂E/∂col one input channel at a time, each channel's KH·KW rows
    /// into the first KH·KW·P values of the thread's column buffer, instead of the whole sample's first. A sample's
    /// ∂E/∂col can be more than L1 holds (LeNet conv2: 150 × 100 values, 60 KB), so forming it all first wrote it back
    /// to L2 and read it again from there; a channel's (25 × 100 values, 10 KB) is scattered back while it is in L1. On
    /// two cores of unequal speed the slower one had spent 1.5× the faster one's time in that kernel (perf, 2 threads),
    /// and the backward chunks were where the 2-thread LeNet step lost most. Each value is the same sum over the filters
    /// in the same order, so the same bits. Only where a channel's block fits in 16 KB and has at least three
    /// register blocks of rows (KH·KW ≥ 24: the rows past the last whole block run one at a time, a small share of
    /// them); elsewhere (3×3 kernels, wide images) the sample's ∂E/∂col is formed whole, as before.
    /// </summary>
    internal static bool ColumnGradientByChannel(EmitContext c, LayerPlan l) =>
        l.InC > 1 && l.KernelH * l.KernelW >= 24 && (long)l.KernelH * l.KernelW * l.OutH * l.OutW * (c.Plan.Spec.IsDouble ? 8 : 4) <= 16 * 1024;

    /// <summary><paramref name="items"/> in consecutive chunks of at most <paramref name="max"/>, as even as possible.</summary>
    private static IEnumerable<int[]> Chunks(int[] items, int max)
    {
        int at = 0;
        foreach (int size in EvenBlocks(items.Length, max))
        {
            yield return items.Skip(at).Take(size).ToArray();
            at += size;
        }
    }
}
