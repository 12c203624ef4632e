using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// One emitter per layer kind, holding that layer's forward and backward passes side by side (and, with the GPU
/// backend, its kernels). Layer i reads activation buffer a{i} and writes a{i+1}; its backward reads d{i+1}
/// (∂E/∂output) and writes d{i} (∂E/∂input), adding parameter gradients into the flat gradient buffer.
/// Inside a pass <c>batch</c> is in scope; every other size is a literal.
/// </summary>
internal abstract class LayerEmitter
{
    /// <summary>Writes y = f(x) for the layer.</summary>
    public abstract void Forward(CodeWriter w, EmitContext c, LayerPlan layer);

    /// <summary>Writes the backward pass. For layer 0 the local <c>inputGradient</c> says whether d0 is wanted.</summary>
    public abstract void Backward(CodeWriter w, EmitContext c, LayerPlan layer);

    /// <summary>GPU variant: writes the layer's forward kernel(s) with <see cref="GpuWriter.Kernel"/> and their launches
    /// into <see cref="GpuWriter.Host"/> (<c>batch</c> and <c>training</c> are in scope; parameters are the view
    /// <c>P</c>, state <c>S</c>).</summary>
    public abstract void GpuForward(GpuWriter g, LayerPlan layer);

    /// <summary>GPU variant: the backward kernel(s) and launches (<c>batch</c> and, for layer 0, <c>inputGradient</c>
    /// in scope; parameter gradients are added into the view <c>G</c>).</summary>
    public abstract void GpuBackward(GpuWriter g, LayerPlan layer);

    /// <summary>GPU variant: adds the layer's own term to each sample's loss (<c>SampleLoss</c>, after the loss kernel
    /// wrote it; <c>batch</c> in scope) — Sampling's β·KL. Nothing for most layers.</summary>
    public virtual void GpuLoss(GpuWriter g, LayerPlan layer)
    {
    }

    /// <summary>Whether <see cref="DescendBackward"/> is written for the layer (layers with parameters only).</summary>
    public virtual bool CanDescend(EmitContext c, LayerPlan layer) => false;

    /// <summary>Writes the backward pass of a fused plain-SGD step (<see cref="EmitContext.FusedSgd"/>): as
    /// <see cref="Backward"/>, except that the parameters are updated, θ ← θ + _sgdRate·∂E/∂θ (_sgdRate = −η), where their
    /// gradient is computed, and the gradient buffer is not touched. ∂E/∂input must be computed with the parameters
    /// from before the step.</summary>
    public virtual void DescendBackward(CodeWriter w, EmitContext c, LayerPlan layer) =>
        throw new System.InvalidOperationException(layer.Kind + " has no fused SGD backward pass.");

    /// <summary>Initialises the layer's parameters and state in the constructor, from each slot's declared initialiser
    /// (<see cref="ParameterInit"/>; not overridable: the slot is the only place a layer states it).</summary>
    public void Initialize(CodeWriter w, EmitContext c, LayerPlan layer) => ParameterInit.Write(w, c, layer);

    /// <summary>Declares the layer's scratch buffers (fields), if any.</summary>
    public virtual void Fields(CodeWriter w, EmitContext c, LayerPlan layer)
    {
    }

    /// <summary>Allocates those buffers in the constructor (<c>maxBatch</c> is in scope).</summary>
    public virtual void Allocate(CodeWriter w, EmitContext c, LayerPlan layer)
    {
    }

    /// <summary>Whether <see cref="Kernels"/> writes anything (the file then imports the vector namespaces).</summary>
    public virtual bool HasKernels(EmitContext c, LayerPlan layer) => false;

    /// <summary>Writes the layer's compute kernels as private static methods of the network (Forward and
    /// BackwardFrom call them).</summary>
    public virtual void Kernels(CodeWriter w, EmitContext c, LayerPlan layer)
    {
    }

    /// <summary>Writes the layer's cases of the network's <c>IParallelKernel.RunPart(op, part, parts)</c> switch: each
    /// runs one part of a kernel the passes start with <c>Parallelism.Run(this, op, parts)</c>. Op numbers are
    /// <see cref="Op"/>(layer, k).</summary>
    public virtual void ParallelCases(CodeWriter w, EmitContext c, LayerPlan layer)
    {
    }

    /// <summary>The op number of the layer's k-th parallel kernel.</summary>
    public static int Op(LayerPlan layer, int k) => layer.Index * 4 + k;

    /// <summary>Scratch values one thread of the layer's kernels needs (packed panels), as a C# expression in which
    /// <c>maxBatch</c> is in scope; null for none. The network allocates the largest, once per thread.</summary>
    public virtual string? ScratchSize(EmitContext c, LayerPlan layer) => null;

    /// <summary>Named public views of the layer's parameter slots (each with its gradient) and state slots.</summary>
    public virtual void Views(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        string t = c.T;
        bool last = layer.Definition.GradientViewsLast;
        foreach (var p in layer.Parameters)
        {
            w.Line($"/// <summary>{layer.PascalName} {p.Slot.Description}</summary>");
            w.Line(c.CachesPanels
                ? $"public global::System.Span<{t}> {layer.PascalName}{p.Name} {{ get {{ {EmitContext.TouchWeights} return _p.AsSpan({p.Offset}, {p.Count}); }} }}"
                : $"public global::System.Span<{t}> {layer.PascalName}{p.Name} => _p.AsSpan({p.Offset}, {p.Count});");
            if (!last) GradientView(p);
        }
        if (last) foreach (var p in layer.Parameters) GradientView(p);
        foreach (var s in layer.States)
        {
            w.Line($"/// <summary>{layer.PascalName} {s.Slot.Description}</summary>");
            w.Line($"public global::System.Span<{t}> {layer.PascalName}{s.Name} => _s.AsSpan({s.Offset}, {s.Count});");
        }

        void GradientView(PlacedSlot p)
        {
            w.Line($"/// <summary>∂E/∂ of <see cref=\"{layer.PascalName}{p.Name}\"/>.</summary>");
            w.Line($"public global::System.Span<{t}> {layer.PascalName}{p.Name}Gradient => _g.AsSpan({p.Offset}, {p.Count});");
        }
    }

    /// <summary>The layer's named tensors (view name, in State?, offset, shape), from its slots: parameters, then state.</summary>
    public static System.Collections.Generic.IEnumerable<(string Name, bool State, int Offset, int[] Shape)> Tensors(LayerPlan layer)
    {
        foreach (var p in layer.Parameters) yield return (layer.PascalName + p.Name, false, p.Offset, System.Linq.Enumerable.ToArray(p.Slot.Shape));
        foreach (var s in layer.States) yield return (layer.PascalName + s.Name, true, s.Offset, System.Linq.Enumerable.ToArray(s.Slot.Shape));
    }

    /// <summary>The kind's emitter, from the layer catalog (no fall-through: every kind names its own).</summary>
    public static LayerEmitter For(LayerKind kind) => LayerCatalog.Of(kind).Emitter;

    /// <summary>The layer's emitter: the catalog's, except that a Dense fed a sequence is applied at every step.</summary>
    public static LayerEmitter For(LayerPlan layer) =>
        layer.Kind == LayerKind.Dense && layer.IsSequence ? SequenceDenseEmitter.Instance : For(layer.Kind);
}
