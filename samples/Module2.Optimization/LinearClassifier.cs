using System.Diagnostics;
using NetGen;
using static System.FormattableString;

namespace Module2.Optimization;

/// <summary>What <see cref="LinearClassifier.HandExample"/> computed (every number also printed, to 4 decimals).</summary>
/// <param name="Scores">s = Wx + b for cat, car, frog.</param>
/// <param name="HingeTerms">max(0, s_j − s_cat + 1) for each class j (0 for the true class, which is skipped).</param>
/// <param name="Hinge">The multiclass SVM loss, as the generated network computes it.</param>
/// <param name="Probabilities">softmax(s).</param>
/// <param name="CrossEntropy">−ln p_cat, as the generated network computes it.</param>
/// <param name="HingeAfterStep">The hinge loss after one SGD step on it.</param>
/// <param name="GivenCrossEntropy">The lecture's cross-entropy on given probabilities (0.2, 0.3, 0.5), class 1, by <see cref="NetGen.Losses.CrossEntropy{T}"/>.</param>
public sealed record HandResult(double[] Scores, double[] HingeTerms, double Hinge, double[] Probabilities, double CrossEntropy, double HingeAfterStep, double GivenCrossEntropy);

/// <summary>One linear classifier trained on the digits.</summary>
/// <param name="Name">"SVM (hinge)" or "softmax (cross-entropy)".</param>
/// <param name="TestAccuracy">Fraction of held-out digits classified right.</param>
/// <param name="TestHinge">Mean multiclass hinge loss of its scores on the held-out digits.</param>
/// <param name="TestCrossEntropy">Mean softmax cross-entropy of its scores on the held-out digits.</param>
/// <param name="ZeroHingeFraction">Fraction of held-out digits whose hinge loss is exactly 0 (every margin ≥ 1).</param>
public sealed record LinearRun(string Name, double TestAccuracy, double TestHinge, double TestCrossEntropy, double ZeroHingeFraction);

/// <summary>
/// The lecture's four components of parameterised learning — the data, the score function f(x; W, b) = Wx + b, the
/// loss, the weights — first on a 4-pixel image a student can check by hand, then on the 8×8 digits.
/// </summary>
public static class LinearClassifier
{
    /// <summary>The classes of the hand example.</summary>
    public static readonly string[] Classes = ["cat", "car", "frog"];

    /// <summary>The 2×2 "image" of a cat, its 4 pixels stretched into a column x.</summary>
    public static readonly double[] X = [1.0, 0.5, 1.0, 2.0];

    /// <summary>W, row-major [class, pixel]: one row (template) per class.</summary>
    public static readonly double[] W =
    [
        0.2, -0.4, 0.3, 1.0,    // cat
        1.5, 1.2, 2.1, 0.5,     // car
        -0.3, 0.6, 0.2, -1.0,   // frog
    ];

    /// <summary>b: one bias per class.</summary>
    public static readonly double[] B = [0.9, -0.1, 0.1];

    /// <summary>The true class of <see cref="X"/>: cat.</summary>
    public const int TrueClass = 0;

