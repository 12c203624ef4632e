#if NETGEN_GENERATOR
// This file is also compiled into the generator and the analyzers, which build these attributes from a declaration
// (NetworkParser): every default written below is the one the generator uses. It is the only place defaults live.
using System;

namespace NetGen.Generators.Declared;
#else
namespace NetGen;
#endif

/// <summary>The loss a network is trained with. Batch reduction is stated per member.</summary>
/// <remarks>Named LossFunction, not Loss: attribute arguments on a network class bind in the class's scope, where
/// <c>Loss</c> is the generated <c>Loss(target)</c> method.</remarks>
public enum LossFunction
{
    /// <summary>E = Σⱼ ½(tⱼ − oⱼ)², summed over outputs, averaged over the batch (the lecture's loss).</summary>
    HalfSquaredError,
    /// <summary>Mean over every output and sample of (t − o)² (PyTorch <c>MSELoss()</c>, reduction "mean").</summary>
    MeanSquaredError,
    /// <summary>−Σⱼ tⱼ log pⱼ, averaged over the batch. Fused with a final Softmax (gradient p − t); without one the
    /// network's output is read as logits and the softmax is applied inside the loss (PyTorch <c>CrossEntropyLoss</c>).</summary>
    CrossEntropy,
    /// <summary>Mean over every output and sample of −[t log p + (1 − t) log(1 − p)] (PyTorch <c>BCELoss()</c>; logs clamped at −100 as PyTorch does).
    /// Fused with a final Sigmoid: the loss is computed from the sigmoid's input z as max(z, 0) − t·z + log(1 + e^−|z|)
    /// and ∂E/∂z = (σ(z) − t)/count, numerically stable for any z (PyTorch <c>BCEWithLogitsLoss()</c>); Sigmoid's own
    /// backward is skipped.</summary>
    BinaryCrossEntropy,
    /// <summary>Mean over every output and sample of |t − o| (PyTorch <c>L1Loss()</c>).</summary>
    MeanAbsoluteError,

    /// <summary>Σ over every output and sample of (t − o)² (PyTorch <c>MSELoss(reduction="sum")</c>).</summary>
    SumSquaredError,

    /// <summary>Σ over every output and sample of |t − o| (PyTorch <c>L1Loss(reduction="sum")</c>).</summary>
    SumAbsoluteError,

    /// <summary>The multiclass SVM loss on raw scores s with true class y: Σ_{j≠y} max(0, s_j − s_y + 1), averaged
    /// over the batch (the lecture's form; PyTorch's <c>MultiMarginLoss()</c> also divides by the number of classes).
    /// Targets are class labels, or one-hot rows read by their largest entry.</summary>
    MulticlassHinge,

    /// <summary>As <see cref="MulticlassHinge"/> with each margin squared: Σ_{j≠y} max(0, s_j − s_y + 1)².</summary>
    MulticlassSquaredHinge,

    /// <summary>As <see cref="BinaryCrossEntropy"/>, summed over each sample's outputs and averaged over the batch: the
    /// reconstruction term of a VAE in nats per sample (PyTorch <c>BCELoss(reduction="sum")</c> divided by the batch
    /// size). Fused with a final Sigmoid in the same way.</summary>
    BinaryCrossEntropySummed,
}

/// <summary>The floating-point type a network computes in.</summary>
public enum Precision
{
    /// <summary><see cref="float"/> (the default).</summary>
    Single,
    /// <summary><see cref="double"/>: for gradient checks and the lecture's worked examples.</summary>
    Double,
}

/// <summary>Marks a <c>partial class</c> as a network. The layer attributes that follow, in source order, are its layers.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class NetworkAttribute : Attribute
{
    /// <summary>The training loss. Default <see cref="LossFunction.CrossEntropy"/>.</summary>
    public LossFunction Loss { get; set; } = LossFunction.CrossEntropy;

    /// <summary>The element type. Default <see cref="NetGen.Precision.Single"/>.</summary>
    public Precision Precision { get; set; } = Precision.Single;

    /// <summary>A layer whose multiply-adds per sample are at most this many is emitted as straight-line code, one
    /// statement per neuron, that reads like the lecture's equations; larger layers become vectorised loops.
    /// Default 64.</summary>
    public int UnrollThreshold { get; set; } = 64;

    /// <summary>The detection loss the network's output feeds, when it is a detector's grid head (its runtime loss,
    /// e.g. <c>NetGen.Detection.YoloLoss</c>, is then given to TrainStep/Fit and the declared <see cref="Loss"/> is not
    /// used). Declaring it lets the analyzers check the head against <see cref="BoxesPerCell"/>, <see cref="Classes"/> and
    /// <see cref="Grid"/> (NG0070–NG0074). Default <see cref="DetectionHead.None"/>.</summary>
    public DetectionHead Head { get; set; }

    /// <summary>With <see cref="Head"/>: boxes (anchors, default boxes) per grid cell.</summary>
    public int BoxesPerCell { get; set; }

    /// <summary>With <see cref="Head"/>: object classes, without a background class.</summary>
    public int Classes { get; set; }

    /// <summary>With <see cref="Head"/>: cells per side of the head's output map; 0 for any.</summary>
    public int Grid { get; set; }
}

