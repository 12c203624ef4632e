namespace NetGen;

/// <summary>
/// An epoch-based learning-rate schedule: the learning rate of an epoch as a closed form of the epoch index and the
/// initial learning rate, as PyTorch's <c>torch.optim.lr_scheduler</c> computes them when stepped once per epoch.
/// Use one with <see cref="LearningRateScheduler"/> in <see cref="Trainer.Fit"/>.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate for <paramref name="epoch"/> (0-based: epoch 0 uses
    /// <paramref name="initialLearningRate"/> for every built-in schedule).</summary>
    double LearningRate(int epoch, double initialLearningRate);
}

/// <summary>Step decay (<c>StepLR</c>): η·γ^⌊epoch / stepSize⌋ — the rate is multiplied by γ every
/// <see cref="StepSize"/> epochs.</summary>
public sealed class StepDecay : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="stepSize">Epochs between decays, at least 1.</param>
    /// <param name="gamma">γ, the factor applied at each decay, e.g. 0.1.</param>
    public StepDecay(int stepSize, double gamma = 0.1)
    {
        StepSize = stepSize >= 1 ? stepSize : throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "The step size is a number of epochs, at least 1, e.g. 30.");
        Gamma = gamma > 0 && double.IsFinite(gamma) ? gamma : throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must be a positive finite number, usually below 1, e.g. 0.1.");
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    public double LearningRate(int epoch, double initialLearningRate) => initialLearningRate * Math.Pow(Gamma, epoch / StepSize);
}

/// <summary>Exponential decay (<c>ExponentialLR</c>): η·γ^epoch.</summary>
public sealed class ExponentialDecay : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="gamma">γ, the factor applied every epoch, e.g. 0.95.</param>
    public ExponentialDecay(double gamma) =>
        Gamma = gamma > 0 && double.IsFinite(gamma) ? gamma : throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must be a positive finite number, usually just below 1, e.g. 0.95.");

    /// <summary>γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    public double LearningRate(int epoch, double initialLearningRate) => initialLearningRate * Math.Pow(Gamma, epoch);
}

/// <summary>Cosine annealing (<c>CosineAnnealingLR</c>, closed form): η_min + (η − η_min)·(1 + cos(π·epoch/T_max))/2,
/// from η at epoch 0 down to η_min at epoch T_max (and, as in PyTorch, back up after it).</summary>
public sealed class CosineAnnealing : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="tMax">T_max, the epochs of a half period (often the number of epochs), at least 1.</param>
    /// <param name="etaMin">η_min, the smallest learning rate.</param>
    public CosineAnnealing(int tMax, double etaMin = 0)
    {
        TMax = tMax >= 1 ? tMax : throw new ArgumentOutOfRangeException(nameof(tMax), tMax, "T_max is a number of epochs, at least 1, e.g. the epochs of the run.");
        EtaMin = etaMin >= 0 && double.IsFinite(etaMin) ? etaMin : throw new ArgumentOutOfRangeException(nameof(etaMin), etaMin, "η_min must be a finite number ≥ 0.");
    }

    /// <summary>T_max.</summary>
    public int TMax { get; }

    /// <summary>η_min.</summary>
    public double EtaMin { get; }

    /// <inheritdoc />
    public double LearningRate(int epoch, double initialLearningRate) =>
        EtaMin + (initialLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;
}

/// <summary>Whether a monitored quantity should fall or rise.</summary>
public enum MonitorMode
{
    /// <summary>Decided from the name: accuracy-like names (containing "acc", "precision", "recall", "f1", "auc")
    /// should rise; loss- and error-like names should fall; anything else is an error asking for a mode.</summary>
    Auto,

    /// <summary>Lower is better (a loss).</summary>
    Min,

    /// <summary>Higher is better (an accuracy).</summary>
    Max,
}

internal static class Monitor
{
    /// <summary>Resolves <see cref="MonitorMode.Auto"/> for <paramref name="monitor"/>.</summary>
    public static MonitorMode Resolve(string monitor, MonitorMode mode, string owner)
    {
        if (mode != MonitorMode.Auto) return mode;
        string name = monitor.ToLowerInvariant();
        if (name.Contains("acc") || name.Contains("precision") || name.Contains("recall") || name.Contains("f1") || name.Contains("auc"))
            return MonitorMode.Max;
        if (name.Contains("loss") || name.Contains("error"))
            return MonitorMode.Min;
        throw new ArgumentException(
            $"{owner} cannot tell whether '{monitor}' should be minimised or maximised: pass mode: MonitorMode.Min or MonitorMode.Max.", "mode");
    }

    /// <summary>The value of <paramref name="monitor"/> in <paramref name="logs"/>, or an error naming what is there.</summary>
    public static double Value(IReadOnlyDictionary<string, double> logs, string monitor, string owner)
    {
        if (logs.TryGetValue(monitor, out double value)) return value;
        string hint = monitor.StartsWith("val_", StringComparison.Ordinal)
            ? " Validation values need a validation set: pass validation: or validationSplit: to Trainer.Fit."
            : "";
        throw new InvalidOperationException(
            $"{owner} monitors '{monitor}', which this run does not log; it logs: {string.Join(", ", logs.Keys)}.{hint}");
    }
}

