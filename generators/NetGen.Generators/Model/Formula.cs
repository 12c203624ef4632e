using System;
using System.Globalization;

namespace NetGen.Generators.Model;

/// <summary>
/// An element-wise formula written once as an expression tree over the layer's values — x (input), y (output),
/// dy (∂E/∂y) and the option α — from which every backend's code is printed: the CPU's scalar statements
/// (<see cref="Scalar"/>), its Vector256 form (<see cref="Vector"/>), the fused kernels' and the GPU kernels'
/// expressions (the scalar printer over kernel locals), and <c>Explain</c>'s double-precision evaluation. Tests evaluate
/// the same tree (<see cref="Evaluate"/>) against references.
/// </summary>
internal abstract record Expr
{
    public static readonly Expr X = new Var("x");
    public static readonly Expr Y = new Var("y");
    public static readonly Expr Dy = new Var("dy");
    public static readonly Expr Alpha = new Var("alpha");

    public static Expr C(double value) => new Const(value);

    /// <summary>A named value (a loss's o, t, batch, n).</summary>
    public static Expr V(string name) => new Var(name);

    public static Expr Abs(Expr a) => new Call("Abs", a);

    public static Expr Log(Expr a) => new Call("Log", a);

    public static Expr Max(Expr a, Expr b) => new Call2("Max", a, b);

    /// <summary>l &lt; r ? a : b.</summary>
    public static Expr IfLess(Expr l, Expr r, Expr a, Expr b) => new Cond(l, "<", r, a, b);

    public static Expr Exp(Expr a) => new Call("Exp", a);

    public static Expr Tanh(Expr a) => new Call("Tanh", a);

    /// <summary>l &gt; r ? a : b.</summary>
    public static Expr IfGreater(Expr l, Expr r, Expr a, Expr b) => new Cond(l, ">", r, a, b);

    /// <summary>l ≤ r ? a : b. With the positive case in the else branch a NaN takes it (NaN ≤ r is false): ReLU's
    /// <c>x ≤ 0 ? 0 : x</c> gives relu(NaN) = NaN, as PyTorch does, where <c>x &gt; 0 ? x : 0</c> gave 0.</summary>
    public static Expr IfLessOrEqual(Expr l, Expr r, Expr a, Expr b) => new Cond(l, "<=", r, a, b);

    /// <summary>l ≥ r ? a : b.</summary>
    public static Expr IfGreaterOrEqual(Expr l, Expr r, Expr a, Expr b) => new Cond(l, ">=", r, a, b);

    /// <summary>l ≠ r ? a : b (for indices: j ≠ y).</summary>
    public static Expr IfNotEqual(Expr l, Expr r, Expr a, Expr b) => new Cond(l, "!=", r, a, b);

    /// <summary>Element <paramref name="index"/> of the sample's row of <paramref name="array"/> (a row-wise loss's
    /// o[j], t[k], o[y]).</summary>
    public static Expr At(string array, string index) => new Elem(array, index);

    /// <summary>Σ over <paramref name="index"/> = 0 … n − 1 of <paramref name="body"/>.</summary>
    public static Expr Sum(string index, Expr body) => new Reduce("Sum", index, body);

    /// <summary>The maximum over <paramref name="index"/> of <paramref name="body"/>.</summary>
    public static Expr MaxOver(string index, Expr body) => new Reduce("Max", index, body);

    /// <summary>The first <paramref name="index"/> at which <paramref name="body"/> is largest (an index, not a value).</summary>
    public static Expr ArgMax(string index, Expr body) => new Reduce("ArgMax", index, body);

    public static Expr operator +(Expr a, Expr b) => new Bin('+', a, b);

    public static Expr operator -(Expr a, Expr b) => new Bin('-', a, b);

    public static Expr operator *(Expr a, Expr b) => new Bin('*', a, b);

    public static Expr operator /(Expr a, Expr b) => new Bin('/', a, b);

    public static Expr operator -(Expr a) => new Neg(a);

    public static implicit operator Expr(double value) => new Const(value);

    internal sealed record Var(string Name) : Expr;

    internal sealed record Const(double Value) : Expr;

    internal sealed record Neg(Expr A) : Expr;

    internal sealed record Bin(char Op, Expr A, Expr B) : Expr;

