using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;

namespace NetGen.Generators.Model;

/// <summary>
/// A loss written once: the term, its gradient and what the sum of the terms is divided by, as expression trees. The
/// generated CPU loss methods (LossEmitter) and the GPU's loss kernels (GpuLossEmitter) are printed from it by one
/// printer (LossPrinter). The runtime's <c>NetGen.Losses</c> (public API, and the path of <c>BuiltInLoss</c> for custom
/// losses) is a second, hand-written form of the same losses: LossFormulaTests evaluate every formula against it on
/// random values, and GeneratedLossTests compare the generated code with it, so neither side can drift alone.
/// <para>The loss is over rows: a sample's outputs are one row, or, for a sequence output (a per-step loss), each step's
/// outputs are a row (PyTorch's losses over (N·T, C)). Variables: batch (the samples), rows (the loss's rows: batch, or
/// batch × T) and n (the values per row, printed as a literal). A formula divides by what the CPU's <c>NetGen.Losses</c>
/// call divides by: the rows for a mean per row (½ Σ, cross-entropy, the hinges), rows × n for a mean over every value,
/// batch for a sum over each sample's values (BinaryCrossEntropySummed, even when the sample has T rows).</para>
/// <para>Element-wise losses: the term of each value. Row-wise losses (<see cref="RowWise"/>: cross-entropy from the logits, the multiclass hinges): the term
/// of each sample's row, reading its elements (<c>Expr.At("o", "j")</c>) through reductions over the row
/// (<c>Expr.Sum</c>, <c>MaxOver</c>, <c>ArgMax</c>) and the named <see cref="Locals"/> (each a reduction or a value
/// of them: the log-sum-exp, the target's arg-max); the gradient is that of value j of the row.</para>
/// </summary>
/// <param name="Value">The term of one value (element-wise), or Σ over j of the row's terms (row-wise).</param>
/// <param name="Gradient">∂E/∂o of one value (the division included); row-wise: of value j.</param>
/// <param name="Divisor">What the sum of the terms is divided by (2·rows for ½ Σ averaged over rows, rows·n for a mean
/// over values, batch for a per-sample sum averaged over the batch, 1 for a sum).</param>
/// <param name="TermWords">The term kernel's description, {0} standing for the printed divisor, e.g.
/// "Σⱼ tⱼ·(log Σₖ e^zₖ − zⱼ) / {0}".</param>
/// <param name="GradientWords">The gradient kernel's description ({0} the divisor, {1} what a row is, e.g. "sample n");
/// null: the printed gradient itself.</param>
internal sealed record LossFormula(Expr Value, Expr Gradient, Expr Divisor, string? TermWords = null, string? GradientWords = null)
{
    private static readonly Expr O = Expr.V("o"), T = Expr.V("t"), Batch = Expr.V("batch"), Rows = Expr.V("rows"), N = Expr.V("n");

    private static readonly Expr Squared = (T - O) * (T - O);

    private static readonly Expr Absolute = Expr.Abs(T - O);

    /// <summary>sign(o − t): 1, −1 or 0.</summary>
    private static readonly Expr Sign = Expr.IfGreater(O, T, 1, Expr.IfLess(O, T, -1, 0));

    /// <summary>The row's named values, in the order a kernel computes them (each may read the ones before it).</summary>
    public ImmutableArray<(string Name, Expr Value)> Locals { get; init; } = ImmutableArray<(string, Expr)>.Empty;

    /// <summary>Whether the term is a sample's row (reductions over it) rather than one value.</summary>
    public bool RowWise { get; init; }

    /// <summary>The loss in words for the generated <c>Loss</c>'s documentation, "E = …" (a row is a sample, or one step
    /// of a sequence output).</summary>
    public string Words { get; init; } = "";

    public static readonly LossFormula HalfSquaredError = new(Squared, (O - T) / Rows, 2 * Rows) { Words = "E = Σⱼ ½(tⱼ − oⱼ)², averaged over the rows" };

    public static readonly LossFormula MeanSquaredError = new(Squared, 2 * (O - T) / (Rows * N), Rows * N) { Words = "E = mean of (t − o)² over every output and row" };

    public static readonly LossFormula SumSquaredError = new(Squared, 2 * (O - T), 1) { Words = "E = Σ of (t − o)² over every output and row" };

