using System.Buffers.Binary;
using Module2.Optimization;

namespace NetGen.Tests.Samples;

/// <summary>Runs the Module 2 tour once (a few seconds) into a temporary directory; the tests read its results.</summary>
public sealed class Module2TourFixture : IDisposable
{
    public Module2TourFixture()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("netgen-module2-").FullName;
        var text = new StringWriter();
        Result = Tour.Run(text, Directory);
        Output = text.ToString();
    }

    /// <summary>Where the tour wrote its plots.</summary>
    public string Directory { get; }

    /// <summary>Everything the tour printed.</summary>
    public string Output { get; }

    /// <summary>Everything the tour computed.</summary>
    public TourResult Result { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>The Module 2 sample's claims, checked on the sample's own code and networks.</summary>
public class Module2SampleTests(Module2TourFixture tour) : IClassFixture<Module2TourFixture>
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A complete PNG of a sensible size.</summary>
    private static void AssertPng(string path)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 10_000, $"{path} has only {bytes.Length} bytes");
        Assert.Equal(PngSignature, bytes[..8]);
        Assert.Equal("IEND", System.Text.Encoding.ASCII.GetString(bytes, bytes.Length - 8, 4));
        Assert.True(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)) >= 640, "narrower than expected");
    }

    [Fact]
    public void HandExamplePrintsScoresHingeAndCrossEntropyAStudentCanCheck()
    {
        var text = new StringWriter();
        var hand = LinearClassifier.HandExample(text);
        string s = text.ToString();

        // s = Wx + b for cat, car, frog: CS231n's scores for its cat image.
        Assert.Equal(3.2, hand.Scores[0], 12);
        Assert.Equal(5.1, hand.Scores[1], 12);
        Assert.Equal(-1.7, hand.Scores[2], 12);
        // Hinge: max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9 + 0.
        Assert.Equal(new double[] { 0, 2.9, 0 }, hand.HingeTerms.Select(t => Math.Round(t, 12)));
        Assert.Equal(2.9, hand.Hinge, 12);
        // Cross-entropy: −ln(e^3.2 / (e^3.2 + e^5.1 + e^−1.7)).
        double expected = -Math.Log(Math.Exp(3.2) / (Math.Exp(3.2) + Math.Exp(5.1) + Math.Exp(-1.7)));
        Assert.Equal(expected, hand.CrossEntropy, 12);
        Assert.Equal(2.0403551528, hand.CrossEntropy, 9);
        Assert.Equal(0.1299825390, hand.Probabilities[0], 9);
        // One SGD step (η = 0.1) moves s_cat up and s_car down by η(|x|² + 1) = 0.725: 2.9 − 2·0.725 = 1.45.
        Assert.Equal(1.45, hand.HingeAfterStep, 12);
        // E = −ln 0.3 for p = (0.2, 0.3, 0.5) and class 1.
        Assert.Equal(-Math.Log(0.3), hand.GivenCrossEntropy, 15);
        Assert.Equal(0.89, Math.Round(hand.CrossEntropy / Math.Log(10), 2));

        foreach (var line in new[]
                 {
                     "s_cat  = 0.2·1.0 + -0.4·0.5 + 0.3·1.0 + 1.0·2.0 + 0.9 = 3.2000",
                     "s_car  = 1.5·1.0 + 1.2·0.5 + 2.1·1.0 + 0.5·2.0 + -0.1 = 5.1000",
                     "s_frog = -0.3·1.0 + 0.6·0.5 + 0.2·1.0 + -1.0·2.0 + 0.1 = -1.7000",
                     "j = car : max(0, 5.1000 − 3.2000 + 1) = max(0, 2.9000) = 2.9000",
                     "j = frog: max(0, -1.7000 − 3.2000 + 1) = max(0, -3.9000) = 0.0000",
                     "L_hinge = 2.9000 + 0.0000 = 2.9000",
                     "p_cat  = 24.5325 / 188.7371 = 0.1300",
                     "p_car  = 164.0219 / 188.7371 = 0.8690",
                     "p_frog = 0.1827 / 188.7371 = 0.0010",
                     "L_CE = −ln 0.1300 = 2.0404",
                     "η(|x|² + 1) = 0.7250, so L_hinge goes 2.9000 → 1.4500",
                     // The lecture's cross-entropy on given probabilities, and log₁₀ against ln on the cat.
                     "Cross-entropy on given probabilities: p = (0.2, 0.3, 0.5), target class 1, t = (0, 1, 0)",
                     "E = −(0·ln 0.2 + 1·ln 0.3 + 0·ln 0.5) = −(0·(-1.609) + 1·(-1.204) + 0·(-0.693)) = 1.204   (Losses.CrossEntropy; the lecture rounds to 1.20)",
                     "the cs231n notes use log₁₀ and print 0.89 for the cat above, the same loss divided by ln 10 (2.04 / 2.303).",
                 })
            Assert.Contains(line, s);
    }

    [Fact]
    public void BothLinearClassifiersLearnTheDigits()
    {
        var (svm, softmax) = (tour.Result.Svm, tour.Result.Softmax);
        Assert.True(svm.TestAccuracy >= 0.93, $"SVM test accuracy {svm.TestAccuracy:0.000}\n{tour.Output}");
        Assert.True(softmax.TestAccuracy >= 0.93, $"softmax test accuracy {softmax.TestAccuracy:0.000}\n{tour.Output}");
        // Most held-out digits clear every margin; the losses are printed side by side.
        Assert.True(svm.ZeroHingeFraction > 0.5, $"{svm.ZeroHingeFraction:0.000}");
        Assert.Contains("SVM (hinge)", tour.Output);
        Assert.Contains("softmax (cross-entropy)", tour.Output);
        Assert.Matches(@"SVM \(hinge\)\s+0\.\d{4}\s+0\.\d{4}\s+\d\.\d{4}", tour.Output);
    }

    [Fact]
    public void EveryOptimizerReducesTheLossAndTheTableAndPlotAreWritten()
    {
        var runs = tour.Result.Optimizers;
        Assert.Equal(new[] { "SGD", "SGD + momentum", "Nesterov", "RMSProp", "Adam" }, runs.Select(r => r.Name));
        foreach (var r in runs)
        {
            Assert.Equal(runs[0].InitialLoss, r.InitialLoss);   // same seed, same starting point
            Assert.True(r.FinalLoss < 0.5 * r.InitialLoss, $"{r.Name}: {r.InitialLoss:0.0000} → {r.FinalLoss:0.0000}");
            Assert.True(r.FinalValidationLoss < 0.5 * r.InitialLoss, $"{r.Name}: validation {r.FinalValidationLoss:0.0000}");
            Assert.Matches($@"\n  {System.Text.RegularExpressions.Regex.Escape(r.Name)} .*\d\.\d{{4}}\s+\d\.\d{{4}}\s+\d\.\d{{4}}\s+\d\.\d{{4}}", tour.Output);
        }
        // Momentum beats plain SGD at the same η; the adaptive methods reach a low loss at η = 0.001.
        Assert.True(runs[1].FinalLoss < 0.25 * runs[0].FinalLoss, $"momentum {runs[1].FinalLoss:0.0000} vs SGD {runs[0].FinalLoss:0.0000}");
        Assert.True(runs[2].FinalLoss < 0.25 * runs[0].FinalLoss, $"Nesterov {runs[2].FinalLoss:0.0000} vs SGD {runs[0].FinalLoss:0.0000}");
        Assert.Contains("initial loss   final loss   final val_loss   val accuracy", tour.Output);
        AssertPng(Path.Combine(tour.Directory, OptimizerComparison.ImageName));
    }

    [Fact]
    public void TooLargeLearningRateDivergesTinyCrawlsGoodConverges()
    {
        var runs = tour.Result.LearningRates.ToDictionary(r => r.Name);
        var large = runs["too large"];
        Assert.Equal(LearningRateVerdict.Diverges, large.Verdict);
        Assert.NotNull(large.DivergenceMessage);
        Assert.Contains("Training diverged", large.DivergenceMessage);
        Assert.Contains("Lower the learning rate", large.DivergenceMessage);
        Assert.Contains("Fit said: Training diverged: the loss became", tour.Output);
        Assert.True(large.History.Epochs >= 1, "the epochs before the divergence are recorded");
        Assert.True(large.History.Loss[^1] > 1e6 * large.InitialLoss, $"{large.History.Loss[^1]}");

        var tiny = runs["tiny"];
        Assert.Equal(LearningRateVerdict.Crawls, tiny.Verdict);
        Assert.True(tiny.History.Loss[^1] < tiny.InitialLoss && tiny.History.Loss[^1] > 0.8 * tiny.InitialLoss, $"{tiny.History.Loss[^1]}");

        var good = runs["good"];
        Assert.Equal(LearningRateVerdict.Converges, good.Verdict);
        Assert.True(good.History.Loss[^1] < 0.05 * good.InitialLoss, $"{good.History.Loss[^1]}");
        Assert.Equal(15, good.History.Epochs);
        AssertPng(Path.Combine(tour.Directory, LearningRates.ImageName));
    }

    [Theory]
    [InlineData(new[] { 1.0, 3.0, 0.5, 2.0, 0.8, 2.5 }, LearningRateVerdict.Oscillates)]   // up and down
    [InlineData(new[] { 2.0, 2.2, 2.4, 2.6 }, LearningRateVerdict.Oscillates)]             // ends above the start
    [InlineData(new[] { 2.4, 2.3, 2.2, 2.1 }, LearningRateVerdict.Crawls)]
    [InlineData(new[] { 1.5, 0.8, 0.4, 0.2 }, LearningRateVerdict.Converges)]
    [InlineData(new[] { 1.5, double.NaN }, LearningRateVerdict.Diverges)]
    public void JudgeClassifiesLossCurves(double[] losses, LearningRateVerdict expected) =>
        Assert.Equal(expected, LearningRates.Judge(2.5, losses, diverged: false));

    [Fact]
    public void RegularizationNarrowsTheTrainValidationGap()
    {
        var runs = tour.Result.Regularization;
        Assert.Equal(new[] { "none", "L2", "dropout", "early stopping" }, runs.Select(r => r.Name));
        var none = runs[0];
        // Without regularisation the network memorises the training set, wrong labels included.
        Assert.Equal(1.0, none.TrainAccuracy);
        Assert.True(none.TrainLoss < 0.02, $"{none.TrainLoss:0.0000}");
        Assert.True(none.LossGap > 0.5, $"{none.LossGap:0.0000}");
        foreach (var r in runs.Skip(1))
        {
            Assert.True(r.LossGap < 0.6 * none.LossGap, $"{r.Name}: gap {r.LossGap:0.0000} vs {none.LossGap:0.0000}\n{tour.Output}");
            Assert.True(r.AccuracyGap < none.AccuracyGap, $"{r.Name}: accuracy gap {r.AccuracyGap:0.0000} vs {none.AccuracyGap:0.0000}");
            Assert.True(r.ValidationLoss < none.ValidationLoss, $"{r.Name}: validation loss {r.ValidationLoss:0.0000} vs {none.ValidationLoss:0.0000}");
        }
        var early = runs[3];
        Assert.True(early.History.Epochs < none.History.Epochs, $"early stopping ran {early.History.Epochs} epochs");
        Assert.Contains("restored", early.Setting);
        Assert.Matches(@"none\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}", tour.Output);
        foreach (var r in runs) AssertPng(r.ImagePath);
        Assert.Contains("Tour finished in", tour.Output);
        Assert.Equal(
            new[] { "regularization-L2.png", "regularization-dropout.png", "regularization-early-stopping.png", "regularization-none.png" },
            System.IO.Directory.GetFiles(tour.Directory, "regularization-*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheL2NetworksPenaltyIsTheStatedLambdaTimesTheSumOfSquaredWeights()
    {
        var net = new WideMlpL2(seed: 3);
        double sum = 0;
        foreach (var w in new[] { net.Dense1Weights.ToArray(), net.Dense2Weights.ToArray(), net.Dense3Weights.ToArray() })
            sum += w.Sum(v => (double)v * v);
        Assert.Equal(Regularization.L2 * sum, net.RegularizationLoss(), 1e-3 * Regularization.L2 * sum);
    }

    [Fact]
    public void WrongLabelsAreExactlyTheRequestedFraction()
    {
        var (clean, _) = DigitsData.Small(300);
        var noisy = DigitsData.WithWrongLabels(clean, 0.2, seed: 7);
        Assert.Equal(60, Enumerable.Range(0, clean.Count).Count(i => noisy.Label(i) != clean.Label(i)));
        Assert.Equal(clean.AllFeatures.ToArray(), noisy.AllFeatures.ToArray());
    }
}
