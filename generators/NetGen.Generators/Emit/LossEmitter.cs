using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// The loss on the CPU: two private static methods of the generated class, <c>LossValue</c> (E over the batch) and
/// <c>LossGradientInto</c> (∂E/∂o, written), printed from the loss's <see cref="LossFormula"/> by <see cref="LossPrinter"/>,
/// the printer the GPU's loss kernels come from (<see cref="GpuLossEmitter"/>). Where the GPU gives a row or a value a
/// thread, the CPU loops over them; the expressions are the same text. The loss is over rows of n values: a sample's
/// outputs, or each step of a sequence output (rows = batch × T). Cross-entropy after a final Softmax and binary
/// cross-entropy after a final Sigmoid read the logits (the layer's input), so that layer's backward is skipped.
/// </summary>
internal static class LossEmitter
{
    public const string Value = "LossValue", Gradient = "LossGradientInto";

    /// <summary>The formula of <paramref name="plan"/>'s loss (from the logits when fused with a final Sigmoid).</summary>
    public static LossFormula FormulaOf(NetworkPlan plan) => LossFormula.Of(plan.Spec.Loss, plan.FusedSigmoidBinaryCrossEntropy);

    /// <summary>The loss in words for <c>Loss</c>'s documentation: the formula's words, what o is, what a row is.</summary>
    public static string Words(NetworkPlan plan)
    {
        string words = FormulaOf(plan).Words;
        if (plan.FusedSoftmaxCrossEntropy) words += ", fused with the final Softmax (Softmax's own backward is skipped)";
        else if (plan.FusedSigmoidBinaryCrossEntropy) words += ", fused with the final Sigmoid (Sigmoid's own backward is skipped)";
        else if (plan.Spec.Loss == LossKind.CrossEntropy) words += ": the outputs are read as logits";
        words += plan.LossRowsPerSample > 1 ? $"; a row is one of a sample's {plan.LossRowsPerSample} steps" : "; a row is a sample";
        return words;
    }

    /// <summary>Writes both methods.</summary>
    public static void Emit(CodeWriter w, EmitContext c)
    {
        var plan = c.Plan;
        var formula = FormulaOf(plan);
        var shape = LossPrinter.RowShape.Of(plan);
        string t = c.T, divisor = LossPrinter.Divisor(c, shape, formula), name = FormulaName(plan);
        int n = shape.Size, perSample = plan.LossRowsPerSample;
        string rows = perSample > 1 ? $"batch × {perSample} rows" : "batch rows";
        string o = plan.FusedSoftmaxCrossEntropy || plan.FusedSigmoidBinaryCrossEntropy
            ? $"the logits z ({(plan.LossInputBuffer == 0 ? "the network's input" : plan.Layers[plan.LossInputBuffer - 1].PascalName + "'s output")}, the final {plan.Layers[plan.Layers.Length - 1].Kind}'s input)"
            : "the network's output";
        string buffers = $"o: {o}, {rows} × {n} values; target: the same shape (in the formula's names: rows = {(perSample > 1 ? $"batch × {perSample}" : "batch")}, n = {n}, t is the target)";
        string spans = $"global::System.ReadOnlySpan<{t}> o, global::System.ReadOnlySpan<{t}> target";

        w.Line($"// ---- The loss, printed from its formula (LossFormula.{name}) as the GPU's loss kernels are -------------------");
        w.Line($"/// <summary>{CodeWriter.XmlEscape(formula.RowWise ? TermWords(formula, Print(formula.Divisor)) : $"Σ over every value of the term {Print(formula.Value)}, divided by {Print(formula.Divisor)}")}.");
        w.Line($"/// {CodeWriter.XmlEscape(buffers)}.</summary>");
        w.Open($"private static {t} {Value}({spans}, int batch)");
        if (formula.RowWise)
        {
            // A row at a time: its named values (log-sum-exp, arg-max …) as loops over the row, then its term.
            w.Line($"{t} total = {c.Lit(0)};");
            w.Open($"for (int r = 0; r < {shape.Rows}; r++)");
            w.Line($"int row = r * {n};");
            LossPrinter.RowTerm(w, c, shape, formula);
            w.Line("total += sum;");
            w.Close();
            w.Line($"return total / {divisor};");
        }
        else
        {
            w.Line($"{t} sum = {c.Lit(0)};");
            w.Line("int i = 0;");
            ElementVectors(w, c, shape, formula.Value, gradient: false);
            w.Line($"for (; i < o.Length; i++) sum += {LossPrinter.Element(c, shape, formula.Value, "i")};");
            w.Line($"return sum / {divisor};");
        }
        w.Close();
        w.Line();

        string gradient = formula.RowWise ? LossPrinter.Row(c, shape, formula.Gradient, self: null) : LossPrinter.Element(c, shape, formula.Gradient, "i");
        string each = formula.RowWise
            ? $"∂E/∂o[j] = {Print(formula.Gradient)} for value j of a row, the row's named values ({string.Join(", ", formula.LocalsFor(formula.Gradient).Select(l => l.Name))}) computed once per row"
            : $"∂E/∂o = {Print(formula.Gradient)} for each value";
        w.Line($"/// <summary>∂E/∂o written into d (the same shape as o): {CodeWriter.XmlEscape(each)}.");
        w.Line($"/// {CodeWriter.XmlEscape(buffers)}.</summary>");
        w.Open($"private static void {Gradient}({spans}, global::System.Span<{t}> d, int batch)");
        if (formula.RowWise)
        {
            // The row's named values once per row (none depends on j), then value j of the row; a named value that
            // reads j is computed with it.
            var locals = formula.LocalsFor(formula.Gradient).ToList();
            bool perValue = locals.Any(l => l.Value.Reads("j"));
            w.Open($"for (int r = 0; r < {shape.Rows}; r++)");
            w.Line($"int row = r * {n};");
            if (!perValue) foreach (var (local, value) in locals) LossPrinter.RowLocal(w, c, shape, local, value, self: null);
            if (perValue)
            {
                w.Open($"for (int j = 0; j < {n}; j++)");
                foreach (var (local, value) in locals) LossPrinter.RowLocal(w, c, shape, local, value, self: null);
                w.Line($"d[row + j] = {gradient};");
                w.Close();
            }
            else w.Line($"for (int j = 0; j < {n}; j++) d[row + j] = {gradient};");
            w.Close();
        }
        else
        {
            w.Line("int i = 0;");
            ElementVectors(w, c, shape, formula.Gradient, gradient: true);
            w.Line($"for (; i < o.Length; i++) d[i] = {gradient};");
        }
        w.Close();
        w.Line();
    }