    internal sealed record Call(string Function, Expr A) : Expr;

    internal sealed record Call2(string Function, Expr A, Expr B) : Expr;

    internal sealed record Cond(Expr Left, string Compare, Expr Right, Expr Then, Expr Else) : Expr;

    /// <summary>Element <see cref="Index"/> (an index variable) of a row.</summary>
    internal sealed record Elem(string Array, string Index) : Expr;

    /// <summary>A reduction over a row: "Sum", "Max" or "ArgMax" of <see cref="Body"/> for <see cref="Index"/> = 0 … n − 1.
    /// The printers write it as a loop before the expression that reads it (a named local of the formula).</summary>
    internal sealed record Reduce(string Op, string Index, Expr Body) : Expr;

    /// <summary>The value, for tests: <paramref name="x"/>, <paramref name="y"/>, <paramref name="dy"/>, α.</summary>
    public double Evaluate(double x, double y = double.NaN, double dy = double.NaN, double alpha = double.NaN) =>
        Evaluate(name => name switch { "x" => x, "y" => y, "dy" => dy, _ => alpha });

    /// <summary>The value with every variable read from <paramref name="variable"/>, in double.</summary>
    public double Evaluate(Func<string, double> variable) =>
        Evaluate(variable, (array, _) => throw new InvalidOperationException("No row to read " + array + " from."));

    /// <summary>The value with every variable read from <paramref name="variable"/> and element k of a row from
    /// <paramref name="element"/>(array, k), in double; a reduction runs its index over 0 … variable("n") − 1.</summary>
    public double Evaluate(Func<string, double> variable, Func<string, int, double> element) => this switch
    {
        Elem e => element(e.Array, (int)variable(e.Index)),
        Reduce r => EvaluateReduce(r, variable, element),
        _ => EvaluateNode(variable, element),
    };

    private static double EvaluateReduce(Reduce r, Func<string, double> variable, Func<string, int, double> element)
    {
        int n = (int)variable("n");
        double At(int k) => r.Body.Evaluate(name => name == r.Index ? k : variable(name), element);
        double result = r.Op == "Sum" ? 0 : At(0);
        int best = 0;
        for (int k = r.Op == "Sum" ? 0 : 1; k < n; k++)
        {
            double v = At(k);
            if (r.Op == "Sum") result += v;
            else if (r.Op == "Max") result = Math.Max(result, v);
            else if (v > result) { result = v; best = k; }
        }
        return r.Op == "ArgMax" ? best : result;
    }

    private double EvaluateNode(Func<string, double> variable, Func<string, int, double> element) => this switch
    {
        Var v => variable(v.Name),
        Const k => k.Value,
        Neg n => -n.A.Evaluate(variable, element),
        Bin b => b.Op switch
        {
            '+' => b.A.Evaluate(variable, element) + b.B.Evaluate(variable, element),
            '-' => b.A.Evaluate(variable, element) - b.B.Evaluate(variable, element),
            '*' => b.A.Evaluate(variable, element) * b.B.Evaluate(variable, element),
            _ => b.A.Evaluate(variable, element) / b.B.Evaluate(variable, element),
        },
        Call f => f.Function switch
        {
            "Exp" => Math.Exp(f.A.Evaluate(variable, element)),
            "Tanh" => Math.Tanh(f.A.Evaluate(variable, element)),
            "Abs" => Math.Abs(f.A.Evaluate(variable, element)),
            _ => Math.Log(f.A.Evaluate(variable, element)),
        },
        Call2 f => Math.Max(f.A.Evaluate(variable, element), f.B.Evaluate(variable, element)),
        Cond c => Holds(c.Compare, c.Left.Evaluate(variable, element), c.Right.Evaluate(variable, element)) ? c.Then.Evaluate(variable, element) : c.Else.Evaluate(variable, element),
        _ => throw new InvalidOperationException("Unknown expression " + GetType().Name),
    };

    private static bool Holds(string op, double l, double r) => op switch { ">" => l > r, ">=" => l >= r, "<=" => l <= r, "!=" => l != r, _ => l < r };

