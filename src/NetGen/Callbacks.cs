using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace NetGen;

/// <summary>
/// Hooks into <see cref="Trainer.Fit"/>, as Keras' <c>keras.callbacks.Callback</c>: every method has an empty
/// default, so a callback implements only what it needs. Epochs and batches are 0-based indices (the display shows
/// epoch + 1). <c>logs</c> hold the values of the moment by name ("loss", "accuracy", "val_loss", metric names,
/// "learning_rate" at epoch end); a batch's logs are running means over the epoch so far and are only valid during
/// the call (copy what you keep). Set <see cref="TrainingContext.StopTraining"/> to stop after the current batch.
/// </summary>
public interface ICallback
{
    /// <summary>Before the first epoch.</summary>
    void OnTrainBegin(TrainingContext context) { }

    /// <summary>After the last epoch (not when training throws); <paramref name="logs"/> are the last epoch's.</summary>
    void OnTrainEnd(TrainingContext context, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>Before epoch <paramref name="epoch"/> (0-based).</summary>
    void OnEpochBegin(TrainingContext context, int epoch) { }

    /// <summary>After epoch <paramref name="epoch"/>, with its training and validation values.</summary>
    void OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>Before batch <paramref name="batch"/> (0-based within the epoch).</summary>
    void OnBatchBegin(TrainingContext context, int batch) { }

    /// <summary>After batch <paramref name="batch"/>'s update; "loss" and the metrics are means over the epoch so far.</summary>
    void OnBatchEnd(TrainingContext context, int batch, IReadOnlyDictionary<string, double> logs) { }
}

/// <summary>A copy of a network's parameters and state, taken by <see cref="TrainingContext.CaptureWeights"/>.</summary>
public sealed class WeightSnapshot
{
    internal WeightSnapshot(Array parameters, Array state) { Parameters = parameters; State = state; }

    internal Array Parameters { get; }

    internal Array State { get; }
}

/// <summary>What a callback sees of the run in progress (Keras' <c>self.model</c> and <c>self.params</c>).</summary>
public abstract class TrainingContext
{
    private protected TrainingContext(IOptimizer optimizer, int epochs, int stepsPerEpoch, int batchSize, int trainingSamples,
        int validationSamples, History history, TextWriter? log)
    {
        Optimizer = optimizer;
        Epochs = epochs;
        StepsPerEpoch = stepsPerEpoch;
        BatchSize = batchSize;
        TrainingSamples = trainingSamples;
        ValidationSamples = validationSamples;
        History = history;
        Log = log;
    }

    /// <summary>The network being trained, an <see cref="INetwork{T}"/>.</summary>
    public abstract object Network { get; }

    /// <summary>The optimiser.</summary>
    public IOptimizer Optimizer { get; }

    /// <summary>Epochs asked for.</summary>
    public int Epochs { get; }

    /// <summary>The epoch in progress (0-based).</summary>
    public int Epoch { get; internal set; }

    /// <summary>Steps (batches) per epoch.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>Samples per step (the last step of an epoch may have fewer).</summary>
    public int BatchSize { get; }

    /// <summary>Samples trained on per epoch.</summary>
    public int TrainingSamples { get; }

    /// <summary>Samples in the validation set, 0 without one.</summary>
    public int ValidationSamples { get; }

    /// <summary>The history so far (the current epoch is added before <see cref="ICallback.OnEpochEnd"/>).</summary>
    public History History { get; }

    /// <summary>The writer <see cref="Trainer.Fit"/> reports to, or null; callbacks print their messages here.</summary>
    public TextWriter? Log { get; }

    /// <summary>Set to stop training: the loop stops after the current batch, still finishing that epoch's
    /// validation and <see cref="ICallback.OnEpochEnd"/> (Keras' <c>model.stop_training</c>).</summary>
    public bool StopTraining { get; set; }

    /// <summary>Whether the optimiser has a learning rate to schedule (it derives from <see cref="NetGen.Optimizer"/>).</summary>
    public bool HasLearningRate => Optimizer is Optimizer;

    /// <summary>The optimiser's learning rate.</summary>
    /// <exception cref="InvalidOperationException">The optimiser is not an <see cref="NetGen.Optimizer"/>.</exception>
    public double LearningRate
    {
        get => Scheduled.LearningRate;
        set => Scheduled.LearningRate = value;
    }