/// <summary>A detector head's output layout, for <see cref="NetworkAttribute.Head"/>. Both lay out B·(5 + classes)
/// channels over an S × S map, B boxes per cell.</summary>
public enum DetectionHead
{
    /// <summary>Not a detection head.</summary>
    None,

    /// <summary>YOLO: per box (tx, ty, tw, th, objectness, class logits) — <c>NetGen.Detection.YoloLoss</c>.</summary>
    Yolo,

    /// <summary>SSD: per default box (4 encoded offsets, background logit, class logits) — <c>NetGen.Detection.SsdLoss</c>.</summary>
    Ssd,
}

/// <summary>Base class of every layer attribute; the generator reads layers in attribute order.</summary>
public abstract class LayerAttribute : Attribute;

/// <summary>The input shape, e.g. <c>[Input(2)]</c> for two features or <c>[Input(1, 28, 28)]</c> for (C, H, W).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class InputAttribute(params int[] shape) : LayerAttribute
{
    /// <summary>The shape of one sample.</summary>
    public int[] Shape { get; } = shape;
}

/// <summary>A fully connected layer y = Wx + b with W stored row-major as [units, inputs] (PyTorch's <c>Linear</c> layout).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class DenseAttribute(int units) : LayerAttribute
{
    /// <summary>The number of output units.</summary>
    public int Units { get; } = units;

    /// <summary>Whether the layer has a bias vector. Default true.</summary>
    public bool Bias { get; set; } = true;

    /// <summary>Whether the bias is learned. False holds it at its value (its gradient stays zero), as the lecture's
    /// worked example does. Default true.</summary>
    public bool TrainBias { get; set; } = true;

    /// <summary>L1 penalty λ·Σ|w| on the weights (not the bias), added to the loss and its gradient. Default 0.</summary>
    public double L1 { get; set; }

    /// <summary>L2 penalty λ·Σw² on the weights (not the bias), added to the loss and its gradient (Keras'
    /// <c>kernel_regularizer=l2(λ)</c>). Default 0.</summary>
    public double L2 { get; set; }
}

/// <summary>Heaviside step: 1 when x ≥ 0, else 0 (the perceptron's activation). Its derivative is zero almost
/// everywhere, so its backward pass passes the gradient through unchanged (straight-through); with
/// <see cref="LossFunction.HalfSquaredError"/> and SGD at batch 1 that is exactly Rosenblatt's rule w ← w + α(d − y)x.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class StepAttribute : LayerAttribute;

/// <summary>σ(x) = 1 / (1 + e^−x).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class SigmoidAttribute : LayerAttribute;

/// <summary>tanh(x).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class TanhAttribute : LayerAttribute;

/// <summary>max(0, x).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class ReLUAttribute : LayerAttribute;

/// <summary>x when x ≥ 0, else αx.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class LeakyReLUAttribute(double alpha = 0.01) : LayerAttribute
{
    /// <summary>The slope for negative inputs. Default 0.01 (PyTorch's default).</summary>
    public double Alpha { get; } = alpha;
}

/// <summary>The exponential linear unit (PyTorch's <c>nn.ELU</c>): x when x &gt; 0, else α(eˣ − 1). Smooth at 0 for
/// α = 1; negative outputs saturate at −α.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class ELUAttribute(double alpha = 1.0) : LayerAttribute
{
    /// <summary>The value negative inputs saturate to is −α. Default 1.0 (PyTorch's default).</summary>
    public double Alpha { get; } = alpha;
}

/// <summary>The sigmoid linear unit, or Swish (PyTorch's <c>nn.SiLU</c>, Keras' <c>swish</c>): x·σ(x) = x / (1 + e^−x).
/// Smooth, unbounded above, with a small negative dip (minimum ≈ −0.278 at x ≈ −1.278).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class SiLUAttribute : LayerAttribute;

/// <summary>softmax(x)ⱼ = e^xⱼ / Σₖ e^xₖ over the features of each sample.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class SoftmaxAttribute : LayerAttribute;

/// <summary>y = x (a named no-op, e.g. a linear output for regression).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class IdentityAttribute : LayerAttribute;

/// <summary>Named padding values for <see cref="Conv2DAttribute.Padding"/>.</summary>
public static class Padding
{
    /// <summary>Pad so that the output is ⌈input / stride⌉ on each axis (the input size at stride 1), symmetrically.</summary>
    public const int Same = -1;

