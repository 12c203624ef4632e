using System.Diagnostics;
using System.Numerics;

namespace NetGen.Gpu;

/// <summary>
/// Keras' <c>fit</c> and <c>evaluate</c> for a network's <c>Gpu</c> variant. Batches are drawn exactly as
/// <see cref="Trainer.Fit"/> draws them (the same epoch order and gathering code), so with the same seed the GPU and
/// the CPU network take the same steps from the same weights and end with the same accuracy up to float rounding.
/// </summary>
public static class GpuTrainer
{
    /// <summary>Trains for <paramref name="epochs"/> passes over <paramref name="train"/> with TrainStep, writing one
    /// line per epoch to <paramref name="log"/> when given (<c>Epoch 3/15 - 2.8s 62ms/step - loss: 0.5468</c>). Returns
    /// each epoch's loss: the mean per sample of its steps' losses (as Trainer.Fit's), summed on the device
    /// (<see cref="GpuNetwork{T}.AccumulateLoss"/>) and read back once per epoch.</summary>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite.</exception>
    /// <param name="net">The network's Gpu variant.</param>
    /// <param name="train">Training samples, with labels or target vectors.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Samples per step, at most the network's MaxBatch.</param>
    /// <param name="optimizer">One of the built-in optimisers; its learning rate may be changed between calls.</param>
    /// <param name="seed">The shuffling seed, as Trainer.Fit's.</param>
    /// <param name="log">Where the epoch lines go; null for none.</param>
    /// <param name="validation">Evaluated after each epoch in inference mode (<c>val_loss</c>, <c>val_accuracy</c>); null for none.</param>
    /// <returns>The per-epoch logs, as <see cref="Trainer.Fit"/>'s: <c>loss</c>, and <c>val_loss</c>/<c>val_accuracy</c>
    /// with a validation set, plus <c>learning_rate</c>.</returns>
    public static History Fit<T>(GpuNetwork<T> net, Dataset<T> train, int epochs, int batchSize, Optimizer optimizer,
        int seed = 0, TextWriter? log = null, Dataset<T>? validation = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (train.FeatureSize != net.InputSize)
            throw new ArgumentException($"The data has {train.FeatureSize} values per sample; the network takes {net.InputSize}.", nameof(train));
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, net.MaxBatch);
        int count = train.Count, featureSize = train.FeatureSize, targetSize = train.TargetSize;
        int steps = (count + batchSize - 1) / batchSize;
        var order = new int[count];
        var input = new T[batchSize * featureSize];
        var labels = new int[batchSize];
        var targets = new T[train.HasLabels ? 0 : batchSize * targetSize];
        if (validation is not null && validation.FeatureSize != net.InputSize)
            throw new ArgumentException($"The validation data has {validation.FeatureSize} values per sample; the network takes {net.InputSize}.", nameof(validation));
        var history = new History();
        net.Training = true;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            Trainer.EpochOrder(order, seed, epoch - 1);   // Trainer.Fit's order for this epoch
            for (int step = 0; step < steps; step++)
            {
                int start = step * batchSize, n = Math.Min(batchSize, count - start);
                Trainer.Gather(train, order.AsSpan(start, n), input, labels, targets);
                ReadOnlySpan<T> x = input.AsSpan(0, n * featureSize);
                if (train.HasLabels) net.TrainStep(x, labels.AsSpan(0, n), optimizer, n);
                else net.TrainStep(x, targets.AsSpan(0, n * targetSize), optimizer, n);
                net.AccumulateLoss();   // the step's loss before its update, added up on the device: nothing is read back
            }
            double loss = double.CreateChecked(net.TakeMeanLoss());   // one read-back per epoch
            clock.Stop();
            if (!double.IsFinite(loss))
                throw new InvalidOperationException($"Training diverged: the mean loss of epoch {epoch}/{epochs} is {loss}. Lower the learning rate.");
            double seconds = clock.Elapsed.TotalSeconds;
            var logs = new Dictionary<string, double> { ["loss"] = loss };
            string line = Invariant($"Epoch {epoch}/{epochs} - {seconds:0.0}s {ProgressLogger.FormatPerStep(seconds / steps)} - loss: {loss:0.0000}");
            if (validation is not null)
            {
                var (valLoss, valAccuracy) = Evaluate(net, validation);
                logs["val_loss"] = valLoss;
                logs["val_accuracy"] = valAccuracy;
                line += Invariant($" - val_loss: {valLoss:0.0000} - val_accuracy: {valAccuracy:0.0000}");
            }
            logs["learning_rate"] = optimizer.LearningRate;
            history.Append(logs);
            log?.WriteLine(line);
        }
        return history;
    }

    /// <summary>The mean loss per sample and the accuracy over <paramref name="data"/>, in inference mode (dropout off,
    /// batch norm with its running statistics), as <see cref="Trainer.Evaluate{T}(INetwork{T}, Dataset{T}, int)"/>
    /// defines them: Forward reads each batch's output back, the class is the largest output.</summary>
    public static (double Loss, double Accuracy) Evaluate<T>(GpuNetwork<T> net, Dataset<T> data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool training = net.Training;
        net.Training = false;
        try
        {
            int count = data.Count, featureSize = data.FeatureSize, outputSize = net.OutputSize, targetSize = data.TargetSize;
            double lossSum = 0;
            int correct = 0;
            for (int start = 0; start < count; start += net.MaxBatch)
            {
                int n = Math.Min(net.MaxBatch, count - start);
                ReadOnlySpan<T> output = net.Forward(data.AllFeatures.Slice(start * featureSize, n * featureSize), n);
                for (int k = 0; k < n; k++)
                {
                    int predicted = Metrics.PredictedClass(output.Slice(k * outputSize, outputSize));
                    int actual = data.HasLabels ? data.Label(start + k) : Metrics.PredictedClass(data.Target(start + k));
                    if (predicted == actual) correct++;
                }
                T loss = data.HasLabels
                    ? net.Loss(data.Labels.Slice(start, n))
                    : net.Loss(data.Targets.Slice(start * targetSize, n * targetSize));
                lossSum += double.CreateChecked(loss) * n;
            }
            return (lossSum / count, (double)correct / count);
        }
        finally { net.Training = training; }
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