    private Optimizer Scheduled => Optimizer as Optimizer ?? throw new InvalidOperationException(
        $"The optimiser {Optimizer.GetType().Name} has no settable learning rate: learning-rate callbacks need an optimiser derived from NetGen.Optimizer (Sgd, Adam, …).");

    /// <summary>Copies the network's parameters and state (into <paramref name="reuse"/> when given, to save an allocation).</summary>
    public abstract WeightSnapshot CaptureWeights(WeightSnapshot? reuse = null);

    /// <summary>Puts a snapshot's parameters and state back into the network.</summary>
    public abstract void RestoreWeights(WeightSnapshot snapshot);

    /// <summary>Saves the network with <see cref="Checkpoint.Save"/> (atomically).</summary>
    public abstract void SaveCheckpoint(string path, IReadOnlyDictionary<string, string>? metadata = null);

    internal void Write(string message) => Log?.WriteLine(message);
}

internal sealed class TrainingContext<T> : TrainingContext where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly INetwork<T> _network;

    public TrainingContext(INetwork<T> network, IOptimizer optimizer, int epochs, int stepsPerEpoch, int batchSize, int trainingSamples,
        int validationSamples, History history, TextWriter? log)
        : base(optimizer, epochs, stepsPerEpoch, batchSize, trainingSamples, validationSamples, history, log) => _network = network;

    public override object Network => _network;

    public override WeightSnapshot CaptureWeights(WeightSnapshot? reuse = null)
    {
        if (reuse?.Parameters is not T[] p || p.Length != _network.Parameters.Length || reuse.State is not T[] s || s.Length != _network.State.Length)
            reuse = new WeightSnapshot(new T[_network.Parameters.Length], new T[_network.State.Length]);
        _network.Parameters.CopyTo((T[])reuse.Parameters);
        _network.State.CopyTo((T[])reuse.State);
        return reuse;
    }

    public override void RestoreWeights(WeightSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Parameters is not T[] p || p.Length != _network.Parameters.Length || snapshot.State is not T[] s || s.Length != _network.State.Length)
            throw new ArgumentException("This snapshot was taken from another network.", nameof(snapshot));
        p.CopyTo(_network.Parameters);
        s.CopyTo(_network.State);
    }

    public override void SaveCheckpoint(string path, IReadOnlyDictionary<string, string>? metadata = null) => Checkpoint.Save(_network, path, metadata);
}

/// <summary>Named values in insertion order, read-only to callbacks; the trainer updates a batch's in place.</summary>
internal sealed class Logs : IReadOnlyDictionary<string, double>
{
    private readonly List<string> _keys = [];
    private readonly List<double> _values = [];

    public void Set(string key, double value)
    {
        int i = _keys.IndexOf(key);
        if (i >= 0) _values[i] = value;
        else { _keys.Add(key); _values.Add(value); }
    }

    /// <summary>Sets the value at a position, for a batch's logs whose keys are fixed.</summary>
    public void SetAt(int index, double value) => _values[index] = value;

    public double this[string key] => TryGetValue(key, out double v) ? v : throw new KeyNotFoundException($"No value '{key}' is logged; logged: {string.Join(", ", _keys)}.");
    public IEnumerable<string> Keys => _keys;
    public IEnumerable<double> Values => _values;
    public int Count => _keys.Count;
    public bool ContainsKey(string key) => _keys.Contains(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value)
    {
        int i = _keys.IndexOf(key);
        value = i >= 0 ? _values[i] : 0;
        return i >= 0;
    }

