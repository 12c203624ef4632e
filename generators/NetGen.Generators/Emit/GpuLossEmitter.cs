using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// The loss on the GPU: a kernel writing each sample's term of the loss (scaled so the terms sum to the loss the
/// generated CPU network computes) and a kernel writing ∂E/∂ of the loss input, both printed from the loss's
/// <see cref="LossFormula"/> by <see cref="LossPrinter"/>, as the CPU's loss methods are (<see cref="LossEmitter"/>).
/// The loss is over rows of n values: a sample's outputs, or, for a sequence output (a per-step loss), each of its T
/// steps (rows = batch × T, as on the CPU), with the formula's divisor (per row, per value or per sample) printed from the same variables. Cross-entropy after Softmax is fused as
/// on the CPU: it reads the logits and its gradient is (p − t)/rows, so Softmax's backward kernel is never launched.
/// </summary>
internal static class GpuLossEmitter
{
    /// <summary>Writes both kernels, the term launch into <paramref name="host"/>; returns the gradient launch line.</summary>
    public static string Emit(GpuWriter g, CodeWriter host, out string accumulate)
    {
        var c = g.C;
        var plan = c.Plan;
        // R rows of C values per sample (R = 1, C = O unless the output is a sequence).
        int R = plan.LossRowsPerSample, C = plan.LossRowSize, O = plan.OutputSize, lossIn = plan.GpuLossInputBuffer;
        bool perStep = R > 1;
        var shape = LossPrinter.RowShape.Of(plan);
        string t = c.T, zero = c.Lit(0);
        var kind = plan.Spec.Loss;
        var parameters = new[] { g.V("o"), g.V("target"), g.V("terms"), ("int", "batch") };
        var gradientParameters = new[] { g.V("o"), g.V("target"), g.V("d"), ("int", "batch") };
        string termsField, gradientField;
        // Every loss is printed from its formula, as on the CPU (LossEmitter).
        var formula = LossFormula.Of(kind, plan.FusedSigmoidBinaryCrossEntropy);   // from the logits when fused with a final Sigmoid
        string divisor = LossPrinter.Divisor(c, shape, formula);
        if (formula.RowWise)
        {
            // Row-wise: one thread per sample for the term (a loop over its rows when it has several), one per value
            // for the gradient; the row's named values (log-sum-exp, arg-max …) are loops before the expression that
            // reads them.
            string words = string.Format(System.Globalization.CultureInfo.InvariantCulture, formula.TermWords ?? "", divisor);
            termsField = g.Kernel("LossTerms", perStep ? $"Sample i's {words}, over its {R} steps" : "Sample i's " + words, parameters, w =>
            {
                if (perStep)
                {
                    w.Line($"{t} total = {zero};");
                    w.Open($"for (int step = 0; step < {R}; step++)");
                    w.Line($"int row = (i * {R} + step) * {C};");
                }
                else w.Line($"int row = i * {C};");
                LossPrinter.RowTerm(w, c, shape, formula);
                if (perStep)
                {
                    w.Line("total += sum;");
                    w.Close();
                }
                w.Line($"terms[i] = {(perStep ? "total" : "sum")} / {divisor};");
            });
            string gradientWords = formula.GradientWords is null ? formula.Gradient.ToString()
                : string.Format(System.Globalization.CultureInfo.InvariantCulture, formula.GradientWords, divisor, perStep ? "row n = sample and step" : "sample n");
            gradientField = g.Kernel("LossGradient", gradientWords, gradientParameters, w =>
            {
                w.Line($"int n = i / {C};");
                w.Line($"int row = n * {C};");
                // j as a number (j ≠ y); as an element's index it is printed o[i].
                if (formula.Gradient.Reads("j", asIndex: false) || formula.LocalsFor(formula.Gradient).Any(l => l.Value.Reads("j", asIndex: false))) w.Line("int j = i - row;");
                foreach (var (name, value) in formula.LocalsFor(formula.Gradient)) LossPrinter.RowLocal(w, c, shape, name, value, self: "j");
                w.Line($"d[i] = {LossPrinter.Row(c, shape, formula.Gradient, "j")};");
            });
        }
        else
        {
            // Element-wise losses: term per value, summed per sample (over all its rows); gradient per value.
            string value = LossPrinter.Element(c, shape, formula.Value, "at");
            string gradient = LossPrinter.Element(c, shape, formula.Gradient, "i", operand: true);
            string steps = perStep ? $" over its {R} steps" : "";
            termsField = g.Kernel("LossTerms", $"Sample i's share of the {kind} loss{steps}: Σⱼ over its values / {(formula.Divisor is Expr.Bin ? divisor.Substring(1, divisor.Length - 2) : divisor)}", parameters, w =>
            {
                w.Line($"{t} sum = {zero};");
                w.Open($"for (int j = 0; j < {O}; j++)");
                w.Line($"int at = i * {O} + j;");
                w.Line($"sum += {value};");
                w.Close();
                w.Line($"terms[i] = sum / {divisor};");
            });
            gradientField = g.Kernel("LossGradient", $"∂E/∂o for value i: {gradient}", gradientParameters, w => w.Line($"d[i] = {gradient};"));
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
        string fused = plan.FusedSoftmaxCrossEntropy ? ", from the logits: fused with Softmax" : plan.FusedSigmoidBinaryCrossEntropy ? ", from the logits: fused with Sigmoid" : "";
        host.Line(perStep
            ? $"// Each sample's term of the per-step loss ({kind} over {R} steps of {C} values{fused}); the base class sums them"
            : $"// Each sample's term of the loss ({kind}{fused}); the base class sums them");
        host.Line($"{termsField}(batch, {GpuWriter.A(lossIn)}, Target, SampleLoss, batch);");
        string comment = plan.FusedSoftmaxCrossEntropy ? (perStep ? "   // ∂E/∂logits = (p − t)/(batch·T): Softmax's own backward is skipped" : "   // ∂E/∂logits = (p − t)/n: Softmax's own backward is skipped")
            : plan.FusedSigmoidBinaryCrossEntropy ? "   // ∂E/∂logits = (σ(z) − t)/divisor: Sigmoid's own backward is skipped" : "";
        return $"{gradientField}(batch * {O}, {GpuWriter.A(lossIn)}, Target, {GpuWriter.D(lossIn)}, batch);{comment}";
    }
}
