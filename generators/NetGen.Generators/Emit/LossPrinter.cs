using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// How a <see cref="LossFormula"/> becomes C#, shared by the CPU's loss methods (<see cref="LossEmitter"/>) and the GPU's
/// loss kernels (<see cref="GpuLossEmitter"/>), so the two differ only in what runs a row (a loop on the CPU, a thread on
/// the GPU). Both name the loss's input <c>o</c>, its targets <c>target</c> and the batch <c>batch</c>: a sample's row of
/// n values, or a step's for a per-step loss, starts at <c>row</c>; element k of it is <c>o[row + k]</c>.
/// </summary>
internal static class LossPrinter
{
    /// <summary>The loss's rows as the printers write them: <see cref="Size"/> values per row (the formula's n), and
    /// <see cref="Rows"/>, the expression counting the batch's rows (its samples, or batch × T for a per-step loss).</summary>
    public sealed record RowShape(int Size, string Rows)
    {
        /// <summary>The rows of <paramref name="plan"/>'s loss: batch, or (batch * T) for a sequence output.</summary>
        public static RowShape Of(NetworkPlan plan) =>
            new(plan.LossRowSize, plan.LossRowsPerSample > 1 ? $"(batch * {plan.LossRowsPerSample})" : "batch");

        /// <summary>A formula's scalar variable: n, rows and batch (the method's or kernel's parameter); other names are locals.</summary>
        public string Name(string name) => name switch
        {
            "n" => Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "rows" => Rows,
            _ => name,
        };
    }

    /// <summary>The divisor of <paramref name="formula"/> as an operand (parenthesised when it is a product).</summary>
    public static string Divisor(EmitContext c, RowShape shape, LossFormula formula)
    {
        string divisor = Row(c, shape, formula.Divisor, null, operand: true);
        return formula.Divisor is Expr.Bin ? "(" + divisor + ")" : divisor;
    }

    /// <summary>An element-wise formula's expression as C#: o and t are <c>o[at]</c> and <c>target[at]</c>.</summary>
    public static string Element(EmitContext c, RowShape shape, Expr e, string at, bool operand = false) =>
        e.Scalar(name => name switch { "o" => $"o[{at}]", "t" => $"target[{at}]", _ => shape.Name(name) }, c.Lit, c.Math, operand);

    /// <summary>An element-wise formula over whole vectors (<paramref name="vec"/>: Vector512 or Vector256): o and t are the
    /// loaded lanes ov and tv, n, rows and batch broadcast; null when a function in it has no vector form.</summary>
    public static string? ElementVector(EmitContext c, RowShape shape, Expr e, string vec) =>
        e.Vector(c.T, c.Lit, () => 0, name => name switch { "o" => "ov", "t" => "tv", _ => $"{vec}.Create(({c.T})({shape.Name(name)}))" }, vec);

    /// <summary>A row-wise formula's expression as C#: element k of the row is o[row + k] (target[…] for t), the value's own
    /// element (index <paramref name="self"/>, the GPU's thread) o[i]; n is the row length; other names are locals.
    /// <paramref name="rename"/> substitutes an index (a reduction's first element, the arg-max's current best).</summary>
    public static string Row(EmitContext c, RowShape shape, Expr e, string? self, bool operand = false, (string From, string To)? rename = null) =>
        e.Scalar(name =>
        {
            int bracket = name.IndexOf('[');
            if (bracket < 0) return shape.Name(name);
            string array = name.Substring(0, bracket) == "o" ? "o" : "target", index = name.Substring(bracket + 1, name.Length - bracket - 2);
            if (rename is { } r && index == r.From) index = r.To;
            return index == self ? $"{array}[i]" : index == "0" ? $"{array}[row]" : $"{array}[row + {index}]";
        }, c.Lit, c.Math, operand);

    /// <summary>Declares local <paramref name="name"/> = <paramref name="value"/> for the row starting at <c>row</c>: a
    /// reduction as a loop over the row (Max and ArgMax start from its first element; ArgMax keeps the first on ties),
    /// any other value as one expression.</summary>
    public static void RowLocal(CodeWriter w, EmitContext c, RowShape shape, string name, Expr value, string? self)
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

    /// <summary>The statements of one row's term: the named values it reads, then <c>sum</c> = the term (Σ over the row).</summary>
    public static void RowTerm(CodeWriter w, EmitContext c, RowShape shape, LossFormula formula)
    {
        foreach (var (name, value) in formula.LocalsFor(formula.Value)) RowLocal(w, c, shape, name, value, self: null);
        RowLocal(w, c, shape, "sum", formula.Value, self: null);
    }
}
