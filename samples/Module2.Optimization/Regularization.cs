using System.Diagnostics;
using NetGen;
using NetGen.Plots;
using static System.FormattableString;

namespace Module2.Optimization;

/// <summary>One run of the over-fitting experiment, measured after training in inference mode.</summary>
/// <param name="Name">"none", "L2", "dropout" or "early stopping".</param>
/// <param name="Setting">What was added, e.g. "Dropout(0.5) after each hidden layer".</param>
/// <param name="History">Per-epoch training and validation values.</param>
/// <param name="TrainLoss">Cross-entropy on the training set (without the L2 penalty).</param>
/// <param name="ValidationLoss">Cross-entropy on the validation set (without the L2 penalty).</param>
/// <param name="TrainAccuracy">Accuracy on the training set.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set.</param>
/// <param name="ImagePath">The train-vs-validation plot.</param>
public sealed record RegularizationRun(string Name, string Setting, History History, double TrainLoss, double ValidationLoss,
    double TrainAccuracy, double ValidationAccuracy, string ImagePath)
{
    /// <summary>Validation loss minus training loss: how much worse the network does on digits it has not seen.</summary>
    public double LossGap => ValidationLoss - TrainLoss;

    /// <summary>Training accuracy minus validation accuracy.</summary>
    public double AccuracyGap => TrainAccuracy - ValidationAccuracy;
}

/// <summary>
/// Over-fitting and three cures. A wide MLP (64 → 256 → 256 → 10, 85,002 parameters) gets only a few hundred digits,
/// a fifth of them with a wrong label, as real data sets have some. It has parameters enough to memorise every
/// sample, wrong labels included: its training loss goes to almost 0 while the validation loss, after a first fall,
/// climbs back. The same network and initial weights are then trained with an L2 penalty, with dropout, and with
/// early stopping, each of which keeps it from learning the noise.
/// </summary>
public static class Regularization
{
    /// <summary>The L2 strength of <see cref="WideMlpL2"/> (must match its attributes).</summary>
    public const double L2 = 3e-3;

    /// <summary>The plots' file names: "regularization-{name}.png".</summary>
    public static string ImageName(string run) => $"regularization-{run.Replace(' ', '-')}.png";

    /// <summary>Trains the four variants, plots each one's training and validation curves, and prints the gaps.</summary>
    public static IReadOnlyList<RegularizationRun> Run(TextWriter o, string outputDirectory, int trainCount = 300, double wrongLabels = 0.2,
        int epochs = 60, int batchSize = 32, double learningRate = 0.05, double momentum = 0.9, int patience = 5, int seed = 7)
    {
        var (clean, validation) = DigitsData.Small(trainCount, seed);
        var train = DigitsData.WithWrongLabels(clean, wrongLabels, seed);
        int wrong = Enumerable.Range(0, train.Count).Count(i => train.Label(i) != clean.Label(i));
        o.WriteLine(Invariant($"== Regularisation: {nameof(WideMlp)} (64 → 256 → 256 → 10, {WideMlp.ParameterCount:N0} parameters) on only {train.Count} digits, {validation.Count} to validate"));
        o.WriteLine(Invariant($"{wrong} of the {train.Count} training digits carry a wrong label (the validation labels are right). SGD (η = {learningRate}, μ = {momentum}),"));
        o.WriteLine(Invariant($"batch {batchSize}, up to {epochs} epochs, the same initial weights and batches for every run."));
        var clock = Stopwatch.StartNew();
        float[] initial = new WideMlp(maxBatch: batchSize, seed: seed).Parameters.ToArray();

        var runs = new List<RegularizationRun>();
        var plain = new WideMlp(maxBatch: batchSize, seed: seed);
        runs.Add(Train(plain, "none", "no regularisation"));

        var l2 = new WideMlpL2(maxBatch: batchSize, seed: seed);
        runs.Add(Train(l2, "L2", Invariant($"Dense(…, L2 = {L2}) on every layer: + λΣw² in the loss, + 2λw in the gradient"), () => l2.RegularizationLoss()));

        var dropout = new WideMlpDropout(maxBatch: batchSize, seed: seed);
        runs.Add(Train(dropout, "dropout", "Dropout(0.5) after each hidden layer (training only)"));

        var stopper = new EarlyStopping(monitor: "val_loss", patience: patience, restoreBestWeights: true);
        var early = new WideMlp(maxBatch: batchSize, seed: seed);
        var run = Train(early, "early stopping", Invariant($"EarlyStopping(val_loss, patience {patience}, restoreBestWeights)"), callback: stopper);
        runs.Add(run with
        {
            Setting = Invariant($"{run.Setting}: stopped after epoch {run.History.Epochs}, weights of epoch {stopper.BestEpoch + 1} restored"),
        });

        o.WriteLine("  regularisation    train loss   val loss   gap (val − train)   train acc   val acc   acc gap   epochs");
        foreach (var r in runs)
            o.WriteLine(Invariant($"  {r.Name,-15}  {r.TrainLoss,11:0.0000}  {r.ValidationLoss,9:0.0000}  {r.LossGap,18:0.0000}  {r.TrainAccuracy,10:0.0000}  {r.ValidationAccuracy,8:0.0000}  {r.AccuracyGap,8:0.0000}  {r.History.Epochs,7}"));
        o.WriteLine("  (losses are the cross-entropy alone, measured after training in inference mode: dropout off, L2 penalty left out)");
        foreach (var r in runs) o.WriteLine($"  {r.Name}: {r.Setting}");
        var none = runs[0];
        o.WriteLine(Invariant($"  Without regularisation the network learns its {train.Count} digits by heart, wrong labels too (train accuracy {none.TrainAccuracy:0.0000}),"));
        o.WriteLine(Invariant($"  and its validation loss ends {none.ValidationLoss / none.History.ValidationLoss.Min():0.00}× its best (epoch {IndexOfMin(none.History.ValidationLoss) + 1}). The train–validation gap {none.LossGap:0.0000} narrows to"));
        o.WriteLine(Invariant($"  {string.Join(", ", runs.Skip(1).Select(r => $"{r.LossGap:0.0000} with {r.Name}"))}; lowest validation loss: {runs.MinBy(r => r.ValidationLoss)!.Name}."));
        o.WriteLine(Invariant($"trained {runs.Count} networks in {clock.Elapsed.TotalSeconds:0.0} s; curves: {string.Join(", ", runs.Select(r => r.ImagePath))}"));
        o.WriteLine();
        return runs;

        RegularizationRun Train<TNet>(TNet net, string name, string setting, Func<float>? penalty = null, ICallback? callback = null)
            where TNet : INetwork<float>
        {
            initial.CopyTo(net.Parameters);
            var history = Trainer.Fit(net, train, epochs, batchSize, new Sgd(learningRate, momentum), seed: seed, validation: validation,
                callbacks: callback is null ? null : [callback], verbose: 0);
            var (trainLoss, trainAccuracy) = Trainer.Evaluate(net, train);
            var (validationLoss, validationAccuracy) = Trainer.Evaluate(net, validation);
            double reg = penalty?.Invoke() ?? 0;
            string path = Path.Combine(outputDirectory, ImageName(name));
            Plots.SaveHistory(history, path, title: $"{nameof(WideMlp)}, {name}");
            return new RegularizationRun(name, setting, history, trainLoss - reg, validationLoss - reg, trainAccuracy, validationAccuracy, path);
        }
    }

    private static int IndexOfMin(IReadOnlyList<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
            if (values[i] < values[best]) best = i;
        return best;
    }
}
