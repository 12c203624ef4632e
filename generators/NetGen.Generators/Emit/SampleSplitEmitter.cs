using System.Collections.Generic;
using System.Linq;
using NetGen.Generators.Emit.Layers;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// Convolutions that share one sample split (docs/threading.md). A chain of Conv2D layers, each fed by the one before
/// it directly or through the ReLU and max pooling that layer's per-sample parts compute (Conv2DEmitter.FusedReLU,
/// FusedReLUPool), with the same sample chunks (Conv2DEmitter.Chunks: the same literals), runs each pass as ONE split
/// instead of one per layer: a chunk's samples go up through every layer of the chain (forward), or down through every
/// layer (backward), on the thread that claimed the chunk. A sample's values do not depend on the other samples', so
/// the chain needs no barrier between its layers; each chunk's ∂E/∂w sums are the layer's own (the same fixed chunks,
/// added in chunk order after the split), so the results are the bits of the per-layer splits at any thread count.
/// One wake, one claim race and one wait for the slower thread per pass instead of one per layer (LeNet: 2 splits
/// per training step instead of 4).
/// Ops: the chain's forward is <c>Op(first, 2)</c>; the backward from member j down to the first is <c>Op(member j, 3)</c>
/// (j ≥ 1; from the first alone it is the layer's own backward op).
/// </summary>
internal static class SampleSplitEmitter
{
    /// <summary>The chain <paramref name="l"/> belongs to, first layer first; [l] when it shares no split (or is no
    /// Conv2D).</summary>
    public static IReadOnlyList<LayerPlan> Chain(EmitContext c, LayerPlan l)
    {
        if (!Chained(c, l)) return [l];
        var first = l;
        while (Previous(c, first) is { } p) first = p;
        var chain = new List<LayerPlan> { first };
        for (var next = Next(c, first); next is not null; next = Next(c, next)) chain.Add(next);
        return chain;
    }

    private static bool Chained(EmitContext c, LayerPlan l) => Previous(c, l) is not null || Next(c, l) is not null;

    private static bool IsConv(LayerPlan l) => l.Kind == LayerKind.Conv2D && LayerEmitter.For(l) is Conv2DEmitter;

    /// <summary>The convolution right before <paramref name="l"/> in its chain, or null.</summary>
    private static LayerPlan? Previous(EmitContext c, LayerPlan l)
    {
        if (!IsConv(l)) return null;
        var layers = c.Plan.Layers;
        for (int i = l.Index - 1; i >= 0 && i >= l.Index - 3; i--)
        {
            var p = layers[i];
            if (!IsConv(p)) continue;
            // the layers between p and l are exactly the ones p's parts compute (none, its ReLU, or its ReLU and pool)
            var last = Conv2DEmitter.FusedReLUPool(c, p) ?? Conv2DEmitter.FusedReLU(c, p) ?? p;
            if (last.Index != l.Index - 1) return null;
            if (c.Plan.LossInputBuffer > p.Index && c.Plan.LossInputBuffer <= l.Index) return null;
            return Conv2DEmitter.Chunks(c, p, "batch") == Conv2DEmitter.Chunks(c, l, "batch") ? p : null;
        }
        return null;
    }

    private static LayerPlan? Next(EmitContext c, LayerPlan l)
    {
        if (!IsConv(l)) return null;
        var layers = c.Plan.Layers;
        for (int i = l.Index + 1; i < layers.Length && i <= l.Index + 3; i++)
            if (IsConv(layers[i])) return Previous(c, layers[i]) == l ? layers[i] : null;
        return null;
    }

    /// <summary>Whether <paramref name="l"/>'s forward pass runs in an earlier layer's split (its Forward writes no split).</summary>
    public static bool ForwardRunByEarlier(EmitContext c, LayerPlan l) => Previous(c, l) is not null;

