using System.Numerics;

namespace NetGen.Tests;

// One network per loss (and per fusion, per-step form and precision) whose Dense layer is set to the identity, so its
// output — or the logits, for a fused Softmax or Sigmoid — is its input, and ∂E/∂input (BackwardFromTarget) is ∂E/∂o.
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossHalfSquared;
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossMse;
[Network(Loss = LossFunction.SumSquaredError, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossSse;
[Network(Loss = LossFunction.MeanAbsoluteError, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossMae;
[Network(Loss = LossFunction.SumAbsoluteError, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossSae;
[Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossBce;
[Network(Loss = LossFunction.BinaryCrossEntropySummed, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossBceSummed;
[Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)] [Input(4)] [Dense(4), Sigmoid] public partial class GenLossBceLogits;
[Network(Loss = LossFunction.BinaryCrossEntropySummed, Precision = Precision.Double)] [Input(4)] [Dense(4), Sigmoid] public partial class GenLossBceSummedLogits;
[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossCe;
[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)] [Input(4)] [Dense(4), Softmax] public partial class GenLossCeSoftmax;
// A fused Softmax that is the only layer: the loss reads the network's input (a generator crash once).
[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)] [Input(4)] [Softmax] public partial class GenLossCeSoftmaxOnly;
[Network(Loss = LossFunction.MulticlassHinge, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossHinge;
[Network(Loss = LossFunction.MulticlassSquaredHinge, Precision = Precision.Double)] [Input(4)] [Dense(4)] public partial class GenLossSquaredHinge;
// Per-step losses: a Dense at each of 3 steps, every step a row of the loss (rows = batch × 3).
[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)] [Input(3, 4)] [Dense(4), Softmax] public partial class GenLossStepCe;
[Network(Loss = LossFunction.MulticlassHinge, Precision = Precision.Double)] [Input(3, 4)] [Dense(4)] public partial class GenLossStepHinge;
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)] [Input(3, 4)] [Dense(4)] public partial class GenLossStepHalfSquared;
[Network(Loss = LossFunction.BinaryCrossEntropySummed, Precision = Precision.Double)] [Input(3, 4)] [Dense(4), Sigmoid] public partial class GenLossStepBceSummedLogits;
// Single precision: the generated float code against Losses<float>.
[Network(Loss = LossFunction.CrossEntropy)] [Input(4)] [Dense(4), Softmax] public partial class GenLossCeSoftmaxFloat;
[Network(Loss = LossFunction.BinaryCrossEntropy)] [Input(4)] [Dense(4), Sigmoid] public partial class GenLossBceLogitsFloat;
[Network(Loss = LossFunction.MeanSquaredError)] [Input(4)] [Dense(4)] public partial class GenLossMseFloat;
[Network(Loss = LossFunction.MulticlassSquaredHinge)] [Input(3, 4)] [Dense(4)] public partial class GenLossStepSquaredHingeFloat;

/// <summary>
/// The generated CPU loss is printed from <c>LossFormula</c>; <see cref="Losses"/> is the runtime's hand-written form of
/// the same losses (public, and what <see cref="BuiltInLoss{T}"/> runs). On random outputs and targets — soft and one-hot
/// targets, a tie, saturated logits (±40, and 90 where e^z overflows float) — the generated Loss and ∂E/∂o must equal
/// Losses' value and gradient for every loss, fused or not, per sample or per step, in double and in float. A change to
/// either side alone fails here (LossFormulaTests pins the formula trees themselves to Losses).
/// </summary>
public class GeneratedLossTests
{
    public static TheoryData<string> Double => new()
    {
        nameof(GenLossHalfSquared), nameof(GenLossMse), nameof(GenLossSse), nameof(GenLossMae), nameof(GenLossSae), nameof(GenLossBce),
        nameof(GenLossBceSummed), nameof(GenLossBceLogits), nameof(GenLossBceSummedLogits), nameof(GenLossCe), nameof(GenLossCeSoftmax), nameof(GenLossCeSoftmaxOnly),
        nameof(GenLossHinge), nameof(GenLossSquaredHinge), nameof(GenLossStepCe), nameof(GenLossStepHinge), nameof(GenLossStepHalfSquared),
        nameof(GenLossStepBceSummedLogits),
    };

    public static TheoryData<string> Float => new()
    {
        nameof(GenLossCeSoftmaxFloat), nameof(GenLossBceLogitsFloat), nameof(GenLossMseFloat), nameof(GenLossStepSquaredHingeFloat),
    };

    private delegate T Value<T>(ReadOnlySpan<T> o, ReadOnlySpan<T> t, int batch, int rows);

    private delegate void Gradient<T>(ReadOnlySpan<T> o, ReadOnlySpan<T> t, int batch, int rows, Span<T> d);

    /// <summary>The runtime loss a network's generated loss must equal: its value, its gradient, and what its outputs are
    /// (probabilities, logits or any values; class targets or any).</summary>
    private sealed record Case<T>(INetwork<T> Net, Value<T> Value, Gradient<T> Gradient, string Outputs, bool Classes)
        where T : unmanaged, IFloatingPointIeee754<T>;

    private static Case<T> Make<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        object net = name switch
        {
            nameof(GenLossHalfSquared) => new GenLossHalfSquared(maxBatch: 6),
            nameof(GenLossMse) => new GenLossMse(maxBatch: 6),
            nameof(GenLossSse) => new GenLossSse(maxBatch: 6),
            nameof(GenLossMae) => new GenLossMae(maxBatch: 6),
            nameof(GenLossSae) => new GenLossSae(maxBatch: 6),
            nameof(GenLossBce) => new GenLossBce(maxBatch: 6),
            nameof(GenLossBceSummed) => new GenLossBceSummed(maxBatch: 6),
            nameof(GenLossBceLogits) => new GenLossBceLogits(maxBatch: 6),
            nameof(GenLossBceSummedLogits) => new GenLossBceSummedLogits(maxBatch: 6),
            nameof(GenLossCe) => new GenLossCe(maxBatch: 6),
            nameof(GenLossCeSoftmax) => new GenLossCeSoftmax(maxBatch: 6),
            nameof(GenLossCeSoftmaxOnly) => new GenLossCeSoftmaxOnly(maxBatch: 6),
            nameof(GenLossHinge) => new GenLossHinge(maxBatch: 6),
            nameof(GenLossSquaredHinge) => new GenLossSquaredHinge(maxBatch: 6),
            nameof(GenLossStepCe) => new GenLossStepCe(maxBatch: 6),
            nameof(GenLossStepHinge) => new GenLossStepHinge(maxBatch: 6),
            nameof(GenLossStepHalfSquared) => new GenLossStepHalfSquared(maxBatch: 6),
            nameof(GenLossStepBceSummedLogits) => new GenLossStepBceSummedLogits(maxBatch: 6),
            nameof(GenLossCeSoftmaxFloat) => new GenLossCeSoftmaxFloat(maxBatch: 6),
            nameof(GenLossBceLogitsFloat) => new GenLossBceLogitsFloat(maxBatch: 6),
            nameof(GenLossMseFloat) => new GenLossMseFloat(maxBatch: 6),
            nameof(GenLossStepSquaredHingeFloat) => new GenLossStepSquaredHingeFloat(maxBatch: 6),
            _ => throw new ArgumentException(name),
        };
        var n = (INetwork<T>)net;
        string kind = name.Replace("GenLoss", "").Replace("Float", "").Replace("Step", "");
        return kind switch
        {
            "HalfSquared" => new(n, (o, t, b, r) => Losses.HalfSquaredError(o, t, r), (o, t, b, r, d) => Losses.HalfSquaredErrorGradient(o, t, r, d), "any", false),
            "Mse" => new(n, (o, t, b, r) => Losses.MeanSquaredError(o, t), (o, t, b, r, d) => Losses.MeanSquaredErrorGradient(o, t, d), "any", false),
            "Sse" => new(n, (o, t, b, r) => Losses.SumSquaredError(o, t), (o, t, b, r, d) => Losses.SumSquaredErrorGradient(o, t, d), "any", false),
            "Mae" => new(n, (o, t, b, r) => Losses.MeanAbsoluteError(o, t), (o, t, b, r, d) => Losses.MeanAbsoluteErrorGradient(o, t, d), "any", false),
            "Sae" => new(n, (o, t, b, r) => Losses.SumAbsoluteError(o, t), (o, t, b, r, d) => Losses.SumAbsoluteErrorGradient(o, t, d), "any", false),
            "Bce" => new(n, (o, t, b, r) => Losses.BinaryCrossEntropy(o, t), (o, t, b, r, d) => Losses.BinaryCrossEntropyGradient(o, t, d), "probabilities", false),
            "BceSummed" => new(n, (o, t, b, r) => Losses.BinaryCrossEntropySummed(o, t, b), (o, t, b, r, d) => Losses.BinaryCrossEntropySummedGradient(o, t, b, d), "probabilities", false),
            "BceLogits" => new(n, (o, t, b, r) => Losses.BinaryCrossEntropyWithLogits(o, t, o.Length), (o, t, b, r, d) => Losses.BinaryCrossEntropyWithLogitsGradient(o, t, o.Length, d), "logits", false),
            "BceSummedLogits" => new(n, (o, t, b, r) => Losses.BinaryCrossEntropyWithLogits(o, t, b), (o, t, b, r, d) => Losses.BinaryCrossEntropyWithLogitsGradient(o, t, b, d), "logits", false),
            "Ce" or "CeSoftmax" or "CeSoftmaxOnly" => new(n, (o, t, b, r) => Losses.CrossEntropyWithLogits(o, t, r), (o, t, b, r, d) => Losses.CrossEntropyWithLogitsGradient(o, t, r, d), "logits", false),
            "Hinge" => new(n, (o, t, b, r) => Losses.MulticlassHinge(o, t, r), (o, t, b, r, d) => Losses.MulticlassHingeGradient(o, t, r, d), "any", true),
            "SquaredHinge" => new(n, (o, t, b, r) => Losses.MulticlassHinge(o, t, r, squared: true), (o, t, b, r, d) => Losses.MulticlassHingeGradient(o, t, r, d, squared: true), "any", true),
            _ => throw new ArgumentException(name),
        };
    }

    [Theory]
    [MemberData(nameof(Double))]
    public void GeneratedDoubleLossEqualsTheRuntimeLoss(string name) => Check<double>(name, 1e-12);

    /// <summary>Float: the generated code divides where Losses multiplies by a reciprocal and sums per row, so the two
    /// agree to rounding, not to the bit.</summary>
    [Theory]
    [MemberData(nameof(Float))]
    public void GeneratedFloatLossEqualsTheRuntimeLoss(string name) => Check<float>(name, 2e-6);

    private static void Check<T>(string name, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var c = Make<T>(name);
        var net = c.Net;
        const int batch = 5;
        int size = net.InputSize, steps = name.Contains("Step", StringComparison.Ordinal) ? 3 : 1, classes = size / steps, rows = batch * steps;
        Assert.Equal(size, net.OutputSize);
        // The identity: o = x (weights 1 on the diagonal, biases 0; nothing to set without a Dense).
        net.Parameters.Clear();
        if (net.Tensors.SingleOrDefault(x => x.Name.EndsWith("Weights", StringComparison.Ordinal)) is { } weights)
            for (int j = 0; j < classes; j++) net.Parameters[weights.Offset + j * classes + j] = T.One;

        var random = new SeededRandom(name.Length * 7919 + 17);
        var x = new T[batch * size];
        var target = new T[batch * size];
        for (int k = 0; k < x.Length; k++)
            x[k] = T.CreateChecked(c.Outputs switch { "probabilities" => random.NextDouble(0.05, 0.95), "logits" => random.NextDouble(-6, 6), _ => random.NextDouble(-2, 2) });
        if (c.Outputs == "logits")
        {
            x[1] = T.CreateChecked(40); x[2] = T.CreateChecked(-40);   // saturated: σ and softmax must not overflow
            x[5] = T.CreateChecked(90);                                 // e^90 overflows float: the log-sum-exp is shifted
        }
        for (int r = 0; r < rows; r++)
        {
            if (c.Classes) target[r * classes + random.NextInt(classes)] = T.One;
            else for (int j = 0; j < classes; j++) target[r * classes + j] = T.CreateChecked(c.Outputs == "any" ? random.NextDouble(-2, 2) : random.NextDouble());
        }
        if (c.Classes) { target.AsSpan(0, classes).Clear(); target[1] = target[3] = T.One; }   // a tie: the first (class 1) is the target
        if (c.Outputs == "any") x[7] = target[7];   // |t − o| at its kink: sign 0

        net.Forward(x, batch);
        T generated = net.Loss(target);
        T expected = c.Value(x, target, batch, rows);
        double scale = Math.Max(1, Math.Abs(double.CreateChecked(expected)));
        Assert.True(Math.Abs(double.CreateChecked(generated - expected)) <= tolerance * scale,
            $"{name}: generated loss {generated}, Losses {expected}");

        var d = new T[x.Length];
        net.ZeroGradients();
        net.BackwardFromTarget(target, d);
        var want = new T[x.Length];
        c.Gradient(x, target, batch, rows, want);
        double largest = want.Max(v => Math.Abs(double.CreateChecked(v)));
        Assert.True(largest > 0, $"{name}: the gradient must not vanish");
        for (int k = 0; k < d.Length; k++)
            Assert.True(Math.Abs(double.CreateChecked(d[k] - want[k])) <= tolerance * largest,
                $"{name}: ∂E/∂o[{k}] generated {d[k]}, Losses {want[k]}");
    }
}
