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
    /// <param name="loss">A custom loss (<see cref="ILoss{T}"/>, e.g. a detector's) trained and reported instead of the
    /// network's declared one, through <see cref="GpuNetwork{T}.TrainStep(ReadOnlySpan{T}, ReadOnlySpan{T}, ILoss{T}, Optimizer, int)"/>
    /// (the output is read back and ∂E/∂output uploaded each step; the loss is summed on the host). The data set's targets
    /// then have <see cref="ILoss{T}.TargetSize"/> values per sample (a labelled set is read as one-hot targets), and
    /// <c>val_accuracy</c> is logged only when the targets have one value per output. Null for the declared loss.</param>
    /// <returns>The per-epoch logs, as <see cref="Trainer.Fit"/>'s: <c>loss</c>, and <c>val_loss</c>/<c>val_accuracy</c>
    /// with a validation set, plus <c>learning_rate</c>.</returns>
    public static History Fit<T>(GpuNetwork<T> net, Dataset<T> train, int epochs, int batchSize, Optimizer optimizer,
        int seed = 0, TextWriter? log = null, Dataset<T>? validation = null, ILoss<T>? loss = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (loss is not null) return FitCustom(net, train, epochs, batchSize, optimizer, seed, log, validation, loss);
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
            double meanLoss = double.CreateChecked(net.TakeMeanLoss());   // one read-back per epoch
            clock.Stop();
            if (!double.IsFinite(meanLoss))
                throw new InvalidOperationException($"Training diverged: the mean loss of epoch {epoch}/{epochs} is {meanLoss}. Lower the learning rate.");
            double seconds = clock.Elapsed.TotalSeconds;
            var logs = new Dictionary<string, double> { ["loss"] = meanLoss };
            string line = Invariant($"Epoch {epoch}/{epochs} - {seconds:0.0}s {ProgressLogger.FormatPerStep(seconds / steps)} - loss: {meanLoss:0.0000}");
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

    private static History FitCustom<T>(GpuNetwork<T> net, Dataset<T> train, int epochs, int batchSize, Optimizer optimizer,
        int seed, TextWriter? log, Dataset<T>? validation, ILoss<T> loss) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, net.MaxBatch);
        int targetSize = CheckCustom(net, train, loss, nameof(train));
        if (validation is not null) CheckCustom(net, validation, loss, nameof(validation));
        int count = train.Count, featureSize = train.FeatureSize;
        int steps = (count + batchSize - 1) / batchSize;
        var order = new int[count];
        var input = new T[batchSize * featureSize];
        var labels = new int[batchSize];
        var targets = new T[batchSize * targetSize];
        var history = new History();
        net.Training = true;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            Trainer.EpochOrder(order, seed, epoch - 1);   // Trainer.Fit's order for this epoch
            double lossSum = 0;
            for (int step = 0; step < steps; step++)
            {
                int start = step * batchSize, n = Math.Min(batchSize, count - start);
                Trainer.Gather(train, order.AsSpan(start, n), input, labels, targets);
                if (train.HasLabels) Losses.OneHot<T>(labels.AsSpan(0, n), net.OutputSize, targets);
                T value = net.TrainStep(input.AsSpan(0, n * featureSize), targets.AsSpan(0, n * targetSize), loss, optimizer, n);
                if (!T.IsFinite(value))
                    throw new InvalidOperationException($"Training diverged: the {loss.Name} loss of step {step + 1}/{steps} of epoch {epoch}/{epochs} is {value}. Lower the learning rate.");
                lossSum += double.CreateChecked(value) * n;
            }
            clock.Stop();
            double meanLoss = lossSum / count, seconds = clock.Elapsed.TotalSeconds;
            var logs = new Dictionary<string, double> { ["loss"] = meanLoss };
            string line = Invariant($"Epoch {epoch}/{epochs} - {seconds:0.0}s {ProgressLogger.FormatPerStep(seconds / steps)} - loss: {meanLoss:0.0000}");
            if (validation is not null)
            {
                var (valLoss, valAccuracy) = Evaluate(net, validation, loss);
                logs["val_loss"] = valLoss;
                line += Invariant($" - val_loss: {valLoss:0.0000}");
                if (!double.IsNaN(valAccuracy))
                {
                    logs["val_accuracy"] = valAccuracy;
                    line += Invariant($" - val_accuracy: {valAccuracy:0.0000}");
                }
            }
            logs["learning_rate"] = optimizer.LearningRate;
            history.Append(logs);
            log?.WriteLine(line);
        }
        return history;
    }

    /// <summary>The targets per sample <paramref name="loss"/> takes, after checking <paramref name="data"/> gives them.</summary>
    private static int CheckCustom<T>(GpuNetwork<T> net, Dataset<T> data, ILoss<T> loss, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (data.FeatureSize != net.InputSize)
            throw new ArgumentException($"The data has {data.FeatureSize} values per sample; the network takes {net.InputSize}.", name);
        int targetSize = loss.TargetSize(net.OutputSize);
        if (data.HasLabels ? targetSize != net.OutputSize : data.TargetSize != targetSize)
            throw new ArgumentException(data.HasLabels
                ? $"The data has class labels, read as one-hot targets of {net.OutputSize} values, but the loss {loss.Name} takes {targetSize} targets per sample: give target vectors."
                : $"The data has {data.TargetSize} target values per sample, but the loss {loss.Name} takes {targetSize} for {net.OutputSize} outputs.", name);
        return targetSize;
    }

    /// <summary>The mean per sample of <paramref name="loss"/> over <paramref name="data"/> in inference mode, and the
    /// accuracy when the targets have one value per output (else NaN).</summary>
    public static (double Loss, double Accuracy) Evaluate<T>(GpuNetwork<T> net, Dataset<T> data, ILoss<T> loss) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        int targetSize = CheckCustom(net, data, loss, nameof(data));
        bool training = net.Training;
        net.Training = false;
        try
        {
            int count = data.Count, featureSize = data.FeatureSize, outputSize = net.OutputSize;
            bool classes = targetSize == outputSize;
            var targets = new T[net.MaxBatch * targetSize];
            double lossSum = 0;
            int correct = 0;
            for (int start = 0; start < count; start += net.MaxBatch)
            {
                int n = Math.Min(net.MaxBatch, count - start);
                ReadOnlySpan<T> output = net.Forward(data.AllFeatures.Slice(start * featureSize, n * featureSize), n);
                var t = targets.AsSpan(0, n * targetSize);
                if (data.HasLabels) Losses.OneHot<T>(data.Labels.Slice(start, n), outputSize, t);
                else data.Targets.Slice(start * targetSize, n * targetSize).CopyTo(t);
                lossSum += double.CreateChecked(loss.Value(output, t, n)) * n;
                if (!classes) continue;
                for (int k = 0; k < n; k++)
                    if (Metrics.PredictedClass(output.Slice(k * outputSize, outputSize)) == Metrics.PredictedClass<T>(t.Slice(k * targetSize, targetSize))) correct++;
            }
            return (lossSum / count, classes ? (double)correct / count : double.NaN);
        }
        finally { net.Training = training; }
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
