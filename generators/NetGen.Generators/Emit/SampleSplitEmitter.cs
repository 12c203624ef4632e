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
        if (chain.Count == 1)
        {
            w.Line($"global::NetGen.Parallelism.RunChunks(this, {LayerEmitter.Op(l, 0)}, {ForwardParts(c, l)}, (long)batch * {l.MultiplyAdds});");
            return;
        }
        w.Line($"// one split for layers {Names(chain)}: each sample chunk goes on through every one of them on the thread that claimed it");
        w.Line($"global::NetGen.Parallelism.RunChunks(this, {LayerEmitter.Op(chain[0], 2)}, {ForwardParts(c, l)}, (long)batch * {chain.Sum(m => m.MultiplyAdds)});");
    }

    /// <summary>The forward split's parts: twice the backward's sample chunks (Parallelism.ForwardParts; a forward part's
    /// values do not depend on its size, so only the backward's chunks are fixed for the bits).</summary>
    private static string ForwardParts(EmitContext c, LayerPlan l) => $"global::NetGen.Parallelism.ForwardParts(batch, {Conv2DEmitter.Chunks(c, l, "batch")})";

    /// <summary>The backward split's line(s) for member <paramref name="l"/> (inside BackwardFrom's <c>if (start &gt; l)</c>
    /// block, with <c>chunks</c> declared): the chain's last layer runs the backward parts of every member; an earlier
    /// member runs its own and those below it only when the backward pass started below the next member. The topmost
    /// convolution's split also carries the filler parts (<see cref="FillerOf"/>) of the plain-SGD step when
    /// <paramref name="descend"/>, else of the ∂E/∂W sums.</summary>
    public static void RunBackward(CodeWriter w, EmitContext c, LayerPlan l, string chunks, bool descend)
    {
        var chain = Chain(c, l);
        int j = IndexOf(chain, l);
        var below = chain.Take(j + 1).ToList();
        string op = j == 0 ? LayerEmitter.Op(l, 1).ToString() : LayerEmitter.Op(l, 3).ToString();
        string filler = "";
        if (FillerOf(c) is { } f && f.Host.Index == l.Index)
        {
            // the layers whose backward ran (start above them), lowest first: a prefix of the filler parts
            string count = "0";
            int total = 0;
            foreach (var (layer, parts) in f.Layers)
            {
                total += parts;
                count = $"start > {layer.Index} ? {total} : {count}";
            }
            w.Line($"int fillers = {count};   // the {(descend ? "plain-SGD updates" : "∂E/∂W sums")} of layers {string.Join(", ", f.Layers.Select(d => d.Layer.Index))} (filler parts: RunPart case {FillerOp(c, descend)})");
            filler = $", {FillerOp(c, descend)}, fillers";
        }
        // last chunk first: the forward pass wrote it last, so its activations are still in this core's cache
        string run = $"global::NetGen.Parallelism.RunChunksLastFirst(this, {op}, {chunks}, (long)batch * {below.Sum(m => 2 * m.MultiplyAdds)}{filler});";
        if (chain.Count == 1)
            w.Line(run);
        else if (j == chain.Count - 1)
        {
            w.Line($"// one split for layers {Names(below.AsEnumerable().Reverse().ToList())}: each sample chunk goes down through every one of them on the thread that");
            w.Line("// claimed it (∂E/∂x of this layer's chunk is the next one's δ); each layer's chunk sums are added after the split, layer by layer");
            w.Line(run);
        }
        else
            w.Line($"if (start <= {chain[j + 1].Index}) {run}   // else layer {chain[j + 1].Index}'s split ran this layer's chunks");
    }

    /// <summary>
    /// Dense weight work run as filler parts of the topmost convolution's backward split. A Dense layer's ∂E/∂W (or its
    /// fused plain-SGD step) reads only the layer's δ and x, and nothing the layers below it write, so it need not run
    /// before them: it is cut into parts by input strips and handed to the convolution's backward split, where a thread
    /// takes it once its own sample chunks are done. On two cores of unequal speed the faster one used to wait most of
    /// a chunk for the other (the chunks are fixed lumps of tens of microseconds, for the bits); now it runs the Dense
    /// updates meanwhile, which also drops their own splits (LeNet: 6 splits a step on the pool instead of 8). Same bits: each weight's update
    /// is computed by one part in the same order whatever the parts (the kernels' results do not depend on the strip
    /// ranges), and no chunk reads or writes what a filler part writes.
    /// Only when every layer above the convolution (and its fused ReLU and pooling) is a Dense, an activation, Softmax,
    /// Flatten, Reshape or Dropout: layers whose backward writes only their own input's δ. Null when there is no such
    /// convolution or no Dense layer with kernels above it.
    /// </summary>
    public static Filler? FillerOf(EmitContext c)
    {
        var layers = c.Plan.Layers;
        LayerPlan? host = null;
        foreach (var l in layers) if (IsConv(l)) host = l;
        if (host is null) return null;
        int above = (Conv2DEmitter.FusedReLUPool(c, host) ?? Conv2DEmitter.FusedReLU(c, host) ?? host).Index + 1;
        var dense = new List<(LayerPlan, int)>();
        for (int i = above; i < layers.Length; i++)
        {
            var l = layers[i];
            var e = LayerEmitter.For(l);
            if (e is DenseEmitter)
            {
                if (e.HasKernels(c, l) && l.WeightCount > 0)
                    dense.Add((l, (Strips(c, l) + 1) / 2));   // parts of two strips: a few microseconds each
            }
            else if (e is not (ActivationEmitter or SoftmaxEmitter or FlattenEmitter or ReshapeEmitter or DropoutEmitter)) return null;
        }
        return dense.Count == 0 ? null : new Filler(host, dense);
    }

    /// <summary>A network's filler parts: the convolution whose backward split carries them, and each Dense layer with its
    /// part count, lowest layer first.</summary>
    internal sealed record Filler(LayerPlan Host, IReadOnlyList<(LayerPlan Layer, int Parts)> Layers);

    /// <summary>The filler op: one past every layer's ops (∂E/∂W sums, then the plain-SGD step).</summary>
    public static int FillerOp(EmitContext c, bool descend) => c.Plan.Layers.Length * 4 + (descend ? 1 : 0);

    /// <summary>The input strips of the Dense kernels.</summary>
    private static int Strips(EmitContext c, LayerPlan l) => (l.InputSize + GemmEmitter.StripWidth(c) - 1) / GemmEmitter.StripWidth(c);

    /// <summary>The chains' cases of the network's RunPart switch.</summary>
    public static void ParallelCases(CodeWriter w, EmitContext c)
    {
        if (FillerOf(c) is { } f)
        {
            foreach (bool descend in c.FusedSgd ? new[] { false, true } : new[] { false })
            {
                w.Open($"case {FillerOp(c, descend)}:   // filler parts of layer {f.Host.Index}'s backward split: {(descend ? "the plain-SGD updates" : "the ∂E/∂W sums")} of layers {string.Join(", ", f.Layers.Select(d => d.Layer.Index))}, by input strips");
                for (int k = 0; k < f.Layers.Count; k++)
                {
                    var (d, parts) = f.Layers[k];
                    string scratch = "ref _scratch[global::NetGen.Parallelism.Slot * _scratchPart]";
                    w.Open($"if (part < {parts})");
                    w.Line($"(int i0, int i1) = global::NetGen.Parallelism.Range({d.InputSize}, {parts}, part, {GemmEmitter.StripWidth(c)});");
                    w.Line(descend
                        ? $"{d.PascalName}WeightDescent(ref {EmitContext.D(d.Index + 1)}[0], ref {EmitContext.A(d.Index)}[0], ref _p[{d.WeightOffset}], ref _sgdRate, 0, {d.OutputSize}, i0, i1, _batch, {scratch});"
                        : $"{d.PascalName}WeightGradient(ref {EmitContext.D(d.Index + 1)}[0], ref {EmitContext.A(d.Index)}[0], ref _g[{d.WeightOffset}], 0, {d.OutputSize}, i0, i1, _batch, {scratch});");
                    w.Line("break;");
                    w.Close();
                    if (k < f.Layers.Count - 1) w.Line($"part -= {parts};");
                }
                w.Line("break;");
                w.Close();
            }
        }
        foreach (var l in c.Plan.Layers)
        {
            if (!IsConv(l) || Previous(c, l) is not null || Next(c, l) is null) continue;
            var chain = Chain(c, l);
            w.Line($"case {LayerEmitter.Op(l, 2)}:   // forward of layers {Names(chain)}: one sample chunk up through all of them");
            foreach (var m in chain) w.Line($"    {m.PascalName}ForwardPart(part, parts);");
            w.Line("    break;");
            for (int j = 1; j < chain.Count; j++)
            {
                w.Line($"case {LayerEmitter.Op(chain[j], 3)}:   // backward of layers {Names(chain.Take(j + 1).Reverse().ToList())}: one sample chunk down through all of them");
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

    private static string Names(IReadOnlyList<LayerPlan> chain) =>
        string.Join(", ", chain.Take(chain.Count - 1).Select(m => $"{m.Index} ({m.PascalName})")) + $" and {chain[chain.Count - 1].Index} ({chain[chain.Count - 1].PascalName})";
}
