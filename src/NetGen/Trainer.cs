using System.Diagnostics;
using System.Globalization;
using System.Numerics;

namespace NetGen;

/// <summary>What <see cref="Trainer.Fit"/> measured, one entry per completed epoch.</summary>
public sealed class History
{
    internal readonly List<double> LossList = [], AccuracyList = [], ValidationLossList = [], ValidationAccuracyList = [];

    internal History() { }

    /// <summary>Number of completed epochs.</summary>
    public int Epochs => LossList.Count;

    /// <summary>Mean training loss of each epoch (each step's loss weighted by its batch size), measured during the
    /// epoch, before each step's update, as Keras reports it.</summary>
    public IReadOnlyList<double> Loss => LossList;

    /// <summary>Training accuracy of each epoch, measured like <see cref="Loss"/> (see <see cref="Trainer.Evaluate"/>
    /// for how accuracy is defined).</summary>
    public IReadOnlyList<double> Accuracy => AccuracyList;

    /// <summary>Loss on the validation set after each epoch, in inference mode; empty without a validation set.</summary>
    public IReadOnlyList<double> ValidationLoss => ValidationLossList;

    /// <summary>Accuracy on the validation set after each epoch; empty without a validation set.</summary>
    public IReadOnlyList<double> ValidationAccuracy => ValidationAccuracyList;
}

/// <summary>A minimal mini-batch training loop over a <see cref="Dataset{T}"/>.</summary>
public static class Trainer
{
    /// <summary>
    /// Trains <paramref name="network"/> for <paramref name="epochs"/> passes over <paramref name="train"/>. Each
    /// epoch visits the samples in an order shuffled by <c>new SeededRandom(seed + epoch)</c> (epochs counted from
    /// 1), so a seed gives the same run every time; mini-batches are gathered into buffers allocated once, and the
    /// last batch of an epoch may be smaller. After each epoch one Keras-style line is written to
    /// <paramref name="log"/>: <c>Epoch 3/20 - 0.4s - loss: 0.1234 - accuracy: 0.9650</c>, followed by
    /// <c> - val_loss: … - val_accuracy: …</c> when <paramref name="validation"/> is given.
    /// </summary>
    /// <param name="network">The network; it is left in training mode.</param>
    /// <param name="train">The training set: labels (one output per class) or target vectors (one per output).</param>
    /// <param name="epochs">Passes over the training set, at least 1.</param>
    /// <param name="batchSize">Samples per step, from 1 to <see cref="INetwork{T}.MaxBatch"/>.</param>
    /// <param name="optimizer">Applies each step's update.</param>
    /// <param name="seed">Seeds the shuffling.</param>
    /// <param name="log">Receives one line per epoch; null for none.</param>
    /// <param name="validation">Evaluated after each epoch (in inference mode); null for none.</param>
    /// <exception cref="ArgumentException">An argument is out of range or the data does not fit the network.</exception>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite (training diverged).</exception>
    public static History Fit<T>(INetwork<T> network, Dataset<T> train, int epochs, int batchSize, IOptimizer optimizer,
        int seed = 0, TextWriter? log = null, Dataset<T>? validation = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"Train for at least 1 epoch; {epochs} were asked for.");
        CheckBatchSize(network, batchSize, nameof(batchSize));
        if (train.Count == 0)
            throw new ArgumentException("The training set has no samples: pass a data set with at least one sample.", nameof(train));
        int outputSize = CheckFits(network, train, nameof(train));
        if (validation is not null)
        {
            if (validation.Count == 0)
                throw new ArgumentException("The validation set has no samples: pass one with at least one sample, or null for none.", nameof(validation));
            if (validation.FeatureSize != train.FeatureSize || validation.HasLabels != train.HasLabels || validation.TargetSize != train.TargetSize)
                throw new ArgumentException(
                    $"The validation set ({Describe(validation)}) does not match the training set ({Describe(train)}): " +
                    "split both from the same data, e.g. with Dataset.Split.", nameof(validation));
            CheckFits(network, validation, nameof(validation));
        }

        int count = train.Count, featureSize = train.FeatureSize, targetSize = train.TargetSize;
        int steps = (count + batchSize - 1) / batchSize;
        var order = new int[count];
        var input = new T[batchSize * featureSize];
        int[] labels = train.HasLabels ? new int[batchSize] : [];
        T[] targets = train.HasLabels ? [] : new T[batchSize * targetSize];
        ReadOnlySpan<T> allFeatures = train.AllFeatures, allTargets = train.Targets;
        ReadOnlySpan<int> allLabels = train.Labels;

