using System.Linq;
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
        string t = c.T, zero = c.Lit(0);
        var kind = plan.Spec.Loss;
        var parameters = new[] { g.V("o"), g.V("target"), g.V("terms"), ("int", "batch") };
        var gradientParameters = new[] { g.V("o"), g.V("target"), g.V("d"), ("int", "batch") };
        string termsField, gradientField;
        // Every loss is printed from its formula (LossFormula, which NetGen.Losses is tested against).
        var formula = LossFormula.Of(kind, plan.FusedSigmoidBinaryCrossEntropy);
        if (formula.RowWise)
        {
            // Row-wise: one thread per sample for the term, one per value for the gradient; the row's named values
            // (log-sum-exp, arg-max …) are loops before the expression that reads them.
            termsField = g.Kernel("LossTerms", "Sample i's " + formula.TermWords, parameters, w =>
            {
                w.Line($"int row = i * {O};");
                foreach (var (name, value) in formula.LocalsFor(formula.Value)) RowLocal(w, c, O, name, value, self: null);
                RowLocal(w, c, O, "sum", formula.Value, self: null);
                w.Line($"terms[i] = sum / {Row(c, O, formula.Divisor, null, operand: true)};");
            });
            gradientField = g.Kernel("LossGradient", formula.GradientWords ?? formula.Gradient.ToString(), gradientParameters, w =>
            {
                w.Line($"int n = i / {O};");
                w.Line($"int row = n * {O};");
                // j as a number (j ≠ y); as an element's index it is printed o[i].
                if (formula.Gradient.Reads("j", asIndex: false) || formula.LocalsFor(formula.Gradient).Any(l => l.Value.Reads("j", asIndex: false))) w.Line("int j = i - row;");
                foreach (var (name, value) in formula.LocalsFor(formula.Gradient)) RowLocal(w, c, O, name, value, self: "j");
                w.Line($"d[i] = {Row(c, O, formula.Gradient, "j")};");
            });
        }
        else
        {
            // Element-wise losses: term per value, summed per sample; gradient per value.
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

    /// <summary>A row-wise formula's expression as C#: element k of the row is o[row + k] (target[…] for t), the value's own
    /// element (index <paramref name="self"/>) o[i]; n is the row length; other names are locals of the kernel.
    /// <paramref name="rename"/> substitutes an index (a reduction's first element, the arg-max's current best).</summary>
    private static string Row(EmitContext c, int O, Expr e, string? self, bool operand = false, (string From, string To)? rename = null) =>
        e.Scalar(name =>
        {
            int bracket = name.IndexOf('[');
            if (bracket < 0) return name == "n" ? O.ToString(System.Globalization.CultureInfo.InvariantCulture) : name;
            string array = name.Substring(0, bracket) == "o" ? "o" : "target", index = name.Substring(bracket + 1, name.Length - bracket - 2);
            if (rename is { } r && index == r.From) index = r.To;
            return index == self ? $"{array}[i]" : index == "0" ? $"{array}[row]" : $"{array}[row + {index}]";
        }, c.Lit, c.Math, operand);

    /// <summary>Declares local <paramref name="name"/> = <paramref name="value"/> for the row starting at <c>row</c>: a
    /// reduction as a loop over the row (Max and ArgMax start from its first element; ArgMax keeps the first on ties, as
    /// the CPU), any other value as one expression.</summary>
    private static void RowLocal(CodeWriter w, EmitContext c, int O, string name, Expr value, string? self)
    {
        string t = c.T;
        if (value is not Expr.Reduce r)
        {
            w.Line($"{t} {name} = {Row(c, O, value, self)};");
            return;
        }
        string k = r.Index, body = Row(c, O, r.Body, self);
        switch (r.Op)
        {
            case "ArgMax":
                w.Line($"int {name} = 0;");
                w.Line($"for (int {k} = 1; {k} < {O}; {k}++) if ({body} > {Row(c, O, r.Body, self, rename: (k, name))}) {name} = {k};");
                break;
            case "Max":
                w.Line($"{t} {name} = {Row(c, O, r.Body, self, rename: (k, "0"))};");
                w.Line($"for (int {k} = 1; {k} < {O}; {k}++) {name} = {c.Math}.Max({name}, {body});");
                break;
            default:
                w.Line($"{t} {name} = {c.Lit(0)};");
                w.Line($"for (int {k} = 0; {k} < {O}; {k}++) {name} += {body};");
                break;
        }
    }
}