    /// <summary>Whether the tree reads variable <paramref name="name"/> (with <paramref name="asIndex"/>, also as the
    /// index of a row's element).</summary>
    public bool Reads(string name, bool asIndex = true) => this switch
    {
        Var v => v.Name == name,
        Neg n => n.A.Reads(name, asIndex),
        Bin b => b.A.Reads(name, asIndex) || b.B.Reads(name, asIndex),
        Call f => f.A.Reads(name, asIndex),
        Call2 f => f.A.Reads(name, asIndex) || f.B.Reads(name, asIndex),
        Cond c => c.Left.Reads(name, asIndex) || c.Right.Reads(name, asIndex) || c.Then.Reads(name, asIndex) || c.Else.Reads(name, asIndex),
        Elem e => asIndex && e.Index == name,
        Reduce r => r.Index != name && r.Body.Reads(name, asIndex),
        _ => false,
    };

    /// <summary>Whether the tree uses only exactly rounded operations (+ − × ÷, comparisons, Max, Min, Abs): its vector form
    /// then gives the scalar form's bits lane by lane (Exp, Log and Tanh have vector forms that may round differently).</summary>
    public bool IsExact => this switch
    {
        Var or Const => true,
        Neg n => n.A.IsExact,
        Bin b => b.A.IsExact && b.B.IsExact,
        Call f => f.Function == "Abs" && f.A.IsExact,
        Call2 f => f.Function is "Max" or "Min" && f.A.IsExact && f.B.IsExact,
        Cond c => c.Left.IsExact && c.Right.IsExact && c.Then.IsExact && c.Else.IsExact,
        _ => false,
    };

    /// <summary>Scalar C#: <paramref name="variable"/> names each value ("_a1[k]", "x[i]"), <paramref name="literal"/>
    /// writes a constant of the element type, <paramref name="math"/> is Math or MathF. A conditional at the top is
    /// parenthesised when <paramref name="operand"/> (the expression is used inside a larger one).</summary>
    public string Scalar(Func<string, string> variable, Func<double, string> literal, string math, bool operand = false) =>
        Print(this, variable, literal, math, operand ? 1 : 0);

    private static int Precedence(Expr e) => e switch
    {
        Cond => 0,
        Bin { Op: '+' or '-' } => 1,
        Bin => 2,
        Neg => 3,
        _ => 4,
    };

    private static string Print(Expr e, Func<string, string> v, Func<double, string> lit, string math, int context)
    {
        string s = e switch
        {
            Var x => v(x.Name),
            Const k => lit(k.Value),
            Neg n => "-" + Print(n.A, v, lit, math, 3),
            Bin b => Print(b.A, v, lit, math, Precedence(b)) + " " + b.Op + " " + Print(b.B, v, lit, math, Precedence(b) + 1),
            Call f => $"{math}.{f.Function}({Print(f.A, v, lit, math, 0)})",
            Call2 f => $"{math}.{f.Function}({Print(f.A, v, lit, math, 0)}, {Print(f.B, v, lit, math, 0)})",
            // The conditional operator is right-associative: a conditional in the else branch needs no parentheses.
            Cond c => $"{Print(c.Left, v, lit, math, 1)} {c.Compare} {Print(c.Right, v, lit, math, 1)} ? {Print(c.Then, v, lit, math, 1)} : {Print(c.Else, v, lit, math, 0)}",
            // An element is named to the caller as "array[index]"; a reduction is a local the caller declared first.
            Elem x => v(x.Array + "[" + x.Index + "]"),
            _ => throw new InvalidOperationException("Cannot print " + e.GetType().Name + " inline (a reduction is printed as a loop)"),
        };
        return Precedence(e) < context ? "(" + s + ")" : s;
    }

