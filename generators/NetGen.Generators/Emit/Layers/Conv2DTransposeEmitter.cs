using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Conv2DTranspose over (C, H, W) → (F, OH, OW), OH = (H − 1)·S − 2P + K + OP, weights w[c, j] with j = (f, u, v)
/// (PyTorch's [C_in, F, K, K]). With p = (iy, ix) an input position and P·J the size of one sample's columns:
///   colᵀ[p, j] = Σ_c x[c, p]·w[c, j]                                      (each input pixel's K×K×F contribution)
/// Forward   y[f, iy·S − P + u, ix·S − P + v] += colᵀ[p, (f, u, v)], y starting at b[f]   (col2im; outside is cut off)
/// Backward  dcolᵀ[p, (f, u, v)] = ∂E/∂y[f, iy·S − P + u, ix·S − P + v] (0 outside)  (im2col of ∂E/∂y)
///           ∂E/∂x[c, p] = Σ_j w[c, j]·dcolᵀ[p, j]    ∂E/∂w[c, j] += Σ_n Σ_p x[n, c, p]·dcolᵀ[n, p, j]    ∂E/∂b[f] += Σ ∂E/∂y[f, ·]
/// The products are the register-blocked kernels of <see cref="GemmEmitter"/> with the layer's sizes as literals: colᵀ
/// and ∂E/∂w broadcast along j (the F·K·K contiguous values of a weight row), ∂E/∂x a dot along j. Threads split the
/// samples for the forward pass and ∂E/∂x, and the weight rows c for ∂E/∂w, each row summing every sample in order, so
/// every value is computed by one thread in one order: the results are the same bits for any thread count.
/// The backward pass keeps every sample's dcolᵀ for the weight gradient when the batch's fit in 4M values (else each
/// thread re-forms them). When a weight row is shorter than a sample's input positions (J &lt; P: few filters, as an
/// image's last layer), the backward columns are laid out the other way, dcol[j, p], so that ∂E/∂x is the broadcast
/// product w·dcol (a dot product per (c, p) of only J values would pay a horizontal sum for every J multiply-adds) and
/// ∂E/∂w the dot product over the P positions; <see cref="DeltaByRows"/> picks it: the dot runs along the longer side. The GPU kernels gather (one thread per output value, per input value, per weight and sample
/// group).
/// </summary>
internal sealed class Conv2DTransposeEmitter : LayerEmitter
{
    public static readonly Conv2DTransposeEmitter Instance = new();

    private static int J(LayerPlan l) => l.OutC * l.KernelH * l.KernelW;

    private static int P(LayerPlan l) => l.InH * l.InW;

    /// <summary>Lanes of a 128-bit vector (a window row of K = 4 floats is one).</summary>
    private static int ShortLanes(EmitContext c) => GemmEmitter.Lanes(c) / 2;

    /// <summary>Whether the backward columns are dcol[j, p] (J &lt; P: ∂E/∂x broadcast, ∂E/∂w dot along p) rather than
    /// dcolᵀ[p, j] (∂E/∂x dot along j, ∂E/∂w broadcast).</summary>
    private static bool DeltaByRows(LayerPlan l) => J(l) < P(l);

    /// <summary>Multiply-adds of one sample's colᵀ product (the same count for ∂E/∂x and for ∂E/∂w).</summary>
    private static long Work(LayerPlan l) => (long)l.InC * J(l) * P(l);

    /// <summary>The largest dcolᵀ cache (values) the backward pass keeps for the whole batch.</summary>
    private const long ColumnCacheLimit = 1L << 22;