/// <summary>
/// Reduce on plateau: multiplies the learning rate by <see cref="Factor"/> once the monitored quantity has not
/// improved by more than <see cref="MinDelta"/> for <see cref="Patience"/> epochs, then waits
/// <see cref="Cooldown"/> epochs before counting again; never below <see cref="MinLearningRate"/>.
/// <para>
/// Keras' <c>ReduceLROnPlateau</c> rules exactly (absolute <c>min_delta</c>; a reduction after <c>patience</c>
/// epochs without improvement). PyTorch's <c>ReduceLROnPlateau</c> reduces after <c>patience + 1</c> such epochs
/// and by default compares relatively (threshold 1e-4 in "rel" mode): PyTorch's patience p is this patience p + 1
/// with <c>threshold_mode="abs"</c>. A state machine fed one value per epoch by <see cref="Update"/>; the
/// <see cref="ReduceLROnPlateau"/> callback applies it to an optimiser.
/// </para>
/// </summary>
public sealed class ReduceOnPlateau
{
    /// <summary>Creates the schedule (Keras' defaults).</summary>
    /// <param name="monitor">The quantity watched, e.g. "val_loss".</param>
    /// <param name="factor">The factor applied at a reduction, in (0, 1).</param>
    /// <param name="patience">Epochs without improvement before a reduction.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement.</param>
    /// <param name="cooldown">Epochs after a reduction before epochs without improvement are counted again.</param>
    /// <param name="minLearningRate">The learning rate is never reduced below this.</param>
    /// <param name="mode">Whether the quantity should fall or rise.</param>
    public ReduceOnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, double minDelta = 1e-4,
        int cooldown = 0, double minLearningRate = 0, MonitorMode mode = MonitorMode.Auto)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        Monitor = monitor;
        Factor = factor > 0 && factor < 1 ? factor : throw new ArgumentOutOfRangeException(nameof(factor), factor, "The factor must be in (0, 1), e.g. 0.1 or 0.5: it multiplies the learning rate at a reduction.");
        Patience = patience >= 0 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), patience, "Patience is a number of epochs ≥ 0.");
        MinDelta = double.IsFinite(minDelta) ? Math.Abs(minDelta) : throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be finite.");
        Cooldown = cooldown >= 0 ? cooldown : throw new ArgumentOutOfRangeException(nameof(cooldown), cooldown, "Cooldown is a number of epochs ≥ 0.");
        MinLearningRate = minLearningRate >= 0 && double.IsFinite(minLearningRate) ? minLearningRate : throw new ArgumentOutOfRangeException(nameof(minLearningRate), minLearningRate, "The minimum learning rate must be a finite number ≥ 0.");
        Mode = NetGen.Monitor.Resolve(monitor, mode, nameof(ReduceOnPlateau));
        Best = Mode == MonitorMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>The quantity watched.</summary>
    public string Monitor { get; }

    /// <summary>The reduction factor.</summary>
    public double Factor { get; }

    /// <summary>Epochs without improvement before a reduction.</summary>
    public int Patience { get; }

    /// <summary>The smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Epochs to wait after a reduction.</summary>
    public int Cooldown { get; }

    /// <summary>The floor of the learning rate.</summary>
    public double MinLearningRate { get; }

    /// <summary>Min or Max (Auto resolved at construction).</summary>
    public MonitorMode Mode { get; }

    /// <summary>The best value seen so far.</summary>
    public double Best { get; private set; }

    /// <summary>Epochs counted without improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>Cooldown epochs left.</summary>
    public int CooldownCounter { get; private set; }

    /// <summary>Number of reductions so far.</summary>
    public int Reductions { get; private set; }

    /// <summary>Feeds one epoch's value of the monitored quantity and returns the learning rate for the next epoch
    /// (<paramref name="learningRate"/> itself, or reduced).</summary>
    public double Update(double current, double learningRate)
    {
        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            Wait = 0;
        }
        if (Mode == MonitorMode.Min ? current < Best - MinDelta : current > Best + MinDelta)
        {
            Best = current;
            Wait = 0;
        }
        else if (CooldownCounter <= 0)
        {
            Wait++;
            if (Wait >= Patience && learningRate > MinLearningRate)
            {
                learningRate = Math.Max(learningRate * Factor, MinLearningRate);
                CooldownCounter = Cooldown;
                Wait = 0;
                Reductions++;
            }
        }
        return learningRate;
    }

    /// <summary>Starts over (best value, counters), as at construction.</summary>
    public void Reset()
    {
        Best = Mode == MonitorMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
        Wait = CooldownCounter = Reductions = 0;
    }
}
