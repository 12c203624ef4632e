using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Pooling over k × k windows of each channel, stride s, no padding.
/// MaxPool  forward y = max of the window, remembering where it was;
///          backward the max gate is a gradient router: ∂E/∂x at the arg-max += ∂E/∂y, 0 elsewhere.
/// AvgPool  forward y = mean of the window;  backward every input of the window gets ∂E/∂y / k².
/// Overlapping windows (s &lt; k) add their shares.
/// </summary>
internal sealed class PoolEmitter : LayerEmitter
{
    public static readonly PoolEmitter Instance = new();

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (layer.Kind == LayerKind.MaxPool)
            w.Line($"private readonly int[] _argmax{layer.Index};   // {layer.PascalName}: index of each window's maximum in its input sample");
    }

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (layer.Kind == LayerKind.MaxPool) w.Line($"_argmax{layer.Index} = new int[maxBatch * {layer.OutputSize}];");
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        bool max = l.Kind == LayerKind.MaxPool;
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, K = l.KernelH, S = l.Stride;
        if (FusedIntoConv(c, l))
        {
            w.Line($"// Layer {l.Index}: {l.PascalName} {K}×{K}, stride {S} ({C}×{H}×{W} → {C}×{OH}×{OW}): computed by layer {l.Index - 2}'s per-sample parts (fused)");
            return;
        }
        w.Line($"// Layer {l.Index}: {l.PascalName} {K}×{K}, stride {S} ({C}×{H}×{W} → {C}×{OH}×{OW}): y = {(max ? "max" : "mean")} of each window");
        w.Open("for (int n = 0; n < batch; n++)");
        if (max && VectorMax2x2(c, l))
        {
            VectorMaxForward(w, c, l);
            w.Close();
            return;
        }
        w.Line($"ref {c.T} x = ref {EmitContext.A(l.Index)}[n * {l.InputSize}];");
        w.Line($"ref {c.T} y = ref {EmitContext.A(l.Index + 1)}[n * {l.OutputSize}];");
        if (max) w.Line($"ref int arg = ref _argmax{l.Index}[n * {l.OutputSize}];");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Open($"for (int oy = 0; oy < {OH}; oy++)");
        w.Open($"for (int ox = 0; ox < {OW}; ox++)");
        w.Line($"int first = ch * {H * W} + oy * {S * W} + ox * {S};");
        w.Line($"int o = ch * {OH * OW} + oy * {OW} + ox;");
        string add = "global::System.Runtime.CompilerServices.Unsafe.Add";
        // The window's offsets from its first value, unrolled for small windows.
        var offsets = new System.Collections.Generic.List<int>();
        for (int u = 0; u < K; u++) for (int v = 0; v < K; v++) offsets.Add(u * W + v);
        bool unroll = K * K <= 9;
        if (max)
        {
            // Branch-free: comparisons on real data are not predictable. A value is taken when it is above the maximum so
            // far or NaN, so a NaN anywhere in the window is the result, as PyTorch's max_pool2d gives (its test is the
            // same: val > max || isnan(val)); MaxNative's maxss kept or dropped it depending on its position.
            w.Line($"int best = first; {c.T} m = {add}(ref x, first);");
            if (unroll)
                foreach (int d in offsets.Skip(1))
                    w.Line($"{{ {c.T} xv = {add}(ref x, first + {d}); bool above = xv > m || {c.T}.IsNaN(xv); best += (first + {d} - best) & -(above ? 1 : 0); m = above ? xv : m; }}");
            else
                w.Line($"for (int u = 0; u < {K}; u++) for (int v = 0; v < {K}; v++) {{ int at = first + u * {W} + v; {c.T} xv = {add}(ref x, at); bool above = xv > m || {c.T}.IsNaN(xv); m = above ? xv : m; best = above ? at : best; }}");
            w.Line($"{add}(ref y, o) = m;");
            w.Line($"{add}(ref arg, o) = best;");
        }
        else
        {
            if (unroll)
                w.Line($"{c.T} sum = " + string.Join(" + ", offsets.Select(d => $"{add}(ref x, first + {d})")) + ";");
            else
            {
                w.Line($"{c.T} sum = {c.Lit(0)};");
                w.Line($"for (int u = 0; u < {K}; u++) for (int v = 0; v < {K}; v++) sum += {add}(ref x, first + u * {W} + v);");
            }
            w.Line($"{add}(ref y, o) = sum * {c.Lit(1.0 / (K * K))};");
        }
        w.Close(); w.Close(); w.Close(); w.Close();
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        bool max = l.Kind == LayerKind.MaxPool;
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, K = l.KernelH, S = l.Stride;
        if (FusedIntoConv(c, l))
        {
            w.Line($"// Layer {l.Index}: {l.PascalName} backward: computed by layer {l.Index - 2}'s per-sample parts with layer {l.Index - 1}'s ReLU backward (fused)");
            return;
        }
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: " + (max ? "route ∂E/∂y to each window's arg-max" : $"share ∂E/∂y equally, 1/{K * K} to each input of the window"));
        w.Open("for (int n = 0; n < batch; n++)");
        if (max && VectorMaxTiles(c, l))
        {
            VectorMaxBackward(w, c, l, relu: null);
            w.Close();
            if (l.Index == 0) w.Close();
            return;
        }
        w.Line($"global::System.ReadOnlySpan<{c.T}> dy = {EmitContext.D(l.Index + 1)}.AsSpan(n * {l.OutputSize}, {l.OutputSize});");
        w.Line($"global::System.Span<{c.T}> dx = {EmitContext.D(l.Index)}.AsSpan(n * {l.InputSize}, {l.InputSize});");
        w.Line("dx.Clear();");
        if (max)
        {
            w.Line($"global::System.ReadOnlySpan<int> arg = _argmax{l.Index}.AsSpan(n * {l.OutputSize}, {l.OutputSize});");
            w.Line($"for (int o = 0; o < {l.OutputSize}; o++) dx[arg[o]] += dy[o];");
        }
        else
        {
            w.Open($"for (int ch = 0; ch < {C}; ch++)");
            w.Open($"for (int oy = 0; oy < {OH}; oy++)");
            w.Open($"for (int ox = 0; ox < {OW}; ox++)");
            w.Line($"int first = ch * {H * W} + oy * {S * W} + ox * {S};");
            w.Line($"{c.T} share = dy[ch * {OH * OW} + oy * {OW} + ox] * {c.Lit(1.0 / (K * K))};");
            w.Line($"for (int u = 0; u < {K}; u++) for (int v = 0; v < {K}; v++) dx[first + u * {W} + v] += share;");
            w.Close(); w.Close(); w.Close();
        }
        w.Close();
        if (l.Index == 0) w.Close();
    }

    /// <summary>Whether the Conv2D layer two before this one (with the ReLU between) runs this layer's passes sample by
    /// sample (Conv2DEmitter.FusedReLUPool).</summary>
    private static bool FusedIntoConv(EmitContext c, LayerPlan l) =>
        l.Index >= 2 && Conv2DEmitter.FusedReLUPool(c, c.Plan.Layers[l.Index - 2]) == l;

    /// <summary>2×2 max pooling, stride 2, float, at least 4 windows across: the vector forward pass.</summary>
    private static bool VectorMax2x2(EmitContext c, LayerPlan l) =>
        c.T == "float" && l.KernelH == 2 && l.KernelW == 2 && l.Stride == 2 && l.OutW >= 4;

    /// <summary>2×2 max pooling, stride 2, float, windows tiling the input (even height and width) at least 8 values
    /// across: the vector backward pass.</summary>
    internal static bool VectorMaxTiles(EmitContext c, LayerPlan l) =>
        c.T == "float" && l.KernelH == 2 && l.KernelW == 2 && l.Stride == 2 && l.InH == 2 * l.OutH && l.InW == 2 * l.OutW && l.InW >= 8;

    private const string Vec = "global::System.Runtime.Intrinsics.Vector256", Vec128 = "global::System.Runtime.Intrinsics.Vector128";

    /// <summary>Eight windows of one output row at a time (four, with Vector128, when the row has fewer than eight): each
    /// input row's values are split into even and odd columns (the windows' left and right values), then the window is
    /// scanned in the scalar order (x[0], x[1], x[W], x[W+1]) with y = x &gt; m or x NaN ? x : m and the arg-max moved on the
    /// same comparison: the scalar kernel's results exactly. The last block of a row overlaps the one before it and
    /// recomputes the same values.</summary>
    internal static void VectorMaxForward(CodeWriter w, EmitContext c, LayerPlan l, bool? wide = null)
    {
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW;
        w.Line($"ref {c.T} xr = ref {EmitContext.A(l.Index)}[n * {l.InputSize}];");
        w.Line($"ref {c.T} yr = ref {EmitContext.A(l.Index + 1)}[n * {l.OutputSize}];");
        w.Line($"ref int argr = ref _argmax{l.Index}[n * {l.OutputSize}];");
        int L = OW >= 8 ? 8 : 4;
        string V = L == 8 ? Vec : Vec128;
        // Blocks at 0, L, 2L, … (a loop when there are more than two), then one ending at OW when L does not divide it.
        var starts = new System.Collections.Generic.List<string>();
        if (OW / L > 2) starts.Add("s"); else for (int s = 0; s + L <= OW; s += L) starts.Add(s.ToString());
        if (OW % L != 0) starts.Add((OW - L).ToString());
        w.Line($"{Vec}<int> evenOdd = {Vec}.Create(0, 2, 4, 6, 1, 3, 5, 7);");
        w.Line(L == 8 ? $"{V}<int> windowColumns = {V}.Create(0, 2, 4, 6, 8, 10, 12, 14);" : $"{V}<int> windowColumns = {V}.Create(0, 2, 4, 6);");
        // Even and odd columns of a row's 2·L values starting at an offset from first.
        string Halves(string even, string odd, int offset) => L == 8
            ? $"a = {Vec}.Shuffle({Vec}.LoadUnsafe(ref xr, (nuint)(first + {offset})), evenOdd); b = {Vec}.Shuffle({Vec}.LoadUnsafe(ref xr, (nuint)(first + {offset + 8})), evenOdd); " +
              $"{V}<float> {even} = {Vec}.Create({Vec}.GetLower(a), {Vec}.GetLower(b)), {odd} = {Vec}.Create({Vec}.GetUpper(a), {Vec}.GetUpper(b));"
            : $"a = {Vec}.Shuffle({Vec}.LoadUnsafe(ref xr, (nuint)(first + {offset})), evenOdd); " +
              $"{V}<float> {even} = {Vec}.GetLower(a), {odd} = {Vec}.GetUpper(a);";
        void Rows()
        {
            foreach (string s in starts)
            {
                w.Open(s == "s" ? $"for (int s = 0; s <= {OW - L}; s += {L})" : "");
                w.Line($"int first = ch * {H * W} + oy * {2 * W} + {(s == "s" ? "2 * s" : (2 * int.Parse(s)).ToString())}, o = ch * {OH * OW} + oy * {OW} + {s};");
                w.Line(L == 8 ? $"{Vec}<float> a, b;" : $"{Vec}<float> a;");
                w.Line(Halves("m", "right", 0));
                w.Line(Halves("below", "belowRight", W));
                CompareAndStore(w, V, "windowColumns", W);
                w.Close();
            }
        }
        ByWidth(w, l, wide, "store", () => WideForward(w, l), Rows);
    }

    /// <summary>The window rows of a sample, (ch, oy) for the 256-bit <paramref name="rows"/>: after the Vector512 blocks
    /// (which leave wg at the first row not done) where <see cref="Wide"/>, else all of them. <paramref name="wide"/>: null
    /// where the code runs on either path (a JIT-time test picks the blocks), true in a Vector512 twin, false in the
    /// 256-bit method a twin takes over from (the same bits either way).</summary>
    private static void ByWidth(CodeWriter w, LayerPlan l, bool? wide, string blockAccess, System.Action wideBlocks, System.Action rows)
    {
        int C = l.InC, OH = l.OutH;
        bool blocks = Wide(l) && wide != false, both = blocks && wide is null;
        if (blocks)
        {
            if (both) w.Open($"if ({Vec512}.IsHardwareAccelerated)   // a JIT-time constant: full-width AVX-512 runs the Vector512 blocks");
            wideBlocks();
            w.Line($"for (; wg < {C * OH}; wg++)   // the last rows: 256-bit blocks (a 512-bit block's {blockAccess} would pass the sample's end)");
            w.Open("");
            w.Line($"int ch = wg / {OH}, oy = wg - ch * {OH};");
            rows();
            w.Close();
            if (!both) return;
            w.Close();
            w.Open("else");
        }
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Open($"for (int oy = 0; oy < {OH}; oy++)");
        rows();
        w.Close(); w.Close();
        if (both) w.Close();
    }

    private const string Vec512 = "global::System.Runtime.Intrinsics.Vector512", Avx512 = "global::System.Runtime.Intrinsics.X86.Avx512F";

    /// <summary>The Vector512 blocks apply to 2×2 windows that tile the input (even height and width) with at most 16
    /// windows across: a block is R = ⌊16 / OW⌋ whole window rows (the sample's channels one after another: window row g,
    /// of channel g / OH, reads input rows 2g and 2g + 1), so narrow rows (LeNet's 14 and 5 windows) still fill most lanes.</summary>
    internal static bool Wide(LayerPlan l) => l.InH == 2 * l.OutH && l.InW == 2 * l.OutW && l.OutW <= 16;

    /// <summary>The window rows per Vector512 block (<see cref="Wide"/>).</summary>
    private static int WideRows(LayerPlan l) => 16 / l.OutW;

    /// <summary>The last window row at which a Vector512 block starts: its 16 outputs (∂E/∂y, arg-max) end within the
    /// sample (−1, no block, when the sample has fewer than 16 outputs: C# division would round −0.5 up to 0).</summary>
    private static int WideLastStart(LayerPlan l) => l.OutputSize < 16 ? -1 : (l.OutputSize - 16) / l.OutW;

    /// <summary>Where a block's 16-value vectors start in its R·2W input values: each row's whole vectors and one ending
    /// at the row's end (rows of 16 values or more), else whole vectors and one ending at the block's end.</summary>
    private static int[] WideOffsets(LayerPlan l, bool rows)
    {
        int W = l.InW, span = WideRows(l) * 2 * W;
        var offsets = new System.Collections.Generic.List<int>();
        if (rows && W >= 16)
            for (int r = 0; r < 2 * WideRows(l); r++)
                for (int k = 0; k < (W + 15) / 16; k++) offsets.Add(r * W + System.Math.Min(16 * k, W - 16));
        else
            for (int i = 0; i < (span + 15) / 16; i++) offsets.Add(System.Math.Min(16 * i, span - 16));
        return offsets.Distinct().ToArray();
    }

    private static string Ints(System.Collections.Generic.IEnumerable<int> values) => $"{Vec512}.Create({string.Join(", ", values)})";

    /// <summary>A vector whose lane j is the input value at block position <paramref name="positions"/>[j] (−1: any
    /// value), from the loaded vectors v0, v1, … at <paramref name="offsets"/>: one permute of one vector, or of a pair
    /// (vpermt2ps), or two pairs' permutes blended. Exact: lanes are only moved.</summary>
    private static string Gather(int[] positions, int[] offsets)
    {
        int n = offsets.Length;
        bool In(int p, int v) => p >= offsets[v] && p < offsets[v] + 16;
        bool Covers(int[] vs, System.Func<int, bool> lane) => Enumerable.Range(0, 16).All(j => positions[j] < 0 || !lane(j) || vs.Any(v => In(positions[j], v)));
        string Permute(int a, int b, System.Func<int, bool> lane)
        {
            var idx = Enumerable.Range(0, 16).Select(j => positions[j] < 0 || !lane(j) ? 0 : In(positions[j], a) ? positions[j] - offsets[a] : 16 + positions[j] - offsets[b]);
            return a == b ? $"{Vec512}.Shuffle(v{a}, {Ints(idx)})" : $"{Avx512}.PermuteVar16x32x2(v{a}, {Ints(idx)}, v{b})";
        }
        for (int a = 0; a < n; a++)
            for (int b = a; b < n; b++)
                if (Covers(new[] { a, b }, _ => true)) return Permute(a, b, _ => true);
        for (int a = 0; a < n; a++)
            for (int b = a; b < n; b++)
                for (int c = 0; c < n; c++)
                    for (int d = c; d < n; d++)
                    {
                        // Lanes the first pair holds come from it, the others from the second.
                        int[] first = { a, b }, second = { c, d };
                        bool FromFirst(int j) => positions[j] >= 0 && first.Any(v => In(positions[j], v));
                        if (!Covers(second, j => !FromFirst(j))) continue;
                        string mask = Ints(Enumerable.Range(0, 16).Select(j => positions[j] < 0 || FromFirst(j) ? 0 : -1));
                        return $"{Vec512}.ConditionalSelect({Vec512}.AsSingle({mask}), {Permute(c, d, j => !FromFirst(j))}, {Permute(a, b, FromFirst)})";
                    }
        throw new System.InvalidOperationException("pooling block wider than four vectors");   // unreachable: R·2W ≤ 64
    }

    /// <summary>The forward pass's Vector512 blocks (<see cref="Wide"/>), window rows wg = 0, R, 2R, … while a block's 16
    /// outputs end within the sample; leaves wg at the first row not done. Each block loads its R·2W input values as at
    /// most four vectors and permutes each window's four values into place (lanes past the block's R·OW windows compute
    /// values that the next block or row overwrites), then runs the 256-bit blocks' comparisons in the same order: the
    /// same bits and arg-max.</summary>
    private static void WideForward(CodeWriter w, LayerPlan l)
    {
        int W = l.InW, OW = l.OutW, R = WideRows(l);
        int[] offsets = WideOffsets(l, rows: true);
        int[] Positions(int shift) => Enumerable.Range(0, 16).Select(j => j < R * OW ? j / OW * 2 * W + j % OW * 2 + shift : -1).ToArray();
        w.Line($"{Vec512}<int> wideColumns = {Ints(Enumerable.Range(0, 16).Select(j => j / OW * 2 * W + j % OW * 2))};   // each window's first input, from the block's first");
        w.Line("int wg = 0;");
        w.Open($"for (; wg <= {WideLastStart(l)}; wg += {R})   // {R} window row{(R > 1 ? "s" : "")} of {OW} at a time");
        w.Line($"int first = wg * {2 * W}, o = wg * {OW};");
        w.Line($"{Vec512}<float> " + string.Join(", ", offsets.Select((off, i) => $"v{i} = {Vec512}.LoadUnsafe(ref xr, (nuint)(first + {off}))")) + ";");
        w.Line($"{Vec512}<float> m = {Gather(Positions(0), offsets)};");
        w.Line($"{Vec512}<float> right = {Gather(Positions(1), offsets)};");
        w.Line($"{Vec512}<float> below = {Gather(Positions(W), offsets)};");
        w.Line($"{Vec512}<float> belowRight = {Gather(Positions(W + 1), offsets)};");
        CompareAndStore(w, Vec512, "wideColumns", W);
        w.Close();
    }

    /// <summary>A block's comparisons and stores, the same at both widths (<paramref name="V"/>: Vector256 or Vector512):
    /// the window's values m (top left), right, below and belowRight compared in the scalar kernel's order, y = x &gt; m
    /// or x NaN ? x : m, the arg-max moved on the same comparison (<paramref name="columns"/>: each lane's first input
    /// from the block's first); then y and the arg-max stored at o.</summary>
    private static void CompareAndStore(CodeWriter w, string V, string columns, int W)
    {
        w.Line($"{V}<int> at = {V}.Create(first) + {columns}, best = at;");
        w.Line($"{V}<float> above = {V}.GreaterThan(right, m) | {V}.IsNaN(right); m = {V}.ConditionalSelect(above, right, m); best = {V}.ConditionalSelect({V}.AsInt32(above), at + {V}.Create(1), best);");
        w.Line($"above = {V}.GreaterThan(below, m) | {V}.IsNaN(below); m = {V}.ConditionalSelect(above, below, m); best = {V}.ConditionalSelect({V}.AsInt32(above), at + {V}.Create({W}), best);");
        w.Line($"above = {V}.GreaterThan(belowRight, m) | {V}.IsNaN(belowRight); m = {V}.ConditionalSelect(above, belowRight, m); best = {V}.ConditionalSelect({V}.AsInt32(above), at + {V}.Create({W + 1}), best);");
        w.Line($"{V}.StoreUnsafe(m, ref yr, (nuint)o);");
        w.Line($"{V}.StoreUnsafe(best, ref argr, (nuint)o);");
    }

    /// <summary>Windows that tile the input (no overlap, no leftover row or column): every input value is written once,
    /// ∂E/∂y of its window where it was the arg-max and 0 elsewhere, eight inputs of each of a window row's two input rows at
    /// a time (the four windows' ∂E/∂y and arg-max loaded and duplicated into adjacent lanes once for both rows), so there
    /// is no clearing and no scatter. (∂E/∂y + 0 is the scalar kernel's 0 + ∂E/∂y: −0 becomes +0 as there.)</summary>
    /// <remarks>With <paramref name="relu"/> (the ReLU before this layer, whose convolution runs it): ∂E/∂ of the ReLU's input
    /// directly, ∂E/∂y routed to the arg-max only where the window's maximum is positive. The ReLU's output is
    /// max(x, 0), so its maximum is positive exactly when x at the arg-max is, and every value equals ReLU backward
    /// applied to this layer's result; the pass over the ReLU's input and this layer's ∂E/∂x is saved.</remarks>
    internal static void VectorMaxBackward(CodeWriter w, EmitContext c, LayerPlan l, LayerPlan? relu, bool? wide = null)
    {
        int C = l.InC, H = l.InH, W = l.InW, OW = l.OutW;
        // Blocks at 0, 8, 16, … (a loop when there are more than two), then one ending at W (even: W = 2·OW).
        var starts = new System.Collections.Generic.List<string>();
        if (W / 8 > 2) starts.Add("s"); else for (int s = 0; s + 8 <= W; s += 8) starts.Add(s.ToString());
        if (W % 8 != 0) starts.Add((W - 8).ToString());
        w.Line($"ref {c.T} dyr = ref {EmitContext.D(l.Index + 1)}[n * {l.OutputSize}];");
        w.Line($"ref {c.T} dxr = ref {EmitContext.D(relu?.Index ?? l.Index)}[n * {l.InputSize}];");
        w.Line($"ref int argr = ref _argmax{l.Index}[n * {l.OutputSize}];");
        if (relu is not null) w.Line($"ref {c.T} yr = ref {EmitContext.A(l.Index + 1)}[n * {l.OutputSize}];");
        w.Line($"{Vec}<int> twice = {Vec}.Create(0, 0, 1, 1, 2, 2, 3, 3), positions = {Vec}.Create(0, 1, 2, 3, 4, 5, 6, 7);");
        void Rows()
        {
            w.Line($"int row = ch * {H * W} + oy * {2 * W}, o = ch * {l.OutH * OW} + oy * {OW};   // the window row's two input rows start at row and row + {W}");
            foreach (string s in starts)
            {
                string half = s == "s" ? "(s >> 1)" : (int.Parse(s) / 2).ToString();
                w.Line((s == "s" ? $"for (int s = 0; s <= {W - 8}; s += 8) " : "") +
                       $"{{ {Vec}<float> g = {Vec}.Shuffle({Vec128}.ToVector256Unsafe({Vec128}.LoadUnsafe(ref dyr, (nuint)(o + {half}))), twice) + {Vec}<float>.Zero; " +
                       // ReLU backward from its formula, with x's sign read from the window's maximum of y = max(x, 0).
                       (relu is null ? "" : $"g = {ActivationEmitter.Vector(c, ActivationEmitter.Formula(relu).Backward, relu, $"{Vec}.Shuffle({Vec128}.ToVector256Unsafe({Vec128}.LoadUnsafe(ref yr, (nuint)(o + {half}))), twice)", "", "g", Vec)}; ") +
                       $"{Vec}<int> win = {Vec}.Shuffle({Vec128}.ToVector256Unsafe({Vec128}.LoadUnsafe(ref argr, (nuint)(o + {half}))), twice), at = {Vec}.Create(row + {s}) + positions; " +
                       $"{Vec}.StoreUnsafe({Vec}.ConditionalSelect({Vec}.AsSingle({Vec}.Equals(win, at)), g, {Vec}<float>.Zero), ref dxr, (nuint)(row + {s})); " +
                       $"{Vec}.StoreUnsafe({Vec}.ConditionalSelect({Vec}.AsSingle({Vec}.Equals(win, at + {Vec}.Create({W}))), g, {Vec}<float>.Zero), ref dxr, (nuint)(row + {W} + {s})); }}");
            }
        }
        ByWidth(w, l, wide, "loads", () => WideBackward(w, c, l, relu), Rows);
    }

    /// <summary>The backward pass's Vector512 blocks (<see cref="Wide"/>), window rows wg = 0, R, 2R, … while a block's
    /// 16 ∂E/∂y and arg-max values end within the sample; leaves wg at the first row not done. A block loads the R·OW
    /// windows' ∂E/∂y (with the ReLU's backward applied lane by lane, as the 256-bit blocks do after duplicating) and
    /// arg-max once, then writes its R·2W input values 16 at a time, each lane permuted from its window: ∂E/∂y where the
    /// lane is the arg-max, else 0. The same bits as the 256-bit blocks.</summary>
    private static void WideBackward(CodeWriter w, EmitContext c, LayerPlan l, LayerPlan? relu)
    {
        int W = l.InW, OW = l.OutW, R = WideRows(l);
        int[] offsets = WideOffsets(l, rows: false);
        string V = Vec512;
        for (int i = 0; i < offsets.Length; i++)
            w.Line($"{V}<int> windows{i} = {Ints(Enumerable.Range(0, 16).Select(k => (offsets[i] + k) / W / 2 * OW + (offsets[i] + k) % W / 2))};   // the window of each of the 16 inputs at {offsets[i]}");
        w.Line($"{V}<int> widePositions = {Ints(Enumerable.Range(0, 16))};");
        w.Line("int wg = 0;");
        w.Open($"for (; wg <= {WideLastStart(l)}; wg += {R})   // {R} window row{(R > 1 ? "s" : "")} of {OW}: {R * 2 * W} inputs at a time");
        w.Line($"int row = wg * {2 * W}, o = wg * {OW};");
        w.Line($"{V}<float> g = {V}.LoadUnsafe(ref dyr, (nuint)o) + {V}<float>.Zero;");
        if (relu is not null)
            w.Line($"g = {ActivationEmitter.Vector(c, ActivationEmitter.Formula(relu).Backward, relu, $"{V}.LoadUnsafe(ref yr, (nuint)o)", "", "g", V)};");
        w.Line($"{V}<int> win = {V}.LoadUnsafe(ref argr, (nuint)o);");
        for (int i = 0; i < offsets.Length; i++)
            w.Line($"{V}.StoreUnsafe({V}.ConditionalSelect({V}.AsSingle({V}.Equals({V}.Shuffle(win, windows{i}), {V}.Create(row + {offsets[i]}) + widePositions)), {V}.Shuffle(g, windows{i}), {V}<float>.Zero), ref dxr, (nuint)(row + {offsets[i]}));");
        w.Close();
    }

    // ---- GPU (ILGPU) --------------------------------------------------------------------------------------------

    public override void GpuForward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        bool max = l.Kind == LayerKind.MaxPool;
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, K = l.KernelH, S = l.Stride;
        string? arg = max ? g.Buffer("_argmax" + l.Index, $"(long)maxBatch * {l.OutputSize}", $"{l.PascalName}: index of each window's maximum in its input sample", "int") : null;
        var parameters = max ? new[] { g.V("x"), g.V("y"), ("ArrayView<int>", "arg") } : new[] { g.V("x"), g.V("y") };
        string field = g.Kernel(l.PascalName + "Forward",
            $"{l.PascalName} forward for value i = (sample n, channel, oy, ox): the {(max ? "maximum (first on ties, remembered in arg)" : "mean")} of the {K}×{K} window at (oy·{S}, ox·{S})", parameters, w =>
        {
            w.Line($"int n = i / {l.OutputSize}, ch = i / {OH * OW} - n * {C}, at = i - (i / {OH * OW}) * {OH * OW}, oy = at / {OW}, ox = at - oy * {OW};");
            w.Line($"int sample = n * {l.InputSize}, first = ch * {H * W} + oy * {S * W} + ox * {S};");
            if (max)
            {
                w.Line($"int best = first; {c.T} m = x[sample + first];");
                w.Line($"for (int u = 0; u < {K}; u++) for (int v = 0; v < {K}; v++) {{ int at2 = first + u * {W} + v; {c.T} xv = x[sample + at2]; if (xv > m || {c.T}.IsNaN(xv)) {{ m = xv; best = at2; }} }}   // a NaN is the window's result, as in PyTorch");
                w.Line("y[i] = m;");
                w.Line("arg[i] = best;");
            }
            else
            {
                w.Line($"{c.T} sum = {c.Lit(0)};");
                w.Line($"for (int u = 0; u < {K}; u++) for (int v = 0; v < {K}; v++) sum += x[sample + first + u * {W} + v];");
                w.Line($"y[i] = sum * {c.Lit(1.0 / (K * K))};");
            }
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} {K}×{K}, stride {S} ({C}×{H}×{W} → {C}×{OH}×{OW})");
        if (max) g.Launch(field, $"batch * {l.OutputSize}", GpuWriter.A(l.Index), GpuWriter.A(l.Index + 1), arg!);
        else g.Launch(field, $"batch * {l.OutputSize}", GpuWriter.A(l.Index), GpuWriter.A(l.Index + 1));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        bool max = l.Kind == LayerKind.MaxPool;
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, K = l.KernelH, S = l.Stride;
        var parameters = max ? new[] { g.V("dy"), g.V("dx"), ("ArrayView<int>", "arg") } : new[] { g.V("dy"), g.V("dx") };
        string field = g.Kernel(l.PascalName + "Backward",
            $"{l.PascalName} backward for input value i = (sample n, channel, iy, ix): the sum over the windows containing it of " +
            (max ? "∂E/∂y where it was the arg-max" : $"∂E/∂y/{K * K}"), parameters, w =>
        {
            w.Line($"int n = i / {l.InputSize}, ch = i / {H * W} - n * {C}, at = i - (i / {H * W}) * {H * W}, iy = at / {W}, ix = at - iy * {W};");
            w.Line($"int oy0 = iy - {K - 1}, ox0 = ix - {K - 1};   // the windows (oy, ox) with oy·{S} ≤ iy < oy·{S} + {K}");
            w.Line($"oy0 = oy0 <= 0 ? 0 : (oy0 + {S - 1}) / {S}; ox0 = ox0 <= 0 ? 0 : (ox0 + {S - 1}) / {S};");
            w.Line($"int oy1 = iy / {S}, ox1 = ix / {S};");
            w.Line($"if (oy1 > {OH - 1}) oy1 = {OH - 1};");
            w.Line($"if (ox1 > {OW - 1}) ox1 = {OW - 1};");
            w.Line($"{c.T} sum = {c.Lit(0)};");
            w.Open("for (int oy = oy0; oy <= oy1; oy++)");
            w.Open("for (int ox = ox0; ox <= ox1; ox++)");
            w.Line($"int o = n * {l.OutputSize} + ch * {OH * OW} + oy * {OW} + ox;");
            w.Line(max ? $"if (arg[o] == ch * {H * W} + at) sum += dy[o];   // arg is the index within the sample" : $"sum += dy[o] * {c.Lit(1.0 / (K * K))};");
            w.Close(); w.Close();
            w.Line("dx[i] = sum;");
        });
        if (l.Index == 0) g.Host.Open("if (inputGradient)");
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} backward: " + (max ? "route ∂E/∂y to each window's arg-max (gathered per input value)" : $"share ∂E/∂y equally, 1/{K * K} to each input of the window"));
        if (max) g.Launch(field, $"batch * {l.InputSize}", GpuWriter.D(l.Index + 1), GpuWriter.D(l.Index), $"_argmax{l.Index}.View");
        else g.Launch(field, $"batch * {l.InputSize}", GpuWriter.D(l.Index + 1), GpuWriter.D(l.Index));
        if (l.Index == 0) g.Host.Close();
    }
}