    public IEnumerator<KeyValuePair<string, double>> GetEnumerator()
    {
        for (int i = 0; i < _keys.Count; i++) yield return new(_keys[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Stops training when a monitored quantity has stopped improving, as Keras' <c>EarlyStopping</c>: after each epoch
/// from <see cref="StartFromEpoch"/> on, an improvement is a change beyond <see cref="MinDelta"/> in the right
/// direction; after <see cref="Patience"/> epochs without one, training stops. With a <see cref="Baseline"/>, an
/// epoch only resets the patience when it also beats the baseline. With <see cref="RestoreBestWeights"/>, the
/// weights of the best epoch are put back when training ends.
/// </summary>
public sealed class EarlyStopping : ICallback
{
    private WeightSnapshot? _best;
    private MonitorMode _mode;

    /// <summary>Creates the callback (Keras' defaults).</summary>
    /// <param name="monitor">The quantity watched, e.g. "val_loss" or "val_accuracy".</param>
    /// <param name="minDelta">The smallest change that counts as an improvement.</param>
    /// <param name="patience">Epochs without improvement before stopping.</param>
    /// <param name="mode">Whether the quantity should fall or rise; Auto decides from its name.</param>
    /// <param name="restoreBestWeights">Put the best epoch's weights back when training ends.</param>
    /// <param name="startFromEpoch">Epochs to let pass (warm-up) before watching.</param>
    /// <param name="baseline">A value the quantity must beat for an epoch to count as an improvement that resets patience.</param>
    /// <param name="verbose">Print a line to the trainer's log when stopping and restoring.</param>
    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, MonitorMode mode = MonitorMode.Auto,
        bool restoreBestWeights = false, int startFromEpoch = 0, double? baseline = null, bool verbose = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        Monitor = monitor;
        MinDelta = double.IsFinite(minDelta) ? Math.Abs(minDelta) : throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be finite.");
        Patience = patience >= 0 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), patience, "Patience is a number of epochs ≥ 0.");
        _mode = NetGen.Monitor.Resolve(monitor, mode, nameof(EarlyStopping));
        RestoreBestWeights = restoreBestWeights;
        StartFromEpoch = startFromEpoch >= 0 ? startFromEpoch : throw new ArgumentOutOfRangeException(nameof(startFromEpoch), startFromEpoch, "startFromEpoch is a number of epochs ≥ 0.");
        Baseline = baseline;
        Verbose = verbose;
    }

    /// <summary>The quantity watched.</summary>
    public string Monitor { get; }

    /// <summary>The smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>Min or Max.</summary>
    public MonitorMode Mode => _mode;

    /// <summary>Whether the best weights are restored at the end.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>Epochs ignored at the start.</summary>
    public int StartFromEpoch { get; }

    /// <summary>The value to beat, or null.</summary>
    public double? Baseline { get; }

    /// <summary>Whether messages are printed.</summary>
    public bool Verbose { get; }

    /// <summary>The best value seen (null before the first watched epoch).</summary>
    public double? Best { get; private set; }

    /// <summary>The epoch (0-based) of <see cref="Best"/>.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Epochs counted since the last improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>The epoch (0-based) at which training was stopped, or null when it was not.</summary>
    public int? StoppedEpoch { get; private set; }

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        Wait = 0;
        StoppedEpoch = null;
        Best = null;
        BestEpoch = 0;
        _best = null;
    }

    void ICallback.OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (epoch < StartFromEpoch) return;
        double current = NetGen.Monitor.Value(logs, Monitor, nameof(EarlyStopping));
        if (RestoreBestWeights && _best is null)
        {
            _best = context.CaptureWeights();
            BestEpoch = epoch;
        }
        Wait++;
        if (IsImprovement(current, Best))
        {
            Best = current;
            BestEpoch = epoch;
            if (RestoreBestWeights) _best = context.CaptureWeights(_best);
            if (Baseline is null || IsImprovement(current, Baseline)) Wait = 0;
            return;
        }
        if (Wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            context.StopTraining = true;
        }
    }

    void ICallback.OnTrainEnd(TrainingContext context, IReadOnlyDictionary<string, double> logs)
    {
        if (StoppedEpoch is int stopped && Verbose) context.Write($"Epoch {stopped + 1}: early stopping");
        if (RestoreBestWeights && _best is not null)
        {
            if (Verbose) context.Write($"Restoring model weights from the end of the best epoch: {BestEpoch + 1}.");
            context.RestoreWeights(_best);
        }
    }

    private bool IsImprovement(double value, double? reference) =>
        reference is not double r || (_mode == MonitorMode.Min ? value + MinDelta < r : value - MinDelta > r);
}

/// <summary>
/// Saves checkpoints (<see cref="Checkpoint.Save"/>, atomic) during training, as Keras' <c>ModelCheckpoint</c>:
/// after every epoch, or with <see cref="SaveBestOnly"/> only when the monitored quantity improved on the best so
/// far. The path may hold placeholders filled from the epoch's values: <c>{epoch}</c> (1-based, as Keras numbers
/// files) and any logged name such as <c>{val_loss}</c>, each with an optional .NET format:
/// <c>"checkpoints/digits-{epoch:000}-{val_accuracy:0.0000}.safetensors"</c>. The header's metadata records the
/// epoch and every logged value.
/// </summary>
public sealed partial class ModelCheckpoint : ICallback
{
    private MonitorMode _mode;

