using System.Globalization;
using System.Numerics;

namespace NetGen;

/// <summary>
/// What <see cref="Trainer.Fit"/> measured, one value per completed epoch under each logged name, as Keras'
/// <c>History.history</c>: "loss", "accuracy", the names of extra metrics, the same with "val_" for the validation
/// set, and "learning_rate" (the rate in effect during the epoch). <c>history["val_loss"]</c> reads one series.
/// </summary>
public sealed class History
{
    private readonly Dictionary<string, List<double>> _series = new(StringComparer.Ordinal);
    private readonly List<string> _keys = [];

    /// <summary>An empty history (Fit returns a filled one; build one by hand with <see cref="Append"/>, e.g. to plot
    /// runs read back from a file).</summary>
    public History() { }

    /// <summary>Number of completed epochs.</summary>
    public int Epochs { get; private set; }

    /// <summary>The logged names, in the order they first appeared.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The per-epoch values of <paramref name="key"/> (e.g. "val_loss").</summary>
    /// <exception cref="KeyNotFoundException">Nothing was logged under that name; the message lists what was.</exception>
    public IReadOnlyList<double> this[string key] =>
        _series.TryGetValue(key, out var values)
            ? values
            : throw new KeyNotFoundException($"The history has no '{key}'; it has: {(_keys.Count == 0 ? "nothing yet" : string.Join(", ", _keys))}." +
                (key.StartsWith("val_", StringComparison.Ordinal) ? " Validation values need validation: or validationSplit: in Trainer.Fit." : ""));

    /// <summary>Whether anything was logged under <paramref name="key"/>.</summary>
    public bool Contains(string key) => _series.ContainsKey(key);

    /// <summary>Adds one epoch's values. A name first logged in a later epoch has NaN for the earlier ones, and a
    /// name missing from an epoch gets NaN, so every series has <see cref="Epochs"/> values.</summary>
    public void Append(IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        foreach (var (key, value) in logs)
        {
            if (!_series.TryGetValue(key, out var list))
            {
                list = new List<double>(Math.Max(Epochs + 1, 4));
                for (int e = 0; e < Epochs; e++) list.Add(double.NaN);
                _series[key] = list;
                _keys.Add(key);
            }
            list.Add(value);
        }
        Epochs++;
        foreach (var list in _series.Values)
            if (list.Count < Epochs) list.Add(double.NaN);
    }

    /// <summary>Mean training loss of each epoch (each step's loss weighted by its batch size), measured during the
    /// epoch, before each step's update, as Keras reports it.</summary>
    public IReadOnlyList<double> Loss => Series("loss");

    /// <summary>Training accuracy of each epoch, measured like <see cref="Loss"/> (see <see cref="Trainer.Evaluate{T}(INetwork{T}, Dataset{T}, int)"/>
    /// for how accuracy is defined).</summary>
    public IReadOnlyList<double> Accuracy => Series("accuracy");

    /// <summary>Loss on the validation set after each epoch, in inference mode; empty without a validation set.</summary>
    public IReadOnlyList<double> ValidationLoss => Series("val_loss");

    /// <summary>Accuracy on the validation set after each epoch; empty without a validation set.</summary>
    public IReadOnlyList<double> ValidationAccuracy => Series("val_accuracy");

    /// <summary>The learning rate in effect during each epoch; empty when the optimiser has none.</summary>
    public IReadOnlyList<double> LearningRate => Series("learning_rate");

    private IReadOnlyList<double> Series(string key) => _series.TryGetValue(key, out var values) ? values : [];
}

/// <summary>The mini-batch training loop over a <see cref="Dataset{T}"/>, with Keras' <c>fit()</c> semantics.</summary>
public static class Trainer
{
    /// <summary>The divergence error. It says what the weights now are: those of the last good step when this step's
    /// update was not applied (the generated TrainStep does not update after a non-finite loss, and an
    /// <see cref="Optimizer"/> skips a step with a non-finite gradient), which it checks rather than assumes.</summary>
    private static InvalidOperationException Diverged<T>(INetwork<T> network, bool skipped, double loss, int epoch, int epochs, int step, int steps, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = System.Numerics.Tensors.TensorPrimitives.IndexOfMaxMagnitude<T>(network.Parameters);
        bool finite = k < 0 || T.IsFinite(network.Parameters[k]);
        string weights = finite
            ? $"The network's weights are those of the last good step ({(step > 0 ? $"step {step} of epoch {epoch + 1}" : epoch > 0 ? $"the last step of epoch {epoch}" : "the initial weights")}): this step's update was not applied."
            : "The update of this step was already applied and some weights are no longer finite: reload the last checkpoint.";
        return new InvalidOperationException(
            $"Training diverged: {(skipped ? $"the gradients became NaN or infinite (the loss was {loss.ToString(CultureInfo.InvariantCulture)})" : $"the loss became {loss.ToString(CultureInfo.InvariantCulture)}")} at epoch {epoch + 1}/{epochs}, step {step + 1}/{steps} (batch of {n} samples). {weights} " +
            "Lower the learning rate (e.g. by a factor of 10), and check the data for NaN or very large values (scale features to about [0, 1]). " +
            "Checkpoints already saved are intact.");
    }

