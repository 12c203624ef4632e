using System.Globalization;

namespace NetGen.Sweeps;

/// <summary>Thrown by <see cref="Trial.Report"/> when the pruner stops the trial (Optuna's <c>TrialPruned</c>): let
/// it propagate out of the trial function (and out of <see cref="Trainer.Fit"/>, which it passes through).</summary>
public sealed class TrialPrunedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrialPrunedException(int trial, int epoch, double value)
        : base(string.Create(CultureInfo.InvariantCulture, $"Trial {trial} was pruned after epoch {epoch} (objective {value:G6}).")) => Epoch = epoch;

    /// <summary>The epoch (1-based) after which the trial stopped.</summary>
    public int Epoch { get; }
}

/// <summary>Where a trial's reports go: the local runner's pruner, or the study grain of a cluster.</summary>
internal interface ITrialReporter
{
    /// <summary>Records the objective at <paramref name="epoch"/> and returns true when the trial should stop.</summary>
    bool Report(int trial, int previousEpoch, int epoch, double value);
}

/// <summary>
/// One run of the sweep's trial function: its hyper-parameter values (read with <see cref="Get{T}"/>,
/// <see cref="Double"/>, <see cref="Int"/>, <see cref="String"/>), the epoch budget, and <see cref="Report"/>, which
/// records an epoch's metrics and stops the trial when the pruner says so. With <see cref="Trainer.Fit"/>, pass
/// <see cref="Pruning"/> as a callback and it reports every epoch for you.
/// </summary>
public sealed class Trial
{
    private readonly ITrialReporter _reporter;
    private readonly List<IReadOnlyDictionary<string, double>> _curve = [];

    internal Trial(int number, IReadOnlyDictionary<string, object> parameters, int epochs, int seed, string objective,
        ITrialReporter reporter, CancellationToken cancellation)
    {
        Number = number;
        Parameters = parameters;
        Epochs = epochs;
        Seed = seed;
        Objective = objective;
        _reporter = reporter;
        CancellationToken = cancellation;
    }

    /// <summary>The trial's number (0-based).</summary>
    public int Number { get; }

    /// <summary>Its values by name, in the space's order.</summary>
    public IReadOnlyDictionary<string, object> Parameters { get; }

    /// <summary>The epoch budget: train for this many epochs (the pruner may stop the trial earlier).</summary>
    public int Epochs { get; }

    /// <summary>The sweep's seed: use it for initial weights and shuffling, so trials differ by their hyper-parameters only.</summary>
    public int Seed { get; }

    /// <summary>The metric that is the objective, e.g. "val_loss".</summary>
    public string Objective { get; }

    /// <summary>Cancelled when the sweep is cancelled or the worker's silo shuts down; <see cref="Report"/> checks it.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The metrics of each reported epoch so far.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> Curve => _curve;

    /// <summary>The objective at the last reported epoch, NaN before the first report.</summary>
    public double LastValue => _curve.Count == 0 ? double.NaN : _curve[^1][Objective];

    /// <summary>The value of <paramref name="name"/> as <typeparamref name="TValue"/> (string, int, long, double, float or bool;
    /// integers convert to reals).</summary>
    /// <exception cref="KeyNotFoundException">No such parameter; the message lists the names.</exception>
    /// <exception cref="InvalidCastException">The value is of another type; the message names it.</exception>
    public TValue Get<TValue>(string name)
    {
        if (!Parameters.TryGetValue(name, out var value))
            throw new KeyNotFoundException($"The sweep has no parameter '{name}'; it has: {string.Join(", ", Parameters.Keys)}.");
        object? converted = (value, typeof(TValue)) switch
        {
            (TValue v, _) => v,
            (int i, var t) when t == typeof(long) => (long)i,
            (int i, var t) when t == typeof(double) => (double)i,
            (long l, var t) when t == typeof(double) => (double)l,
            (int i, var t) when t == typeof(float) => (float)i,
            (double d, var t) when t == typeof(float) => (float)d,
            _ => null,
        };
        return converted is TValue result
            ? result
            : throw new InvalidCastException($"Parameter '{name}' is {SearchSpace.Format(value)} ({value.GetType().Name}), not a {typeof(TValue).Name}.");
    }

    /// <summary>A real parameter (an integer one converts).</summary>
    public double Double(string name) => Get<double>(name);

    /// <summary>An integer parameter.</summary>
    public int Int(string name) => Get<int>(name);

    /// <summary>A string parameter.</summary>
    public string String(string name) => Get<string>(name);

    /// <summary>
    /// Records epoch <paramref name="epoch"/>'s metrics (epochs are reported in order, from 1) and asks the pruner
    /// whether to go on.
    /// </summary>
    /// <exception cref="TrialPrunedException">The pruner stopped the trial: let it propagate.</exception>
    /// <exception cref="OperationCanceledException">The sweep was cancelled or the worker is shutting down.</exception>
    /// <exception cref="ArgumentException">The metrics lack the objective, or the epoch is out of order or beyond the budget.</exception>
    public void Report(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        CancellationToken.ThrowIfCancellationRequested();
        if (epoch != _curve.Count + 1)
            throw new ArgumentException($"Trial {Number} reported epoch {epoch}, but the next epoch is {_curve.Count + 1}: report every epoch, in order, from 1.", nameof(epoch));
        if (epoch > Epochs)
            throw new ArgumentException($"Trial {Number} reported epoch {epoch}, beyond the sweep's budget of {Epochs} epochs: train for trial.Epochs.", nameof(epoch));
        if (!metrics.TryGetValue(Objective, out double value))
            throw new ArgumentException($"Trial {Number}'s epoch {epoch} has no '{Objective}' (the objective); it has: {string.Join(", ", metrics.Keys)}." +
                (Objective.StartsWith("val_", StringComparison.Ordinal) ? " Validation metrics need validation: in Trainer.Fit." : ""), nameof(metrics));
        _curve.Add(new Dictionary<string, double>(metrics, StringComparer.Ordinal));
        if (_reporter.Report(Number, epoch - 1, epoch, value)) throw new TrialPrunedException(Number, epoch, value);
    }

    /// <summary>A <see cref="Trainer.Fit"/> callback that reports every epoch's logs (and so stops a pruned trial).</summary>
    public ICallback Pruning() => new PruningCallback(this);

    private sealed class PruningCallback(Trial trial) : ICallback
    {
        void ICallback.OnBatchEnd(TrainingContext context, int batch, IReadOnlyDictionary<string, double> logs) =>
            trial.CancellationToken.ThrowIfCancellationRequested();

        void ICallback.OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs) =>
            trial.Report(epoch + 1, logs);
    }
}