    /// <summary>No padding: the window stays inside the input.</summary>
    public const int Valid = 0;
}

/// <summary>
/// A 2-D convolution over a (C, H, W) tensor: <c>Filters</c> kernels of C × kh × kw weights, each slid over the
/// input with the given stride and zero padding. Like every deep-learning framework it computes the
/// <em>cross-correlation</em> y[f, i, j] = Σ_c Σ_u Σ_v w[f, c, u, v] · x[c, i·s + u − p, j·s + v − p] + b[f];
/// a true convolution flips the kernel first (w[f, c, kh − 1 − u, kw − 1 − v]). Since the kernel is learned the
/// difference does not matter for training. Weights are stored [F, C, kh, kw] (PyTorch's Conv2d layout).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class Conv2DAttribute(int filters) : LayerAttribute
{
    /// <summary>The number of kernels, i.e. output channels.</summary>
    public int Filters { get; } = filters;

    /// <summary>Square kernel size k (k × k). Default 3.</summary>
    public int Kernel { get; set; } = 3;

    /// <summary>Kernel height when the kernel is not square (overrides <see cref="Kernel"/>).</summary>
    public int KernelHeight { get; set; }

    /// <summary>Kernel width when the kernel is not square (overrides <see cref="Kernel"/>).</summary>
    public int KernelWidth { get; set; }

    /// <summary>Step between windows, on both axes. Default 1.</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Zero padding on every border: a number, <see cref="NetGen.Padding.Same"/> or <see cref="NetGen.Padding.Valid"/> (0, the default).</summary>
    public int Padding { get; set; }

    /// <summary>Whether each kernel has a bias. Default true.</summary>
    public bool Bias { get; set; } = true;

    /// <summary>When the windows do not tile the input exactly, drop the border that is left over (PyTorch's and
    /// Keras' silent behaviour) instead of rejecting the declaration. Default false.</summary>
    public bool RoundDown { get; set; }

    /// <summary>L1 penalty λ·Σ|w| on the kernels, added to the loss and its gradient. Default 0.</summary>
    public double L1 { get; set; }

    /// <summary>L2 penalty λ·Σw² on the kernels, added to the loss and its gradient. Default 0.</summary>
    public double L2 { get; set; }
}

/// <summary>Max pooling over k × k windows of each channel; the gradient is routed to the arg-max of each window.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class MaxPoolAttribute(int size) : LayerAttribute
{
    /// <summary>The window size k (k × k).</summary>
    public int Size { get; } = size;

    /// <summary>Step between windows. Default 0 = the window size.</summary>
    public int Stride { get; set; }

    /// <summary>Drop a border the windows do not cover instead of rejecting the declaration. Default false.</summary>
    public bool RoundDown { get; set; }
}

/// <summary>Average pooling over k × k windows of each channel; the gradient is shared equally by the window.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class AvgPoolAttribute(int size) : LayerAttribute
{
    /// <summary>The window size k (k × k).</summary>
    public int Size { get; } = size;

    /// <summary>Step between windows. Default 0 = the window size.</summary>
    public int Stride { get; set; }

    /// <summary>Drop a border the windows do not cover instead of rejecting the declaration. Default false.</summary>
    public bool RoundDown { get; set; }
}

/// <summary>Reads a (C, H, W) tensor as a vector of C·H·W values (a view: no data moves).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class FlattenAttribute : LayerAttribute;

/// <summary>
/// Batch normalisation, per channel after a convolution and per feature after a Dense layer:
/// y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² the batch statistics in training and the running statistics in
/// inference. Running statistics follow PyTorch: r ← (1 − momentum)·r + momentum·batch, the variance unbiased.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class BatchNormAttribute : LayerAttribute
{
    /// <summary>Weight of the new batch in the running statistics. Default 0.1 (PyTorch's).</summary>
    public double Momentum { get; set; } = 0.1;

    /// <summary>ε added to the variance. Default 1e−5 (PyTorch's).</summary>
    public double Epsilon { get; set; } = 1e-5;
}

/// <summary>Inverted dropout: in training each value is zeroed with probability <c>rate</c> and the rest are scaled by
/// 1/(1 − rate); in inference it is the identity. Masks come from the network's seeded generator.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class DropoutAttribute(double rate) : LayerAttribute
{
    /// <summary>The probability of dropping a value, in [0, 1).</summary>
    public double Rate { get; } = rate;
}

/// <summary>The non-linearity of a <see cref="SimpleRNNAttribute"/>: h_t = f(W_ih·x_t + b_ih + W_hh·h_(t−1) + b_hh).</summary>
public enum RecurrentActivation
{
    /// <summary>tanh (the default, PyTorch's <c>nonlinearity="tanh"</c>).</summary>
    Tanh,
    /// <summary>max(0, x) (PyTorch's <c>nonlinearity="relu"</c>).</summary>
    ReLU,
}