    /// <summary>
    /// Trains <paramref name="network"/> for <paramref name="epochs"/> passes over <paramref name="train"/>, as Keras'
    /// <c>model.fit</c>. Full-batch, stochastic (batch 1) and mini-batch gradient descent are batch sizes. Each epoch
    /// visits the samples in an order shuffled by <c>new SeededRandom(seed + epoch)</c> (epochs counted from 1), so a
    /// seed gives the same run every time; mini-batches are gathered into buffers allocated once, and the last batch
    /// of an epoch may be smaller. The loss and metrics of an epoch are means over its steps, measured before each
    /// step's update; validation values are measured after the epoch, in inference mode.
    /// <para>
    /// Per epoch the history records "loss", "accuracy" (always), each extra metric by name, "val_" + each of those
    /// with validation data, and "learning_rate" when the optimiser is an <see cref="Optimizer"/>. Callbacks run in
    /// the order given, after the progress display (<see cref="ProgressLogger"/>).
    /// </para>
    /// <para>
    /// A loss that becomes NaN or infinite (or a step an <see cref="Optimizer"/> skipped for a NaN or infinite
    /// gradient, see <see cref="Optimizer.LastStepSkipped"/>) stops training with an error naming the epoch and step
    /// and saying whether the weights are still those of the last good step (they are when the step's update was not
    /// applied, which the error checks), unless a callback (<see cref="TerminateOnNaN"/>) stops training at that
    /// batch; checkpoints already written are complete files (they are written atomically).
    /// </para>
    /// </summary>
    /// <param name="network">The network; it is left in training mode.</param>
    /// <param name="train">The training set: labels (one output per class) or target vectors (one per output).</param>
    /// <param name="epochs">Passes over the training set, at least 1.</param>
    /// <param name="batchSize">Samples per step, from 1 to <see cref="INetwork{T}.MaxBatch"/>.</param>
    /// <param name="optimizer">Applies each step's update.</param>
    /// <param name="seed">Seeds the shuffling and the augmentation.</param>
    /// <param name="log">Where progress goes; null for none (whatever <paramref name="verbose"/> says).</param>
    /// <param name="validation">Evaluated after each epoch (in inference mode); null for none.</param>
    /// <param name="validationSplit">A fraction in (0, 1) of the training set held out for validation, taken from
    /// its end before any shuffling, as Keras does (the last ⌈…⌉ samples: the first ⌊count·(1 − split)⌋ train);
    /// 0 for none. Not together with <paramref name="validation"/>.</param>
    /// <param name="callbacks">Hooks called around the training, epochs and batches.</param>
    /// <param name="verbose">0 silent, 1 a progress bar (one line per epoch when <paramref name="log"/> is not an
    /// interactive console), 2 one line per epoch.</param>
    /// <param name="shuffle">Shuffle the training samples each epoch (else visit them in order).</param>
    /// <param name="metrics">Extra metrics logged by name for training and validation (accuracy is always logged).</param>
    /// <param name="augment">Transforms each training mini-batch (a copy) before its step, e.g. an
    /// <see cref="ImageAugmentation{T}"/>; never applied to validation data. An <see cref="ITargetAugmentation{T}"/> also
    /// gets the batch's targets (a copy) when the data set has target vectors.</param>
    /// <param name="loss">A custom loss (<see cref="ILoss{T}"/>) trained and reported instead of the network's declared
    /// one; the data set's targets then have <see cref="ILoss{T}.TargetSize"/> values per sample (a labelled set is read
    /// as one-hot targets). Accuracy is logged only when the targets have one value per output.</param>
    /// <param name="outputMetrics">Metrics over outputs and targets (e.g. a detector's mAP), logged by name for training
    /// (unless <see cref="IOutputMetric{T}.OnTraining"/> is false) and validation.</param>
    /// <exception cref="ArgumentException">An argument is out of range or the data does not fit the network.</exception>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite (training diverged).</exception>
    public static History Fit<T>(INetwork<T> network, Dataset<T> train, int epochs, int batchSize, IOptimizer optimizer,
        int seed = 0, TextWriter? log = null, Dataset<T>? validation = null, double validationSplit = 0,
        IEnumerable<ICallback>? callbacks = null, int verbose = 1, bool shuffle = true, IEnumerable<IMetric>? metrics = null,
        IAugmentation<T>? augment = null, ILoss<T>? loss = null, IEnumerable<IOutputMetric<T>>? outputMetrics = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"Train for at least 1 epoch; {epochs} were asked for.");
        CheckBatchSize(network, batchSize, nameof(batchSize));
        if (verbose is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(verbose), verbose, "verbose is 0 (silent), 1 (progress bar) or 2 (one line per epoch).");
        if (train.Count == 0)
            throw new ArgumentException("The training set has no samples: pass a data set with at least one sample.", nameof(train));
        int outputSize = CheckFits(network, train, nameof(train), loss);

