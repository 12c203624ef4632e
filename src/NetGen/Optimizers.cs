using System.Numerics;
using System.Numerics.Tensors;

namespace NetGen;

/// <summary>Updates a flat parameter buffer from its gradient buffer. Implementations must not allocate per step.</summary>
public interface IOptimizer
{
    /// <summary>Applies one update to <paramref name="parameters"/> from <paramref name="gradients"/> (same length).</summary>
    void Step<T>(Span<T> parameters, ReadOnlySpan<T> gradients) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>Plain stochastic gradient descent: θ ← θ − η·∂E/∂θ.</summary>
public sealed class Sgd(double learningRate) : IOptimizer
{
    /// <summary>η, the learning rate.</summary>
    public double LearningRate { get; set; } = learningRate > 0 && double.IsFinite(learningRate)
        ? learningRate
        : throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive finite number, e.g. 0.01.");

    /// <inheritdoc />
    public void Step<T>(Span<T> parameters, ReadOnlySpan<T> gradients) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Guard.SameLength(parameters.Length, gradients.Length, nameof(gradients));
        // θ ← θ + (−η)·g, vectorised; destination may alias the addend.
        TensorPrimitives.MultiplyAdd(gradients, T.CreateChecked(-LearningRate), parameters, parameters);
    }
}
