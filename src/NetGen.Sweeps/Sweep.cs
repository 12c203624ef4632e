using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace NetGen.Sweeps;

/// <summary>
/// A hyper-parameter sweep (Optuna's study, Ray Tune's tuner, KerasTuner's tuner), described fluently and run by
/// <see cref="RunAsync"/> on the local cores, or on an Orleans cluster by NetGen.Sweeps.Orleans:
/// <code>
/// var sweep = new Sweep("digits-mlp")
///     .Grid("optimizer", "sgd", "momentum", "adam")
///     .LogUniform("lr", 1e-4, 1.0)
///     .Choice("batch", 16, 32, 64)
///     .Trials(60, seed: 1)
///     .Epochs(27)
///     .Objective("val_loss", Goal.Minimize)
///     .EarlyStopping(new Asha(minEpochs: 1, reductionFactor: 3))
///     .Storage("digits-mlp.jsonl");
/// var results = await sweep.RunAsync(trial => { /* build, Trainer.Fit(…, callbacks: [trial.Pruning()]) */ }, Console.Out);
/// results.Table(Console.Out, top: 5);
/// results.Plot("sweep.png");
/// </code>
/// Trial n's values depend only on the seed and n (<see cref="SearchSpace.Sample"/>), so the same sweep gives the same
/// trials on any machine and any number of workers.
/// </summary>
public sealed class Sweep
{
    /// <summary>Creates an empty sweep named <paramref name="name"/> (the study's name in its file and on a cluster).</summary>
    public Sweep(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Any(c => char.IsControl(c) || c is '/' or '\\'))
            throw new ArgumentException($"The sweep name '{name}' contains a path separator or control character; use letters, digits, '-' or '_'.", nameof(name));
        Name = name;
    }

    /// <summary>The study's name.</summary>
    public string Name { get; }

    /// <summary>The hyper-parameters searched.</summary>
    public SearchSpace Space { get; } = new();

    /// <summary>How many trials run (default 10).</summary>
    public int TrialCount { get; private set; } = 10;

    /// <summary>The sampler's seed, also handed to every trial as <see cref="Trial.Seed"/>.</summary>
    public int Seed { get; private set; }

    /// <summary>The epoch budget of a trial (default 10).</summary>
    public int EpochBudget { get; private set; } = 10;

    /// <summary>The metric a trial reports as its objective (default "val_loss").</summary>
    public string ObjectiveMetric { get; private set; } = "val_loss";

    /// <summary>Whether the objective is minimised or maximised.</summary>
    public Goal Goal { get; private set; } = Goal.Minimize;

    /// <summary>The pruner, or null to run every trial to its budget.</summary>
    public Asha? Pruner { get; private set; }

    /// <summary>The study file, or null to keep results in memory only.</summary>
    public string? StoragePath { get; private set; }

    /// <summary>Trials run at once by <see cref="RunAsync"/> (default: one per core).</summary>
    public int MaxParallel { get; private set; } = Environment.ProcessorCount;

    /// <summary>Adds a parameter every value of which is tried in turn (see <see cref="SearchSpace"/>).</summary>
    public Sweep Grid<TValue>(string name, params TValue[] values) where TValue : notnull { Space.Grid(name, values); return this; }

    /// <summary>Adds a parameter drawn from a few values.</summary>
    public Sweep Choice<TValue>(string name, params TValue[] values) where TValue : notnull { Space.Choice(name, values); return this; }

    /// <summary>Adds a real parameter drawn uniformly from [low, high).</summary>
    public Sweep Uniform(string name, double low, double high) { Space.Uniform(name, low, high); return this; }

    /// <summary>Adds a real parameter drawn log-uniformly from [low, high).</summary>
    public Sweep LogUniform(string name, double low, double high) { Space.LogUniform(name, low, high); return this; }

    /// <summary>Adds an integer parameter drawn uniformly from [low, high].</summary>
    public Sweep IntUniform(string name, int low, int high) { Space.IntUniform(name, low, high); return this; }

    /// <summary>Runs <paramref name="count"/> trials, sampled with <paramref name="seed"/>.</summary>
    public Sweep Trials(int count, int seed = 0)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "A sweep runs at least 1 trial.");
        TrialCount = count;
        Seed = seed;
        return this;
    }

    /// <summary>Gives every trial a budget of <paramref name="epochs"/> epochs.</summary>
    public Sweep Epochs(int epochs)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "A trial's budget is at least 1 epoch.");
        EpochBudget = epochs;
        return this;
    }

    /// <summary>Ranks trials by <paramref name="metric"/> (a name the trials report, e.g. "val_loss", "val_accuracy").</summary>
    public Sweep Objective(string metric, Goal goal = Goal.Minimize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(metric);
        ObjectiveMetric = metric;
        Goal = goal;
        return this;
    }

    /// <summary>Stops unpromising trials early with successive halving (null: never).</summary>
    public Sweep EarlyStopping(Asha? pruner)
    {
        Pruner = pruner;
        return this;
    }

    /// <summary>Keeps every result in the JSON-lines study file <paramref name="path"/> as it arrives; a sweep run again
    /// with the same file runs only the trials it does not hold (see <see cref="StudyFile"/>).</summary>
    public Sweep Storage(string? path)
    {
        StoragePath = path;
        return this;
    }

    /// <summary>Runs at most <paramref name="trials"/> trials at once in <see cref="RunAsync"/>.</summary>
    public Sweep Parallel(int trials)
    {
        if (trials < 1) throw new ArgumentOutOfRangeException(nameof(trials), trials, "Run at least 1 trial at a time.");
        MaxParallel = trials;
        return this;
    }

    /// <summary>Trial <paramref name="number"/>'s values.</summary>
    public IReadOnlyDictionary<string, object> Parameters(int number) => Space.Sample(Seed, number);

    /// <summary>Identifies the sweep's definition: space, seed, trial count, objective, epoch budget and pruner.</summary>
    public string Fingerprint => Space.Fingerprint(Seed, TrialCount,
        string.Create(CultureInfo.InvariantCulture, $"{ObjectiveMetric} {Goal}; epochs {EpochBudget}; {Pruner?.ToString() ?? "no pruning"}"));

    /// <summary>
    /// Runs the trials not yet in the study file, <see cref="MaxParallel"/> at a time (one per core by default), in
    /// trial order, each on its own thread with <see cref="Parallelism.MaxThreads"/> set to 1 for the sweep's
    /// duration (each network single-threaded: trials, not kernels, use the cores). Every result is appended to the
    /// study file as it arrives.
    /// </summary>
    /// <param name="trial">Trains one configuration: reads its values, trains for <see cref="Trial.Epochs"/> epochs and
    /// reports each epoch (<see cref="Trial.Pruning"/> as a Fit callback does it). An exception other than pruning or
    /// cancellation marks the trial failed, with the message kept.</param>
    /// <param name="progress">Where progress goes: a status line redrawn in place on a terminal, one line per finished
    /// trial otherwise; null for none.</param>
    /// <param name="cancellationToken">Stops the sweep: running trials stop at their next report and are not recorded
    /// (a later run picks them up).</param>
    public async Task<SweepResults> RunAsync(Action<Trial> trial, TextWriter? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trial);
        if (Space.Parameters.Count == 0)
            throw new InvalidOperationException("The sweep has no parameters: add some with Grid, Choice, Uniform, LogUniform or IntUniform.");
        var clock = Stopwatch.StartNew();
        using var study = StoragePath is null ? null : StudyFile.Open(StoragePath, Name, Fingerprint, Parameters);
        var records = new ConcurrentDictionary<int, TrialRecord>();
        if (study is not null)
            foreach (var r in study.Records)
                if (r.Number < TrialCount) records[r.Number] = r;
        var rungs = Pruner?.CreateRungs(EpochBudget, Goal);
        foreach (var r in records.Values) rungs?.Restore(r.Number, r.Series(ObjectiveMetric));

        var pending = new ConcurrentQueue<int>(Enumerable.Range(0, TrialCount).Where(n => !records.ContainsKey(n)));
        var display = progress is null ? null : new SweepProgress(progress, this);
        display?.Start(records.Values);
        var reporter = new LocalReporter(rungs);
        int workers = Math.Min(MaxParallel, pending.Count);
        int savedThreads = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 1;
        try
        {
            var tasks = Enumerable.Range(0, workers).Select(w => Task.Factory.StartNew(() =>
            {
                while (!cancellationToken.IsCancellationRequested && pending.TryDequeue(out int number))
                {
                    display?.Started(number);
                    var record = TrialRunner.Run(this, number, trial, reporter, $"local/{w}", cancellationToken);
                    if (record is null) { display?.Abandoned(number); continue; }
                    if (study is null || study.Append(record)) records[number] = record;
                    display?.Finished(record);
                }
            }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        finally
        {
            Parallelism.MaxThreads = savedThreads;
            display?.End();
        }
        cancellationToken.ThrowIfCancellationRequested();
        return new SweepResults(this, records.Values, clock.Elapsed);
    }

    private sealed class LocalReporter(AshaRungs? rungs) : ITrialReporter
    {
        public bool Report(int trial, int previousEpoch, int epoch, double value) => rungs?.ShouldPrune(trial, previousEpoch, epoch, value) ?? false;
    }
}

/// <summary>Runs one trial function and turns how it ended into a record; shared by the local runner and cluster workers.</summary>
internal static class TrialRunner
{
    /// <summary>The trial's record, or null when it was cancelled (it is then not recorded and runs again later).</summary>
    public static TrialRecord? Run(Sweep sweep, int number, Action<Trial> run, ITrialReporter reporter, string worker, CancellationToken cancellationToken)
    {
        var parameters = sweep.Parameters(number);
        var trial = new Trial(number, parameters, sweep.EpochBudget, sweep.Seed, sweep.ObjectiveMetric, reporter, cancellationToken);
        var clock = Stopwatch.StartNew();
        TrialState state;
        string? error = null;
        try
        {
            run(trial);
            if (trial.Curve.Count == 0)
            {
                state = TrialState.Failed;
                error = $"The trial reported no epoch: report each epoch's metrics with trial.Report, or pass trial.Pruning() to Trainer.Fit's callbacks.";
            }
            else state = TrialState.Complete;
        }
        catch (TrialPrunedException)
        {
            state = TrialState.Pruned;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e)
        {
            state = TrialState.Failed;
            error = $"{e.GetType().Name}: {e.Message}";
        }
        return new TrialRecord
        {
            Number = number,
            State = state,
            Parameters = parameters,
            Value = state == TrialState.Failed ? double.NaN : trial.LastValue,
            Curve = trial.Curve.ToArray(),
            Seconds = clock.Elapsed.TotalSeconds,
            Worker = worker,
            Error = error,
        };
    }
}
