using System.Diagnostics;
using NetGen;
using NetGen.Plots;
using static System.FormattableString;

namespace Module2.Optimization;

/// <summary>How a run's loss behaved.</summary>
public enum LearningRateVerdict
{
    /// <summary>The loss became NaN or infinite: Fit stopped with an error.</summary>
    Diverges,

    /// <summary>The loss ended no lower than it started, or rose again in many epochs.</summary>
    Oscillates,

    /// <summary>The loss fell, but by less than half.</summary>
    Crawls,

    /// <summary>The loss fell to under half its starting value, (almost) every epoch.</summary>
    Converges,
}

/// <summary>One learning rate's run.</summary>
/// <param name="Name">"too large", "tiny" or "good".</param>
/// <param name="LearningRate">η.</param>
/// <param name="InitialLoss">The training loss before the first step.</param>
/// <param name="History">The finished epochs (for a diverged run, those before the divergence, kept by an
/// <see cref="EpochRecorder"/>).</param>
/// <param name="Verdict">How the loss behaved (<see cref="LearningRates.Judge"/>).</param>
/// <param name="DivergenceMessage">Fit's error when the run diverged, else null.</param>
public sealed record LearningRateRun(string Name, double LearningRate, double InitialLoss, History History, LearningRateVerdict Verdict, string? DivergenceMessage)
{
    /// <summary>"too large (η = 3)".</summary>
    public string Label => Invariant($"{Name} (η = {LearningRate})");
}

/// <summary>
/// Plain SGD on <see cref="DigitsMlp"/> with three learning rates: one too large, one tiny, one good. Too large a step
/// overshoots the valley of the loss and lands higher up the other side, each step worse than the last, until the
/// numbers overflow; a tiny one goes the right way so slowly that 15 epochs barely move the loss.
/// </summary>
public static class LearningRates
{
    /// <summary>The plot's file name in the output directory.</summary>
    public const string ImageName = "learning-rates.png";

    /// <summary>What the plot shows: the training loss on a log scale.</summary>
    public const string PlottedMetric = "log10(loss)";

    /// <summary>The three rates, in the order printed and plotted.</summary>
    public static IReadOnlyList<(string Name, double LearningRate)> Rates { get; } =
    [
        ("too large", 2.5),
        ("tiny", 0.001),
        ("good", 0.5),
    ];

    /// <summary>Trains one network per rate (same initial weights and batches), prints the per-epoch losses and each
    /// run's verdict, and writes <see cref="ImageName"/> into <paramref name="outputDirectory"/>.</summary>
    public static IReadOnlyList<LearningRateRun> Run(TextWriter o, string outputDirectory, int epochs = 15, int batchSize = 32, int seed = 7)
    {
        var (train, _) = DigitsData.Split(seed);
        o.WriteLine(Invariant($"== Learning rates: plain SGD on {nameof(DigitsMlp)}, {train.Count} digits, batch {batchSize}, {epochs} epochs, same initial weights"));
        var clock = Stopwatch.StartNew();
        var runs = new List<LearningRateRun>();
        foreach (var (name, rate) in Rates)
        {
            var net = new DigitsMlp(maxBatch: batchSize, seed: seed);
            double initial = Trainer.Evaluate(net, train).Loss;
            var recorder = new EpochRecorder();
            string? error = null;
            History history;
            try
            {
                history = Trainer.Fit(net, train, epochs, batchSize, new Sgd(rate), seed: seed, callbacks: [recorder], verbose: 0);
            }
            catch (InvalidOperationException e)
            {
                // Fit names the epoch and step and suggests a smaller rate; the epochs before it are in the recorder.
                error = e.Message;
                history = recorder.History;
            }
            runs.Add(new LearningRateRun(name, rate, initial, history, Judge(initial, history.Loss, error is not null), error));
        }

        o.Write("  epoch");
        foreach (var r in runs) o.Write($"  {r.Label,22}");
        o.WriteLine();
        o.Write("      0");
        foreach (var r in runs) o.Write($"  {Number(r.InitialLoss),22}");
        o.WriteLine("   (before training)");
        for (int e = 0; e < epochs; e++)
        {
            o.Write(Invariant($"  {e + 1,5}"));
            foreach (var r in runs)
            {
                var losses = r.History.Loss;
                string cell = e < losses.Count ? Number(losses[e])
                    : e == losses.Count && r.DivergenceMessage is not null ? "∞ or NaN: stopped" : "";
                o.Write($"  {cell,22}");
            }
            o.WriteLine();
        }
        foreach (var r in runs)
        {
            o.WriteLine($"  {r.Label}: {Describe(r.Verdict)}");
            if (r.DivergenceMessage is not null) o.WriteLine($"    Fit said: {r.DivergenceMessage}");
        }

        // The diverging loss reaches 1e30 and more: on a linear axis the other two curves would be flat lines at 0.
        string path = Path.Combine(outputDirectory, ImageName);
        var plotted = new Dictionary<string, History>();
        foreach (var r in runs.Where(r => r.History.Epochs > 0))
        {
            var logLoss = new History();
            foreach (double loss in r.History.Loss) logLoss.Append(new Dictionary<string, double> { [PlottedMetric] = Math.Log10(loss) });
            plotted.Add(r.Label, logLoss);
        }
        Plots.SaveComparison(plotted, PlottedMetric, path, width: 900, height: 600);
        o.WriteLine(Invariant($"trained {runs.Count} networks in {clock.Elapsed.TotalSeconds:0.0} s; loss curves on a log scale (log10 of the loss): {path}"));
        o.WriteLine();
        return runs;
    }

    /// <summary>
    /// Classifies a run from its starting loss and per-epoch losses: <see cref="LearningRateVerdict.Diverges"/> when it
    /// diverged or a loss is not finite; <see cref="LearningRateVerdict.Oscillates"/> when the last loss is no lower
    /// than the start, or the loss rose by more than 2 % in at least a quarter of the epochs (at least 2);
    /// <see cref="LearningRateVerdict.Crawls"/> when it ended above half the start; else
    /// <see cref="LearningRateVerdict.Converges"/>.
    /// </summary>
    public static LearningRateVerdict Judge(double initialLoss, IReadOnlyList<double> losses, bool diverged)
    {
        if (diverged || losses.Any(l => !double.IsFinite(l))) return LearningRateVerdict.Diverges;
        if (losses.Count == 0) return LearningRateVerdict.Crawls;
        int rises = 0;
        for (int e = 1; e < losses.Count; e++)
            if (losses[e] > losses[e - 1] * 1.02) rises++;
        double final = losses[^1];
        if (final >= initialLoss || rises >= Math.Max(2, losses.Count / 4)) return LearningRateVerdict.Oscillates;
        return final > 0.5 * initialLoss ? LearningRateVerdict.Crawls : LearningRateVerdict.Converges;
    }

    /// <summary>Four decimals, or scientific notation for the huge losses of a diverging run.</summary>
    private static string Number(double value) =>
        value.ToString(Math.Abs(value) < 1e5 ? "0.0000" : "0.000E+0", System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(LearningRateVerdict verdict) => verdict switch
    {
        LearningRateVerdict.Diverges => "diverges: each step overshoots further, the weights blow up and the loss overflows.",
        LearningRateVerdict.Oscillates => "oscillates: steps overshoot the minimum, so the loss jumps up and down instead of falling.",
        LearningRateVerdict.Crawls => "crawls: every step goes downhill, but so little that the loss has hardly moved.",
        _ => "converges: the loss falls quickly and steadily.",
    };
}