    /// <summary>The hand-sized example: scores, hinge loss term by term, softmax cross-entropy, one SGD step.</summary>
    public static HandResult HandExample(TextWriter o)
    {
        o.WriteLine("== The linear classifier by hand: f(x; W, b) = Wx + b, 4 pixels, 3 classes (cat, car, frog)");
        o.WriteLine("Data:    one 2×2 image of a cat, stretched into x = [" + Join(X) + "], true class y = cat");
        o.WriteLine("Weights: W (3×4, one template per class) and b:");
        for (int c = 0; c < 3; c++)
            o.WriteLine(Invariant($"           {Classes[c],-5} [{Join(W.AsSpan(c * 4, 4).ToArray(), 5)}]   b = {B[c],4:0.0}"));

        // The score function, by the generated network (the SVM and the softmax classifier share W and b).
        var svm = new HandSvm();
        W.CopyTo(svm.Dense1Weights);
        B.CopyTo(svm.Dense1Bias);
        double[] scores = svm.Forward(X).ToArray();
        o.WriteLine("Score function s = Wx + b:");
        for (int c = 0; c < 3; c++)
        {
            var terms = Enumerable.Range(0, 4).Select(i => Invariant($"{W[c * 4 + i]:0.0}·{X[i]:0.0}"));
            o.WriteLine(Invariant($"  s_{Classes[c],-4} = {string.Join(" + ", terms)} + {B[c]:0.0} = {scores[c]:0.0000}"));
        }

        // Loss 1: the multiclass SVM loss, term by term, then by the network.
        o.WriteLine("Loss, multiclass SVM (hinge): L = Σ_{j≠y} max(0, s_j − s_y + 1)");
        var hingeTerms = new double[3];
        for (int j = 0; j < 3; j++)
        {
            if (j == TrueClass) continue;
            double margin = scores[j] - scores[TrueClass] + 1;
            hingeTerms[j] = Math.Max(0, margin);
            o.WriteLine(Invariant($"  j = {Classes[j],-4}: max(0, {scores[j]:0.0000} − {scores[TrueClass]:0.0000} + 1) = max(0, {margin:0.0000}) = {hingeTerms[j]:0.0000}"));
        }
        double hinge = svm.Loss([TrueClass]);
        o.WriteLine(Invariant($"  L_hinge = {string.Join(" + ", hingeTerms.Where((_, j) => j != TrueClass).Select(t => t.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)))} = {hinge:0.0000}   (HandSvm.Loss: the generated network's own value)"));

        // Loss 2: softmax + cross-entropy on the same scores.
        var softmax = new HandSoftmax();
        W.CopyTo(softmax.Dense1Weights);
        B.CopyTo(softmax.Dense1Bias);
        double[] p = softmax.Forward(X).ToArray();
        double crossEntropy = softmax.Loss([TrueClass]);
        double sum = scores.Sum(Math.Exp);
        o.WriteLine("Loss, softmax cross-entropy: p = softmax(s), L = −ln p_y");
        for (int c = 0; c < 3; c++)
            o.WriteLine(Invariant($"  e^s_{Classes[c],-4} = e^{scores[c]:0.0000} = {Math.Exp(scores[c]),8:0.0000}   p_{Classes[c],-4} = {Math.Exp(scores[c]):0.0000} / {sum:0.0000} = {p[c]:0.0000}"));
        o.WriteLine(Invariant($"  L_CE = −ln {p[TrueClass]:0.0000} = {crossEntropy:0.0000}   (HandSoftmax.Loss)"));
        o.WriteLine("  The SVM only asks the right score to beat the others by a margin of 1; cross-entropy wants p_cat → 1 and is never 0.");
        double given = GivenProbabilities(o, crossEntropy);

        // The weights: one gradient step on the hinge loss. ∂L/∂s_car = 1, ∂L/∂s_cat = −1 (frog's term is 0), so
        // W_car moves by −ηx and W_cat by +ηx (biases by ∓η): each score moves by η(|x|² + 1).
        const double eta = 0.1;
        svm.TrainStep(X, [TrueClass], new Sgd(eta));
        svm.Forward(X);
        double after = svm.Loss([TrueClass]);
        double move = eta * (X.Sum(v => v * v) + 1);
        o.WriteLine(Invariant($"Learning the weights: one SGD step (η = {eta}) on the hinge loss adds ηx to W_cat and subtracts it from W_car (biases ±η);"));
        o.WriteLine(Invariant($"  s_cat rises and s_car falls by η(|x|² + 1) = {move:0.0000}, so L_hinge goes {hinge:0.0000} → {after:0.0000}"));
        o.WriteLine();
        return new HandResult(scores, hingeTerms, hinge, p, crossEntropy, after, given);
    }

    /// <summary>The lecture's cross-entropy on given probabilities: p = (0.2, 0.3, 0.5), target class 1, by
    /// <see cref="Losses.CrossEntropy{T}"/>; then natural against base-10 logarithms on the cat's loss
    /// <paramref name="catCrossEntropy"/>. Returns the loss.</summary>
    private static double GivenProbabilities(TextWriter o, double catCrossEntropy)
    {
        double[] p = [0.2, 0.3, 0.5];
        const int label = 1;
        var t = new double[3];
        Losses.OneHot<double>([label], 3, t);
        double loss = Losses.CrossEntropy<double>(p, t, batch: 1);
        o.WriteLine(Invariant($"Cross-entropy on given probabilities: p = ({Join(p)}), target class {label}, t = ({string.Join(", ", t.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)))})"));
        var symbols = Enumerable.Range(0, 3).Select(j => Invariant($"{t[j]}·ln {p[j]}"));
        var numbers = Enumerable.Range(0, 3).Select(j => Invariant($"{t[j]}·({Math.Log(p[j]):0.000})"));
        o.WriteLine(Invariant($"  E = −({string.Join(" + ", symbols)}) = −({string.Join(" + ", numbers)}) = {loss:0.000}   (Losses.CrossEntropy; the lecture rounds to {loss:0.00})"));
        o.WriteLine(Invariant($"  These are natural logarithms, as in PyTorch and Keras; the cs231n notes use log₁₀ and print {catCrossEntropy / Math.Log(10):0.00} for the cat above, the same loss divided by ln 10 ({catCrossEntropy:0.00} / {Math.Log(10):0.000})."));
        return loss;
    }

