using System.Numerics;

namespace NetGen;

/// <summary>
/// What every generated network implements. Shapes are fixed at compile time; buffers are allocated once by the
/// constructor for up to <see cref="MaxBatch"/> samples, and no member allocates afterwards.
/// Samples are laid out row-major: a batch of n inputs is n × <see cref="InputSize"/> values.
/// </summary>
/// <remarks>The same sizes are also static constants on each generated class and static members of
/// <see cref="INetworkType"/>; this interface keeps them as instance members so that it can be used as a type
/// argument (<c>List&lt;INetwork&lt;float&gt;&gt;</c>, <c>Func&lt;INetwork&lt;float&gt;&gt;</c>), which an interface with
/// static abstract members cannot.</remarks>
public interface INetwork<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Values per input sample.</summary>
    int InputSize { get; }

    /// <summary>Values per output sample.</summary>
    int OutputSize { get; }

    /// <summary>Number of parameters (the length of <see cref="Parameters"/>).</summary>
    long ParameterCount { get; }

    /// <summary>A Keras-style table of the layers, their output shapes and parameter counts.</summary>
    string Summary { get; }

    /// <summary>The batch capacity given at construction.</summary>
    int MaxBatch { get; }

    /// <summary>Training mode (dropout active, batch statistics) or inference mode. Default true.</summary>
    bool Training { get; set; }

    /// <summary>Every parameter in one flat buffer (weights then bias, layer by layer).</summary>
    /// <remarks>In inference mode (<see cref="Training"/> false, and every <c>Step</c>) a generated network may keep copies
    /// derived from its weights between calls: a large Dense layer's packed panels (float, AVX-512: the forward pass's
    /// transposed panels), a recurrent layer's packed W_hh (batch 1 and 2) or transposed W_hh and W_ih (larger batches).
    /// Reading this property (or a layer's weight view, such as <c>Dense1Weights</c> or <c>LSTM1WeightHh</c>) and
    /// <c>TrainStep</c> mark the weights as changed, so the next Forward makes the copies again: write through a span
    /// obtained after the last Forward (get it again after running the network), as every optimiser, checkpoint load and
    /// copy does. A span kept from before a Forward and written after it is not seen by inference passes.</remarks>
    Span<T> Parameters { get; }

    /// <summary>The gradient of the loss with respect to <see cref="Parameters"/>, same layout; accumulated by
    /// <c>Backward</c> until <see cref="ZeroGradients"/>. A <see cref="TrainStep(ReadOnlySpan{T}, ReadOnlySpan{T}, IOptimizer, int)"/>
    /// with a plain <see cref="Sgd"/> that the network fuses into its backward pass neither zeros nor writes it: after
    /// such a step it holds what it held before the step (see <see cref="Sgd.FuseIntoBackward"/>).</summary>
    Span<T> Gradients { get; }

    /// <summary>Non-trainable state that training updates and inference reads (batch-norm running statistics), one
    /// flat buffer; empty when the network has none. Checkpoints save it with <see cref="Parameters"/>.</summary>
    Span<T> State { get; }

    /// <summary>Every named tensor in <see cref="Parameters"/> and <see cref="State"/>, in buffer order.</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The layers in order (Input excluded), as a constant description written by the generator from its layer
    /// catalog: kind, name, input and output shapes, resolved options and the layer's tensors. Exporters (ONNX) and
    /// tools read it instead of the prose <see cref="Summary"/>.</summary>
    IReadOnlyList<LayerInfo> Layers { get; }

    /// <summary>The output of the last <see cref="Forward"/>: batch × OutputSize values.</summary>
    ReadOnlySpan<T> Output { get; }

    /// <summary>Runs the network on <paramref name="batch"/> samples and returns batch × OutputSize outputs
    /// (a view into the network's buffer, valid until the next call).</summary>
    ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch = 1);

    /// <summary>The loss of the last forward pass against targets (batch × OutputSize values).</summary>
    T Loss(ReadOnlySpan<T> target);

    /// <summary>The loss of the last forward pass against class indices (one per sample), read as one-hot targets.</summary>
    T Loss(ReadOnlySpan<int> labels);

    /// <summary>Backpropagates the loss of the last forward pass, adding ∂E/∂θ into <see cref="Gradients"/>.</summary>
    void Backward(ReadOnlySpan<T> target);

    /// <summary>As <see cref="Backward(ReadOnlySpan{T})"/>, with class indices as targets.</summary>
    void Backward(ReadOnlySpan<int> labels);

    /// <summary>Backpropagates a gradient given with respect to the output of the last forward pass (for composing
    /// networks: a GAN, a VAE), adding into <see cref="Gradients"/> and writing ∂E/∂input into
    /// <paramref name="inputGradient"/> (batch × InputSize values; pass an empty span to skip it).</summary>
    /// <remarks>The rule for the network's own loss terms: <see cref="Loss(ReadOnlySpan{T})"/> includes the terms
    /// the network adds to any loss by itself — L1/L2 weight penalties and a Sampling layer's β·KL — and every Backward
    /// overload, this one included, adds their gradients. <paramref name="outputGradient"/> is the gradient of the
    /// <em>other</em> terms only (those computed outside the network), so glue code never adds penalties itself and
    /// never drops them. The total objective is then E = E_outside(output) + E_own(θ, input).</remarks>
    void Backward(ReadOnlySpan<T> outputGradient, Span<T> inputGradient);

    /// <summary>Backpropagates the network's own loss against <paramref name="target"/> (as
    /// <see cref="Backward(ReadOnlySpan{T})"/>, adding ∂E/∂θ into <see cref="Gradients"/>) and also writes ∂E/∂input
    /// into <paramref name="inputGradient"/> (batch × InputSize values). A GAN's generator step runs the discriminator's
    /// loss back to the generated images this way; a VAE's decoder hands ∂E/∂z to its encoder.</summary>
    /// <remarks>Not an overload of <c>Backward</c>: <c>Backward(target, inputGradient)</c> would have the same
    /// parameter types as <see cref="Backward(ReadOnlySpan{T}, Span{T})"/>.</remarks>
    void BackwardFromTarget(ReadOnlySpan<T> target, Span<T> inputGradient) =>
        throw new NotSupportedException($"{GetType().Name} does not implement BackwardFromTarget; generated networks do.");

    /// <summary>Sets every gradient to zero.</summary>
    void ZeroGradients();

    /// <summary>One training step: zero the gradients, forward, backward, update with <paramref name="optimizer"/>.
    /// Returns the loss before the update.</summary>
    /// <remarks>When <paramref name="optimizer"/> is a plain <see cref="Sgd"/> (no momentum, weight decay or clipping,
    /// <see cref="Sgd.FuseIntoBackward"/> left on), every trainable layer is a Conv2D layer or a Dense layer computed by
    /// kernels (not unrolled), and no layer has an L1/L2 penalty, the step is fused: each parameter is updated θ ← θ − η·∂E/∂θ where the
    /// backward pass forms its gradient, with the same roundings as <see cref="Optimizer.Step{T}"/> (the resulting
    /// parameters are the same numbers), <see cref="Optimizer.Iterations"/> counts it, and <see cref="Gradients"/> is
    /// neither zeroed nor written. Every other optimiser and network takes the unfused path above.</remarks>
    T TrainStep(ReadOnlySpan<T> input, ReadOnlySpan<T> target, IOptimizer optimizer, int batch = 1);

    /// <summary>As the other overload, with class indices as targets.</summary>
    T TrainStep(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, IOptimizer optimizer, int batch = 1);
}

/// <summary>A generated network's compile-time facts as static members, for generic code constrained on the network
/// type (<c>where TNet : INetworkType</c>), which the JIT specialises per network.</summary>
public interface INetworkType
{
    /// <summary>Values per input sample.</summary>
    static abstract int InputSize { get; }

    /// <summary>Values per output sample.</summary>
    static abstract int OutputSize { get; }

    /// <summary>Number of parameters.</summary>
    static abstract long ParameterCount { get; }

    /// <summary>A Keras-style table of the layers, their output shapes and parameter counts.</summary>
    static abstract string Summary { get; }
}
