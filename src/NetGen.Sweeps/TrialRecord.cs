namespace NetGen.Sweeps;

/// <summary>How a trial ended.</summary>
public enum TrialState
{
    /// <summary>It ran its whole epoch budget (or returned early by itself); its value is the objective at its last epoch.</summary>
    Complete,
    /// <summary>The pruner stopped it at a rung; its value is the objective at the epoch it stopped.</summary>
    Pruned,
    /// <summary>The trial threw (e.g. training diverged) or never reported the objective; see <see cref="TrialRecord.Error"/>.</summary>
    Failed,
}

/// <summary>
/// One finished trial, as the study file keeps it: its number, values, how it ended, the objective's value, the
/// epochs it ran and every epoch's metrics (its learning curve).
/// </summary>
public sealed record TrialRecord
{
    /// <summary>The trial's number (0-based); its values are a function of it and the sweep's seed.</summary>
    public required int Number { get; init; }

    /// <summary>How it ended.</summary>
    public required TrialState State { get; init; }

    /// <summary>The hyper-parameter values, in the space's order.</summary>
    public required IReadOnlyDictionary<string, object> Parameters { get; init; }

    /// <summary>The objective at the last reported epoch (NaN for a failed trial).</summary>
    public required double Value { get; init; }

    /// <summary>Epochs reported (run).</summary>
    public int Epochs => Curve.Count;

    /// <summary>Each reported epoch's metrics, epoch 1 first.</summary>
    public required IReadOnlyList<IReadOnlyDictionary<string, double>> Curve { get; init; }

    /// <summary>Wall-clock seconds the trial took.</summary>
    public double Seconds { get; init; }

    /// <summary>Where it ran: "local/2" (worker 2 of this process) or a silo's address.</summary>
    public string Worker { get; init; } = "";

    /// <summary>Why a failed trial failed.</summary>
    public string? Error { get; init; }

    /// <summary>The series of one metric over the epochs run (NaN where an epoch did not log it).</summary>
    public IReadOnlyList<double> Series(string metric) =>
        Curve.Select(m => m.TryGetValue(metric, out double v) ? v : double.NaN).ToArray();

    /// <summary>"name=value …" in the space's order.</summary>
    public string Describe() => SearchSpace.Describe(Parameters);
}
