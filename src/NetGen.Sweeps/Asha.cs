using System.Globalization;

namespace NetGen.Sweeps;

/// <summary>Whether the objective should fall (a loss) or rise (an accuracy).</summary>
public enum Goal
{
    /// <summary>Smaller is better.</summary>
    Minimize,
    /// <summary>Larger is better.</summary>
    Maximize,
}

/// <summary>
/// Asynchronous successive halving (ASHA; Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning"),
/// with the promotion rule of Optuna's <c>SuccessiveHalvingPruner</c>. Rung k sits at epoch
/// <c>MinEpochs · ReductionFactor^(MinEarlyStoppingRate + k)</c>, for every such epoch below the sweep's epoch budget
/// (a trial that reaches the budget completes). When a trial reports a rung's epoch, its objective value is recorded
/// at that rung and compared with every value recorded there so far by other trials: it goes on only if it is among
/// the best 1/ReductionFactor of them (with fewer than ReductionFactor values, only if it is the best), otherwise it
/// is pruned. Nothing waits for a rung to fill, so workers never idle; the price is that a decision depends on which
/// trials reached the rung first (the best trial at every rung is never pruned, whatever the order). A NaN value is
/// pruned at once.
/// </summary>
public sealed class Asha
{
    /// <summary>Creates the pruner.</summary>
    /// <param name="minEpochs">Epochs every trial runs before its first rung (Optuna's min_resource), at least 1.</param>
    /// <param name="reductionFactor">η: each rung keeps the best 1/η and is η times further than the last, at least 2.</param>
    /// <param name="minEarlyStoppingRate">s: skips the first s rungs (the first rung sits at minEpochs·η^s).</param>
    public Asha(int minEpochs = 1, int reductionFactor = 3, int minEarlyStoppingRate = 0)
    {
        if (minEpochs < 1)
            throw new ArgumentOutOfRangeException(nameof(minEpochs), minEpochs, "ASHA's minimum resource is at least 1 epoch.");
        if (reductionFactor < 2)
            throw new ArgumentOutOfRangeException(nameof(reductionFactor), reductionFactor, "ASHA's reduction factor is at least 2 (3 or 4 are usual).");
        if (minEarlyStoppingRate < 0)
            throw new ArgumentOutOfRangeException(nameof(minEarlyStoppingRate), minEarlyStoppingRate, "The minimum early-stopping rate is ≥ 0.");
        MinEpochs = minEpochs;
        ReductionFactor = reductionFactor;
        MinEarlyStoppingRate = minEarlyStoppingRate;
    }

    /// <summary>Epochs before the first rung.</summary>
    public int MinEpochs { get; }

    /// <summary>η.</summary>
    public int ReductionFactor { get; }

    /// <summary>s.</summary>
    public int MinEarlyStoppingRate { get; }

    /// <summary>The rungs' epochs (1-based) for a budget of <paramref name="maxEpochs"/>: those strictly below it.</summary>
    public IReadOnlyList<int> RungEpochs(int maxEpochs)
    {
        var rungs = new List<int>();
        long epoch = MinEpochs;
        for (int k = 0; k < MinEarlyStoppingRate; k++) epoch *= ReductionFactor;
        while (epoch < maxEpochs)
        {
            rungs.Add((int)epoch);
            epoch *= ReductionFactor;
        }
        return rungs;
    }

    /// <summary>The rung state for one sweep.</summary>
    public AshaRungs CreateRungs(int maxEpochs, Goal goal) => new(RungEpochs(maxEpochs), ReductionFactor, goal);

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"ASHA(min {MinEpochs} epoch(s), η = {ReductionFactor}, s = {MinEarlyStoppingRate})");
}

/// <summary>
/// The values recorded at each rung of an <see cref="Asha"/> pruner in one sweep, keyed by trial number: a trial that
/// runs again (its worker died) overwrites its own value instead of competing with itself. Thread-safe.
/// </summary>
public sealed class AshaRungs
{
    private readonly Dictionary<int, double>[] _rungs;
    private readonly int _eta;
    private readonly Goal _goal;
    private readonly Lock _lock = new();

    internal AshaRungs(IReadOnlyList<int> rungEpochs, int reductionFactor, Goal goal)
    {
        RungEpochs = rungEpochs;
        _eta = reductionFactor;
        _goal = goal;
        _rungs = rungEpochs.Select(_ => new Dictionary<int, double>()).ToArray();
    }

    /// <summary>The rungs' epochs (1-based).</summary>
    public IReadOnlyList<int> RungEpochs { get; }

    /// <summary>How many values rung <paramref name="rung"/> holds.</summary>
    public int Count(int rung)
    {
        lock (_lock) return _rungs[rung].Count;
    }

    /// <summary>
    /// Called when trial <paramref name="trial"/> reports <paramref name="value"/> at <paramref name="epoch"/>, its
    /// previous report having been at <paramref name="previousEpoch"/> (0 for the first): for every rung crossed in
    /// between, records the value and decides. Returns true when the trial should stop (it is pruned).
    /// </summary>
    public bool ShouldPrune(int trial, int previousEpoch, int epoch, double value)
    {
        lock (_lock)
        {
            for (int k = 0; k < RungEpochs.Count; k++)
            {
                if (RungEpochs[k] <= previousEpoch || RungEpochs[k] > epoch) continue;
                if (double.IsNaN(value)) return true;
                var rung = _rungs[k];
                rung[trial] = value;
                if (!Promotable(value, rung)) return true;
            }
            return false;
        }
    }

    /// <summary>Puts back what a finished trial recorded (when a study resumes from its file): its value at every rung
    /// its curve reached.</summary>
    public void Restore(int trial, IReadOnlyList<double> objectiveByEpoch)
    {
        lock (_lock)
            for (int k = 0; k < RungEpochs.Count; k++)
                if (RungEpochs[k] <= objectiveByEpoch.Count && !double.IsNaN(objectiveByEpoch[RungEpochs[k] - 1]))
                    _rungs[k][trial] = objectiveByEpoch[RungEpochs[k] - 1];
    }

    /// <summary>Optuna's rule: sorted best first, the value must be at least as good as the value at index
    /// ⌊n/η⌋ − 1 (index 0 when that is negative), n counting the trial's own value.</summary>
    private bool Promotable(double value, Dictionary<int, double> rung)
    {
        var competing = rung.Values.Where(v => !double.IsNaN(v)).ToList();
        int index = Math.Max(0, competing.Count / _eta - 1);
        competing.Sort();
        return _goal == Goal.Minimize ? value <= competing[index] : value >= competing[competing.Count - 1 - index];
    }
}