    /// <summary>Creates the callback.</summary>
    /// <param name="path">The file to write, with optional placeholders.</param>
    /// <param name="monitor">The quantity compared when <paramref name="saveBestOnly"/>.</param>
    /// <param name="saveBestOnly">Save only when <paramref name="monitor"/> improves.</param>
    /// <param name="mode">Whether the quantity should fall or rise; Auto decides from its name.</param>
    /// <param name="verbose">Print a line to the trainer's log for each save.</param>
    public ModelCheckpoint(string path, string monitor = "val_loss", bool saveBestOnly = false, MonitorMode mode = MonitorMode.Auto, bool verbose = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        Path = path;
        Monitor = monitor;
        SaveBestOnly = saveBestOnly;
        _mode = saveBestOnly ? NetGen.Monitor.Resolve(monitor, mode, nameof(ModelCheckpoint)) : mode;
        Verbose = verbose;
    }

    /// <summary>The path template.</summary>
    public string Path { get; }

    /// <summary>The quantity compared.</summary>
    public string Monitor { get; }

    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>Whether messages are printed.</summary>
    public bool Verbose { get; }

    /// <summary>The best value saved so far (with <see cref="SaveBestOnly"/>).</summary>
    public double? Best { get; private set; }

    /// <summary>The files written, in order (a path written twice appears twice).</summary>
    public IReadOnlyList<string> Saved => _saved;

    private readonly List<string> _saved = [];

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        Best = null;
        _saved.Clear();
    }

    void ICallback.OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        string path = FormatPath(Path, epoch, logs);
        if (SaveBestOnly)
        {
            double current = NetGen.Monitor.Value(logs, Monitor, nameof(ModelCheckpoint));
            bool better = Best is not double b || (_mode == MonitorMode.Min ? current < b : current > b);
            if (!better)
            {
                if (Verbose) context.Write(string.Create(CultureInfo.InvariantCulture, $"Epoch {epoch + 1}: {Monitor} did not improve from {Best:0.00000}"));
                return;
            }
            if (Verbose)
                context.Write(Best is double previous
                    ? string.Create(CultureInfo.InvariantCulture, $"Epoch {epoch + 1}: {Monitor} improved from {previous:0.00000} to {current:0.00000}, saving model to {path}")
                    : string.Create(CultureInfo.InvariantCulture, $"Epoch {epoch + 1}: {Monitor} is {current:0.00000}, saving model to {path}"));
            Best = current;
        }
        else if (Verbose) context.Write($"Epoch {epoch + 1}: saving model to {path}");
        var metadata = new Dictionary<string, string> { ["epoch"] = (epoch + 1).ToString(CultureInfo.InvariantCulture) };
        foreach (var (key, value) in logs) metadata[key] = value.ToString("R", CultureInfo.InvariantCulture);
        context.SaveCheckpoint(path, metadata);
        _saved.Add(path);
    }

    /// <summary>Fills a path template's placeholders: {epoch} is <paramref name="epoch"/> + 1, other names come from
    /// <paramref name="logs"/>; an optional ":format" is a .NET format string.</summary>
    public static string FormatPath(string template, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(logs);
        return Placeholder().Replace(template, m =>
        {
            string name = m.Groups[1].Value;
            string? format = m.Groups[2].Success ? m.Groups[2].Value : null;
            if (name == "epoch") return (epoch + 1).ToString(format, CultureInfo.InvariantCulture);
            if (logs.TryGetValue(name, out double value)) return value.ToString(format ?? "0.####", CultureInfo.InvariantCulture);
            throw new ArgumentException(
                $"The checkpoint path '{template}' uses {{{name}}}, which is not logged; use {{epoch}} or one of: {string.Join(", ", logs.Keys)}.", nameof(template));
        });
    }

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")]
    private static partial Regex Placeholder();
}

/// <summary>Stops training at the first batch whose loss is NaN or infinite, instead of throwing (Keras'
/// <c>TerminateOnNaN</c>). The epoch's validation and callbacks still run; the history keeps the NaN.</summary>
public sealed class TerminateOnNaN : ICallback
{
    /// <summary>The epoch and batch (0-based) at which training was stopped, or null.</summary>
    public (int Epoch, int Batch)? TerminatedAt { get; private set; }

    void ICallback.OnTrainBegin(TrainingContext context) => TerminatedAt = null;

    void ICallback.OnBatchEnd(TrainingContext context, int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out double loss) && !double.IsFinite(loss))
        {
            context.Write($"Batch {batch}: Invalid loss, terminating training");
            TerminatedAt = (context.Epoch, batch);
            context.StopTraining = true;
        }
    }
}