    public static readonly LossFormula MeanAbsoluteError = new(Absolute, Sign / (Rows * N), Rows * N) { Words = "E = mean of |t − o| over every output and row" };

    public static readonly LossFormula SumAbsoluteError = new(Absolute, Sign, 1) { Words = "E = Σ of |t − o| over every output and row" };

    private static readonly Expr BceTerm = -(T * Expr.Max(Expr.Log(O), -100) + (1 - T) * Expr.Max(Expr.Log(1 - O), -100));

    private static readonly Expr BceSlope = (O - T) / Expr.Max(O * (1 - O), 1e-12);

    /// <summary>Logs clamped at −100 and the gradient's denominator at 1e−12, as PyTorch's BCELoss.</summary>
    public static readonly LossFormula BinaryCrossEntropy = new(BceTerm, BceSlope / (Rows * N), Rows * N)
    { Words = "E = mean of −[t log p + (1 − t) log(1 − p)] over every output and row (each log clamped at −100)" };

    /// <summary>The same terms summed over each sample's values and averaged over the batch.</summary>
    public static readonly LossFormula BinaryCrossEntropySummed = new(BceTerm, BceSlope / Batch, Batch)
    { Words = "E = Σ over each sample's outputs of −[t log p + (1 − t) log(1 − p)] (each log clamped at −100), averaged over the batch" };

    /// <summary>max(z, 0) − t·z + log(1 + e^−|z|): binary cross-entropy of σ(z) from the logit z, never overflowing.</summary>
    private static readonly Expr WithLogits = Expr.Max(O, 0) - T * O + Expr.Log(1 + Expr.Exp(-Expr.Abs(O)));

    /// <summary>σ(z) − t with σ(z) = 1 / (1 + e^−z): for a very negative z, e^−z overflows to ∞ and σ is 0 (the
    /// true value is below the smallest normal number), never NaN; one exponential, so it vectorises (as
    /// TensorPrimitives.Sigmoid computes it).</summary>
    private static readonly Expr SigmoidMinusTarget = 1 / (1 + Expr.Exp(-O)) - T;

    /// <summary>BinaryCrossEntropy fused with a final Sigmoid: o is the logit z (nn.BCEWithLogitsLoss).</summary>
    public static readonly LossFormula BinaryCrossEntropyWithLogits = new(WithLogits, SigmoidMinusTarget / (Rows * N), Rows * N)
    { Words = "E = mean over every output and row of −[t log p + (1 − t) log(1 − p)] with p = σ(z), computed from the logits z as max(z, 0) − t·z + log(1 + e^−|z|) (∂E/∂z = σ(z) − t, as nn.BCEWithLogitsLoss)" };

    /// <summary>BinaryCrossEntropySummed fused with a final Sigmoid: o is the logit z.</summary>
    public static readonly LossFormula BinaryCrossEntropySummedWithLogits = new(WithLogits, SigmoidMinusTarget / Batch, Batch)
    { Words = "E = Σ over each sample's outputs, averaged over the batch, of −[t log p + (1 − t) log(1 − p)] with p = σ(z), computed from the logits z as max(z, 0) − t·z + log(1 + e^−|z|) (∂E/∂z = σ(z) − t, as nn.BCEWithLogitsLoss)" };

    // ---- Row-wise ------------------------------------------------------------------------------------------------

    private static Expr Oj(string j) => Expr.At("o", j);

    private static Expr Tj(string j) => Expr.At("t", j);

    private static readonly Expr Lse = Expr.V("lse"), Mass = Expr.V("mass"), Y = Expr.V("y"), J = Expr.V("j");

