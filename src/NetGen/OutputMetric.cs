using System.Numerics;

namespace NetGen;

/// <summary>
/// A metric over a network's outputs and the data set's targets, whatever their shapes (a detector's mAP over decoded
/// boxes, a reconstruction error): <see cref="Reset"/>, <see cref="Update"/> once per batch, <see cref="Result"/>.
/// <see cref="Trainer.Fit"/> (its <c>outputMetrics:</c> argument) and <see cref="Trainer.Evaluate{T}(INetwork{T}, Dataset{T}, ILoss{T}, IEnumerable{IOutputMetric{T}}, int)"/>
/// log it by <see cref="Name"/>, as <see cref="IMetric"/>s are logged (which see class labels only).
/// </summary>
/// <typeparam name="T">The network's element type.</typeparam>
public interface IOutputMetric<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The name logged in the history, e.g. "map50".</summary>
    string Name { get; }

    /// <summary>Whether <see cref="Trainer.Fit"/> also computes it over the training batches (Keras does for every
    /// metric); false for a metric only worth its cost on the validation set. It is always computed by Evaluate.</summary>
    bool OnTraining => true;

    /// <summary>Forgets everything accumulated.</summary>
    void Reset();

    /// <summary>Accumulates one batch: <paramref name="outputs"/> is batch × outputSize values, <paramref name="targets"/>
    /// batch × targetSize values (the data set's targets of the same samples).</summary>
    void Update(ReadOnlySpan<T> outputs, ReadOnlySpan<T> targets, int batch);

    /// <summary>The value over everything accumulated since <see cref="Reset"/>.</summary>
    double Result { get; }
}
