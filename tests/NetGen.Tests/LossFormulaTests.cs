using NetGen.Generators.Model;

namespace NetGen.Tests;

/// <summary>Every loss is written once (<see cref="LossFormula"/>); the generated CPU code and the GPU kernels are printed
/// from those trees, and <see cref="Losses"/> is the runtime's hand-written form (public, and BuiltInLoss's path). These
/// tests evaluate each tree on random outputs and targets (element by element, or row by row for cross-entropy and the
/// hinges) and require the same loss and gradient as <see cref="Losses"/>, in double; GeneratedLossTests compare the
/// generated code itself with <see cref="Losses"/>.</summary>
public class LossFormulaTests
{
    private delegate double Value(double[] o, double[] t, int batch);

    private delegate void Gradient(double[] o, double[] t, int batch, double[] d);

    public static TheoryData<string> Names => new(["HalfSquaredError", "MeanSquaredError", "SumSquaredError", "MeanAbsoluteError", "SumAbsoluteError", "BinaryCrossEntropy",
        "BinaryCrossEntropySummed", "BinaryCrossEntropyWithLogits", "BinaryCrossEntropySummedWithLogits"]);

    public static TheoryData<string> RowNames => new(["CrossEntropy", "MulticlassHinge", "MulticlassSquaredHinge"]);

    private static (LossFormula, Value, Gradient) Case(string name) => name switch
    {
        "HalfSquaredError" => (LossFormula.HalfSquaredError, (o, t, b) => Losses.HalfSquaredError<double>(o, t, b), (o, t, b, d) => Losses.HalfSquaredErrorGradient<double>(o, t, b, d)),
        "MeanSquaredError" => (LossFormula.MeanSquaredError, (o, t, b) => Losses.MeanSquaredError<double>(o, t), (o, t, b, d) => Losses.MeanSquaredErrorGradient<double>(o, t, d)),
        "SumSquaredError" => (LossFormula.SumSquaredError, (o, t, b) => Losses.SumSquaredError<double>(o, t), (o, t, b, d) => Losses.SumSquaredErrorGradient<double>(o, t, d)),
        "MeanAbsoluteError" => (LossFormula.MeanAbsoluteError, (o, t, b) => Losses.MeanAbsoluteError<double>(o, t), (o, t, b, d) => Losses.MeanAbsoluteErrorGradient<double>(o, t, d)),
        "SumAbsoluteError" => (LossFormula.SumAbsoluteError, (o, t, b) => Losses.SumAbsoluteError<double>(o, t), (o, t, b, d) => Losses.SumAbsoluteErrorGradient<double>(o, t, d)),
        "BinaryCrossEntropySummed" => (LossFormula.BinaryCrossEntropySummed, (o, t, b) => Losses.BinaryCrossEntropySummed<double>(o, t, b), (o, t, b, d) => Losses.BinaryCrossEntropySummedGradient<double>(o, t, b, d)),
        "BinaryCrossEntropyWithLogits" => (LossFormula.BinaryCrossEntropyWithLogits, (o, t, b) => Losses.BinaryCrossEntropyWithLogits<double>(o, t, o.Length), (o, t, b, d) => Losses.BinaryCrossEntropyWithLogitsGradient<double>(o, t, o.Length, d)),
        "BinaryCrossEntropySummedWithLogits" => (LossFormula.BinaryCrossEntropySummedWithLogits, (o, t, b) => Losses.BinaryCrossEntropyWithLogits<double>(o, t, b), (o, t, b, d) => Losses.BinaryCrossEntropyWithLogitsGradient<double>(o, t, b, d)),
        "CrossEntropy" => (LossFormula.CrossEntropy, (o, t, b) => Losses.CrossEntropyWithLogits<double>(o, t, b), (o, t, b, d) => Losses.CrossEntropyWithLogitsGradient<double>(o, t, b, d)),
        "MulticlassHinge" => (LossFormula.MulticlassHinge, (o, t, b) => Losses.MulticlassHinge<double>(o, t, b), (o, t, b, d) => Losses.MulticlassHingeGradient<double>(o, t, b, d)),
        "MulticlassSquaredHinge" => (LossFormula.MulticlassSquaredHinge, (o, t, b) => Losses.MulticlassHinge<double>(o, t, b, squared: true), (o, t, b, d) => Losses.MulticlassHingeGradient<double>(o, t, b, d, squared: true)),
        _ => (LossFormula.BinaryCrossEntropy, (o, t, b) => Losses.BinaryCrossEntropy<double>(o, t), (o, t, b, d) => Losses.BinaryCrossEntropyGradient<double>(o, t, d)),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void FormulaAgreesWithTheRuntimeLoss(string name)
    {
        var (formula, value, gradient) = Case(name);
        var random = new SeededRandom(11);
        const int batch = 3, n = 4;
        var o = new double[batch * n];
        var t = new double[batch * n];
        for (int k = 0; k < o.Length; k++)
        {
            // Probabilities for BCE (outputs inside (0, 1), targets anywhere in [0, 1]); any numbers otherwise.
            // Probabilities for BCE on probabilities; logits over a wide range (both signs, saturated) from logits.
            bool probabilities = name is "BinaryCrossEntropy" or "BinaryCrossEntropySummed", binary = name.StartsWith("BinaryCrossEntropy", StringComparison.Ordinal);
            o[k] = probabilities ? 0.05 + 0.9 * random.NextDouble() : binary ? 60 * random.NextDouble() - 30 : 4 * random.NextDouble() - 2;
            t[k] = binary ? random.NextDouble() : 4 * random.NextDouble() - 2;
        }
        o[1] = t[1];   // |t − o| at its kink: the sign is 0 on both sides
        double Env(string v, int k) => v switch { "o" => o[k], "t" => t[k], "batch" or "rows" => batch, "n" => n, _ => double.NaN };

        double sum = 0;
        for (int k = 0; k < o.Length; k++) sum += formula.Value.Evaluate(v => Env(v, k));
        double expected = value(o, t, batch);
        Assert.True(Math.Abs(sum / formula.Divisor.Evaluate(v => Env(v, 0)) - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)),
            $"{name}: formula {sum / formula.Divisor.Evaluate(v => Env(v, 0))}, Losses {expected}");

        var d = new double[o.Length];
        gradient(o, t, batch, d);
        for (int k = 0; k < o.Length; k++)
            Assert.True(Math.Abs(formula.Gradient.Evaluate(v => Env(v, k)) - d[k]) <= 1e-12 * Math.Max(1, Math.Abs(d[k])),
                $"{name} gradient {k}: formula {formula.Gradient.Evaluate(v => Env(v, k))}, Losses {d[k]}");
    }

