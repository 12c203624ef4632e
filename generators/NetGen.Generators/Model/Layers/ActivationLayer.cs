using System;
using System.Collections.Generic;
using System.Globalization;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>An activation's slope or scale α (LeakyReLU, ELU).</summary>
internal sealed record AlphaOptions(double Alpha) : LayerOptions;

/// <summary>Element-wise activations: any layout → the same, no parameters.</summary>
internal abstract class ActivationLayer : LayerDefinition
{
    // One line per activation: its formula, written once; every backend's code is printed from it (see Expr).
    private static readonly Expr X = Expr.X, Y = Expr.Y, Dy = Expr.Dy, A = Expr.Alpha;

    public static readonly ActivationLayer Step = new Of<StepAttribute>(LayerKind.Step, "step", "GreaterOrEqual", _ => NoOptions.Instance, new(
        Expr.IfGreaterOrEqual(X, 0, 1, 0), Dy, 1, "y = x ≥ 0 ? 1 : 0", "∂E/∂x = ∂E/∂y (straight-through)", null,
        (n, f, p) => $"step({n}) = step({f})", _ => "1 (straight-through)"));

    public static readonly ActivationLayer Sigmoid = new Of<SigmoidAttribute>(LayerKind.Sigmoid, "sigmoid", "Sigmoid", _ => NoOptions.Instance, new(
        1 / (1 + Expr.Exp(-X)), Dy * Y * (1 - Y), Y * (1 - Y), "y = 1 / (1 + e^−x)", "∂E/∂x = ∂E/∂y · y(1 − y)", "Sigmoid<{2}>({0}, {1})",
        (n, f, p) => $"σ({n}) = 1/(1 + e^(-{p}))", o => $"out_{o}·(1 - out_{o})"));

    public static readonly ActivationLayer Tanh = new Of<TanhAttribute>(LayerKind.Tanh, "tanh", "Tanh", _ => NoOptions.Instance, new(
        Expr.Tanh(X), Dy * (1 - Y * Y), 1 - Y * Y, "y = tanh x", "∂E/∂x = ∂E/∂y · (1 − y²)", "Tanh<{2}>({0}, {1})",
        (n, f, p) => $"tanh({n}) = tanh({f})", o => $"1 - out_{o}²"));

    // Written x ≤ 0 ? 0 : x, so NaN stays NaN (relu(nan) is nan in PyTorch; x > 0 ? x : 0 hid it as 0). The
    // library form, TensorPrimitives.Max(x, 0), is the IEEE maximum: NaN as well.
    public static readonly ActivationLayer ReLU = new Of<ReLUAttribute>(LayerKind.ReLU, "re_lu", "Relu", _ => NoOptions.Instance, new(
        Expr.IfLessOrEqual(X, 0, 0, X), Expr.IfGreater(X, 0, Dy, 0), Expr.IfGreater(X, 0, 1, 0), "y = max(0, x)", "∂E/∂x = x > 0 ? ∂E/∂y : 0", "Max<{2}>({0}, {3}, {1})",
        (n, f, p) => $"max(0, {n}) = max(0, {f})", o => $"net_{o} > 0 ? 1 : 0"), he: true);

    public static readonly ActivationLayer LeakyReLU = new Of<LeakyReLUAttribute>(LayerKind.LeakyReLU, "leaky_re_lu", "LeakyRelu", a => new AlphaOptions(a.Alpha), new(
        Expr.IfGreaterOrEqual(X, 0, X, A * X), Expr.IfGreater(X, 0, Dy, A * Dy), Expr.IfGreater(X, 0, 1, A), "y = x ≥ 0 ? x : αx", "∂E/∂x = x > 0 ? ∂E/∂y : α·∂E/∂y", null,
        (n, f, p) => $"leaky_relu({n}) = leaky_relu({f})", o => $"net_{o} > 0 ? 1 : α"), he: true);

    public static readonly ActivationLayer ELU = new Of<ELUAttribute>(LayerKind.ELU, "elu", "Elu", a => new AlphaOptions(a.Alpha), new(
        Expr.IfGreater(X, 0, X, A * (Expr.Exp(X) - 1)), Expr.IfGreater(X, 0, Dy, Dy * (Y + A)), Expr.IfGreater(X, 0, 1, Y + A), "y = x > 0 ? x : α(eˣ − 1)", "∂E/∂x = x > 0 ? ∂E/∂y : ∂E/∂y·(y + α)", null,
        (n, f, p) => $"elu({n}) = elu({f})", o => $"net_{o} > 0 ? 1 : out_{o} + α"));

    // y = x·σ(x); dy/dx = σ + x·σ(1 − σ) = y + σ(1 − y), with σ = 1/(1 + e^−x) recomputed from x.
    private static readonly Expr Sigma = 1 / (1 + Expr.Exp(-X));

    public static readonly ActivationLayer SiLU = new Of<SiLUAttribute>(LayerKind.SiLU, "silu", "Mul", _ => NoOptions.Instance, new(
        X * Sigma, Dy * (Y + Sigma * (1 - Y)), Y + Sigma * (1 - Y), "y = x·σ(x)", "∂E/∂x = ∂E/∂y · (y + σ(x)(1 − y))", null,
        (n, f, p) => $"silu({n}) = {p}/(1 + e^(-{p}))", o => $"out_{o} + σ(net_{o})·(1 - out_{o})"));

    public static readonly ActivationLayer Identity = new Of<IdentityAttribute>(LayerKind.Identity, "identity", "Identity", _ => NoOptions.Instance, new(
        X, Dy, 1, "y = x", "∂E/∂x = ∂E/∂y", null, (n, f, p) => n, _ => "1"));

    private ActivationLayer(LayerKind kind, string snake, string? onnx, ActivationFormula formula, bool he) : base(kind, snake, onnx)
    {
        Formula = formula;
        HeInit = he;
    }

    /// <summary>Whether a layer followed by this activation starts from He uniform rather than Glorot (the ReLU family).</summary>
    public bool HeInit { get; }

    /// <summary>The activation written once (forward, backward, derivative), printed by every backend.</summary>
    public ActivationFormula Formula { get; }

    public override bool IsActivation => true;

    public override LayerEmitter Emitter => ActivationEmitter.Instance;

    public override Layout Infer(LayerRule rule)
    {
        if (rule.Layer.Options is AlphaOptions o && (double.IsNaN(o.Alpha) || double.IsInfinity(o.Alpha)))
            rule.Report(Descriptors.CannotHonour, $"[{AttributeName}] needs a finite slope, e.g. [{AttributeName}(0.01)].", "alpha");
        return rule.Input;
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        if (l.Spec.Options is AlphaOptions o) yield return ("Alpha", o.Alpha);
    }

    public override string Title(LayerPlan l) => l.Spec.Options is AlphaOptions o
        ? AttributeName + " " + o.Alpha.ToString("R", CultureInfo.InvariantCulture)
        : AttributeName;

    private sealed class Of<TAttribute> : ActivationLayer where TAttribute : Attribute
    {
        private readonly Func<TAttribute, LayerOptions> _options;

        public Of(LayerKind kind, string snake, string? onnx, Func<TAttribute, LayerOptions> options, ActivationFormula formula, bool he = false) : base(kind, snake, onnx, formula, he) => _options = options;

        public override LayerOptions? Read(Microsoft.CodeAnalysis.AttributeData attribute) =>
            AttributeReader.Create<TAttribute>(attribute) is { } a ? _options(a) : null;
    }
}
