using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// The loss on the GPU: a kernel writing each sample's term of the loss (scaled so the terms sum to the loss the CPU's
/// <c>NetGen.Losses</c> computes) and a kernel writing ∂E/∂ of the loss input, both printed from the loss's
/// <see cref="LossFormula"/>. The loss is over rows of n values: a sample's outputs, or, for a sequence output (a
/// per-step loss), each of its T steps (rows = batch × T, as the CPU's <c>Losses</c> count them), with the formula's
/// divisor (per row, per value or per sample) printed from the same variables. Cross-entropy after Softmax is fused as
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
        var shape = new RowShape(C, perStep ? $"(batch * {R})" : "batch");
        string t = c.T, zero = c.Lit(0);
        var kind = plan.Spec.Loss;
        var parameters = new[] { g.V("o"), g.V("target"), g.V("terms"), ("int", "batch") };
        var gradientParameters = new[] { g.V("o"), g.V("target"), g.V("d"), ("int", "batch") };
        string termsField, gradientField;
        // Every loss is printed from its formula (LossFormula, which NetGen.Losses is tested against).
        var formula = LossFormula.Of(kind, plan.FusedSigmoidBinaryCrossEntropy);   // from the logits when fused with a final Sigmoid
        string divisor = Row(c, shape, formula.Divisor, null, operand: true);
        if (formula.Divisor is Expr.Bin) divisor = "(" + divisor + ")";
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
                foreach (var (name, value) in formula.LocalsFor(formula.Value)) RowLocal(w, c, shape, name, value, self: null);
                RowLocal(w, c, shape, "sum", formula.Value, self: null);
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
                foreach (var (name, value) in formula.LocalsFor(formula.Gradient)) RowLocal(w, c, shape, name, value, self: "j");
                w.Line($"d[i] = {Row(c, shape, formula.Gradient, "j")};");
            });
        }
        else
        {
            // Element-wise losses: term per value, summed per sample (over all its rows); gradient per value.
            string Var(string name, string at) => name switch { "o" => $"o[{at}]", "t" => $"target[{at}]", _ => shape.Name(name) };
            string value = formula.Value.Scalar(v => Var(v, "at"), c.Lit, c.Math);
            string gradient = formula.Gradient.Scalar(v => Var(v, "i"), c.Lit, c.Math, operand: true);
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

    /// <summary>The loss's rows as the kernels print them: <see cref="Size"/> values per row (the formula's n), and
    /// <see cref="Rows"/>, the expression counting the batch's rows (its samples, or batch × T for a per-step loss).</summary>
    private sealed record RowShape(int Size, string Rows)
    {
        /// <summary>A formula's scalar variable: n, rows and batch (the kernel's parameter); other names are locals.</summary>
        public string Name(string name) => name switch
        {
            "n" => Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "rows" => Rows,
            _ => name,
        };
    }

    /// <summary>A row-wise formula's expression as C#: element k of the row is o[row + k] (target[…] for t), the value's own
    /// element (index <paramref name="self"/>) o[i]; n is the row length; other names are locals of the kernel.
    /// <paramref name="rename"/> substitutes an index (a reduction's first element, the arg-max's current best).</summary>
    private static string Row(EmitContext c, RowShape shape, Expr e, string? self, bool operand = false, (string From, string To)? rename = null) =>
        e.Scalar(name =>
        {
            int bracket = name.IndexOf('[');
            if (bracket < 0) return shape.Name(name);
            string array = name.Substring(0, bracket) == "o" ? "o" : "target", index = name.Substring(bracket + 1, name.Length - bracket - 2);
            if (rename is { } r && index == r.From) index = r.To;
            return index == self ? $"{array}[i]" : index == "0" ? $"{array}[row]" : $"{array}[row + {index}]";
        }, c.Lit, c.Math, operand);

    /// <summary>Declares local <paramref name="name"/> = <paramref name="value"/> for the row starting at <c>row</c>: a
    /// reduction as a loop over the row (Max and ArgMax start from its first element; ArgMax keeps the first on ties, as
    /// the CPU), any other value as one expression.</summary>
    private static void RowLocal(CodeWriter w, EmitContext c, RowShape shape, string name, Expr value, string? self)
    {
        string t = c.T;
        if (value is not Expr.Reduce r)
        {
            w.Line($"{t} {name} = {Row(c, shape, value, self)};");
            return;
        }
        string k = r.Index, body = Row(c, shape, r.Body, self);
        switch (r.Op)
        {
            case "ArgMax":
                w.Line($"int {name} = 0;");
                w.Line($"for (int {k} = 1; {k} < {shape.Size}; {k}++) if ({body} > {Row(c, shape, r.Body, self, rename: (k, name))}) {name} = {k};");
                break;
            case "Max":
                w.Line($"{t} {name} = {Row(c, shape, r.Body, self, rename: (k, "0"))};");
                w.Line($"for (int {k} = 1; {k} < {shape.Size}; {k}++) {name} = {c.Math}.Max({name}, {body});");
                break;
            default:
                w.Line($"{t} {name} = {c.Lit(0)};");
                w.Line($"for (int {k} = 0; {k} < {shape.Size}; {k}++) {name} += {body};");
                break;
        }
    }
}
