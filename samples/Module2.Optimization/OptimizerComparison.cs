using System.Diagnostics;
using NetGen;
using NetGen.Plots;
using static System.FormattableString;

namespace Module2.Optimization;

/// <summary>One optimiser's run.</summary>
/// <param name="Name">The optimiser, as printed and as labelled in the plot.</param>
/// <param name="Settings">Its hyper-parameters.</param>
/// <param name="InitialLoss">The training loss before the first step (the same for every run: same seed).</param>
/// <param name="History">What Fit logged per epoch: "loss", "val_loss", "accuracy", "val_accuracy", "learning_rate".</param>
public sealed record OptimizerRun(string Name, string Settings, double InitialLoss, History History)
{
    /// <summary>Mean training loss of the last epoch.</summary>
    public double FinalLoss => History.Loss[^1];

    /// <summary>Validation loss after the last epoch.</summary>
    public double FinalValidationLoss => History["val_loss"][^1];

    /// <summary>Validation accuracy after the last epoch.</summary>
    public double FinalValidationAccuracy => History["val_accuracy"][^1];
}

/// <summary>
/// The same network (<see cref="DigitsMlp"/>), the same data, the same initial weights and the same shuffling,
/// trained by five optimisers. Only the update rule differs, so the loss curves show what momentum, Nesterov's
/// look-ahead and per-parameter step sizes (RMSProp, Adam) buy.
/// </summary>
public static class OptimizerComparison
{
    /// <summary>The plot's file name in the output directory.</summary>
    public const string ImageName = "optimizers.png";

    /// <summary>The five optimisers, as the lecture introduces them. Plain SGD gets the same η as the momentum
    /// variants, so the difference is the momentum alone; RMSProp and Adam get their usual η = 0.001.</summary>
    public static IReadOnlyList<(string Name, string Settings, Func<IOptimizer> Create)> Candidates { get; } =
    [
        ("SGD", "η = 0.01", () => new Sgd(0.01)),
        ("SGD + momentum", "η = 0.01, μ = 0.9", () => new Sgd(0.01, momentum: 0.9)),
        ("Nesterov", "η = 0.01, μ = 0.9, Nesterov", () => new Sgd(0.01, momentum: 0.9, nesterov: true)),
        ("RMSProp", "η = 0.001, α = 0.99", () => new RmsProp(0.001)),
        ("Adam", "η = 0.001, β = (0.9, 0.999)", () => new Adam(0.001)),
    ];

    /// <summary>Trains <see cref="DigitsMlp"/> with each optimiser, prints the final losses as a table and writes
    /// <see cref="ImageName"/> (the training curves solid, validation dashed) into <paramref name="outputDirectory"/>.</summary>
    public static IReadOnlyList<OptimizerRun> Run(TextWriter o, string outputDirectory, int epochs = 15, int batchSize = 32, int seed = 7)
    {
        var (train, validation) = DigitsData.Split(seed);
        o.WriteLine(Invariant($"== Optimisers: {nameof(DigitsMlp)} (64 → 32 LeakyReLU → 10 softmax) on the digits, {train.Count} to train, {validation.Count} to validate"));
        o.WriteLine(Invariant($"Same initial weights (seed {seed}), same batches (batch {batchSize}), {epochs} epochs each; only the update rule differs."));
        var clock = Stopwatch.StartNew();
        var runs = new List<OptimizerRun>();
        foreach (var (name, settings, create) in Candidates)
        {
            var net = new DigitsMlp(maxBatch: batchSize, seed: seed);
            double initial = Trainer.Evaluate(net, train).Loss;
            var history = Trainer.Fit(net, train, epochs, batchSize, create(), seed: seed, validation: validation, verbose: 0);
            runs.Add(new OptimizerRun(name, settings, initial, history));
        }

        o.WriteLine(Invariant($"  optimizer        settings                       initial loss   final loss   final val_loss   val accuracy"));
        foreach (var r in runs)
            o.WriteLine(Invariant($"  {r.Name,-15}  {r.Settings,-29}  {r.InitialLoss,12:0.0000}   {r.FinalLoss,10:0.0000}   {r.FinalValidationLoss,14:0.0000}   {r.FinalValidationAccuracy,12:0.0000}"));
        var best = runs.MinBy(r => r.FinalValidationLoss)!;
        var sgd = runs[0];
        int? reach = FirstEpochAtOrBelow(runs[1].History.Loss, sgd.FinalLoss);
        o.WriteLine(reach is int e
            ? Invariant($"  SGD + momentum reaches plain SGD's final loss ({sgd.FinalLoss:0.0000}) in epoch {e} of {epochs}. Lowest validation loss: {best.Name}.")
            : Invariant($"  Lowest validation loss: {best.Name}."));

        string path = Path.Combine(outputDirectory, ImageName);
        Plots.SaveComparison(runs.ToDictionary(r => r.Name, r => r.History), "loss", path);
        o.WriteLine(Invariant($"trained {runs.Count} networks in {clock.Elapsed.TotalSeconds:0.0} s; loss curves (validation dashed): {path}"));
        o.WriteLine();
        return runs;
    }

    /// <summary>The first epoch (1-based) whose loss is at or below <paramref name="target"/>, or null.</summary>
    private static int? FirstEpochAtOrBelow(IReadOnlyList<double> losses, double target)
    {
        for (int e = 0; e < losses.Count; e++)
            if (losses[e] <= target) return e + 1;
        return null;
    }
}
