namespace NetGen;

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
    /// <summary>Mean over every output and sample of −[t log p + (1 − t) log(1 − p)] (PyTorch <c>BCELoss()</c>; logs clamped at −100 as PyTorch does).</summary>
    BinaryCrossEntropy,
    /// <summary>Mean over every output and sample of |t − o| (PyTorch <c>L1Loss()</c>).</summary>
    MeanAbsoluteError,
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

/// <summary>softmax(x)ⱼ = e^xⱼ / Σₖ e^xₖ over the features of each sample.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class SoftmaxAttribute : LayerAttribute;

/// <summary>y = x (a named no-op, e.g. a linear output for regression).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class IdentityAttribute : LayerAttribute;