        int count = train.Count;
        if (validationSplit != 0)
        {
            if (!(validationSplit > 0 && validationSplit < 1))
                throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, "validationSplit is a fraction strictly between 0 and 1, e.g. 0.2, or 0 for none.");
            if (validation is not null)
                throw new ArgumentException("Pass either validation: (a data set) or validationSplit: (a fraction of the training set), not both.", nameof(validationSplit));
            int split = (int)Math.Floor(count * (1 - validationSplit));
            if (split < 1 || split >= count)
                throw new ArgumentException(
                    $"validationSplit {validationSplit.ToString(CultureInfo.InvariantCulture)} of {count} samples leaves {split} for training and {count - split} for validation: both need at least one.",
                    nameof(validationSplit));
            validation = Slice(train, split, count - split);
            count = split;
        }
        else if (validation is not null)
        {
            if (validation.Count == 0)
                throw new ArgumentException("The validation set has no samples: pass one with at least one sample, or null for none.", nameof(validation));
            if (validation.FeatureSize != train.FeatureSize || validation.HasLabels != train.HasLabels || validation.TargetSize != train.TargetSize)
                throw new ArgumentException(
                    $"The validation set ({Describe(validation)}) does not match the training set ({Describe(train)}): " +
                    "split both from the same data, e.g. with Dataset.Split.", nameof(validation));
            CheckFits(network, validation, nameof(validation), loss);
        }

        bool classTargets = loss is null || loss.TargetSize(outputSize) == outputSize;
        var metricList = BuildMetrics(metrics, classTargets);
        var outputMetricList = BuildOutputMetrics(outputMetrics, metricList);
        var callbackList = callbacks?.ToList() ?? [];
        if (callbackList.Any(c => c is null)) throw new ArgumentException("A callback is null.", nameof(callbacks));
        if (log is not null && verbose > 0 && !callbackList.Any(c => c is ProgressLogger))
            callbackList.Insert(0, new ProgressLogger(log, verbose));

        int featureSize = train.FeatureSize, targetSize = train.TargetSize;
        int steps = (count + batchSize - 1) / batchSize;
        var order = new int[count];
        var input = new T[batchSize * featureSize];
        var labels = new int[batchSize];
        T[] targets = train.HasLabels && loss is null ? [] : new T[batchSize * (loss is null ? targetSize : loss.TargetSize(outputSize))];
        var history = new History();
        var context = new TrainingContext<T>(network, optimizer, epochs, steps, batchSize, count, validation?.Count ?? 0, history, log);
        var augmentRandom = augment is null ? null : new SeededRandom(seed ^ 0x5A17_AD6E);

        // A batch's logs: the running loss, then each metric, updated in place (no allocation per step).
        Logs? batchLogs = null;
        if (callbackList.Count > 0)
        {
            batchLogs = new Logs();
            batchLogs.Set("loss", 0);
            foreach (var m in metricList) batchLogs.Set(m.Name, 0);
            foreach (var m in outputMetricList) if (m.OnTraining) batchLogs.Set(m.Name, 0);
        }

        foreach (var callback in callbackList) callback.OnTrainBegin(context);
        IReadOnlyDictionary<string, double> epochLogs = new Logs();
        for (int epoch = 0; epoch < epochs && !context.StopTraining; epoch++)
        {
            context.Epoch = epoch;
            network.Training = true;
            foreach (var callback in callbackList) callback.OnEpochBegin(context, epoch);
            double? learningRate = (optimizer as Optimizer)?.LearningRate;
            EpochOrder(order, seed, epoch, shuffle);
            foreach (var m in metricList) m.Reset();
            foreach (var m in outputMetricList) m.Reset();
            double lossSum = 0;
            long seen = 0;
            for (int step = 0; step < steps; step++)
            {
                foreach (var callback in callbackList) callback.OnBatchBegin(context, step);
                int start = step * batchSize, n = Math.Min(batchSize, count - start);
                Gather(train, order.AsSpan(start, n), input, labels, targets);
                Span<T> x = input.AsSpan(0, n * featureSize);
                int lossTargetSize = loss is null ? targetSize : loss.TargetSize(outputSize);
                if (augment is ITargetAugmentation<T> moving && !train.HasLabels) moving.Apply(x, targets.AsSpan(0, n * lossTargetSize), n, augmentRandom!);
                else augment?.Apply(x, n, augmentRandom!);
                if (loss is not null && train.HasLabels) Losses.OneHot<T>(labels.AsSpan(0, n), outputSize, targets);
                T stepValue = loss is not null
                    ? network.TrainStep(x, targets.AsSpan(0, n * lossTargetSize), loss, optimizer, n)
                    : train.HasLabels
                        ? network.TrainStep(x, labels.AsSpan(0, n), optimizer, n)
                        : network.TrainStep(x, targets.AsSpan(0, n * targetSize), optimizer, n);
                // A step the optimiser skipped for a NaN or infinite gradient diverged, whatever its loss says.
                bool skipped = optimizer is Optimizer { LastStepSkipped: true };
                double stepLoss = double.CreateChecked(stepValue);
                if (skipped) stepValue = T.NaN;
                lossSum += double.CreateChecked(stepValue) * n;
                seen += n;
                ReadOnlySpan<T> output = network.Output[..(n * outputSize)];
                if (!train.HasLabels && classTargets) TargetClasses<T>(targets.AsSpan(0, n * targetSize), targetSize, labels.AsSpan(0, n));
                foreach (var m in metricList) m.Update(output, outputSize, labels.AsSpan(0, n));
                foreach (var m in outputMetricList) if (m.OnTraining) m.Update(output, targets.AsSpan(0, n * lossTargetSize), n);
                if (batchLogs is not null)
                {
                    batchLogs.SetAt(0, lossSum / seen);
                    for (int k = 0; k < metricList.Count; k++) batchLogs.SetAt(k + 1, metricList[k].Result);
                    int slot = metricList.Count + 1;
                    foreach (var m in outputMetricList) if (m.OnTraining) batchLogs.SetAt(slot++, m.Result);
                    foreach (var callback in callbackList) callback.OnBatchEnd(context, step, batchLogs);
                }
                if (!T.IsFinite(stepValue) && !context.StopTraining)
                    throw Diverged(network, skipped, stepLoss, epoch, epochs, step, steps, n);
                if (context.StopTraining) break;
            }

            var logs = new Logs();
            logs.Set("loss", lossSum / seen);
            foreach (var m in metricList) logs.Set(m.Name, m.Result);
            foreach (var m in outputMetricList) if (m.OnTraining) logs.Set(m.Name, m.Result);
            if (validation is not null)
            {
                double valLoss = EvaluateCore(network, validation, batchSize, outputSize, metricList, labels, loss, outputMetricList, targets);
                logs.Set("val_loss", valLoss);
                foreach (var m in metricList) logs.Set("val_" + m.Name, m.Result);
                foreach (var m in outputMetricList) logs.Set("val_" + m.Name, m.Result);
                network.Training = true;
            }
            if (learningRate is double lr) logs.Set("learning_rate", lr);
            history.Append(logs);
            epochLogs = logs;
            foreach (var callback in callbackList) callback.OnEpochEnd(context, epoch, logs);
        }
        foreach (var callback in callbackList) callback.OnTrainEnd(context, epochLogs);
        network.Training = true;
        return history;
    }

    /// <summary>
    /// Runs a user-defined <paramref name="step"/> (a GAN's <see cref="GanStep{T}"/>, a VAE split into two networks …)
    /// over <paramref name="train"/> for <paramref name="epochs"/> epochs, as Keras' <c>fit</c> with an overridden
    /// <c>train_step</c> (named FitWith rather than overloading Fit, so that <c>&lt;see cref="Trainer.Fit"/&gt;</c> stays
    /// unambiguous): the batches are the ones the one-network Fit would visit with the same seed, the progress
    /// line shows each of the step's <see cref="ITrainingStep{T}.LossNames"/> (means over the epoch so far, each step
    /// weighted by its batch size), and the History holds one series per name. The step's networks are put in
    /// training mode before each epoch. A value that becomes NaN or infinite stops training with an error naming the
    /// epoch, the step and the value.
    /// </summary>
    /// <param name="step">The training step.</param>
    /// <param name="train">The training set (its features are the step's input).</param>
    /// <param name="epochs">Passes over the training set, at least 1.</param>
    /// <param name="batchSize">Samples per step, from 1 to every network's <see cref="INetwork{T}.MaxBatch"/>.</param>
    /// <param name="seed">Seeds the shuffling.</param>
    /// <param name="log">Where progress goes; null for none.</param>
    /// <param name="callbacks">Hooks called around the training, epochs and batches.</param>
    /// <param name="verbose">0 silent, 1 a progress bar (one line per epoch when not on a console), 2 one line per epoch.</param>
    /// <param name="shuffle">Shuffle the training samples each epoch.</param>
    public static History FitWith<T>(ITrainingStep<T> step, Dataset<T> train, int epochs, int batchSize, int seed = 0, TextWriter? log = null,
        IEnumerable<ICallback>? callbacks = null, int verbose = 1, bool shuffle = true) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(train);
        if (epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"Train for at least 1 epoch; {epochs} were asked for.");
        if (verbose is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(verbose), verbose, "verbose is 0 (silent), 1 (progress bar) or 2 (one line per epoch).");
        if (train.Count == 0)
            throw new ArgumentException("The training set has no samples: pass a data set with at least one sample.", nameof(train));
        var names = step.LossNames;
        if (names is null || names.Count == 0 || step.Networks is null || step.Networks.Count == 0 || step.Optimizers is null || step.Optimizers.Count == 0)
            throw new ArgumentException($"{step.GetType().Name} must name at least one loss, one network and one optimiser.", nameof(step));
        foreach (var net in step.Networks) CheckBatchSize(net, batchSize, nameof(batchSize));
        var callbackList = callbacks?.ToList() ?? [];
        if (callbackList.Any(c => c is null)) throw new ArgumentException("A callback is null.", nameof(callbacks));
        if (log is not null && verbose > 0 && !callbackList.Any(c => c is ProgressLogger))
            callbackList.Insert(0, new ProgressLogger(log, verbose));

        int count = train.Count, featureSize = train.FeatureSize;
        int steps = (count + batchSize - 1) / batchSize;
        var order = new int[count];
        var input = new T[batchSize * featureSize];
        var labels = new int[batchSize];
        T[] targets = train.HasLabels ? [] : new T[batchSize * train.TargetSize];
        var losses = new double[names.Count];
        var sums = new double[names.Count];
        var history = new History();
        var context = new StepTrainingContext<T>(step, epochs, steps, batchSize, count, history, log);
        var batchLogs = new Logs();
        foreach (var name in names) batchLogs.Set(name, 0);

        foreach (var callback in callbackList) callback.OnTrainBegin(context);
        IReadOnlyDictionary<string, double> epochLogs = new Logs();
        for (int epoch = 0; epoch < epochs && !context.StopTraining; epoch++)
        {
            context.Epoch = epoch;
            foreach (var net in step.Networks) net.Training = true;
            foreach (var callback in callbackList) callback.OnEpochBegin(context, epoch);
            double? learningRate = (step.Optimizers[0] as Optimizer)?.LearningRate;
            EpochOrder(order, seed, epoch, shuffle);
            Array.Clear(sums);
            long seen = 0;
            for (int s = 0; s < steps; s++)
            {
                foreach (var callback in callbackList) callback.OnBatchBegin(context, s);
                int start = s * batchSize, n = Math.Min(batchSize, count - start);
                Gather(train, order.AsSpan(start, n), input, labels, targets);
                step.Step(input.AsSpan(0, n * featureSize), train.HasLabels ? labels.AsSpan(0, n) : [], n, losses);
                seen += n;
                for (int k = 0; k < losses.Length; k++)
                {
                    if (!double.IsFinite(losses[k]) && !context.StopTraining)
                        throw new InvalidOperationException(
                            $"Training diverged: {names[k]} became {losses[k]} at epoch {epoch + 1}/{epochs}, step {s + 1}/{steps} (batch of {n} samples). " +
                            "Lower the learning rates (e.g. by a factor of 10), and check the data for NaN or very large values.");
                    sums[k] += losses[k] * n;
                    batchLogs.SetAt(k, sums[k] / seen);
                }
                foreach (var callback in callbackList) callback.OnBatchEnd(context, s, batchLogs);
                if (context.StopTraining) break;
            }
            var logs = new Logs();
            for (int k = 0; k < names.Count; k++) logs.Set(names[k], sums[k] / Math.Max(seen, 1));
            if (learningRate is double lr) logs.Set("learning_rate", lr);
            history.Append(logs);
            epochLogs = logs;
            foreach (var callback in callbackList) callback.OnEpochEnd(context, epoch, logs);
        }
        foreach (var callback in callbackList) callback.OnTrainEnd(context, epochLogs);
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
        var values = Evaluate(network, data, [], batchSize);
        return (values["loss"], values["accuracy"]);
    }

    /// <summary>As the other overload, also computing <paramref name="metrics"/>: returns "loss", "accuracy" and
    /// each metric by name (Keras' <c>model.evaluate(..., return_dict=True)</c>).</summary>
    /// <param name="network">The network.</param>
    /// <param name="data">The samples to evaluate.</param>
    /// <param name="metrics">Extra metrics.</param>
    /// <param name="batchSize">Samples per forward pass; 0 for <see cref="INetwork{T}.MaxBatch"/>.</param>
    public static IReadOnlyDictionary<string, double> Evaluate<T>(INetwork<T> network, Dataset<T> data, IEnumerable<IMetric> metrics, int batchSize = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(metrics);
        if (batchSize == 0) batchSize = network.MaxBatch;
        CheckBatchSize(network, batchSize, nameof(batchSize));
        if (data.Count == 0)
            throw new ArgumentException("The data set has no samples: pass one with at least one sample.", nameof(data));
        var metricList = BuildMetrics(metrics);
        bool training = network.Training;
        try
        {
            int outputSize = CheckFits(network, data, nameof(data), null);
            double loss = EvaluateCore<T>(network, data, batchSize, outputSize, metricList, new int[batchSize], null, [], []);
            var result = new Logs();
            result.Set("loss", loss);
            foreach (var m in metricList) result.Set(m.Name, m.Result);
            return result;
        }
        finally { network.Training = training; }
    }

    /// <summary>As the other overloads, with a custom <paramref name="loss"/> (null for the network's declared one) and
    /// metrics over outputs and targets: returns "loss", "accuracy" (when the targets have one value per output), and
    /// each output metric by name.</summary>
    /// <param name="network">The network.</param>
    /// <param name="data">The samples to evaluate.</param>
    /// <param name="loss">The loss, or null for the network's own.</param>
    /// <param name="outputMetrics">Metrics over outputs and targets.</param>
    /// <param name="batchSize">Samples per forward pass; 0 for <see cref="INetwork{T}.MaxBatch"/>.</param>
    public static IReadOnlyDictionary<string, double> Evaluate<T>(INetwork<T> network, Dataset<T> data, ILoss<T>? loss, IEnumerable<IOutputMetric<T>> outputMetrics, int batchSize = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(outputMetrics);
        if (batchSize == 0) batchSize = network.MaxBatch;
        CheckBatchSize(network, batchSize, nameof(batchSize));
        if (data.Count == 0)
            throw new ArgumentException("The data set has no samples: pass one with at least one sample.", nameof(data));
        bool training = network.Training;
        try
        {
            int outputSize = CheckFits(network, data, nameof(data), loss);
            var metricList = BuildMetrics([], loss is null || loss.TargetSize(outputSize) == outputSize);
            var outputMetricList = BuildOutputMetrics(outputMetrics, metricList);
            var targets = new T[batchSize * (loss is null ? data.TargetSize : loss.TargetSize(outputSize))];
            double value = EvaluateCore(network, data, batchSize, outputSize, metricList, new int[batchSize], loss, outputMetricList, targets);
            var result = new Logs();
            result.Set("loss", value);
            foreach (var m in metricList) result.Set(m.Name, m.Result);
            foreach (var m in outputMetricList) result.Set(m.Name, m.Result);
            return result;
        }
        finally { network.Training = training; }
    }

    /// <summary>The output metrics; names unique among themselves and the label metrics.</summary>
    private static List<IOutputMetric<T>> BuildOutputMetrics<T>(IEnumerable<IOutputMetric<T>>? metrics, List<IMetric> labelMetrics)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var list = new List<IOutputMetric<T>>();
        foreach (var m in metrics ?? [])
        {
            ArgumentNullException.ThrowIfNull(m, nameof(metrics));
            if (m.Name is "loss" or "learning_rate" || m.Name.StartsWith("val_", StringComparison.Ordinal) ||
                labelMetrics.Any(o => o.Name == m.Name) || list.Any(o => o.Name == m.Name))
                throw new ArgumentException($"Two metrics, or a metric and a logged value, are named '{m.Name}': give each metric a unique name.", nameof(metrics));
            list.Add(m);
        }
        return list;
    }

    /// <summary>Accuracy first, then the extra metrics (an explicit accuracy is not repeated); names must be unique.</summary>
    private static List<IMetric> BuildMetrics(IEnumerable<IMetric>? metrics, bool classTargets = true)
    {
        var list = classTargets ? new List<IMetric> { Metrics.Accuracy() } : [];
        foreach (var m in metrics ?? [])
        {
            if (!classTargets)
                throw new ArgumentException(
                    $"The metric '{m?.Name}' reads class labels, but the loss's targets do not have one value per output: pass it as an output metric (IOutputMetric) instead.", nameof(metrics));
            ArgumentNullException.ThrowIfNull(m, nameof(metrics));
            if (m.Name == "accuracy" && m is AccuracyMetric) continue;
            if (m.Name is "loss" or "learning_rate" || m.Name.StartsWith("val_", StringComparison.Ordinal) || list.Any(o => o.Name == m.Name))
                throw new ArgumentException($"Two metrics, or a metric and a logged value, are named '{m.Name}': give each metric a unique name.", nameof(metrics));
            list.Add(m);
        }
        return list;
    }

    /// <summary>The order epoch <paramref name="epoch"/> (from 0) visits the samples in: shuffled by
    /// <c>new SeededRandom(seed + epoch + 1)</c>, or 0, 1, 2 … without shuffling. GpuTrainer uses it too, so a CPU
    /// network and its Gpu variant trained with the same seed see the same batches.</summary>
    internal static void EpochOrder(Span<int> order, int seed, int epoch, bool shuffle = true)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (shuffle) new SeededRandom(seed + (long)epoch + 1).Shuffle<int>(order);
    }

    /// <summary>Copies the samples at <paramref name="indices"/> into the batch buffers.</summary>
    internal static void Gather<T>(Dataset<T> data, ReadOnlySpan<int> indices, Span<T> input, Span<int> labels, Span<T> targets)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int featureSize = data.FeatureSize, targetSize = data.TargetSize;
        ReadOnlySpan<T> allFeatures = data.AllFeatures, allTargets = data.Targets;
        ReadOnlySpan<int> allLabels = data.Labels;
        for (int k = 0; k < indices.Length; k++)
        {
            int s = indices[k];
            allFeatures.Slice(s * featureSize, featureSize).CopyTo(input[(k * featureSize)..]);
            if (data.HasLabels) labels[k] = allLabels[s];
            else allTargets.Slice(s * targetSize, targetSize).CopyTo(targets[(k * targetSize)..]);
        }
    }

    /// <summary>The class each target vector stands for: its largest entry, or for one value, whether it is ≥ 0.5.</summary>
    private static void TargetClasses<T>(ReadOnlySpan<T> targets, int targetSize, Span<int> classes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int k = 0; k < classes.Length; k++) classes[k] = Metrics.PredictedClass(targets.Slice(k * targetSize, targetSize));
    }

    /// <summary>A contiguous range of a data set, copied once.</summary>
    private static Dataset<T> Slice<T>(Dataset<T> data, int start, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var features = data.AllFeatures.Slice(start * data.FeatureSize, length * data.FeatureSize).ToArray();
        return data.HasLabels
            ? new Dataset<T>(features, data.FeatureSize, data.Labels.Slice(start, length).ToArray(), data.Classes, data.AllowsNonFinite)
            : new Dataset<T>(features, data.FeatureSize, data.Targets.Slice(start * data.TargetSize, length * data.TargetSize).ToArray(), data.TargetSize, data.AllowsNonFinite);
    }

    /// <summary>The mean loss over <paramref name="data"/> in inference mode; <paramref name="metrics"/> are reset and
    /// hold the data set's values afterwards. <paramref name="labels"/> is scratch of at least batchSize.</summary>
    private static double EvaluateCore<T>(INetwork<T> network, Dataset<T> data, int batchSize, int outputSize, List<IMetric> metrics, int[] labels,
        ILoss<T>? customLoss, List<IOutputMetric<T>> outputMetrics, T[] targetScratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        network.Training = false;
        foreach (var m in metrics) m.Reset();
        foreach (var m in outputMetrics) m.Reset();
        int count = data.Count, featureSize = data.FeatureSize, targetSize = data.TargetSize;
        if (customLoss is not null || outputMetrics.Count > 0)
        {
            double sum = 0;
            for (int start = 0; start < count; start += batchSize)
            {
                int n = Math.Min(batchSize, count - start);
                ReadOnlySpan<T> output = network.Forward(data.AllFeatures.Slice(start * featureSize, n * featureSize), n)[..(n * outputSize)];
                ReadOnlySpan<T> targets;
                if (data.HasLabels)
                {
                    Losses.OneHot<T>(data.Labels.Slice(start, n), outputSize, targetScratch);
                    targets = targetScratch.AsSpan(0, n * outputSize);
                    data.Labels.Slice(start, n).CopyTo(labels);
                }
                else
                {
                    targets = data.Targets.Slice(start * targetSize, n * targetSize);
                    if (metrics.Count > 0) TargetClasses(targets, targetSize, labels.AsSpan(0, n));
                }
                sum += double.CreateChecked(customLoss is null ? network.Loss(targets) : network.Loss(customLoss, targets, n)) * n;
                foreach (var m in metrics) m.Update(output, outputSize, labels.AsSpan(0, n));
                foreach (var m in outputMetrics) m.Update(output, targets, n);
            }
            return sum / count;
        }
        double lossSum = 0;
        // Samples are taken in order, so each batch is a contiguous slice of the data set: nothing is copied.
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            ReadOnlySpan<T> output = network.Forward(data.AllFeatures.Slice(start * featureSize, n * featureSize), n)[..(n * outputSize)];
            ReadOnlySpan<int> batchLabels;
            if (data.HasLabels)
            {
                batchLabels = data.Labels.Slice(start, n);
                lossSum += double.CreateChecked(network.Loss(batchLabels)) * n;
            }
            else
            {
                ReadOnlySpan<T> targets = data.Targets.Slice(start * targetSize, n * targetSize);
                lossSum += double.CreateChecked(network.Loss(targets)) * n;
                TargetClasses(targets, targetSize, labels.AsSpan(0, n));
                batchLabels = labels.AsSpan(0, n);
            }
            foreach (var m in metrics) m.Update(output, outputSize, batchLabels);
        }
        return lossSum / count;
    }

    private static void CheckBatchSize<T>(INetwork<T> network, int batchSize, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (batchSize < 1 || batchSize > network.MaxBatch)
            throw new ArgumentOutOfRangeException(name, batchSize,
                $"Batch size {batchSize} is out of range: {network.GetType().Name} was constructed for batches of 1 to {network.MaxBatch} samples. " +
                $"Construct the network with maxBatch: {Math.Max(batchSize, 1)} (or more), or pass a batch size from 1 to {network.MaxBatch}.");
    }

    /// <summary>Checks that <paramref name="data"/> fits the network's input and output sizes, and returns the
    /// network's output size.</summary>
    private static int CheckFits<T>(INetwork<T> network, Dataset<T> data, string name, ILoss<T>? loss) where T : unmanaged, IFloatingPointIeee754<T>
    {
        string netName = network.GetType().Name;
        string set = name switch { "train" => "training set", "validation" => "validation set", _ => "data set" };
        int outputSize = network.OutputSize;
        if (data.FeatureSize != network.InputSize)
            throw new ArgumentException(
                $"The {set} has {data.FeatureSize} features per sample, but {netName} takes {network.InputSize} inputs per sample: " +
                "give the network an input of that size, or reshape the data set to the network's input size.", name);
        if (loss is not null)
        {
            int wanted = loss.TargetSize(outputSize);
            if (data.HasLabels ? wanted != outputSize || (outputSize != data.Classes) : wanted != data.TargetSize)
                throw new ArgumentException(
                    $"The {set} has {(data.HasLabels ? $"labels of {data.Classes} classes" : $"{data.TargetSize} target values per sample")}, but the loss {loss.Name} " +
                    $"takes {wanted} target values per sample for {netName}'s {outputSize} outputs: build the data set with {wanted} target values per sample.", name);
        }
        else if (data.HasLabels)
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
}