    /// <summary>Rows of the weight-gradient product's register blocks (thread row ranges start at multiples of it).</summary>
    private const int WeightRows = 8;

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan l)
    {
        w.Line($"private readonly {c.T}[] _colT{l.Index};   // {l.PascalName}: colᵀ or dcolᵀ of one sample ({P(l)} input positions × {J(l)} (filter, u, v)) per part (Parallelism.MaxSampleParts)");
        w.Line($"private readonly {c.T}[] _colTBatch{l.Index};   // {l.PascalName}: every sample's dcolᵀ of the running backward pass (empty when too large)");
        if (l.Index == 0) w.Line($"private bool _wantInput{l.Index};   // {l.PascalName}: whether the running backward pass wants ∂E/∂input");
    }

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan l)
    {
        long size = (long)P(l) * J(l);
        w.Line($"_colT{l.Index} = new {c.T}[{size} * global::NetGen.Parallelism.MaxSampleParts];");
        w.Line($"_colTBatch{l.Index} = (long)maxBatch * {size} <= {ColumnCacheLimit} ? new {c.T}[maxBatch * {size}] : global::System.Array.Empty<{c.T}>();   // at most {ColumnCacheLimit / (1 << 20)}M values");
    }

    public override bool HasKernels(EmitContext c, LayerPlan layer) => true;

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        w.Line($"// Layer {l.Index}: {l.PascalName} ({l.InC}×{l.InH}×{l.InW} → {l.OutC}×{l.OutH}×{l.OutW}, kernel {l.KernelH}×{l.KernelW}, stride {l.Stride}, padding {l.PadH},{l.PadW}):");
        w.Line($"// colᵀ[p, (f, u, v)] = Σ_c x[c, p]·w[c, f, u, v], then y[f, iy·{l.Stride} − {l.PadH} + u, ix·{l.Stride} − {l.PadW} + v] += colᵀ[(iy, ix), (f, u, v)]{(l.BiasCount > 0 ? " over y = b[f]" : "")}; threads split the samples");
        w.Line($"global::NetGen.Parallelism.Run(this, {Op(l, 0)}, global::NetGen.Parallelism.SamplePartsFor((long)batch * {Work(l)}, batch));");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int F = l.OutC, outSize = l.OutputSize, planeOut = l.OutH * l.OutW;
        bool trainBias = l.BiasCount > 0 && l.TrainBias;
        string dy = EmitContext.D(l.Index + 1);
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: dcolᵀ = im2col(∂E/∂y) and ∂E/∂x[c, p] = w[c, ·]·dcolᵀ[p, ·] (threads split the samples);");
        w.Line($"// ∂E/∂w[c, ·] += Σ_n Σ_p x[n, c, p]·dcolᵀ[n, p, ·] (threads split the rows c){(trainBias ? "; ∂E/∂b[f] += Σ ∂E/∂y[f, ·]" : "")}");
        w.Open("");
        if (l.Index == 0) w.Line($"_wantInput{l.Index} = inputGradient;");
        w.Line($"int parts = global::NetGen.Parallelism.SamplePartsFor((long)batch * {Work(l)}, batch);");
        if (l.Index == 0)   // the first layer: ∂E/∂input only when asked for; the dcolᵀ cache is worth filling on its own
            w.Line($"if (_colTBatch{l.Index}.Length > 0 || _wantInput{l.Index}) global::NetGen.Parallelism.Run(this, {Op(l, 1)}, parts);");
        else
            w.Line($"global::NetGen.Parallelism.Run(this, {Op(l, 1)}, parts);");
        w.Line($"global::NetGen.Parallelism.Run(this, {Op(l, 2)}, global::NetGen.Parallelism.PartsFor((long)batch * {Work(l)}, {(l.InC + WeightRows - 1) / WeightRows}));");
        if (trainBias)
            w.Line($"for (int n = 0; n < batch; n++) for (int f = 0; f < {F}; f++) _g[{l.BiasOffset} + f] += {c.Tp}.Sum<{c.T}>({dy}.AsSpan(n * {outSize} + f * {planeOut}, {planeOut}));");
        w.Close();
    }

    public override void ParallelCases(CodeWriter w, EmitContext c, LayerPlan l)
    {
        w.Line($"case {Op(l, 0)}: {l.PascalName}ForwardPart(part, parts); break;");
        w.Line($"case {Op(l, 1)}: {l.PascalName}InputGradientPart(part, parts); break;");
        w.Line($"case {Op(l, 2)}: {l.PascalName}WeightGradientPart(part, parts); break;");
    }

    /// <summary>Writes the range of ix (or iy) whose output coordinate ix·S − pad + v lies in [0, outSize): [lo, hi).</summary>
    private static void InsideRange(CodeWriter w, string lo, string hi, string offset, int stride, int inSize, int outSize, int pad)
    {
        // ix·S − pad + v ≥ 0 ⇔ ix ≥ ⌈(pad − v)/S⌉;  ix·S − pad + v ≤ outSize − 1 ⇔ ix ≤ ⌊(outSize − 1 + pad − v)/S⌋
        w.Line($"int {lo} = {pad} - {offset} <= 0 ? 0 : ({pad} - {offset} + {stride - 1}) / {stride};");
        w.Line($"int {hi} = {outSize - 1 + pad} - {offset} < 0 ? 0 : global::System.Math.Min({inSize}, ({outSize - 1 + pad} - {offset}) / {stride} + 1);");
    }

    /// <summary>
    /// The window of input position (iy, ix) on the output, one window row at a time, for col2im (forward: y += colᵀ)
    /// and its reverse (backward: dcolᵀ = ∂E/∂y), which differ only in the statement per value. Inside the caller's
    /// loops over iy and ix, with <c>row</c> the position's J values of colᵀ (or dcolᵀ): declares the inside ranges
    /// [u0, u1) and [v0, v1), writes <paramref name="cutWindow"/> (if any), then for each filter f and inside u declares
    /// <c>line</c> (the output row of <paramref name="image"/> at the window's v = 0) and <paramref name="window"/> (the
    /// window row's K values in <c>row</c>) and runs the statement: <paramref name="vector"/> at each 128-bit offset when
    /// the row lies wholly inside (K a multiple of the 128-bit lanes), else <paramref name="scalar"/> for v0 ≤ v &lt; v1.
    /// <paramref name="vectorNote"/> and <paramref name="lineNote"/> are comments at the end of the vector branch's test
    /// and of the scalar branch's <c>line</c>.
    /// </summary>
    private static void WindowRows(CodeWriter w, EmitContext c, LayerPlan l, string image, string window,
        System.Func<int, string> vector, string scalar, string vectorNote, string lineNote, string? cutWindow = null)
    {
        int F = l.OutC, K = l.KernelH, S = l.Stride, OH = l.OutH, OW = l.OutW;
        string t = c.T;
        InsideRange(w, "u0", "u1", $"iy * {S}", 1, K, OH, l.PadH);
        InsideRange(w, "v0", "v1", $"ix * {S}", 1, K, OW, l.PadW);
        if (cutWindow is not null) w.Line(cutWindow);
        int q = ShortLanes(c);
        if (K % q == 0) Rows(whole: true);
        Rows(whole: false);

        // whole: a window row inside the output, by vectors (then `continue`); else the scalar loop, which serves the
        // rows cut by the left or right border
        void Rows(bool whole)
        {
            if (whole) w.Open($"if (v0 == 0 && v1 == {K}){vectorNote}");
            w.Open($"for (int f = 0; f < {F}; f++)");
            w.Open("for (int u = u0; u < u1; u++)");
            w.Line($"ref {t} line = ref Unsafe.Add(ref {image}, (f * {OH} + iy * {S} - {l.PadH} + u) * {OW} + ix * {S} - {l.PadW});{(whole ? "" : lineNote)}");
            w.Line($"ref {t} {window} = ref Unsafe.Add(ref row, (f * {K} + u) * {K});");
            if (whole)
                for (int v = 0; v < K; v += q) w.Line(vector(v));
            else
                w.Line($"for (int v = v0; v < v1; v++) {scalar}");
            w.Close(); w.Close();
            if (!whole) return;
            w.Line("continue;");
            w.Close();
        }
    }

    public override void Kernels(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = l.InC, H = l.InH, W = l.InW, F = l.OutC, K = l.KernelH, S = l.Stride, OH = l.OutH, OW = l.OutW, Pn = P(l), Jn = J(l);
        int inSize = l.InputSize, outSize = l.OutputSize, planeOut = OH * OW;
        string t = c.T, name = l.PascalName, x = EmitContext.A(l.Index), y = EmitContext.A(l.Index + 1), dy = EmitContext.D(l.Index + 1), dx = EmitContext.D(l.Index);
        long size = (long)Pn * Jn;

        // ---- forward: colᵀ product, then col2im ----
        w.Line($"/// <summary>{name} forward for part <paramref name=\"part\"/> of <paramref name=\"parts\"/> of the batch's samples.</summary>");
        w.Open($"private void {name}ForwardPart(int part, int parts)");
        w.Line("(int n0, int n1) = global::NetGen.Parallelism.Range(_batch, parts, part);");
        w.Line($"ref {t} colT = ref _colT{l.Index}[part * {size}];");
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"{name}Columns(ref {x}[n * {inSize}], ref _p[{l.WeightOffset}], ref colT, 0, {Pn}, 0, {Jn});");
        w.Line($"ref {t} ys = ref {y}[n * {outSize}];");
        if (l.BiasCount > 0)
            w.Line($"for (int f = 0; f < {F}; f++) global::System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref Unsafe.Add(ref ys, f * {planeOut}), {planeOut}).Fill(_p[{l.BiasOffset} + f]);");
        else
            w.Line($"global::System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref ys, {outSize}).Clear();");
        w.Line("// col2im: each input position's K×K×F values land on its window of the output (overlapping windows add up)");
        w.Open($"for (int iy = 0; iy < {H}; iy++)");
        w.Open($"for (int ix = 0; ix < {W}; ix++)");
        w.Line($"ref {t} row = ref Unsafe.Add(ref colT, (iy * {W} + ix) * {Jn});");
        // Each value added once, in the scalar order's place, on the vector path too: the same bits.
        WindowRows(w, c, l, "ys", "from",
            vector: v => $"(global::System.Runtime.Intrinsics.Vector128.LoadUnsafe(ref line, {v}) + global::System.Runtime.Intrinsics.Vector128.LoadUnsafe(ref from, {v})).StoreUnsafe(ref line, {v});",
            scalar: "Unsafe.Add(ref line, v) += Unsafe.Add(ref from, v);",
            vectorNote: "", lineNote: "   // line[v] is y[f, oy, ox]");
        w.Close(); w.Close();
        w.Close();
        w.Close();
        w.Line();

        // ---- backward: im2col of ∂E/∂y (one sample) ----
        if (DeltaByRows(l))
        {
            w.Line($"/// <summary>{name}: dcol[(f, u, v), p] = ∂E/∂y[f, iy·{S} − {l.PadH} + u, ix·{S} − {l.PadW} + v] of sample n at p = (iy, ix) (0 outside the output): rows of {Pn} positions.</summary>");
            w.Open($"private void {name}DeltaColumns(int n, ref {t} colT)");
            w.Line($"ref {t} d = ref {dy}[n * {outSize}];");
            w.Open($"for (int f = 0; f < {F}; f++)");
            w.Open($"for (int u = 0; u < {K}; u++)");
            w.Open($"for (int v = 0; v < {K}; v++)");
            w.Line($"ref {t} row = ref Unsafe.Add(ref colT, ((f * {K} + u) * {K} + v) * {Pn});");
            w.Open($"for (int iy = 0; iy < {H}; iy++)");
            w.Line($"int oy = iy * {S} - {l.PadH} + u;");
            w.Line($"ref {t} at = ref Unsafe.Add(ref row, iy * {W});");
            w.Open($"if ((uint)oy >= {OH}u)");
            w.Line($"global::System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref at, {W}).Clear();");
            w.Line("continue;");
            w.Close();
            w.Line($"ref {t} line = ref Unsafe.Add(ref d, (f * {OH} + oy) * {OW} + v - {l.PadW});   // line[ix·{S}] is ∂E/∂y[f, oy, ix·{S} + v − {l.PadW}]");
            w.Line($"for (int ix = 0; ix < {W}; ix++) Unsafe.Add(ref at, ix) = (uint)(ix * {S} + v - {l.PadW}) < {OW}u ? Unsafe.Add(ref line, ix * {S}) : {c.Lit(0)};");
            w.Close(); w.Close(); w.Close(); w.Close();
            w.Close();
            w.Line();
        }
        else
        {
        w.Line($"/// <summary>{name}: dcolᵀ[p, (f, u, v)] = ∂E/∂y[f, iy·{S} − {l.PadH} + u, ix·{S} − {l.PadW} + v] of sample n (0 outside the output).</summary>");
        w.Open($"private void {name}DeltaColumns(int n, ref {t} colT)");
        w.Line($"ref {t} d = ref {dy}[n * {outSize}];");
        w.Open($"for (int iy = 0; iy < {H}; iy++)");
        w.Open($"for (int ix = 0; ix < {W}; ix++)");
        w.Line($"ref {t} row = ref Unsafe.Add(ref colT, (iy * {W} + ix) * {Jn});");
        WindowRows(w, c, l, "d", "to",
            vector: v => $"global::System.Runtime.Intrinsics.Vector128.LoadUnsafe(ref line, {v}).StoreUnsafe(ref to, {v});",
            scalar: "Unsafe.Add(ref to, v) = Unsafe.Add(ref line, v);",
            vectorNote: "   // a window row inside ∂E/∂y: K values copied by 128-bit vectors", lineNote: "",
            cutWindow: $"if (u1 - u0 < {K} || v1 - v0 < {K}) global::System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref row, {Jn}).Clear();   // a window cut by the border");
        w.Close(); w.Close();
        w.Close();
        w.Line();
        }

        // ---- backward, threads over samples: dcolᵀ (kept for the weight gradient when it fits) and ∂E/∂x ----
        w.Line($"/// <summary>{name} backward for part <paramref name=\"part\"/> of <paramref name=\"parts\"/> of the samples: their dcolᵀ (into the batch cache when");
        w.Line("/// there is one) and their ∂E/∂x.</summary>");
        w.Open($"private void {name}InputGradientPart(int part, int parts)");
        w.Line("(int n0, int n1) = global::NetGen.Parallelism.Range(_batch, parts, part);");
        w.Line($"bool cache = _colTBatch{l.Index}.Length > 0;");
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"ref {t} colT = ref cache ? ref _colTBatch{l.Index}[n * {size}] : ref _colT{l.Index}[part * {size}];");
        w.Line($"{name}DeltaColumns(n, ref colT);");
        w.Line($"{(l.Index == 0 ? $"if (_wantInput{l.Index}) " : "")}{name}InputGradient(ref _p[{l.WeightOffset}], ref colT, ref {dx}[n * {inSize}], 0, {C}, 0, {Pn});");
        w.Close();
        w.Close();
        w.Line();

        // ---- backward, threads over weight rows: ∂E/∂w summed over every sample in order ----
        w.Line($"/// <summary>{name} ∂E/∂w for the weight rows c of part <paramref name=\"part\"/> of <paramref name=\"parts\"/> (multiples of {WeightRows}), every");
        w.Line("/// sample added in order: the same sums whatever the number of parts.</summary>");
        w.Open($"private void {name}WeightGradientPart(int part, int parts)");
        w.Line($"(int m0, int m1) = global::NetGen.Parallelism.Range({C}, parts, part, {WeightRows});");
        w.Line("if (m0 >= m1) return;");
        w.Line($"bool cache = _colTBatch{l.Index}.Length > 0;");
        w.Open("for (int n = 0; n < _batch; n++)");
        w.Line($"ref {t} colT = ref cache ? ref _colTBatch{l.Index}[n * {size}] : ref _colT{l.Index}[part * {size}];");
        w.Line($"if (!cache) {name}DeltaColumns(n, ref colT);");
        w.Line($"{name}WeightGradient(ref {x}[n * {inSize}], ref colT, ref _g[{l.WeightOffset}], m0, m1, 0, {Jn});");
        w.Close();
        w.Close();
        w.Line();

        GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
        {
            Method = name + "Columns",
            Summary = $"{name} forward, one sample: colᵀ[p, j] = Σ_c x[c, p]·w[c, j] for input positions m0 ≤ p &lt; m1 and j = (f, u, v) in n0 ≤ j &lt; n1 ({C} channels).",
            N = Jn, K = C, AName = "x", BName = "w", CName = "colT",
            LdA = 1, AStepK = Pn, LdB = Jn, LdC = Jn,
            Mode = GemmEmitter.Mode.Assign,
            MR = 8, NV = 3, Pack = false, M = Pn,
        });
        if (DeltaByRows(l))
        {
            GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
            {
                Method = name + "InputGradient",
                Summary = $"{name} ∂E/∂x, one sample: dx[c, p] = Σ_j w[c, j]·dcol[j, p] for channels m0 ≤ c &lt; m1 and positions n0 ≤ p &lt; n1 ({Jn} values j).",
                N = Pn, K = Jn, AName = "w", BName = "colT", CName = "dx",
                LdA = Jn, AStepK = 1, LdB = Pn, LdC = Pn,
                Mode = GemmEmitter.Mode.Assign,
                MR = 8, NV = 3, Pack = false, M = C,
            });
            GemmEmitter.Dot(w, c, new GemmEmitter.Product
            {
                Method = name + "WeightGradient",
                Summary = $"{name} ∂E/∂w, one sample: g[c, j] += Σ_p x[c, p]·dcol[j, p] for channels m0 ≤ c &lt; m1 and j in n0 ≤ j &lt; n1 ({Pn} positions).",
                N = Jn, K = Pn, AName = "x", BName = "colT", CName = "g",
                LdA = Pn, LdB = Pn, LdC = Jn,
                Mode = GemmEmitter.Mode.Accumulate,
                MR = 4, NV = 4, M = C,
            });
            return;
        }
        GemmEmitter.Dot(w, c, new GemmEmitter.Product
        {
            Method = name + "InputGradient",
            Summary = $"{name} ∂E/∂x, one sample: dx[c, p] = Σ_j w[c, j]·dcolᵀ[p, j] for channels m0 ≤ c &lt; m1 and positions n0 ≤ p &lt; n1 ({Jn} values j).",
            N = Pn, K = Jn, AName = "w", BName = "colT", CName = "dx",
            LdA = Jn, LdB = Jn, LdC = Pn,
            Mode = GemmEmitter.Mode.Assign,
            MR = 4, NV = 4, M = C,
        });
        GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
        {
            Method = name + "WeightGradient",
            Summary = $"{name} ∂E/∂w, one sample: g[c, j] += Σ_p x[c, p]·dcolᵀ[p, j] for channels m0 ≤ c &lt; m1 and j in n0 ≤ j &lt; n1 ({Pn} positions).",
            N = Jn, K = Pn, AName = "x", BName = "colT", CName = "g",
            LdA = Pn, LdB = Jn, LdC = Jn,
            Mode = GemmEmitter.Mode.Accumulate,
            MR = WeightRows, NV = 3, Pack = false, M = C,
        });
    }

    // ---- GPU (ILGPU) ------------------------------------------------------------------------------------------------
    // Gathers instead of the CPU's scatter (no atomics): output (f, oy, ox) sums the input positions iy with
    // iy·S − P + u = oy, i.e. u ≡ oy + P (mod S); ∂E/∂x is Conv2D's forward over ∂E/∂y; ∂E/∂w is summed per sample group,
    // then per weight in group order, by Conv2D's code (Conv2DEmitter.GpuWeightGradient, only the terms differ).

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
        string t = c.T;
        var weightGradient = Conv2DEmitter.GpuWeightGradient(g, l, Po,
            $"the sum over samples n ≡ group (mod groups) and input positions of x[n, c, iy, ix]·δ[n, f, iy·{S} − {l.PadH} + u, ix·{S} − {l.PadW} + v] for weight k = (c, f, u, v)",
            "δ[n, f, ·]", w =>
            {
                w.Line($"int ch = k / {F * KH * KW}, f = k / {KH * KW} - ch * {F}, u = k / {KW} - k / {KH * KW} * {KH}, v = k - k / {KW} * {KW};");
                w.Open("for (int n = group; n < batch; n += groups)");
                w.Open($"for (int iy = 0; iy < {H}; iy++)");
                w.Line($"int oy = iy * {S} - {l.PadH} + u;");
                w.Line($"if (oy < 0 || oy >= {OH}) continue;");
                w.Open($"for (int ix = 0; ix < {W}; ix++)");
                w.Line($"int ox = ix * {S} - {l.PadW} + v;");
                w.Line($"if (ox >= 0 && ox < {OW}) Accumulate(ref sum, ref carry, x[n * {C * Pi} + ch * {Pi} + iy * {W} + ix] * dy[(n * {F} + f) * {Po} + oy * {OW} + ox]);");
                w.Close(); w.Close(); w.Close();
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
        Conv2DEmitter.GpuLaunchBackward(g, l, weightGradient, inputField);
    }
}
