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

    /// <summary>Initialises the layer's parameters in the constructor (nothing for parameter-free layers).</summary>
    public virtual void Initialize(CodeWriter w, EmitContext c, LayerPlan layer)
    {
    }

    public static LayerEmitter For(LayerKind kind) => kind switch
    {
        LayerKind.Dense => DenseEmitter.Instance,
        LayerKind.Softmax => SoftmaxEmitter.Instance,
        _ => ActivationEmitter.Instance,
    };
}
