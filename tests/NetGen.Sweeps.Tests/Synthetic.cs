using NetGen;
using NetGen.Data;
using NetGen.Sweeps;

namespace NetGen.Sweeps.Tests;

/// <summary>A cheap, deterministic stand-in for training: the objective of trial t at epoch e is
/// q(t) · (1 + 2/e), q a function of the hyper-parameters only, so every trial's curve falls and the ranking of trials is
/// the same at every epoch (the best trial is the best at every rung, and ASHA can never prune it).</summary>
public static class Synthetic
{
    public static Sweep Sweep(string name, int trials = 24, int epochs = 9, string? storage = null, Asha? pruner = null, int parallel = 2) =>
        new Sweep(name)
            .Grid("optimizer", "sgd", "momentum", "adam")
            .LogUniform("lr", 1e-4, 1.0)
            .Choice("batch", 16, 32, 64)
            .Trials(trials, seed: 1)
            .Epochs(epochs)
            .Objective("val_loss", Goal.Minimize)
            .EarlyStopping(pruner ?? new Asha(minEpochs: 1, reductionFactor: 3))
            .Storage(storage)
            .Parallel(parallel);

    public static double Quality(Trial trial)
    {
        double lr = Math.Log10(trial.Double("lr"));
        double optimum = trial.String("optimizer") switch { "sgd" => -0.5, "momentum" => -1.5, _ => -2.5 };
        return 0.05 + (lr - optimum) * (lr - optimum) + trial.Int("batch") / 640.0;
    }

    /// <summary>Reports <see cref="Trial.Epochs"/> epochs of the synthetic curve, sleeping <paramref name="millisecondsPerEpoch"/> per epoch.</summary>
    public static void Run(Trial trial, int millisecondsPerEpoch = 0)
    {
        double q = Quality(trial);
        for (int e = 1; e <= trial.Epochs; e++)
        {
            if (millisecondsPerEpoch > 0) Thread.Sleep(millisecondsPerEpoch);
            trial.Report(e, new Dictionary<string, double> { ["loss"] = q * (1 + 3.0 / e), ["val_loss"] = q * (1 + 2.0 / e) });
        }
    }
}

/// <summary>The smallest real network: 64 pixels → 10 classes, for a trial that really trains.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(16), ReLU]
[Dense(10), Softmax]
public partial class TinyDigitsMlp;

public static class RealTrial
{
    private static readonly Lazy<(Dataset<float> Train, Dataset<float> Validation)> Data = new(() =>
    {
        var (train, validation) = Datasets.UciDigits<float>().Split(0.2, seed: 7);
        return (train.Subset(Enumerable.Range(0, 400).ToArray()), validation);
    });

    public static Sweep Sweep(string name, string? storage = null) =>
        new Sweep(name)
            .Grid("optimizer", "sgd", "adam")
            .LogUniform("lr", 1e-3, 1e-1)
            .Trials(2, seed: 3)
            .Epochs(3)
            .Objective("val_loss", Goal.Minimize)
            .Storage(storage)
            .Parallel(2);

    public static void Run(Trial trial)
    {
        var (train, validation) = Data.Value;
        var net = new TinyDigitsMlp(maxBatch: 32, seed: trial.Seed);
        double lr = trial.Double("lr");
        IOptimizer optimizer = trial.String("optimizer") == "adam" ? new Adam(lr) : new Sgd(lr);
        Trainer.Fit(net, train, trial.Epochs, 32, optimizer, seed: trial.Seed, validation: validation, verbose: 0, callbacks: [trial.Pruning()]);
    }
}