    /// <summary>An element-wise formula over whole vectors first: Vector512 where the JIT accelerates it, else Vector256
    /// (the test folds at JIT time), the same expression tree printed over lanes (<see cref="Expr.Vector"/>); the
    /// caller's scalar loop takes the last values. The value's lanes are summed into one accumulator and reduced lane by
    /// lane in a fixed order (not Vector.Sum: a loss that moved by an ulp between the JIT's first and optimised compilation
    /// of the method broke a finite-difference check), so the sum is rounded in another order than one by one, but the
    /// same on every call for a given vector width.
    /// Nothing when the formula has no vector form.</summary>
    private static void ElementVectors(CodeWriter w, EmitContext c, LossPrinter.RowShape shape, Expr e, bool gradient)
    {
        string t = c.T, unsafeRef = "global::System.Runtime.InteropServices.MemoryMarshal.GetReference";
        // Each width's body printed once: none is written when a function in the formula has no vector form.
        var widths = new[] { "global::System.Runtime.Intrinsics.Vector512", "global::System.Runtime.Intrinsics.Vector256" }
            .Select(vec => (Vec: vec, Body: LossPrinter.ElementVector(c, shape, e, vec))).ToArray();
        if (widths.Any(width => width.Body is null)) return;
        w.Line("// Whole vectors first (Vector512 where accelerated, else Vector256; the JIT keeps one branch): the same formula over");
        w.Line("// lanes, unchecked loads and stores within o.Length (target and d sliced to it: a shorter one throws); the rest one by one.");
        w.Line(gradient ? "target = target.Slice(0, o.Length); d = d.Slice(0, o.Length);" : "target = target.Slice(0, o.Length);");
        w.Line($"ref {t} op = ref {unsafeRef}(o), tp = ref {unsafeRef}(target);");
        if (gradient) w.Line($"ref {t} dp = ref {unsafeRef}(d);");
        for (int k = 0; k < widths.Length; k++)
        {
            var (vec, body) = widths[k];
            w.Open($"{(k == 0 ? "if" : "else if")} ({vec}.IsHardwareAccelerated)");
            if (!gradient) w.Line($"{vec}<{t}> acc = {vec}<{t}>.Zero;");
            w.Open($"for (; i + {vec}<{t}>.Count <= o.Length; i += {vec}<{t}>.Count)");
            w.Line($"{vec}<{t}> ov = {vec}.LoadUnsafe(ref op, (nuint)i), tv = {vec}.LoadUnsafe(ref tp, (nuint)i);");
            w.Line(gradient ? $"{vec}.StoreUnsafe({body}, ref dp, (nuint)i);" : $"acc += {body};");
            w.Close();
            if (!gradient) w.Line($"for (int lane = 0; lane < {vec}<{t}>.Count; lane++) sum += acc[lane];   // lane by lane, an order fixed in the source");
            w.Close();
        }
    }

    /// <summary>The formula's name in LossFormula, for the comment that points to it.</summary>
    private static string FormulaName(NetworkPlan plan) =>
        plan.FusedSigmoidBinaryCrossEntropy ? plan.Spec.Loss + "WithLogits" : plan.Spec.Loss.ToString();

    private static string TermWords(LossFormula formula, string divisor) =>
        "Σ over the rows of the " + Format(formula.TermWords ?? "", divisor);

    private static string Format(string format, params object[] values) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, format, values);

    /// <summary>A formula in its own names (o, t, o[j], rows, n, the row's named values), for comments.</summary>
    private static string Print(Expr e) => e.Scalar(v => v, Expr.ExplainLiteral, "Math");
}
