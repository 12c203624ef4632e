using NetGen;

namespace Module2.Optimization;

/// <summary>
/// A user-written callback (NetGen's <see cref="ICallback"/>, Keras' <c>keras.callbacks.Callback</c>): keeps every
/// finished epoch's values, and the running loss of the last finite batch. <see cref="Trainer.Fit"/> returns its
/// History only when training ends normally; when a run diverges Fit throws, and this copy is what is left to plot.
/// </summary>
public sealed class EpochRecorder : ICallback
{
    /// <summary>The values of each finished epoch, as Fit's own History would hold them.</summary>
    public History History { get; private set; } = new();

    /// <summary>The running mean loss of the epoch in progress at its last finite batch (NaN before the first).</summary>
    public double LastFiniteBatchLoss { get; private set; } = double.NaN;

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        History = new History();
        LastFiniteBatchLoss = double.NaN;
    }

    void ICallback.OnBatchEnd(TrainingContext context, int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out double loss) && double.IsFinite(loss)) LastFiniteBatchLoss = loss;
    }

    void ICallback.OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs) => History.Append(logs);
}