    /// <summary>Vector256 C# over locals xv, yv, dyv (or what <paramref name="variable"/> names them), or null when a function has no Vector256 form (tanh;
    /// Exp, Log, Abs, Max and Min have one). Constants
    /// are broadcast (<c>Vector256.Create</c>, zero as <c>Vector256&lt;T&gt;.Zero</c>) and written as the right operand
    /// of a product; a conditional is <c>ConditionalSelect</c> over the comparison's mask.</summary>
    public string? Vector(string elementType, Func<double, string> literal, Func<double> alpha, Func<string, string>? variable = null,
        string vec = "global::System.Runtime.Intrinsics.Vector256")
    {
        string? P(Expr e, int context)
        {
            string? s;
            switch (e)
            {
                case Var x:
                    s = x.Name == "alpha" ? $"{vec}.Create({literal(alpha())})" : variable?.Invoke(x.Name) ?? x.Name + "v";
                    break;
                case Const k:
                    s = k.Value == 0 ? $"{vec}<{elementType}>.Zero" : $"{vec}.Create({literal(k.Value)})";
                    break;
                case Neg n:
                    s = P(n.A, 3) is { } a ? "-" + a : null;
                    break;
                case Bin b:
                    var (l, r) = b.Op == '*' && IsBroadcast(b.A) && !IsBroadcast(b.B) ? (b.B, b.A) : (b.A, b.B);
                    string? ls = P(l, Precedence(b)), rs = P(r, Precedence(b) + 1);
                    s = ls is null || rs is null ? null : ls + " " + b.Op + " " + rs;
                    break;
                case Call f when f.Function is "Exp" or "Log" or "Abs":
                    s = P(f.A, 0) is { } fa ? $"{vec}.{f.Function}({fa})" : null;
                    break;
                case Call2 f when f.Function is "Max" or "Min":
                    // Vector.Max/Min propagate a NaN operand, as Math.Max/Min do.
                    s = P(f.A, 0) is { } f1 && P(f.B, 0) is { } f2 ? $"{vec}.{f.Function}({f1}, {f2})" : null;
                    break;
                case Cond c:
                    string? cl = P(c.Left, 0), cr = P(c.Right, 0), ct = P(c.Then, 0), ce = P(c.Else, 0);
                    string compare = c.Compare switch { ">" => "GreaterThan", ">=" => "GreaterThanOrEqual", "<=" => "LessThanOrEqual", _ => "LessThan" };
                    return cl is null || cr is null || ct is null || ce is null ? null : $"{vec}.ConditionalSelect({vec}.{compare}({cl}, {cr}), {ct}, {ce})";
                default:
                    return null;
            }
            return s is not null && Precedence(e) < context ? "(" + s + ")" : s;
        }
        return P(this, 0);
    }

    private static bool IsBroadcast(Expr e) => e is Const or Var { Name: "alpha" };

    /// <summary>A double literal for <c>Explain</c>'s evaluation: whole numbers without a fraction.</summary>
    public static string ExplainLiteral(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15 ? ((long)value).ToString(CultureInfo.InvariantCulture) : CodeLiteral(value);

    private static string CodeLiteral(double value) => Emit.CodeWriter.Literal(value, true);
}

/// <summary>An element-wise activation, written once: y(x, α) forward, ∂E/∂x(x, y, dy, α) backward, dy/dx(x, y, α)
/// for the lecture's walkthrough, the same in words, and the TensorPrimitives kernel that computes the forward pass
/// over a large tensor when the library has one.</summary>
/// <param name="Forward">y as a function of x (and α).</param>
/// <param name="Backward">∂E/∂x from x, y, ∂E/∂y (and α); <see cref="Expr.Dy"/> itself for a pass-through.</param>
/// <param name="Derivative">∂y/∂x from x, y (and α), printed by <c>Explain</c>.</param>
/// <param name="Words">"y = …" for comments.</param>
/// <param name="BackwardWords">"∂E/∂x = …" for comments.</param>
/// <param name="Library">TensorPrimitives' whole-span forward, as a format with {0} the input span, {1} the output span,
/// {2} the element type, {3} a zero literal; null for none (then a loop over the scalar form).</param>
/// <param name="Lecture">Explain's forward: (neuron symbol, "{F(…)}" of its net value, "{P(…)}" of it) → text.</param>
/// <param name="LectureDerivative">Explain's ∂out/∂net in symbols, from the neuron's name.</param>
internal sealed record ActivationFormula(
    Expr Forward, Expr Backward, Expr Derivative, string Words, string BackwardWords, string? Library,
    Func<string, string, string, string> Lecture, Func<string, string> LectureDerivative)
{
    /// <summary>y = x, ∂E/∂x = ∂E/∂y: nothing to compute.</summary>
    public bool IsIdentity => Forward == Expr.X;

    /// <summary>∂E/∂x = ∂E/∂y (Identity; Step, straight-through).</summary>
    public bool PassesGradient => Backward == Expr.Dy;
}
