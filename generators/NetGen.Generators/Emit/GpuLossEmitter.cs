using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// The loss on the GPU: a kernel writing each sample's term of the loss (scaled so the terms sum to the loss the CPU's
/// <c>NetGen.Losses</c> computes) and a kernel writing ∂E/∂ of the loss input. Cross-entropy after Softmax is fused as
/// on the CPU: it reads the logits and its gradient is (p − t)/n, so Softmax's backward kernel is never launched.
/// </summary>
internal static class GpuLossEmitter
{
    /// <summary>Writes both kernels, the term launch into <paramref name="host"/>; returns the gradient launch line.</summary>
    public static string Emit(GpuWriter g, CodeWriter host, out string accumulate)
    {
        var c = g.C;
        var plan = c.Plan;
        if (plan.LossRowsPerSample > 1) return GpuSequenceEmitter.Loss(g, host, out accumulate);   // a per-step loss
        int O = plan.OutputSize, lossIn = plan.GpuLossInputBuffer;
        string t = c.T, one = c.Lit(1), zero = c.Lit(0);
        var kind = plan.Spec.Loss;
        var parameters = new[] { g.V("o"), g.V("target"), g.V("terms"), ("int", "batch") };
        var gradientParameters = new[] { g.V("o"), g.V("target"), g.V("d"), ("int", "batch") };
        string termsField, gradientField;
        switch (kind)
        {
            case LossKind.CrossEntropy:
                termsField = g.Kernel("LossTerms", $"Sample i's cross-entropy from the logits z: Σⱼ tⱼ·(log Σₖ e^zₖ − zⱼ) / batch", parameters, w =>
                {
                    LogSumExp(w, c, O);
                    w.Line($"{t} sum = {zero};");
                    w.Line($"for (int j = 0; j < {O}; j++) sum += target[row + j] * (lse - o[row + j]);");
                    w.Line("terms[i] = sum / batch;");
                });
                gradientField = g.Kernel("LossGradient", "∂E/∂zⱼ = (softmax(z)ⱼ·Σₖtₖ − tⱼ) / batch for value i (sample n, class j); the row's log-sum-exp is recomputed per thread", gradientParameters, w =>
                {
                    w.Line($"int n = i / {O};");
                    LogSumExp(w, c, O, rowOf: "n");
                    w.Line($"{t} mass = {zero};");
                    w.Line($"for (int k = 0; k < {O}; k++) mass += target[row + k];");
                    w.Line($"d[i] = ({c.Math}.Exp(o[i] - lse) * mass - target[i]) / batch;");
                });
                break;
            case LossKind.MulticlassHinge:
            case LossKind.MulticlassSquaredHinge:
                bool squared = kind == LossKind.MulticlassSquaredHinge;
                string term = squared ? "margin * margin" : "margin";
                termsField = g.Kernel("LossTerms", $"Sample i's multiclass SVM loss Σ_(j≠y) max(0, s_j − s_y + 1){(squared ? "²" : "")} / batch, y the target's arg-max", parameters, w =>
                {
                    w.Line($"int row = i * {O};");
                    ArgMax(w, c, O);
                    w.Line($"{t} sum = {zero};");
                    w.Open($"for (int j = 0; j < {O}; j++)");
                    w.Line($"{t} margin = o[row + j] - o[row + y] + {one};");
                    w.Line($"if (j != y && margin > {zero}) sum += {term};");
                    w.Close();
                    w.Line("terms[i] = sum / batch;");
                });
                string d = squared ? $"{c.Lit(2)} * margin" : one;
                gradientField = g.Kernel("LossGradient", $"∂E/∂s for value i (sample n, class j): {(squared ? "2·margin" : "1")}/batch where the margin s_j − s_y + 1 is positive, minus their sum at j = y", gradientParameters, w =>
                {
                    w.Line($"int n = i / {O}, j = i - n * {O}, row = n * {O};");
                    ArgMax(w, c, O);
                    w.Open("if (j != y)");
                    w.Line($"{t} margin = o[i] - o[row + y] + {one};");
                    w.Line($"d[i] = margin > {zero} ? {d} / batch : {zero};");
                    w.Close();
                    w.Open("else");
                    w.Line($"{t} sum = {zero};");
                    w.Open($"for (int k = 0; k < {O}; k++)");
                    w.Line($"{t} margin = o[row + k] - o[row + y] + {one};");
                    w.Line($"if (k != y && margin > {zero}) sum += {d};");
                    w.Close();
                    w.Line("d[i] = -sum / batch;");
                    w.Close();
                });
                break;
            default:
                // Element-wise losses: term per value, summed per sample; gradient per value; all printed from the
                // loss's formula (LossFormula, which NetGen.Losses is tested against).
                var formula = LossFormula.Of(kind, plan.FusedSigmoidBinaryCrossEntropy)!;
                string Var(string name, string at) => name switch { "o" => $"o[{at}]", "t" => $"target[{at}]", "n" => O.ToString(System.Globalization.CultureInfo.InvariantCulture), _ => name };
                string scale = formula.Divisor.Scalar(v => Var(v, "at"), c.Lit, c.Math, operand: true);
                if (formula.Divisor is Expr.Bin) scale = "(" + scale + ")";
                string value = formula.Value.Scalar(v => Var(v, "at"), c.Lit, c.Math);
                string gradient = formula.Gradient.Scalar(v => Var(v, "i"), c.Lit, c.Math, operand: true);
                termsField = g.Kernel("LossTerms", $"Sample i's share of the {kind} loss: Σⱼ over its values / {scale.Trim('(', ')')}", parameters, w =>
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
        host.Line($"// Each sample's term of the loss ({kind}{(plan.FusedSoftmaxCrossEntropy ? ", from the logits: fused with Softmax" : plan.FusedSigmoidBinaryCrossEntropy ? ", from the logits: fused with Sigmoid" : "")}); the base class sums them");
        host.Line($"{termsField}(batch, {GpuWriter.A(lossIn)}, Target, SampleLoss, batch);");
        string comment = plan.FusedSoftmaxCrossEntropy ? "   // ∂E/∂logits = (p − t)/n: Softmax's own backward is skipped"
            : plan.FusedSigmoidBinaryCrossEntropy ? "   // ∂E/∂logits = (σ(z) − t)/divisor: Sigmoid's own backward is skipped" : "";
        return $"{gradientField}(batch * {O}, {GpuWriter.A(lossIn)}, Target, {GpuWriter.D(lossIn)}, batch);{comment}";
    }

    /// <summary>Declares row and lse = log Σₖ e^(o[row + k]) of sample <paramref name="rowOf"/>, shifted by the maximum.</summary>
    private static void LogSumExp(CodeWriter w, EmitContext c, int O, string rowOf = "i")
    {
        string t = c.T;
        w.Line($"int row = {rowOf} * {O};");
        w.Line($"{t} max = o[row];");
        w.Line($"for (int k = 1; k < {O}; k++) max = {c.Math}.Max(max, o[row + k]);");
        w.Line($"{t} exps = {c.Lit(0)};");
        w.Line($"for (int k = 0; k < {O}; k++) exps += {c.Math}.Exp(o[row + k] - max);");
        w.Line($"{t} lse = max + {c.Math}.Log(exps);");
    }

    /// <summary>Declares y, the arg-max of the target row starting at <c>row</c> (the first on ties, as on the CPU).</summary>
    private static void ArgMax(CodeWriter w, EmitContext c, int O)
    {
        w.Line("int y = 0;");
        w.Line($"for (int k = 1; k < {O}; k++) if (target[row + k] > target[row + y]) y = k;");
    }
}
