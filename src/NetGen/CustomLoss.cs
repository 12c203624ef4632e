using System.Numerics;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace NetGen;

/// <summary>
/// A loss as a runtime object: its value and its gradient ∂E/∂output over a batch of a network's outputs, against
/// targets of any shape (a detector's boxes, nothing at all for a KL term). <see cref="NetworkLoss.TrainStep{T}"/>,
/// <see cref="Trainer.Fit"/> (its <c>loss:</c> argument) and the GPU network's <c>TrainStep</c> accept one; the network
/// runs its generated <c>Forward</c>, this object forms ∂E/∂output, and the generated
/// <c>Backward(outputGradient, inputGradient)</c> takes it from there. The declared <c>[Network(Loss = …)]</c> is then
/// not used. The built-in losses are available as <see cref="BuiltInLoss{T}"/> (PyTorch's <c>nn.Module</c> losses,
/// Keras' <c>keras.losses</c> objects).
/// </summary>
/// <typeparam name="T">The network's element type.</typeparam>
public interface ILoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A short name for messages and logs, e.g. "yolo" or "cross_entropy".</summary>
    string Name { get; }

    /// <summary>Target values per sample for a network with <paramref name="outputSize"/> outputs per sample (a
    /// data set given to <see cref="Trainer.Fit"/> must have this many). The default is one target per output.</summary>
    int TargetSize(int outputSize) => outputSize;

    /// <summary>The loss of <paramref name="batch"/> samples: <paramref name="output"/> is batch × outputSize values,
    /// <paramref name="target"/> batch × <see cref="TargetSize"/> values.</summary>
    T Value(ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch);

    /// <summary>As <see cref="Value"/>, also <em>writing</em> ∂E/∂output into <paramref name="gradient"/> (same length as
    /// <paramref name="output"/>). Returns the value. Must not allocate after the first call.</summary>
    T ValueAndGradient(ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch, Span<T> gradient);
}