    /// <summary>The forward split's line, written by the chain's first layer (after every member's serial preparation).</summary>
    public static void RunForward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        var chain = Chain(c, l);
        var head = Head(c, chain);
        if (chain.Count == 1 && head.Count == 0)
        {
            w.Line($"global::NetGen.Parallelism.RunChunks(this, {LayerEmitter.Op(l, 0)}, {Conv2DEmitter.Chunks(c, l, "batch")}, (long)batch * {l.MultiplyAdds});");
            return;
        }
        foreach (var d in head.Where(IsDense)) DenseEmitter.PanelsBeforeSplit(w, c, d);
        var all = chain.Concat(head.Where(Computes)).ToList();
        w.Line($"// one split for layers {Names(all)}: each sample chunk goes on through every one of them on the thread that claimed it");
        w.Line($"global::NetGen.Parallelism.RunChunks(this, {LayerEmitter.Op(chain[0], 2)}, {Conv2DEmitter.Chunks(c, l, "batch")}, (long)batch * {chain.Sum(m => m.MultiplyAdds) + head.Where(IsDense).Sum(m => m.MultiplyAdds)});");
    }

    /// <summary>The backward split's line(s) for member <paramref name="l"/> (inside BackwardFrom's <c>if (start &gt; l)</c>
    /// block, with <c>chunks</c> declared): the chain's last layer runs the backward parts of every member; an earlier
    /// member runs its own and those below it only when the backward pass started below the next member.</summary>
    public static void RunBackward(CodeWriter w, EmitContext c, LayerPlan l, string chunks, bool descend)
    {
        var chain = Chain(c, l);
        int j = IndexOf(chain, l);
        var below = chain.Take(j + 1).ToList();
        var head = j == chain.Count - 1 ? BackwardHead(c, chain) : [];
        string op = j == 0 && head.Count == 0 ? LayerEmitter.Op(l, 1).ToString() : LayerEmitter.Op(l, 3).ToString();
        // last chunk first: the forward pass wrote it last, so its activations are still in this core's cache
        string run = $"global::NetGen.Parallelism.RunChunksLastFirst(this, {op}, {chunks}, (long)batch * {below.Sum(m => 2 * m.MultiplyAdds) + head.Where(IsDense).Sum(m => m.MultiplyAdds)});";
        if (chain.Count == 1 && head.Count == 0)
            w.Line(run);
        else if (j == chain.Count - 1)
        {
            var down = head.Where(Computes).Reverse().Concat(below.AsEnumerable().Reverse()).ToList();
            w.Line($"// one split for layers {Names(down)}: each sample chunk goes down through every one of them on the thread that");
            w.Line("// claimed it (∂E/∂x of this layer's chunk is the next one's δ); each layer's chunk sums are added after the split, layer by layer");
            w.Line(run);
            var dense = head.Where(IsDense).Reverse().ToList();
            if (dense.Count == 0) return;
            w.Line($"// layer{(dense.Count > 1 ? "s" : "")} {Names(dense)}: ∂E/∂x ran in the chunks above (with the weights from before the step); ∂E/∂W{(descend ? " and the update" : "")}");
            w.Line("// sum over every sample, so they run here, split by units");
            foreach (var d in dense)
            {
                if (descend) DenseEmitter.WeightDescent(w, c, d);
                else DenseEmitter.WeightGradients(w, c, d);
            }
        }
        else
            w.Line($"if (start <= {chain[j + 1].Index}) {run}   // else layer {chain[j + 1].Index}'s split ran this layer's chunks");
    }

    // ---- The head: the layers after a chain that its sample chunks run too ----------------------------------------

    /// <summary>The layers after the chain's last convolution (and the ReLU and pooling its parts compute) whose values
    /// for a sample depend on that sample alone, so a chunk can go on through them: views (Flatten, Reshape), Dense
    /// layers computed by kernels (called with the chunk's rows and every unit), element-wise activations and a
    /// Softmax over each sample's values. They stop at the first other layer (BatchNorm and Dropout read or draw for
    /// the whole batch); empty when nothing but views follows. A Dense layer's kernels do not depend on the row range
    /// for a given row count form (docs/performance.md), so the results depend on the chunks (a function of the batch
    /// size), never on the thread count.</summary>
    public static IReadOnlyList<LayerPlan> Head(EmitContext c, IReadOnlyList<LayerPlan> chain)
    {
        var last = chain[chain.Count - 1];
        if (!IsConv(last)) return [];
        var end = Conv2DEmitter.FusedReLUPool(c, last) ?? Conv2DEmitter.FusedReLU(c, last) ?? last;
        var layers = c.Plan.Layers;
        var head = new List<LayerPlan>();
        for (int i = end.Index + 1; i < layers.Length && PerSample(c, layers[i]); i++) head.Add(layers[i]);
        while (head.Count > 0 && !Computes(head[head.Count - 1])) head.RemoveAt(head.Count - 1);
        return head;
    }

    /// <summary>The head layers whose backward pass the chunks run: those below the loss's input (the layers above it,
    /// a Softmax fused with the cross-entropy, run before the split as before).</summary>
    public static IReadOnlyList<LayerPlan> BackwardHead(EmitContext c, IReadOnlyList<LayerPlan> chain)
    {
        var head = Head(c, chain).Where(h => h.Index < c.Plan.LossInputBuffer).ToList();
        while (head.Count > 0 && !Computes(head[head.Count - 1])) head.RemoveAt(head.Count - 1);
        return head;
    }

    private static bool PerSample(EmitContext c, LayerPlan l) => l.Kind switch
    {
        LayerKind.Flatten or LayerKind.Reshape => true,
        LayerKind.Dense => LayerEmitter.For(l) is DenseEmitter && !c.IsUnrolled(l) && !l.IsSequence,
        LayerKind.Softmax => l.OutputFeatures == l.OutputSize && LayerEmitter.For(l) is SoftmaxEmitter,
        _ => l.Definition is ActivationLayer && LayerEmitter.For(l) is ActivationEmitter,
    };

    private static bool Computes(LayerPlan l) => l.Kind is not (LayerKind.Flatten or LayerKind.Reshape);

    private static bool IsDense(LayerPlan l) => l.Kind == LayerKind.Dense;

    /// <summary>The chain whose sample chunks run layer <paramref name="l"/>'s forward pass (<paramref name="backward"/>:
    /// its backward pass), or null. Views are not counted (they run nowhere).</summary>
    public static IReadOnlyList<LayerPlan>? HeadOf(EmitContext c, LayerPlan l, bool backward)
    {
        if (!Computes(l) || !PerSample(c, l)) return null;
        for (int i = l.Index - 1; i >= 0; i--)
        {
            var p = c.Plan.Layers[i];
            if (!IsConv(p)) continue;
            if (Next(c, p) is not null) return null;
            var chain = Chain(c, p);
            return (backward ? BackwardHead(c, chain) : Head(c, chain)).Any(h => h.Index == l.Index) ? chain : null;
        }
        return null;
    }

    private static string HeadMethod(IReadOnlyList<LayerPlan> head, bool backward) =>
        $"Layers{head[0].Index}To{head[head.Count - 1].Index}{(backward ? "Backward" : "Forward")}Part";

    /// <summary>The head's part methods: a chunk's samples forward through the head, and down through its backward head.</summary>
    public static void PartMethods(CodeWriter w, EmitContext c)
    {
        foreach (var l in c.Plan.Layers)
        {
            if (!IsConv(l) || Previous(c, l) is not null) continue;
            var chain = Chain(c, l);
            var head = Head(c, chain);
            if (head.Count > 0) HeadForward(w, c, chain, head);
            var back = BackwardHead(c, chain);
            if (back.Count > 0) HeadBackward(w, c, chain, back);
        }
    }

    private static void Open(CodeWriter w, EmitContext c, IReadOnlyList<LayerPlan> head)
    {
        w.Line("(int n0, int n1) = global::NetGen.Parallelism.Range(_batch, parts, part);");
        w.Line("if (n0 >= n1) return;");
        if (head.Any(IsDense))
            w.Line($"ref {c.T} scratch = ref _scratch[global::NetGen.Parallelism.Slot * _scratchPart];   // the kernels' packed panels: the running thread's region");
    }

    private static void HeadForward(CodeWriter w, EmitContext c, IReadOnlyList<LayerPlan> chain, IReadOnlyList<LayerPlan> head)
    {
        string t = c.T;
        w.Line($"/// <summary>Layers {Names(head.Where(Computes).ToList())} forward for the samples of chunk <paramref name=\"part\"/> of <paramref name=\"parts\"/>, right after");
        w.Line($"/// layer {chain[chain.Count - 1].Index}'s part wrote their input (the Dense kernels take the chunk's rows and every unit).</summary>");
        w.Open($"private void {HeadMethod(head, false)}(int part, int parts)");
        Open(w, c, head);
        foreach (var l in head)
        {
            int i = l.Index, size = l.OutputSize;
            string x = EmitContext.A(i), y = EmitContext.A(i + 1);
            switch (l.Kind)
            {
                case LayerKind.Flatten or LayerKind.Reshape:
                    w.Line($"// layer {i}, {l.Kind}: a view, {y} is {x}");
                    break;
                case LayerKind.Dense:
                    w.Line($"// layer {i}, {l.PascalName} ({l.InputSize} → {size}): y = x·Wᵀ{(l.BiasCount > 0 ? " + b" : "")} for rows n0 … n1, every unit");
                    w.Line($"{l.PascalName}Forward(ref {x}[0], ref _p[{l.WeightOffset}], ref {y}[0]{(l.BiasCount > 0 ? $", ref _p[{l.BiasOffset}]" : "")}, n0, n1, 0, {size}, ref scratch{DenseEmitter.PanelArguments(c, l)});");
                    break;
                case LayerKind.Softmax:
                    w.Line($"// layer {i}, Softmax over {size} values per sample: yⱼ = e^(xⱼ − max x) / Σₖ e^(xₖ − max x)");
                    w.Open("for (int n = n0; n < n1; n++)");
                    w.Line($"global::System.ReadOnlySpan<{t}> x = {x}.AsSpan(n * {size}, {size});");
                    w.Line($"global::System.Span<{t}> y = {y}.AsSpan(n * {size}, {size});");
                    w.Line($"{t} max = x[0];");
                    w.Line($"for (int j = 1; j < {size}; j++) if (x[j] > max) max = x[j];");
                    w.Line($"for (int j = 0; j < {size}; j++) y[j] = x[j] - max;");
                    w.Close();
                    w.Line($"{c.Tp}.Exp<{t}>({y}.AsSpan(n0 * {size}, (n1 - n0) * {size}), {y}.AsSpan(n0 * {size}, (n1 - n0) * {size}));");
                    w.Open("for (int n = n0; n < n1; n++)");
                    w.Line($"global::System.Span<{t}> y = {y}.AsSpan(n * {size}, {size});");
                    w.Line($"{t} sum = {c.Lit(0)};");
                    w.Line($"for (int j = 0; j < {size}; j++) sum += y[j];");
                    w.Line($"for (int j = 0; j < {size}; j++) y[j] /= sum;");
                    w.Close();
                    break;
                default:
                {
                    var f = ActivationEmitter.Formula(l);
                    string xs = $"{x}.AsSpan(n0 * {size}, (n1 - n0) * {size})", ys = $"{y}.AsSpan(n0 * {size}, (n1 - n0) * {size})";
                    w.Line($"// layer {i}, {l.Kind} over the chunk's {size} values per sample");
                    // as the whole-batch pass writes it (ActivationEmitter.Forward): the library kernel for large tensors, else the formula
                    if (f.IsIdentity) w.Line($"{xs}.CopyTo({ys});");
                    else if (size > c.Plan.Spec.UnrollThreshold && ActivationEmitter.LibraryForward(c, l, xs, ys) is { } library) w.Line(library + ";");
                    else w.Line($"for (int k = n0 * {size}; k < n1 * {size}; k++) {y}[k] = {ActivationEmitter.Scalar(c, f.Forward, l, $"{x}[k]", $"{y}[k]", "")};");
                    break;
                }
            }
        }
        w.Close();
        w.Line();
    }

    private static void HeadBackward(CodeWriter w, EmitContext c, IReadOnlyList<LayerPlan> chain, IReadOnlyList<LayerPlan> head)
    {
        string t = c.T;
        w.Line($"/// <summary>Layers {Names(head.Where(Computes).Reverse().ToList())} backward (∂E/∂x only; their ∂E/∂W sums run after the split) for the");
        w.Line($"/// samples of chunk <paramref name=\"part\"/> of <paramref name=\"parts\"/>, right before layer {chain[chain.Count - 1].Index}'s part reads their ∂E/∂x.</summary>");
        w.Open($"private void {HeadMethod(head, true)}(int part, int parts)");
        Open(w, c, head);
        foreach (var l in head.Reverse())
        {
            int i = l.Index, size = l.OutputSize;
            string x = EmitContext.A(i), y = EmitContext.A(i + 1), dy = EmitContext.D(i + 1), dx = EmitContext.D(i);
            switch (l.Kind)
            {
                case LayerKind.Flatten or LayerKind.Reshape:
                    w.Line($"// layer {i}, {l.Kind}: a view, {dx} is {dy}");
                    break;
                case LayerKind.Dense:
                    w.Line($"// layer {i}, {l.PascalName}: ∂E/∂x = δ·W for rows n0 … n1, every input (W as it was before the step)");
                    w.Line($"{l.PascalName}InputGradient(ref {dy}[0], ref _p[{l.WeightOffset}], ref {dx}[0], n0, n1, 0, {l.InputSize}, ref scratch);");
                    break;
                case LayerKind.Softmax:
                    w.Line($"// layer {i}, Softmax backward: ∂E/∂xⱼ = yⱼ·(∂E/∂yⱼ − Σₖ ∂E/∂yₖ·yₖ)");
                    w.Open("for (int n = n0; n < n1; n++)");
                    w.Line($"global::System.ReadOnlySpan<{t}> y = {y}.AsSpan(n * {size}, {size});");
                    w.Line($"global::System.ReadOnlySpan<{t}> dy = {dy}.AsSpan(n * {size}, {size});");
                    w.Line($"global::System.Span<{t}> dx = {dx}.AsSpan(n * {size}, {size});");
                    w.Line($"{t} dot = {c.Lit(0)};");
                    w.Line($"for (int j = 0; j < {size}; j++) dot += dy[j] * y[j];");
                    w.Line($"for (int j = 0; j < {size}; j++) dx[j] = y[j] * (dy[j] - dot);");
                    w.Close();
                    break;
                default:
                {
                    var f = ActivationEmitter.Formula(l);
                    w.Line($"// layer {i}, {l.Kind} backward: {f.BackwardWords}");
                    if (f.PassesGradient)
                    {
                        w.Line($"{dy}.AsSpan(n0 * {size}, (n1 - n0) * {size}).CopyTo({dx}.AsSpan(n0 * {size}));");
                        break;
                    }
                    string unsafeAdd = "global::System.Runtime.CompilerServices.Unsafe.Add";
                    w.Open("");
                    w.Line($"ref {t} x = ref {x}[n0 * {size}], y = ref {y}[n0 * {size}], dy = ref {dy}[n0 * {size}], dx = ref {dx}[n0 * {size}];");
                    w.Line($"int count = (n1 - n0) * {size}, k = 0;");
                    foreach (var vec in new[] { "global::System.Runtime.Intrinsics.Vector512", "global::System.Runtime.Intrinsics.Vector256" })
                    {
                        if (f.Backward.Vector(t, c.Lit, () => l.Alpha, vec: vec) is not { } vector) continue;
                        if (vec.EndsWith("512", System.StringComparison.Ordinal)) w.Open($"if ({vec}.IsHardwareAccelerated)");
                        w.Open($"for (; k + {vec}<{t}>.Count <= count; k += {vec}<{t}>.Count)");
                        w.Line($"{vec}<{t}> xv = {vec}.LoadUnsafe(ref x, (nuint)k), yv = {vec}.LoadUnsafe(ref y, (nuint)k), dyv = {vec}.LoadUnsafe(ref dy, (nuint)k);");
                        w.Line($"{vec}.StoreUnsafe({vector}, ref dx, (nuint)k);");
                        w.Close();
                        if (vec.EndsWith("512", System.StringComparison.Ordinal)) w.Close();
                    }
                    w.Line($"for (; k < count; k++) {unsafeAdd}(ref dx, k) = {ActivationEmitter.Scalar(c, f.Backward, l, $"{unsafeAdd}(ref x, k)", $"{unsafeAdd}(ref y, k)", $"{unsafeAdd}(ref dy, k)")};");
                    w.Close();
                    break;
                }
            }
        }
        w.Close();
        w.Line();
    }

    /// <summary>The chains' cases of the network's RunPart switch.</summary>
    public static void ParallelCases(CodeWriter w, EmitContext c)
    {
        foreach (var l in c.Plan.Layers)
        {
            if (!IsConv(l) || Previous(c, l) is not null) continue;
            var chain = Chain(c, l);
            var head = Head(c, chain);
            var back = BackwardHead(c, chain);
            if (chain.Count == 1 && head.Count == 0) continue;
            w.Line($"case {LayerEmitter.Op(l, 2)}:   // forward of layers {Names(chain.Concat(head.Where(Computes)).ToList())}: one sample chunk up through all of them");
            foreach (var m in chain) w.Line($"    {m.PascalName}ForwardPart(part, parts);");
            if (head.Count > 0) w.Line($"    {HeadMethod(head, false)}(part, parts);");
            w.Line("    break;");
            for (int j = 0; j < chain.Count; j++)
            {
                bool withHead = j == chain.Count - 1 && back.Count > 0;
                if (j == 0 && !withHead) continue;
                var down = (withHead ? back.Where(Computes).Reverse() : []).Concat(chain.Take(j + 1).Reverse()).ToList();
                w.Line($"case {LayerEmitter.Op(chain[j], 3)}:   // backward of layers {Names(down)}: one sample chunk down through all of them");
                if (withHead) w.Line($"    {HeadMethod(back, true)}(part, parts);");
                for (int k = j; k >= 0; k--) w.Line($"    {chain[k].PascalName}BackwardPart(part, parts);");
                w.Line("    break;");
            }
        }
    }

    private static int IndexOf(IReadOnlyList<LayerPlan> chain, LayerPlan l)
    {
        for (int i = 0; i < chain.Count; i++) if (chain[i].Index == l.Index) return i;
        return 0;
    }

    private static string Names(IReadOnlyList<LayerPlan> chain) => chain.Count == 1 ? $"{chain[0].Index} ({chain[0].PascalName})" :
        string.Join(", ", chain.Take(chain.Count - 1).Select(m => $"{m.Index} ({m.PascalName})")) + $" and {chain[chain.Count - 1].Index} ({chain[chain.Count - 1].PascalName})";
}
