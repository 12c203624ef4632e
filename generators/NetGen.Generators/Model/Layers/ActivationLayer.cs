using System;
using System.Collections.Generic;
using System.Globalization;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>An activation's slope or scale α (LeakyReLU).</summary>
internal sealed record AlphaOptions(double Alpha) : LayerOptions;

/// <summary>Element-wise activations: any layout → the same, no parameters.</summary>
internal abstract class ActivationLayer : LayerDefinition
{
    public static readonly ActivationLayer Step = new Of<StepAttribute>(LayerKind.Step, "step", null, _ => NoOptions.Instance);
    public static readonly ActivationLayer Sigmoid = new Of<SigmoidAttribute>(LayerKind.Sigmoid, "sigmoid", "Sigmoid", _ => NoOptions.Instance);
    public static readonly ActivationLayer Tanh = new Of<TanhAttribute>(LayerKind.Tanh, "tanh", "Tanh", _ => NoOptions.Instance);
    public static readonly ActivationLayer ReLU = new Of<ReLUAttribute>(LayerKind.ReLU, "re_lu", "Relu", _ => NoOptions.Instance);
    public static readonly ActivationLayer LeakyReLU = new Of<LeakyReLUAttribute>(LayerKind.LeakyReLU, "leaky_re_lu", "LeakyRelu", a => new AlphaOptions(a.Alpha));
    public static readonly ActivationLayer Identity = new Of<IdentityAttribute>(LayerKind.Identity, "identity", "Identity", _ => NoOptions.Instance);

    private ActivationLayer(LayerKind kind, string snake, string? onnx) : base(kind, snake, onnx)
    {
    }

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

        public Of(LayerKind kind, string snake, string? onnx, Func<TAttribute, LayerOptions> options) : base(kind, snake, onnx) => _options = options;

        public override LayerOptions? Read(Microsoft.CodeAnalysis.AttributeData attribute) =>
            AttributeReader.Create<TAttribute>(attribute) is { } a ? _options(a) : null;
    }
}
