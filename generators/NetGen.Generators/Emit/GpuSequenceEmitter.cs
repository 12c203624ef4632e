using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// What the GPU variant of a sequence network adds to the common emitter (GpuNetworkEmitter): which layers over a
/// sequence have kernels, the host-side check of an Embedding's token ids, the per-step labels, and the per-step loss
/// (every step a row of the loss, as the CPU's <c>Losses</c> count rows: batch × T).
/// </summary>
internal static class GpuSequenceEmitter
{
    /// <summary>Whether a layer that reads a sequence has GPU kernels: the recurrent layers, a Dense or Softmax at every
    /// step, and the layers that work value by value (activations, Dropout, Flatten).</summary>
    public static bool Runs(LayerPlan layer) =>
        layer.IsRecurrent || layer.IsActivation
        || layer.Kind is LayerKind.Dense or LayerKind.Softmax or LayerKind.Dropout or LayerKind.Flatten or LayerKind.Embedding;

    /// <summary>The Gpu class's members for sequences: the id check of an Embedding (before the upload, with the CPU
    /// network's message) and the labels per sample of a per-step loss.</summary>
    public static void Members(CodeWriter w, EmitContext c)
    {
        var plan = c.Plan;
        string t = c.T;
        var embedding = plan.Layers.FirstOrDefault(l => l.Kind == LayerKind.Embedding);
        if (embedding is not null)
        {
            var o = embedding.Options<EmbeddingOptions>();
            int steps = embedding.InputSize;
            w.Line($"/// <summary>{embedding.PascalName} reads token ids: each input value must be an exact integer 0 … {o.Vocabulary - 1} (checked here, on the host, as the CPU network checks it).</summary>");
            w.Open($"protected override void CheckInput(global::System.ReadOnlySpan<{t}> input, int batch)");
            w.Line($"for (int r = 0; r < batch * {steps}; r++) global::NetGen.SequenceLayers.TokenId(input[r], {o.Vocabulary}, r, {steps}, \"{plan.Spec.ClassName}\");");
            w.Close();
        }
        if (plan.LossRowsPerSample > 1)
        {
            w.Line($"/// <inheritdoc/>");
            w.Line($"protected override int LabelsPerSample => {plan.LossRowsPerSample};   // one class label per step");
        }
    }