    /// <summary>Both linear classifiers trained on the same digits with the same optimiser; their test accuracies and
    /// both losses on the held-out digits.</summary>
    public static (LinearRun Svm, LinearRun Softmax) Digits(TextWriter o, int epochs = 30, int batchSize = 32, double learningRate = 0.01, int seed = 7, bool confusion = true)
    {
        var (train, test) = DigitsData.Split(seed);
        o.WriteLine(Invariant($"== Linear classifiers on the UCI 8×8 digits: {train.Count} to train, {test.Count} held out; x has 64 pixels, W is 10×64, b has 10"));
        o.WriteLine(Invariant($"Same data, same initial weights, same optimiser (SGD, η = {learningRate}, momentum 0.9, batch {batchSize}, {epochs} epochs); only the loss differs."));
        var clock = Stopwatch.StartNew();
        var svm = new DigitsSvm(maxBatch: batchSize, seed: seed);
        var softmax = new DigitsSoftmax(maxBatch: batchSize, seed: seed);
        svm.Parameters.CopyTo(softmax.Parameters);
        Trainer.Fit(svm, train, epochs, batchSize, new Sgd(learningRate, momentum: 0.9), seed: seed, verbose: 0);
        Trainer.Fit(softmax, train, epochs, batchSize, new Sgd(learningRate, momentum: 0.9), seed: seed, verbose: 0);

        var svmRun = Measure("SVM (hinge)", svm, test, () => svm.Dense1Output);
        var softmaxRun = Measure("softmax (cross-entropy)", softmax, test, () => softmax.Dense1Output);
        o.WriteLine(Invariant($"trained both in {clock.Elapsed.TotalSeconds:0.0} s. On the held-out digits (the scores s = Wx + b of each, scored by both losses):"));
        o.WriteLine("  classifier                test accuracy   hinge loss   cross-entropy   digits with hinge 0");
        foreach (var r in new[] { svmRun, softmaxRun })
            o.WriteLine(Invariant($"  {r.Name,-24}  {r.TestAccuracy,13:0.0000}   {r.TestHinge,10:0.0000}   {r.TestCrossEntropy,13:0.0000}   {r.ZeroHingeFraction,19:0.0%}"));
        double difference = Math.Abs(svmRun.TestAccuracy - softmaxRun.TestAccuracy);
        o.WriteLine(difference < 0.5 / test.Count
            ? "  Same score function, different loss, and the same test accuracy: both get as many held-out digits right."
            : Invariant($"  Same score function, different loss: the test accuracies differ by {difference * 100:0.0} percentage points."));
        if (svmRun.TestCrossEntropy > softmaxRun.TestCrossEntropy)
            o.WriteLine("  Read as probabilities the SVM's scores do worse (higher cross-entropy): the hinge loss stops pushing once the right score leads by 1.");
        if (confusion)
        {
            o.WriteLine("Confusion matrix of the SVM on the held-out digits:");
            o.Write(ConfusionMatrix.Compute(svm, test));
        }
        o.WriteLine();
        return (svmRun, softmaxRun);
    }

    /// <summary>Runs <paramref name="network"/> over <paramref name="test"/> and scores its linear scores by both losses.</summary>
    private static LinearRun Measure<TNet>(string name, TNet network, Dataset<float> test, ScoresView scoresOf)
        where TNet : INetwork<float>
    {
        network.Training = false;
        double hinge = 0, crossEntropy = 0;
        int correct = 0, zero = 0;
        var target = new float[10];
        for (int i = 0; i < test.Count; i++)
        {
            network.Forward(test.Features(i));
            ReadOnlySpan<float> s = scoresOf();
            int label = test.Label(i);
            Losses.OneHot<float>([label], 10, target);
            double h = Losses.MulticlassHinge<float>(s, target, 1);
            hinge += h;
            if (h == 0) zero++;
            crossEntropy += Losses.CrossEntropyWithLogits<float>(s, target, 1);
            if (Losses.ArgMax(s) == label) correct++;
        }
        network.Training = true;
        int n = test.Count;
        return new LinearRun(name, (double)correct / n, hinge / n, crossEntropy / n, (double)zero / n);
    }

    /// <summary>Reads a network's linear scores (its Dense1Output view) after a forward pass.</summary>
    private delegate ReadOnlySpan<float> ScoresView();

    private static string Join(double[] values, int width = 0) =>
        string.Join(", ", values.Select(v => v.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture).PadLeft(width)));
}
