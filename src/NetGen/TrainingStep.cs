using System.Numerics;

namespace NetGen;

/// <summary>
/// A training step written by the user (or by NetGen, as <see cref="GanStep{T}"/>) that <see cref="Trainer.FitWith{T}(ITrainingStep{T}, Dataset{T}, int, int, int, TextWriter?, IEnumerable{ICallback}?, int, bool)"/>
/// runs over the mini-batches of a data set, with the same shuffling, Keras progress line, callbacks and
/// <see cref="History"/> as the one-network Fit: Keras' overridden <c>train_step</c>. A step may train several
/// networks with several optimisers and report several losses (a GAN's "d_loss" and "g_loss").
/// </summary>
public interface ITrainingStep<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The names of the values <see cref="Step"/> reports, in order; each becomes a History series and a
    /// field of the progress line (e.g. "d_loss", "g_loss").</summary>
    IReadOnlyList<string> LossNames { get; }

    /// <summary>Every network the step trains: Fit puts them in training mode, and callbacks that capture weights
    /// (EarlyStopping's restore) capture all of them.</summary>
    IReadOnlyList<INetwork<T>> Networks { get; }

    /// <summary>The optimisers, first the one whose learning rate schedules and callbacks adjust.</summary>
    IReadOnlyList<IOptimizer> Optimizers { get; }

    /// <summary>Trains on one mini-batch: <paramref name="input"/> holds <paramref name="batch"/> samples of the data
    /// set's features, <paramref name="labels"/> their labels (empty for a data set with target vectors).
    /// Writes one value per <see cref="LossNames"/> into <paramref name="losses"/>, measured before the update.
    /// Must not allocate (it runs every step).</summary>
    void Step(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, int batch, Span<double> losses);
}

/// <summary>The training context of a user-defined step: the step stands for the network.</summary>
internal sealed class StepTrainingContext<T>(ITrainingStep<T> step, int epochs, int stepsPerEpoch, int batchSize, int trainingSamples, History history, TextWriter? log)
    : TrainingContext(step.Optimizers[0], epochs, stepsPerEpoch, batchSize, trainingSamples, 0, history, log)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public override object Network => step;

    public override WeightSnapshot CaptureWeights(WeightSnapshot? reuse = null)
    {
        int parameters = step.Networks.Sum(n => n.Parameters.Length), state = step.Networks.Sum(n => n.State.Length);
        if (reuse?.Parameters is not T[] p || p.Length != parameters || reuse.State is not T[] s || s.Length != state)
            reuse = new WeightSnapshot(new T[parameters], new T[state]);
        int at = 0, st = 0;
        foreach (var net in step.Networks)
        {
            net.Parameters.CopyTo(((T[])reuse.Parameters).AsSpan(at));
            net.State.CopyTo(((T[])reuse.State).AsSpan(st));
            at += net.Parameters.Length;
            st += net.State.Length;
        }
        return reuse;
    }

    public override void RestoreWeights(WeightSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        int parameters = step.Networks.Sum(n => n.Parameters.Length), state = step.Networks.Sum(n => n.State.Length);
        if (snapshot.Parameters is not T[] p || p.Length != parameters || snapshot.State is not T[] s || s.Length != state)
            throw new ArgumentException("This snapshot was taken from other networks.", nameof(snapshot));
        int at = 0, st = 0;
        foreach (var net in step.Networks)
        {
            p.AsSpan(at, net.Parameters.Length).CopyTo(net.Parameters);
            s.AsSpan(st, net.State.Length).CopyTo(net.State);
            at += net.Parameters.Length;
            st += net.State.Length;
        }
    }

    public override void SaveCheckpoint(string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        throw new NotSupportedException("A training step over several networks has no single checkpoint: save each network with Checkpoint.Save in a callback.");
}
