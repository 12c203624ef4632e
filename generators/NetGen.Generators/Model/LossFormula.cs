namespace NetGen.Generators.Model;

/// <summary>
/// An element-wise loss written once: the term of each value, its gradient, and what the sum is divided by. The GPU's
/// loss kernels are printed from it (GpuLossEmitter); the CPU calls <c>NetGen.Losses</c>, and a test evaluates these
/// trees against <c>Losses</c> on random values, so the two cannot drift apart. Variables: o (the output), t (the
/// target), batch (samples) and n (values per sample, printed as a literal). Cross-entropy and the multiclass hinge
/// losses are row-wise (a log-sum-exp, an arg-max per sample) and are written as kernels in GpuLossEmitter.
/// </summary>
/// <param name="Value">The term of one value, summed over every value of the batch.</param>
/// <param name="Gradient">∂E/∂o of one value (the division included).</param>
/// <param name="Divisor">What the sum of the terms is divided by (2·batch for ½ Σ averaged over samples, batch·n for
/// a mean over values, 1 for a sum).</param>
internal sealed record LossFormula(Expr Value, Expr Gradient, Expr Divisor)
{
    private static readonly Expr O = Expr.V("o"), T = Expr.V("t"), Batch = Expr.V("batch"), N = Expr.V("n");

    private static readonly Expr Squared = (T - O) * (T - O);

    private static readonly Expr Absolute = Expr.Abs(T - O);

    /// <summary>sign(o − t): 1, −1 or 0.</summary>
    private static readonly Expr Sign = Expr.IfGreater(O, T, 1, Expr.IfLess(O, T, -1, 0));

    public static readonly LossFormula HalfSquaredError = new(Squared, (O - T) / Batch, 2 * Batch);

    public static readonly LossFormula MeanSquaredError = new(Squared, 2 * (O - T) / (Batch * N), Batch * N);

    public static readonly LossFormula SumSquaredError = new(Squared, 2 * (O - T), 1);

    public static readonly LossFormula MeanAbsoluteError = new(Absolute, Sign / (Batch * N), Batch * N);

    public static readonly LossFormula SumAbsoluteError = new(Absolute, Sign, 1);

    /// <summary>Logs clamped at −100 and the gradient's denominator at 1e−12, as PyTorch's BCELoss.</summary>
    public static readonly LossFormula BinaryCrossEntropy = new(
        -(T * Expr.Max(Expr.Log(O), -100) + (1 - T) * Expr.Max(Expr.Log(1 - O), -100)),
        (O - T) / Expr.Max(O * (1 - O), 1e-12) / (Batch * N),
        Batch * N);

    /// <summary>BinaryCrossEntropy summed over each sample's values, averaged over the batch (a VAE's reconstruction).</summary>
    public static readonly LossFormula BinaryCrossEntropySummed = new(BinaryCrossEntropy.Value, (O - T) / Expr.Max(O * (1 - O), 1e-12) / Batch, Batch);

    /// <summary>max(z, 0) − t·z + log(1 + e^−|z|): binary cross-entropy of σ(z) from the logit z, never overflowing.</summary>
    private static readonly Expr WithLogits = Expr.Max(O, 0) - T * O + Expr.Log(1 + Expr.Exp(-Expr.Abs(O)));

    /// <summary>σ(z) − t, with σ computed from e^−|z| on both sides (no overflow).</summary>
    private static readonly Expr SigmoidMinusTarget =
        Expr.IfGreaterOrEqual(O, 0, 1 / (1 + Expr.Exp(-Expr.Abs(O))), Expr.Exp(-Expr.Abs(O)) / (1 + Expr.Exp(-Expr.Abs(O)))) - T;

    /// <summary>BinaryCrossEntropy fused with a final Sigmoid: o is the logit z (nn.BCEWithLogitsLoss).</summary>
    public static readonly LossFormula BinaryCrossEntropyWithLogits = new(WithLogits, SigmoidMinusTarget / (Batch * N), Batch * N);

    /// <summary>BinaryCrossEntropySummed fused with a final Sigmoid: o is the logit z.</summary>
    public static readonly LossFormula BinaryCrossEntropySummedWithLogits = new(WithLogits, SigmoidMinusTarget / Batch, Batch);

    /// <summary>The formula of an element-wise loss, or null for a row-wise one (cross-entropy, hinge). With
    /// <paramref name="fromLogits"/> (a network whose binary cross-entropy is fused with its final Sigmoid) the
    /// formula reads the Sigmoid's input.</summary>
    public static LossFormula? Of(LossKind kind, bool fromLogits) => (kind, fromLogits) switch
    {
        (LossKind.BinaryCrossEntropy, true) => BinaryCrossEntropyWithLogits,
        (LossKind.BinaryCrossEntropySummed, true) => BinaryCrossEntropySummedWithLogits,
        _ => Of(kind),
    };

    /// <summary>The formula of an element-wise loss, or null for a row-wise one (cross-entropy, hinge).</summary>
    public static LossFormula? Of(LossKind kind) => kind switch
    {
        LossKind.BinaryCrossEntropySummed => BinaryCrossEntropySummed,
        LossKind.HalfSquaredError => HalfSquaredError,
        LossKind.MeanSquaredError => MeanSquaredError,
        LossKind.SumSquaredError => SumSquaredError,
        LossKind.MeanAbsoluteError => MeanAbsoluteError,
        LossKind.SumAbsoluteError => SumAbsoluteError,
        LossKind.BinaryCrossEntropy => BinaryCrossEntropy,
        _ => null,
    };
}