/// <summary>
/// A built-in <see cref="LossFunction"/> as an <see cref="ILoss{T}"/>, computed by <see cref="Losses"/> exactly as a
/// network declared with that loss computes it, so a step through this object equals the generated step.
/// </summary>
/// <remarks>Cross-entropy reads the network's output as probabilities by default (a network ending in Softmax, as
/// Keras' <c>CategoricalCrossentropy(from_logits=False)</c>): E = −(1/n) Σ t log p, ∂E/∂p = −t/(n·p), which the
/// Softmax's backward pass turns into the generated (p − t)/n. Pass <c>fromLogits: true</c> for a network without a
/// final Softmax.</remarks>
public sealed class BuiltInLoss<T> : ILoss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The loss <paramref name="function"/>; <paramref name="fromLogits"/> only matters for cross-entropy.</summary>
    public BuiltInLoss(LossFunction function, bool fromLogits = false)
    {
        if (!Enum.IsDefined(function))
            throw new ArgumentOutOfRangeException(nameof(function), function, $"{function} is not a LossFunction; use one of: {string.Join(", ", Enum.GetNames<LossFunction>())}.");
        Function = function;
        FromLogits = fromLogits;
    }

    /// <summary>The built-in loss.</summary>
    public LossFunction Function { get; }

    /// <summary>Whether cross-entropy reads the output as logits (true) or as probabilities (false).</summary>
    public bool FromLogits { get; }

    /// <inheritdoc/>
    public string Name => Function.ToString();

    /// <inheritdoc/>
    public T Value(ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch)
    {
        NetworkLoss.CheckSpans(this, output, target, batch);
        return Function switch
        {
            LossFunction.HalfSquaredError => Losses.HalfSquaredError(output, target, batch),
            LossFunction.MeanSquaredError => Losses.MeanSquaredError(output, target),
            LossFunction.MeanAbsoluteError => Losses.MeanAbsoluteError(output, target),
            LossFunction.BinaryCrossEntropy => Losses.BinaryCrossEntropy(output, target),
            LossFunction.SumSquaredError => Losses.SumSquaredError(output, target),
            LossFunction.SumAbsoluteError => Losses.SumAbsoluteError(output, target),
            LossFunction.MulticlassHinge => Losses.MulticlassHinge(output, target, batch),
            LossFunction.MulticlassSquaredHinge => Losses.MulticlassHinge(output, target, batch, squared: true),
            _ => FromLogits ? Losses.CrossEntropyWithLogits(output, target, batch) : CrossEntropyOfProbabilities(output, target, batch),
        };
    }

    /// <inheritdoc/>
    public T ValueAndGradient(ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch, Span<T> gradient)
    {
        T value = Value(output, target, batch);
        if (gradient.Length != output.Length)
            throw new ArgumentException($"The gradient buffer holds {gradient.Length} values for {output.Length} outputs: pass one of the output's length.", nameof(gradient));
        switch (Function)
        {
            case LossFunction.HalfSquaredError: Losses.HalfSquaredErrorGradient(output, target, batch, gradient); break;
            case LossFunction.MeanSquaredError: Losses.MeanSquaredErrorGradient(output, target, gradient); break;
            case LossFunction.MeanAbsoluteError: Losses.MeanAbsoluteErrorGradient(output, target, gradient); break;
            case LossFunction.BinaryCrossEntropy: Losses.BinaryCrossEntropyGradient(output, target, gradient); break;
            case LossFunction.SumSquaredError: Losses.SumSquaredErrorGradient(output, target, gradient); break;
            case LossFunction.SumAbsoluteError: Losses.SumAbsoluteErrorGradient(output, target, gradient); break;
            case LossFunction.MulticlassHinge: Losses.MulticlassHingeGradient(output, target, batch, gradient); break;
            case LossFunction.MulticlassSquaredHinge: Losses.MulticlassHingeGradient(output, target, batch, gradient, squared: true); break;
            default:
                if (FromLogits) Losses.CrossEntropyWithLogitsGradient(output, target, batch, gradient);
                else
                {
                    T scale = -T.One / T.CreateChecked(batch);
                    for (int i = 0; i < output.Length; i++)
                        gradient[i] = target[i] == T.Zero ? T.Zero : scale * target[i] / T.Max(output[i], Tiny);
                }
                break;
        }
        return value;
    }

    /// <summary>The smallest probability a log is taken of (PyTorch's clamp of log p at −100 corresponds to e^−100).</summary>
    private static readonly T Tiny = T.Exp(T.CreateChecked(-100));

    private static T CrossEntropyOfProbabilities(ReadOnlySpan<T> p, ReadOnlySpan<T> target, int batch)
    {
        T sum = T.Zero;
        for (int i = 0; i < p.Length; i++)
            if (target[i] != T.Zero) sum -= target[i] * T.Log(T.Max(p[i], Tiny));
        return sum / T.CreateChecked(batch);
    }
}

/// <summary>
/// Training and evaluating any <see cref="INetwork{T}"/> with an <see cref="ILoss{T}"/>: forward, ∂E/∂output from the
/// loss, the generated <c>Backward(outputGradient, inputGradient)</c>, the optimiser's step.
/// </summary>
/// <remarks>
/// Weight penalties declared on layers (L1/L2) are included as on the generated path: a network that has them (its
/// generated <c>RegularizationLoss()</c> and <c>AddRegularizationGradients()</c>) gets the penalty added to the value
/// and its gradient added after the backward pass. The fused plain-SGD step is not used on this path (the result is the
/// same numbers as the unfused step). The ∂E/∂output buffer is allocated once per network, on its first step.
/// </remarks>
public static class NetworkLoss
{
    /// <summary>One training step with a custom loss: zero the gradients, forward, ∂E/∂output from
    /// <paramref name="loss"/>, backward, update with <paramref name="optimizer"/>. Returns the loss before the update.</summary>
    /// <param name="network">The network.</param>
    /// <param name="input">batch × InputSize values.</param>
    /// <param name="target">batch × <see cref="ILoss{T}.TargetSize"/> values.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="optimizer">Applies the update.</param>
    /// <param name="batch">Samples in the batch.</param>
    public static T TrainStep<T>(this INetwork<T> network, ReadOnlySpan<T> input, ReadOnlySpan<T> target, ILoss<T> loss, IOptimizer optimizer, int batch = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        network.ZeroGradients();
        network.Forward(input, batch);
        T value = network.Backward(loss, target, batch, []);
        optimizer.Step(network.Parameters, network.Gradients);
        return value;
    }