/// <summary>
/// An Elman recurrent layer over a sequence (T, F): h_t = tanh(W_ih·x_t + b_ih + W_hh·h_(t−1) + b_hh), h_0 = 0.
/// Parameters in PyTorch's <c>nn.RNN</c> layout and <c>parameters()</c> order: weight_ih [H × F], weight_hh [H × H],
/// bias_ih [H], bias_hh [H], then the same with <c>_reverse</c> when <see cref="Bidirectional"/>; initialised
/// uniform in ±1/√H as PyTorch does. Output: the last step's h, (H) — or every step's, (T, H) with
/// <see cref="ReturnSequences"/>; twice as wide when bidirectional (forward then reverse, as PyTorch concatenates).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class SimpleRNNAttribute(int units) : LayerAttribute
{
    /// <summary>H, the size of the hidden state.</summary>
    public int Units { get; } = units;

    /// <summary>Output every step's hidden state (T, H) instead of the last step's (H): needed to stack a second
    /// recurrent layer or to apply a Dense at every step. Default false (Keras' <c>return_sequences</c>).</summary>
    public bool ReturnSequences { get; set; }

    /// <summary>Also run a second, independent layer from the last step to the first and concatenate its states.
    /// Without <see cref="ReturnSequences"/> the output is [h_T of the forward pass, h_1 of the reverse pass] (each
    /// direction's final state, as Keras' <c>Bidirectional</c> and PyTorch's <c>h_n</c>). Default false.</summary>
    public bool Bidirectional { get; set; }

    /// <summary>The non-linearity. Default <see cref="RecurrentActivation.Tanh"/>.</summary>
    public RecurrentActivation Activation { get; set; }
}

/// <summary>
/// A gated recurrent unit over a sequence (T, F), PyTorch's <c>nn.GRU</c> (Keras' <c>reset_after=True</c>):
/// r = σ(W_ir·x + b_ir + W_hr·h + b_hr), z = σ(W_iz·x + b_iz + W_hz·h + b_hz),
/// n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
/// Parameters: weight_ih [3H × F] (rows r, z, n), weight_hh [3H × H], bias_ih [3H], bias_hh [3H], then the
/// <c>_reverse</c> set when bidirectional; uniform ±1/√H.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class GRUAttribute(int units) : LayerAttribute
{
    /// <summary>H, the size of the hidden state.</summary>
    public int Units { get; } = units;

    /// <inheritdoc cref="SimpleRNNAttribute.ReturnSequences"/>
    public bool ReturnSequences { get; set; }

    /// <inheritdoc cref="SimpleRNNAttribute.Bidirectional"/>
    public bool Bidirectional { get; set; }
}

/// <summary>
/// A long short-term memory layer over a sequence (T, F), PyTorch's <c>nn.LSTM</c>: gates in the order i, f, g, o,
/// i = σ(·), f = σ(·), g = tanh(·), o = σ(·) of W_ih·x + b_ih + W_hh·h + b_hh; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').
/// Parameters: weight_ih [4H × F], weight_hh [4H × H], bias_ih [4H], bias_hh [4H], then the <c>_reverse</c> set
/// when bidirectional; uniform ±1/√H (PyTorch's; the forget-gate bias starts at 0 as there).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class LSTMAttribute(int units) : LayerAttribute
{
    /// <summary>H, the size of the hidden and cell states.</summary>
    public int Units { get; } = units;

    /// <inheritdoc cref="SimpleRNNAttribute.ReturnSequences"/>
    public bool ReturnSequences { get; set; }

    /// <inheritdoc cref="SimpleRNNAttribute.Bidirectional"/>
    public bool Bidirectional { get; set; }
}

/// <summary>
/// A lookup table from token ids to vectors, the first layer of a network on token sequences: <c>[Input(T)]</c>
/// holds T ids per sample, the output is (T, dimension). Ids travel in the network's float buffers as exact
/// integer values (0, 1, 2 … vocabulary − 1); a value that is not an integer in that range is rejected by
/// <c>Forward</c> with the sample, step and value. The table is stored [vocabulary × dimension] (PyTorch's
/// <c>nn.Embedding.weight</c>) and initialised from N(0, 1) as PyTorch does. Ids have no gradient: ∂E/∂input is 0.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class EmbeddingAttribute(int vocabulary, int dimension) : LayerAttribute
{
    /// <summary>The number of distinct ids.</summary>
    public int Vocabulary { get; } = vocabulary;

    /// <summary>The size of each id's vector.</summary>
    public int Dimension { get; } = dimension;
}