    /// <summary>Cross-entropy of softmax(z) from the logits z (the outputs, or Softmax's input when fused with it):
    /// Σⱼ tⱼ·(lse − zⱼ) with lse = log Σₖ e^zₖ shifted by the row's maximum; ∂E/∂zⱼ = (e^(zⱼ − lse)·Σₖtₖ − tⱼ)/rows,
    /// (p − t)/rows for one-hot targets.</summary>
    public static readonly LossFormula CrossEntropy = new(
        Expr.Sum("j", Tj("j") * (Lse - Oj("j"))),
        (Expr.Exp(Oj("j") - Lse) * Mass - Tj("j")) / Rows,
        Rows,
        "cross-entropy from the logits z: Σⱼ tⱼ·(log Σₖ e^zₖ − zⱼ) / {0}",
        "∂E/∂zⱼ = (softmax(z)ⱼ·Σₖtₖ − tⱼ) / {0} for value i ({1}, class j); the row's log-sum-exp is recomputed per thread")
    {
        RowWise = true,
        Words = "E = −Σⱼ tⱼ log softmax(z)ⱼ from the logits z, as Σⱼ tⱼ·(log Σₖ e^zₖ − zⱼ) (∂E/∂z = p − t for one-hot t), averaged over the rows",
        Locals = ImmutableArray.Create<(string, Expr)>(
            ("max", Expr.MaxOver("k", Oj("k"))),
            ("exps", Expr.Sum("k", Expr.Exp(Oj("k") - Expr.V("max")))),
            ("lse", Expr.V("max") + Expr.Log(Expr.V("exps"))),
            ("mass", Expr.Sum("k", Tj("k")))),
    };

    public static readonly LossFormula MulticlassHinge = Hinge(squared: false);

    public static readonly LossFormula MulticlassSquaredHinge = Hinge(squared: true);

    /// <summary>The multiclass SVM loss Σ_(j≠y) max(0, s_j − s_y + 1) (squared: its square), y the target's arg-max (the
    /// first on ties); ∂E/∂s_j = m_j/rows where the margin is positive and ∂E/∂s_y = −Σ_(k≠y) m_k/rows, with m = 1
    /// (hinge) or 2·margin (squared hinge).</summary>
    private static LossFormula Hinge(bool squared)
    {
        Expr Margin(string j) => Oj(j) - Oj("y") + 1;
        Expr Term(string j) => squared ? Expr.Max(Margin(j), 0) * Expr.Max(Margin(j), 0) : Expr.Max(Margin(j), 0);
        Expr Slope(string j) => Expr.IfGreater(Margin(j), 0, squared ? 2 * Margin(j) : 1, 0);
        string power = squared ? "²" : "";
        return new LossFormula(
            Expr.Sum("j", Expr.IfNotEqual(J, Y, Term("j"), 0)),
            Expr.IfNotEqual(J, Y, Slope("j"), -Expr.V("pushed")) / Rows,
            Rows,
            $"multiclass SVM loss Σ_(j≠y) max(0, s_j − s_y + 1){power} / {{0}}, y the target's arg-max",
            $"∂E/∂s for value i ({{1}}, class j): {(squared ? "2·margin" : "1")}/{{0}} where the margin s_j − s_y + 1 is positive, minus their sum at j = y")
        {
            RowWise = true,
            Words = $"E = the multiclass SVM loss Σ_(j≠y) max(0, s_j − s_y + 1){power} on the scores, y the target's arg-max, averaged over the rows",
            Locals = ImmutableArray.Create<(string, Expr)>(
                ("y", Expr.ArgMax("k", Tj("k"))),
                ("pushed", Expr.Sum("k", Expr.IfNotEqual(Expr.V("k"), Y, Slope("k"), 0)))),
        };
    }

    /// <summary>The formula of a loss. No default arm: a new <see cref="LossKind"/> without a formula does not compile
    /// (CS8509; an unnamed value, CS8524, is a bug and throws).</summary>
#pragma warning disable CS8524
    public static LossFormula Of(LossKind kind) => kind switch
    {
        LossKind.HalfSquaredError => HalfSquaredError,
        LossKind.MeanSquaredError => MeanSquaredError,
        LossKind.SumSquaredError => SumSquaredError,
        LossKind.MeanAbsoluteError => MeanAbsoluteError,
        LossKind.SumAbsoluteError => SumAbsoluteError,
        LossKind.BinaryCrossEntropy => BinaryCrossEntropy,
        LossKind.BinaryCrossEntropySummed => BinaryCrossEntropySummed,
        LossKind.CrossEntropy => CrossEntropy,
        LossKind.MulticlassHinge => MulticlassHinge,
        LossKind.MulticlassSquaredHinge => MulticlassSquaredHinge,
    };
#pragma warning restore CS8524