    /// <summary>Cross-entropy from the logits and the multiclass hinges: the row's term (its reductions and named values
    /// evaluated from the tree) and the gradient of every value, against Losses, with soft targets for cross-entropy and
    /// one-hot targets (and a tie, which takes the first class) for the hinges; some margins exactly 0.</summary>
    [Theory]
    [MemberData(nameof(RowNames))]
    public void RowFormulaAgreesWithTheRuntimeLoss(string name)
    {
        var (formula, value, gradient) = Case(name);
        Assert.True(formula.RowWise);
        var random = new SeededRandom(13);
        const int batch = 4, n = 5;
        var o = new double[batch * n];
        var t = new double[batch * n];
        for (int k = 0; k < o.Length; k++) o[k] = 4 * random.NextDouble() - 2;
        for (int r = 0; r < batch; r++)
        {
            if (name == "CrossEntropy")
                for (int j = 0; j < n; j++) t[r * n + j] = random.NextDouble();   // soft targets, not summing to 1
            else
                t[r * n + random.NextInt(n)] = 1;
        }
        t[3 * n + 1] = t[3 * n + 4] = 1;   // a tie in the last row: class 1 (the first) is the target
        o[2] = o[0] - 1;   // a margin of exactly 0 in the first row (j = 2 against y = 0 when row 0's class is 0)

        double sum = 0;
        for (int r = 0; r < batch; r++)
            sum += formula.EvaluateRow(formula.Value, v => v switch { "batch" or "rows" => batch, "n" => n, _ => double.NaN }, (a, k) => (a == "o" ? o : t)[r * n + k]);
        double divisor = formula.Divisor.Evaluate(v => v is "batch" or "rows" ? batch : double.NaN);
        double expected = value(o, t, batch);
        Assert.True(Math.Abs(sum / divisor - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{name}: formula {sum / divisor}, Losses {expected}");

        var d = new double[o.Length];
        gradient(o, t, batch, d);
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < n; j++)
            {
                int row = r, self = j;
                double g = formula.EvaluateRow(formula.Gradient, v => v switch { "batch" or "rows" => batch, "n" => n, "j" => self, _ => double.NaN }, (a, k) => (a == "o" ? o : t)[row * n + k]);
                Assert.True(Math.Abs(g - d[r * n + j]) <= 1e-12 * Math.Max(1, Math.Abs(d[r * n + j])), $"{name} gradient ({r}, {j}): formula {g}, Losses {d[r * n + j]}");
            }
    }

    /// <summary>The Sampling layer's KL term (GaussianKLFormula, printed into the generated CPU and GPU code) against
    /// Losses.GaussianKL and AddGaussianKLGradient: the value and β times the gradient, on random μ and log σ² (both signs,
    /// a wide range of variances).</summary>
    [Fact]
    public void GaussianKLFormulaAgreesWithTheRuntimeKL()
    {
        var random = new SeededRandom(17);
        const int batch = 3, latent = 4;
        const double beta = 0.7;
        var x = new double[batch * 2 * latent];
        for (int k = 0; k < x.Length; k++) x[k] = random.NextDouble(-3, 3);
        double Env(string v, double mu, double logVariance) => v switch { "mu" => mu, "logVariance" => logVariance, "batch" => batch, "beta" => beta, _ => double.NaN };

        double sum = 0;
        for (int n = 0; n < batch; n++)
            for (int j = 0; j < latent; j++)
            {
                double mu = x[n * 2 * latent + j], lv = x[n * 2 * latent + latent + j];
                sum += GaussianKLFormula.Term.Evaluate(v => Env(v, mu, lv));
            }
        double kl = sum / GaussianKLFormula.Divisor.Evaluate(v => Env(v, 0, 0)), expected = Losses.GaussianKL<double>(x, batch, latent);
        Assert.True(Math.Abs(kl - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"KL: formula {kl}, Losses {expected}");

        var g = new double[x.Length];
        Losses.AddGaussianKLGradient<double>(x, batch, latent, beta, g);
        double scale = GaussianKLFormula.Scale.Evaluate(v => Env(v, 0, 0));
        for (int n = 0; n < batch; n++)
            for (int j = 0; j < latent; j++)
            {
                int m = n * 2 * latent + j;
                double mu = x[m], lv = x[m + latent];
                double dmu = scale * GaussianKLFormula.MeanGradient.Evaluate(v => Env(v, mu, lv)), dlv = scale * GaussianKLFormula.LogVarianceGradient.Evaluate(v => Env(v, mu, lv));
                Assert.True(Math.Abs(dmu - g[m]) <= 1e-12 * Math.Max(1, Math.Abs(g[m])), $"∂/∂μ ({n}, {j}): formula {dmu}, Losses {g[m]}");
                Assert.True(Math.Abs(dlv - g[m + latent]) <= 1e-12 * Math.Max(1, Math.Abs(g[m + latent])), $"∂/∂log σ² ({n}, {j}): formula {dlv}, Losses {g[m + latent]}");
            }
    }

    [Fact]
    public void EveryLossHasAFormula_AndOnlyTheRowLossesAreRowWise()
    {
        // LossFormula.Of has no default arm (a new LossKind without a formula does not compile); this pins which are row-wise.
        foreach (var kind in Enum.GetValues<LossKind>())
            Assert.Equal(kind is LossKind.CrossEntropy or LossKind.MulticlassHinge or LossKind.MulticlassSquaredHinge, LossFormula.Of(kind).RowWise);
        Assert.Same(LossFormula.BinaryCrossEntropyWithLogits, LossFormula.Of(LossKind.BinaryCrossEntropy, fromLogits: true));
        Assert.Same(LossFormula.BinaryCrossEntropySummedWithLogits, LossFormula.Of(LossKind.BinaryCrossEntropySummed, fromLogits: true));
        Assert.Same(LossFormula.MeanSquaredError, LossFormula.Of(LossKind.MeanSquaredError, fromLogits: true));
    }
}