    /// <summary>The loss of the last forward pass of <paramref name="batch"/> samples, weight penalties included.</summary>
    public static T Loss<T>(this INetwork<T> network, ILoss<T> loss, ReadOnlySpan<T> target, int batch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(loss);
        var output = Outputs(network, batch);
        T value = loss.Value(output, target, batch);
        var penalty = Penalties<T>.For(network);
        return penalty is null ? value : value + penalty.Value.Loss(network);
    }

    /// <summary>Backpropagates <paramref name="loss"/> of the last forward pass of <paramref name="batch"/> samples: adds
    /// ∂E/∂θ into the network's gradients (weight penalties included) and writes ∂E/∂input into
    /// <paramref name="inputGradient"/> (empty to skip it). Returns the loss value, penalties included.</summary>
    public static T Backward<T>(this INetwork<T> network, ILoss<T> loss, ReadOnlySpan<T> target, int batch, Span<T> inputGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(loss);
        var output = Outputs(network, batch);
        Span<T> gradient = Scratch<T>.For(network).AsSpan(0, output.Length);
        T value = loss.ValueAndGradient(output, target, batch, gradient);
        network.Backward(gradient, inputGradient);
        var penalty = Penalties<T>.For(network);
        if (penalty is null) return value;
        value += penalty.Value.Loss(network);
        penalty.Value.AddGradients(network);
        return value;
    }

    private static ReadOnlySpan<T> Outputs<T>(INetwork<T> network, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var output = network.Output;
        if (batch < 1 || (long)batch * network.OutputSize > output.Length)
            throw new ArgumentException(
                $"{network.GetType().Name}'s last forward pass holds {output.Length / Math.Max(network.OutputSize, 1)} samples, not {batch}: " +
                "call Forward with this batch first, and pass the same batch size.", nameof(batch));
        return output[..(batch * network.OutputSize)];
    }

    /// <summary>Checks that a loss got batch × outputSize outputs and batch × TargetSize(outputSize) targets.</summary>
    public static void CheckSpans<T>(ILoss<T> loss, ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (batch < 1 || output.Length % batch != 0 || output.Length == 0)
            throw new ArgumentException($"Loss {loss.Name}: {output.Length} outputs do not hold {batch} samples: pass batch × outputSize outputs.", nameof(output));
        int outputSize = output.Length / batch, targetSize = loss.TargetSize(outputSize);
        if (target.Length != batch * targetSize)
            throw new ArgumentException(
                $"Loss {loss.Name}: {target.Length} target values were given for {batch} samples, but it takes {targetSize} per sample " +
                $"(for {outputSize} outputs per sample): pass {batch * targetSize} values.", nameof(target));
    }

    /// <summary>The ∂E/∂output buffer of each network (MaxBatch × OutputSize), made on its first use.</summary>
    private static class Scratch<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private static readonly ConditionalWeakTable<INetwork<T>, T[]> Buffers = [];

        public static T[] For(INetwork<T> network) =>
            Buffers.GetValue(network, n => new T[(long)n.MaxBatch * n.OutputSize]);
    }

    /// <summary>The generated penalty methods of a network type that declares L1/L2 penalties, as delegates.</summary>
    private readonly record struct Penalty<T>(Func<object, T> LossOf, Action<object> AddGradientsOf) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T Loss(object network) => LossOf(network);

        public void AddGradients(object network) => AddGradientsOf(network);
    }

    private static class Penalties<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private static readonly ConditionalWeakTable<Type, StrongBox<Penalty<T>?>> ByType = [];

        public static Penalty<T>? For(INetwork<T> network) =>
            ByType.GetValue(network.GetType(), static type =>
            {
                var loss = type.GetMethod("RegularizationLoss", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
                var add = type.GetMethod("AddRegularizationGradients", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
                if (loss is null || add is null || loss.ReturnType != typeof(T)) return new StrongBox<Penalty<T>?>(null);
                return new StrongBox<Penalty<T>?>(new Penalty<T>(n => (T)loss.Invoke(n, null)!, n => add.Invoke(n, null)));
            }).Value;
    }
}
