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

    /// <summary>Whether <see cref="DescendBackward"/> is written for the layer (layers with parameters only).</summary>
    public virtual bool CanDescend(EmitContext c, LayerPlan layer) => false;

    /// <summary>Writes the backward pass of a fused plain-SGD step (<see cref="EmitContext.FusedSgd"/>): as
    /// <see cref="Backward"/>, except that the parameters are updated, θ ← θ + _sgdRate·∂E/∂θ (_sgdRate = −η), where their
    /// gradient is computed, and the gradient buffer is not touched. ∂E/∂input must be computed with the parameters
    /// from before the step.</summary>
    public virtual void DescendBackward(CodeWriter w, EmitContext c, LayerPlan layer) =>
        throw new System.InvalidOperationException(layer.Kind + " has no fused SGD backward pass.");

    /// <summary>Initialises the layer's parameters in the constructor (nothing for parameter-free layers).</summary>
    public virtual void Initialize(CodeWriter w, EmitContext c, LayerPlan layer)
    {
    }

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

    /// <summary>Named public views of the layer's parameters and state.</summary>
    public virtual void Views(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (layer.ParameterCount == 0) return;
        string t = c.T;
        w.Line($"/// <summary>{layer.PascalName} weights, {WeightLayout(layer)} row-major.</summary>");
        w.Line($"public global::System.Span<{t}> {layer.PascalName}Weights => _p.AsSpan({layer.WeightOffset}, {layer.WeightCount});");
        w.Line($"/// <summary>∂E/∂ of <see cref=\"{layer.PascalName}Weights\"/>.</summary>");
        w.Line($"public global::System.Span<{t}> {layer.PascalName}WeightsGradient => _g.AsSpan({layer.WeightOffset}, {layer.WeightCount});");
        if (layer.BiasCount == 0) return;
        w.Line($"/// <summary>{layer.PascalName} bias, {layer.BiasCount} values{(layer.Spec.TrainBias ? "" : " (held: TrainBias = false)")}.</summary>");
        w.Line($"public global::System.Span<{t}> {layer.PascalName}Bias => _p.AsSpan({layer.BiasOffset}, {layer.BiasCount});");
        w.Line($"/// <summary>∂E/∂ of <see cref=\"{layer.PascalName}Bias\"/>.</summary>");
        w.Line($"public global::System.Span<{t}> {layer.PascalName}BiasGradient => _g.AsSpan({layer.BiasOffset}, {layer.BiasCount});");
    }

    /// <summary>The layer's named tensors (view name, in State?, offset, shape), matching <see cref="Views"/>.</summary>
    public virtual System.Collections.Generic.IEnumerable<(string Name, bool State, int Offset, int[] Shape)> Tensors(LayerPlan layer)
    {
        if (layer.ParameterCount == 0) yield break;
        int[] weightShape = layer.Kind == LayerKind.Conv2D
            ? new[] { layer.OutC, layer.InC, layer.KernelH, layer.KernelW }
            : new[] { layer.OutputSize, layer.InputSize };
        yield return (layer.PascalName + "Weights", false, layer.WeightOffset, weightShape);
        if (layer.BiasCount > 0) yield return (layer.PascalName + "Bias", false, layer.BiasOffset, new[] { layer.BiasCount });
    }

    private static string WeightLayout(LayerPlan layer) => layer.Kind == LayerKind.Conv2D
        ? $"[{layer.OutC} filters × {layer.InC} channels × {layer.KernelH} × {layer.KernelW}]"
        : $"[{layer.OutputSize} × {layer.InputSize}]: element (j, i) connects input i to unit j,";

    public static LayerEmitter For(LayerPlan layer) => layer.Kind switch
    {
        LayerKind.Dense when layer.IsSequence => SequenceDenseEmitter.Instance,
        LayerKind.Dense => DenseEmitter.Instance,
        LayerKind.SimpleRNN or LayerKind.GRU or LayerKind.LSTM => RecurrentEmitter.Instance,
        LayerKind.Embedding => EmbeddingEmitter.Instance,
        LayerKind.Softmax => SoftmaxEmitter.Instance,
        LayerKind.Conv2D => Conv2DEmitter.Instance,
        LayerKind.MaxPool or LayerKind.AvgPool => PoolEmitter.Instance,
        LayerKind.Flatten => FlattenEmitter.Instance,
        LayerKind.BatchNorm => BatchNormEmitter.Instance,
        LayerKind.Dropout => DropoutEmitter.Instance,
        _ => ActivationEmitter.Instance,
    };
}