    /// <summary>The formula of a loss; with <paramref name="fromLogits"/> (a network whose binary cross-entropy is fused
    /// with its final Sigmoid) the formula reads the Sigmoid's input.</summary>
    public static LossFormula Of(LossKind kind, bool fromLogits) => (kind, fromLogits) switch
    {
        (LossKind.BinaryCrossEntropy, true) => BinaryCrossEntropyWithLogits,
        (LossKind.BinaryCrossEntropySummed, true) => BinaryCrossEntropySummedWithLogits,
        _ => Of(kind),
    };

    /// <summary>The locals <paramref name="e"/> reads, with the ones they read, in <see cref="Locals"/> order.</summary>
    public IEnumerable<(string Name, Expr Value)> LocalsFor(Expr e)
    {
        var needed = new HashSet<string>();
        void Visit(Expr x)
        {
            foreach (var (name, value) in Locals)
                if (!needed.Contains(name) && x.Reads(name)) { needed.Add(name); Visit(value); }
        }
        Visit(e);
        return Locals.Where(l => needed.Contains(l.Name));
    }

    /// <summary>Evaluates <paramref name="e"/> over one row (for tests): <paramref name="row"/>(array, k) reads its
    /// elements, <paramref name="variable"/> batch, rows, n and j; the locals are computed from their formulas.</summary>
    public double EvaluateRow(Expr e, Func<string, double> variable, Func<string, int, double> row)
    {
        var values = new Dictionary<string, double>();
        double Read(string name)
        {
            if (values.TryGetValue(name, out double v)) return v;
            foreach (var (local, value) in Locals)
                if (local == name) return values[name] = value.Evaluate(Read, row);
            return variable(name);
        }
        return e.Evaluate(Read, row);
    }
}

/// <summary>
/// The Sampling layer's own loss term, written once: KL(N(μ, σ²) ‖ N(0, 1)) = Σⱼ −½(1 + ℓⱼ − μⱼ² − e^ℓⱼ) over the latent
/// values (ℓ = log σ²), averaged over the batch, and β times its gradient. SamplingEmitter prints the CPU's loops and the
/// GPU's kernels from these trees; LossFormulaTests evaluate them against the runtime's <c>NetGen.Losses.GaussianKL</c>
/// and <c>AddGaussianKLGradient</c>. Not a <see cref="LossFormula"/>: it reads two values per latent (μ, ℓ) and no
/// target, and its gradient goes to two places and is added, not written.
/// </summary>
internal static class GaussianKLFormula
{
    private static readonly Expr Mu = Expr.V("mu"), LogVariance = Expr.V("logVariance");

    /// <summary>One latent value's term, −(1 + ℓ − μ² − e^ℓ); KL = Σ terms / <see cref="Divisor"/>.</summary>
    public static readonly Expr Term = -(1 + LogVariance - Mu * Mu - Expr.Exp(LogVariance));

    /// <summary>2·batch: the ½ and the mean over the batch.</summary>
    public static readonly Expr Divisor = 2 * Expr.V("batch");

    /// <summary>β/batch, the factor of both gradients (β the layer's weight of KL in the loss).</summary>
    public static readonly Expr Scale = Expr.V("beta") / Expr.V("batch");

    /// <summary>∂(Σ terms/2)/∂μ = μ (times <see cref="Scale"/>).</summary>
    public static readonly Expr MeanGradient = Mu;

    /// <summary>∂(Σ terms/2)/∂ℓ = ½(e^ℓ − 1) (times <see cref="Scale"/>).</summary>
    public static readonly Expr LogVarianceGradient = 0.5 * (Expr.Exp(LogVariance) - 1);

    /// <summary>The formula in words, for comments.</summary>
    public const string Words = "KL = −½ Σⱼ (1 + log σ²ⱼ − μⱼ² − σ²ⱼ) / batch; β·∂KL/∂μ = β·μ/batch, β·∂KL/∂log σ² = β·½(σ² − 1)/batch";

    /// <summary>An expression as C# with μ and log σ² read from the locals mu and logVariance, β from <paramref name="beta"/>.</summary>
    public static string Print(Expr e, Func<double, string> literal, string math, string beta = "beta") =>
        e.Scalar(name => name == "beta" ? beta : name, literal, math, operand: true);
}
