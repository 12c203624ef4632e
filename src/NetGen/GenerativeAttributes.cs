#if NETGEN_GENERATOR
// Also compiled into the generator and the analyzers (as Attributes.cs is): the defaults below are the generator's.
using System;

namespace NetGen.Generators.Declared;
#else
namespace NetGen;
#endif

/// <summary>
/// Reads the tensor flowing in with another shape of the same number of values: <c>[Reshape(128, 7, 7)]</c> after a
/// <c>Dense(6272)</c> (a generator's first layer), <c>[Reshape(784)]</c> to a vector. A view, like
/// <see cref="FlattenAttribute"/>: no data moves (NCHW is already flat in memory).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class ReshapeAttribute(params int[] shape) : LayerAttribute
{
    /// <summary>The new shape of one sample: (C, H, W), (T, F) for a sequence of T steps of F features (what a recurrent
    /// layer reads: <c>[Reshape(28, 28)]</c> reads 784 values as 28 steps of 28), or one number for a vector.</summary>
    public int[] Shape { get; } = shape;
}

/// <summary>How <see cref="Upsample2DAttribute"/> fills the new pixels.</summary>
public enum UpsampleMode
{
    /// <summary>Each input pixel is repeated over a factor × factor block (<c>nn.Upsample(mode="nearest")</c>).</summary>
    Nearest,

    /// <summary>Bilinear interpolation between the four nearest input pixels, with half-pixel centres and edges
    /// clamped (<c>nn.Upsample(mode="bilinear", align_corners=False)</c>, Keras' <c>UpSampling2D(interpolation="bilinear")</c>).</summary>
    Bilinear,
}

/// <summary>
/// Enlarges each channel of a (C, H, W) tensor by an integer factor: (C, H·factor, W·factor), as PyTorch's
/// <c>nn.Upsample(scale_factor=factor)</c> and Keras' <c>UpSampling2D</c>. No parameters; the backward pass sums each
/// output pixel's gradient into the input pixels it was computed from.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class Upsample2DAttribute(int factor = 2) : LayerAttribute
{
    /// <summary>The scale factor on both axes, at least 1. Default 2.</summary>
    public int Factor { get; } = factor;

    /// <summary>Nearest (the default) or bilinear.</summary>
    public UpsampleMode Mode { get; set; } = UpsampleMode.Nearest;
}

/// <summary>
/// A transposed 2-D convolution over a (C, H, W) tensor (PyTorch's <c>nn.ConvTranspose2d</c>, Keras'
/// <c>Conv2DTranspose</c>, sometimes called a fractionally strided convolution): each input value x[c, i, j] adds
/// x·w[c, f, u, v] to y[f, i·s − p + u, j·s − p + v]. It is the backward pass of a convolution with the same kernel,
/// stride and padding, and is how a decoder or a GAN generator grows 7×7 feature maps into 28×28 images.
/// Output size per axis: (H − 1)·s − 2p + k + outputPadding. Weights are stored [C_in, F, kh, kw], PyTorch's layout,
/// so they copy one-to-one.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class Conv2DTransposeAttribute(int filters) : LayerAttribute
{
    /// <summary>Output channels.</summary>
    public int Filters { get; } = filters;

    /// <summary>Square kernel size k. Default 3.</summary>
    public int Kernel { get; set; } = 3;

    /// <summary>Stride s: the output grows by this factor. Default 1.</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Padding p removed from each border of the full output (PyTorch's <c>padding</c>), or
    /// <see cref="NetGen.Padding.Same"/> for an output of exactly H·s (Keras' <c>padding="same"</c>; the padding and
    /// output padding are then chosen). Default 0.</summary>
    public int Padding { get; set; }

    /// <summary>Extra rows and columns added on the bottom and right of the output (PyTorch's <c>output_padding</c>),
    /// smaller than the stride: it picks between the output sizes a strided convolution maps to the same input size.
    /// Default 0.</summary>
    public int OutputPadding { get; set; }

    /// <summary>The output height and width wanted (square): the padding and output padding that give it are chosen
    /// (the smallest padding first), and a size no setting gives is an error listing the sizes that work. 0 (the
    /// default): the output follows from <see cref="Padding"/> and <see cref="OutputPadding"/>.</summary>
    public int OutputSize { get; set; }

    /// <summary>Whether each output channel has a bias. Default true.</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// The reparameterisation of a variational autoencoder. Input: 2·L values per sample, the means μ (first L) and the
/// log-variances log σ² (last L) an encoder computed; output z = μ + exp(½ log σ²)·ε with ε ~ N(0, 1) drawn from the
/// network's seeded counter-based generator (<see cref="CounterRandom"/>, as Dropout's masks, so a seed gives the
/// same ε on every run). In inference mode z = μ, unless the generated <c>SamplingNSampleInInference</c> property
/// is set.
/// <para>
/// The layer also owns the VAE's regulariser: β·KL(N(μ, σ²) ‖ N(0, 1)) = β·(−½ Σ (1 + log σ² − μ² − σ²)), summed over
/// the L latent values and averaged over the batch, is added to the network's <c>Loss</c>, and its gradient
/// β·μ/n and β·½(σ² − 1)/n to ∂E/∂μ and ∂E/∂log σ² in every backward pass (also in
/// <c>Backward(outputGradient, inputGradient)</c>, so an encoder trained through glue code gets it too).
/// The generated <c>SamplingNKL</c> reads the last training pass's KL (without β); <c>SamplingNBeta</c> changes β
/// between steps (β-VAE, KL annealing).
/// </para>
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class SamplingAttribute(double beta = 1.0) : LayerAttribute
{
    /// <summary>β, the weight of the KL term (1 for the VAE's ELBO). Settable at run time through the generated
    /// <c>SamplingNBeta</c> property.</summary>
    public double Beta { get; } = beta;
}