/// <summary>
/// Sets the optimiser's learning rate at the start of each epoch, as Keras' <c>LearningRateScheduler</c>: from a
/// function of the epoch (0-based) and the current rate, or from an <see cref="ILearningRateSchedule"/> applied to
/// the rate the optimiser had when training began (as PyTorch's schedulers use the initial rate).
/// </summary>
public sealed class LearningRateScheduler : ICallback
{
    private readonly Func<int, double, double>? _function;
    private readonly ILearningRateSchedule? _schedule;
    private double _initial;

    /// <summary>From a function (epoch, current rate) → new rate.</summary>
    public LearningRateScheduler(Func<int, double, double> schedule, bool verbose = false)
    {
        _function = schedule ?? throw new ArgumentNullException(nameof(schedule));
        Verbose = verbose;
    }

    /// <summary>From a schedule object (<see cref="StepDecay"/>, <see cref="ExponentialDecay"/>, <see cref="CosineAnnealing"/>, …).</summary>
    public LearningRateScheduler(ILearningRateSchedule schedule, bool verbose = false)
    {
        _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        Verbose = verbose;
    }

    /// <summary>Whether each change is printed.</summary>
    public bool Verbose { get; }

    void ICallback.OnTrainBegin(TrainingContext context) => _initial = context.LearningRate;

    void ICallback.OnEpochBegin(TrainingContext context, int epoch)
    {
        double rate = _function is not null ? _function(epoch, context.LearningRate) : _schedule!.LearningRate(epoch, _initial);
        if (!(rate >= 0 && double.IsFinite(rate)))
            throw new InvalidOperationException($"The learning-rate schedule returned {rate} for epoch {epoch}: a learning rate is a finite number ≥ 0.");
        context.LearningRate = rate;
        if (Verbose) context.Write($"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate.ToString("G6", CultureInfo.InvariantCulture)}.");
    }
}

/// <summary>Reduces the learning rate when a monitored quantity stops improving, as Keras' <c>ReduceLROnPlateau</c>
/// (see <see cref="ReduceOnPlateau"/> for the rules, and how they differ from PyTorch's).</summary>
public sealed class ReduceLROnPlateau : ICallback
{
    /// <summary>Creates the callback (Keras' defaults).</summary>
    /// <param name="monitor">The quantity watched.</param>
    /// <param name="factor">The factor applied at a reduction, in (0, 1).</param>
    /// <param name="patience">Epochs without improvement before a reduction.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement.</param>
    /// <param name="cooldown">Epochs after a reduction before counting again.</param>
    /// <param name="minLearningRate">The floor of the learning rate.</param>
    /// <param name="mode">Whether the quantity should fall or rise.</param>
    /// <param name="verbose">Print each reduction to the trainer's log.</param>
    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, double minDelta = 1e-4,
        int cooldown = 0, double minLearningRate = 0, MonitorMode mode = MonitorMode.Auto, bool verbose = false)
    {
        Schedule = new ReduceOnPlateau(monitor, factor, patience, minDelta, cooldown, minLearningRate, mode);
        Verbose = verbose;
    }

    /// <summary>The state machine (best value, counters).</summary>
    public ReduceOnPlateau Schedule { get; }

    /// <summary>Whether reductions are printed.</summary>
    public bool Verbose { get; }

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        Schedule.Reset();
        _ = context.LearningRate;   // fails early, with the reason, for an optimiser without one
    }

    void ICallback.OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double current = Monitor.Value(logs, Schedule.Monitor, nameof(ReduceLROnPlateau));
        double before = context.LearningRate, after = Schedule.Update(current, before);
        if (after != before)
        {
            context.LearningRate = after;
            if (Verbose) context.Write($"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {after.ToString("G6", CultureInfo.InvariantCulture)}.");
        }
    }
}

internal static class CallbackText
{
    /// <summary>Keras' number format in logs: four decimals, or scientific below 1e-3.</summary>
    public static string Number(double value)
    {
        double a = Math.Abs(value);
        return a > 0 && a < 1e-3
            ? value.ToString("0.0000e+00", CultureInfo.InvariantCulture)
            : value.ToString("0.0000", CultureInfo.InvariantCulture);
    }

    public static void AppendValues(StringBuilder sb, IEnumerable<KeyValuePair<string, double>> values)
    {
        foreach (var (key, value) in values)
        {
            if (key == "learning_rate") continue;
            sb.Append(" - ").Append(key).Append(": ").Append(Number(value));
        }
    }
}