        var history = new History();
        var clock = new Stopwatch();
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            clock.Restart();
            network.Training = true;
            for (int i = 0; i < count; i++) order[i] = i;
            new SeededRandom(seed + (long)epoch).Shuffle<int>(order);
            double lossSum = 0;
            long correct = 0;
            for (int step = 0; step < steps; step++)
            {
                int start = step * batchSize, n = Math.Min(batchSize, count - start);
                for (int k = 0; k < n; k++)
                {
                    int s = order[start + k];
                    allFeatures.Slice(s * featureSize, featureSize).CopyTo(input.AsSpan(k * featureSize));
                    if (train.HasLabels) labels[k] = allLabels[s];
                    else allTargets.Slice(s * targetSize, targetSize).CopyTo(targets.AsSpan(k * targetSize));
                }
                ReadOnlySpan<T> x = input.AsSpan(0, n * featureSize);
                T loss = train.HasLabels
                    ? network.TrainStep(x, labels.AsSpan(0, n), optimizer, n)
                    : network.TrainStep(x, targets.AsSpan(0, n * targetSize), optimizer, n);
                if (!T.IsFinite(loss))
                    throw new InvalidOperationException(
                        $"Training diverged: the loss became {loss} at epoch {epoch}/{epochs}, step {step + 1}/{steps} (batch of {n} samples). " +
                        "Lower the learning rate (e.g. by a factor of 10), and check the data for NaN or very large values (scale features to about [0, 1]).");
                lossSum += double.CreateChecked(loss) * n;
                ReadOnlySpan<T> output = network.Output[..(n * outputSize)];
                correct += train.HasLabels
                    ? CountCorrect(output, outputSize, labels.AsSpan(0, n))
                    : CountCorrect(output, outputSize, targets.AsSpan(0, n * targetSize));
            }
            history.LossList.Add(lossSum / count);
            history.AccuracyList.Add((double)correct / count);
            if (validation is not null)
            {
                var (valLoss, valAccuracy) = EvaluateCore(network, validation, batchSize, outputSize);
                history.ValidationLossList.Add(valLoss);
                history.ValidationAccuracyList.Add(valAccuracy);
                network.Training = true;
            }
            clock.Stop();
            if (log is not null)
            {
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"Epoch {epoch}/{epochs} - {clock.Elapsed.TotalSeconds:0.0}s - loss: {history.LossList[^1]:0.0000} - accuracy: {history.AccuracyList[^1]:0.0000}");
                if (validation is not null)
                    line += string.Create(CultureInfo.InvariantCulture,
                        $" - val_loss: {history.ValidationLossList[^1]:0.0000} - val_accuracy: {history.ValidationAccuracyList[^1]:0.0000}");
                log.WriteLine(line);
            }
        }
        return history;
    }

    /// <summary>
    /// Runs <paramref name="network"/> over <paramref name="data"/> in inference mode, in order, and returns the mean
    /// loss per sample and the accuracy. Accuracy is the fraction of samples whose output is right: for a labelled
    /// set, the index of the largest output equals the label (with a single output and two classes: output ≥ 0.5
    /// exactly when the label is 1); for a target set with one output, (output ≥ 0.5) = (target ≥ 0.5); for a target
    /// set with several outputs, the index of the largest output equals the index of the largest target. (For a
    /// regression set the accuracy is therefore computed but rarely meaningful; it is never NaN.)
    /// The network's training mode is restored afterwards.
    /// </summary>
    /// <param name="network">The network.</param>
    /// <param name="data">The samples to evaluate.</param>
    /// <param name="batchSize">Samples per forward pass; 0 for <see cref="INetwork{T}.MaxBatch"/>.</param>
    public static (double Loss, double Accuracy) Evaluate<T>(INetwork<T> network, Dataset<T> data, int batchSize = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize == 0) batchSize = network.MaxBatch;
        CheckBatchSize(network, batchSize, nameof(batchSize));
        if (data.Count == 0)
            throw new ArgumentException("The data set has no samples: pass one with at least one sample.", nameof(data));
        bool training = network.Training;
        try
        {
            int outputSize = CheckFits(network, data, nameof(data));
            return EvaluateCore(network, data, batchSize, outputSize);
        }
        finally { network.Training = training; }
    }

    private static (double Loss, double Accuracy) EvaluateCore<T>(INetwork<T> network, Dataset<T> data, int batchSize, int outputSize)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        network.Training = false;
        int count = data.Count, featureSize = data.FeatureSize, targetSize = data.TargetSize;
        double lossSum = 0;
        long correct = 0;
        // Samples are taken in order, so each batch is a contiguous slice of the data set: nothing is copied.
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            ReadOnlySpan<T> output = network.Forward(data.AllFeatures.Slice(start * featureSize, n * featureSize), n)[..(n * outputSize)];
            if (data.HasLabels)
            {
                ReadOnlySpan<int> labels = data.Labels.Slice(start, n);
                lossSum += double.CreateChecked(network.Loss(labels)) * n;
                correct += CountCorrect(output, outputSize, labels);
            }
            else
            {
                ReadOnlySpan<T> targets = data.Targets.Slice(start * targetSize, n * targetSize);
                lossSum += double.CreateChecked(network.Loss(targets)) * n;
                correct += CountCorrect(output, outputSize, targets);
            }
        }
        return (lossSum / count, (double)correct / count);
    }

    private static void CheckBatchSize<T>(INetwork<T> network, int batchSize, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (batchSize < 1 || batchSize > network.MaxBatch)
            throw new ArgumentOutOfRangeException(name, batchSize,
                $"Batch size {batchSize} is out of range: {network.GetType().Name} was constructed for batches of 1 to {network.MaxBatch} samples. " +
                $"Construct the network with maxBatch: {Math.Max(batchSize, 1)} (or more), or pass a batch size from 1 to {network.MaxBatch}.");
    }

    /// <summary>Checks that <paramref name="data"/> fits the network, by a one-sample forward pass in inference mode
    /// (which changes no state a later pass depends on), and returns the network's output size.</summary>
    private static int CheckFits<T>(INetwork<T> network, Dataset<T> data, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        string netName = network.GetType().Name;
        string set = name switch { "train" => "training set", "validation" => "validation set", _ => "data set" };
        bool training = network.Training;
        int outputSize;
        try
        {
            network.Training = false;
            outputSize = network.Forward(data.Features(0), 1).Length;
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException(
                $"The {set} has {data.FeatureSize} features per sample, which {netName} does not accept ({ex.Message}) " +
                "Give the network an input of that size, or reshape the data set to the network's input size.", name, ex);
        }
        finally { network.Training = training; }
        if (data.HasLabels)
        {
            if (outputSize != data.Classes && !(outputSize == 1 && data.Classes == 2))
                throw new ArgumentException(
                    $"The {set} has {data.Classes} classes but {netName} has {outputSize} outputs: a classifier needs one output per class " +
                    $"(a final Dense({data.Classes}) layer), or one output for two classes.", name);
        }
        else if (outputSize != data.TargetSize)
            throw new ArgumentException(
                $"The {set} has {data.TargetSize} target values per sample but {netName} has {outputSize} outputs: " +
                $"give the network {data.TargetSize} outputs, or the data set {outputSize} target values per sample.", name);
        return outputSize;
    }

    private static string Describe<T>(Dataset<T> d) where T : unmanaged, IFloatingPointIeee754<T> =>
        d.HasLabels
            ? $"{d.FeatureSize} features, {d.Classes} classes"
            : $"{d.FeatureSize} features, {d.TargetSize} target values";

    private static int CountCorrect<T>(ReadOnlySpan<T> output, int outputSize, ReadOnlySpan<int> labels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int correct = 0;
        T half = T.CreateChecked(0.5);
        for (int k = 0; k < labels.Length; k++)
        {
            ReadOnlySpan<T> row = output.Slice(k * outputSize, outputSize);
            int predicted = outputSize == 1 ? (row[0] >= half ? 1 : 0) : ArgMax(row);
            if (predicted == labels[k]) correct++;
        }
        return correct;
    }

    private static int CountCorrect<T>(ReadOnlySpan<T> output, int outputSize, ReadOnlySpan<T> targets) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int correct = 0, n = output.Length / outputSize;
        T half = T.CreateChecked(0.5);
        for (int k = 0; k < n; k++)
        {
            ReadOnlySpan<T> row = output.Slice(k * outputSize, outputSize), target = targets.Slice(k * outputSize, outputSize);
            bool right = outputSize == 1 ? (row[0] >= half) == (target[0] >= half) : ArgMax(row) == ArgMax(target);
            if (right) correct++;
        }
        return correct;
    }

    private static int ArgMax<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
        return best;
    }
}
