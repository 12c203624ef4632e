using System.Diagnostics;
using static System.FormattableString;

namespace Module2.Optimization;

/// <summary>Everything the tour computed.</summary>
/// <param name="Hand">The hand-sized linear classifier.</param>
/// <param name="Svm">The linear SVM on the digits.</param>
/// <param name="Softmax">The softmax classifier on the digits.</param>
/// <param name="Optimizers">One run per optimiser.</param>
/// <param name="LearningRates">One run per learning rate.</param>
/// <param name="Regularization">One run per regulariser, the unregularised first.</param>
public sealed record TourResult(HandResult Hand, LinearRun Svm, LinearRun Softmax, IReadOnlyList<OptimizerRun> Optimizers,
    IReadOnlyList<LearningRateRun> LearningRates, IReadOnlyList<RegularizationRun> Regularization);

/// <summary>The whole module in one run (the sample without a subcommand): every part at its default settings,
/// the digits' confusion matrix left out.</summary>
public static class Tour
{
    /// <summary>Runs the four parts in the lecture's order and writes the plots into <paramref name="outputDirectory"/>.</summary>
    public static TourResult Run(TextWriter o, string outputDirectory)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(outputDirectory);
        var hand = LinearClassifier.HandExample(o);
        var (svm, softmax) = LinearClassifier.Digits(o, confusion: false);
        var optimizers = OptimizerComparison.Run(o, outputDirectory);
        var rates = LearningRates.Run(o, outputDirectory);
        var regularization = Regularization.Run(o, outputDirectory);
        o.WriteLine(Invariant($"Tour finished in {clock.Elapsed.TotalSeconds:0.0} s; plots in {Path.GetFullPath(outputDirectory)}"));
        return new TourResult(hand, svm, softmax, optimizers, rates, regularization);
    }
}