    /// <summary>The per-step loss: each sample's term of the loss (its T rows) and ∂E/∂ of the loss input, divided by
    /// batch × T where the CPU divides by its rows; writes the term launch into <paramref name="host"/> and returns the
    /// gradient launch line.</summary>
    public static string Loss(GpuWriter g, CodeWriter host, out string accumulate)
    {
        var c = g.C;
        var plan = c.Plan;
        int R = plan.LossRowsPerSample, C = plan.LossRowSize, O = plan.OutputSize, lossIn = plan.GpuLossInputBuffer;
        string t = c.T, one = c.Lit(1), zero = c.Lit(0), rows = $"(batch * {R})";
        var kind = plan.Spec.Loss;
        var parameters = new[] { g.V("o"), g.V("target"), g.V("terms"), ("int", "batch") };
        var gradientParameters = new[] { g.V("o"), g.V("target"), g.V("d"), ("int", "batch") };
        string termsField, gradientField;
        switch (kind)
        {
            case LossKind.CrossEntropy:
                termsField = g.Kernel("LossTerms", $"Sample i's cross-entropy over its {R} steps from the logits z: Σ_steps Σⱼ tⱼ·(log Σₖ e^zₖ − zⱼ) / (batch·{R})", parameters, w =>
                {
                    w.Line($"{t} total = {zero};");
                    w.Open($"for (int step = 0; step < {R}; step++)");
                    LogSumExp(w, c, C, $"i * {R} + step");
                    w.Line($"for (int j = 0; j < {C}; j++) total += target[row + j] * (lse - o[row + j]);");
                    w.Close();
                    w.Line($"terms[i] = total / {rows};");
                });
                gradientField = g.Kernel("LossGradient", $"∂E/∂zⱼ = (softmax(z)ⱼ·Σₖtₖ − tⱼ) / (batch·{R}) for value i (row = sample and step, class j); the row's log-sum-exp is recomputed per thread", gradientParameters, w =>
                {
                    LogSumExp(w, c, C, $"i / {C}");
                    w.Line($"{t} mass = {zero};");
                    w.Line($"for (int k = 0; k < {C}; k++) mass += target[row + k];");
                    w.Line($"d[i] = ({c.Math}.Exp(o[i] - lse) * mass - target[i]) / {rows};");
                });
                break;
            case LossKind.MulticlassHinge:
            case LossKind.MulticlassSquaredHinge:
                bool squared = kind == LossKind.MulticlassSquaredHinge;
                string term = squared ? "margin * margin" : "margin";
                string dm = squared ? $"{c.Lit(2)} * margin" : one;
                termsField = g.Kernel("LossTerms", $"Sample i's multiclass SVM loss over its {R} steps, Σ_(j≠y) max(0, s_j − s_y + 1){(squared ? "²" : "")} / (batch·{R}), y each row's target arg-max", parameters, w =>
                {
                    w.Line($"{t} sum = {zero};");
                    w.Open($"for (int step = 0; step < {R}; step++)");
                    w.Line($"int row = (i * {R} + step) * {C};");
                    ArgMax(w, C);
                    w.Open($"for (int j = 0; j < {C}; j++)");
                    w.Line($"{t} margin = o[row + j] - o[row + y] + {one};");
                    w.Line($"if (j != y && margin > {zero}) sum += {term};");
                    w.Close();
                    w.Close();
                    w.Line($"terms[i] = sum / {rows};");
                });
                gradientField = g.Kernel("LossGradient", $"∂E/∂s for value i (row = sample and step, class j): {(squared ? "2·margin" : "1")}/(batch·{R}) where the margin s_j − s_y + 1 is positive, minus their sum at j = y", gradientParameters, w =>
                {
                    w.Line($"int r = i / {C}, j = i - r * {C}, row = r * {C};");
                    ArgMax(w, C);
                    w.Open("if (j != y)");
                    w.Line($"{t} margin = o[i] - o[row + y] + {one};");
                    w.Line($"d[i] = margin > {zero} ? {dm} / {rows} : {zero};");
                    w.Close();
                    w.Open("else");
                    w.Line($"{t} sum = {zero};");
                    w.Open($"for (int k = 0; k < {C}; k++)");
                    w.Line($"{t} margin = o[row + k] - o[row + y] + {one};");
                    w.Line($"if (k != y && margin > {zero}) sum += {dm};");
                    w.Close();
                    w.Line($"d[i] = -sum / {rows};");
                    w.Close();
                });
                break;
            default:
                // Element-wise losses, from the same formulas as the other networks' kernels, with the loss's rows
                // (batch × T) as its batch and a step's values as n: a mean over values divides by every value, a
                // per-row loss (½ Σ, HalfSquaredError) by the rows, as the CPU's Losses does.
                var formula = LossFormula.Of(kind, plan.FusedSigmoidBinaryCrossEntropy);   // from the logits when fused with a final Sigmoid
                string Var(string name, string at) => name switch
                {
                    "o" => $"o[{at}]", "t" => $"target[{at}]", "n" => C.ToString(System.Globalization.CultureInfo.InvariantCulture), "batch" => rows, _ => name,
                };
                string scale = formula.Divisor.Scalar(v => Var(v, "at"), c.Lit, c.Math, operand: true);
                if (formula.Divisor is Expr.Bin) scale = "(" + scale + ")";
                string value = formula.Value.Scalar(v => Var(v, "at"), c.Lit, c.Math);
                string gradient = formula.Gradient.Scalar(v => Var(v, "i"), c.Lit, c.Math, operand: true);
                termsField = g.Kernel("LossTerms", $"Sample i's share of the {kind} loss over its {R} steps: Σ over its {O} values / {scale.Trim('(', ')')}", parameters, w =>
                {
                    w.Line($"{t} sum = {zero};");
                    w.Open($"for (int j = 0; j < {O}; j++)");
                    w.Line($"int at = i * {O} + j;");
                    w.Line($"sum += {value};");
                    w.Close();
                    w.Line($"terms[i] = sum / {scale};");
                });
                gradientField = g.Kernel("LossGradient", $"∂E/∂o for value i: {gradient}", gradientParameters, w => w.Line($"d[i] = {gradient};"));
                break;
        }
        accumulate = g.Kernel("LossAccumulate", "One thread: sum[0] += batch × the batch's loss (its terms, plus the weight penalties' partial sums when asked); sum[1] += batch, so the mean is per sample, as Trainer.Fit's",
            new[] { g.V("terms"), g.V("penalty"), g.V("sum"), ("int", "batch"), ("int", "withPenalty") }, w =>
        {
            w.Line($"{t} total = {zero};");
            w.Line("for (int n = 0; n < batch; n++) total += terms[n];");
            w.Line($"if (withPenalty != 0) for (int k = 0; k < {GpuOptimizerEmitter.Parts}; k++) total += penalty[k];");
            w.Line("sum[0] += total * batch;");
            w.Line("sum[1] += batch;");
        });
        host.Line($"// Each sample's term of the per-step loss ({kind} over {R} steps of {C} values{(plan.FusedSoftmaxCrossEntropy ? ", from the logits: fused with Softmax" : plan.FusedSigmoidBinaryCrossEntropy ? ", from the logits: fused with Sigmoid" : "")}); the base class sums them");
        host.Line($"{termsField}(batch, {GpuWriter.A(lossIn)}, Target, SampleLoss, batch);");
        string comment = plan.FusedSoftmaxCrossEntropy ? "   // ∂E/∂logits = (p − t)/(batch·T): Softmax's own backward is skipped"
            : plan.FusedSigmoidBinaryCrossEntropy ? "   // ∂E/∂logits = (σ(z) − t)/divisor: Sigmoid's own backward is skipped" : "";
        return $"{gradientField}(batch * {O}, {GpuWriter.A(lossIn)}, Target, {GpuWriter.D(lossIn)}, batch);{comment}";
    }

    /// <summary>Declares row and lse = log Σₖ e^(o[row + k]) of loss row <paramref name="rowOf"/>, shifted by the maximum.</summary>
    private static void LogSumExp(CodeWriter w, EmitContext c, int C, string rowOf)
    {
        string t = c.T;
        w.Line($"int row = ({rowOf}) * {C};");
        w.Line($"{t} max = o[row];");
        w.Line($"for (int k = 1; k < {C}; k++) max = {c.Math}.Max(max, o[row + k]);");
        w.Line($"{t} exps = {c.Lit(0)};");
        w.Line($"for (int k = 0; k < {C}; k++) exps += {c.Math}.Exp(o[row + k] - max);");
        w.Line($"{t} lse = max + {c.Math}.Log(exps);");
    }

    /// <summary>Declares y, the arg-max of the target row starting at <c>row</c> (the first on ties, as on the CPU).</summary>
    private static void ArgMax(CodeWriter w, int C)
    {
        w.Line("int y = 0;");
        w.Line($"for (int k = 1; k < {C}; k++) if (target[row + k] > target[row + y]) y = k;");
    }
}
