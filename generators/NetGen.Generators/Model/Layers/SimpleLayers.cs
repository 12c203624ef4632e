using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>[Flatten]: any layout → Vector(size), a view (no data moves).</summary>
internal sealed class FlattenLayer : LayerDefinition<FlattenAttribute>
{
    public static readonly FlattenLayer Instance = new();

    private FlattenLayer() : base(LayerKind.Flatten, "flatten", onnxOperator: "Flatten")
    {
    }

    public override LayerEmitter Emitter => FlattenEmitter.Instance;

    protected override LayerOptions Options(FlattenAttribute a) => NoOptions.Instance;

    public override Layout Infer(LayerRule rule) => Layout.Vector(rule.Input.Size);
}

/// <summary>[BatchNorm(Momentum, Epsilon)]: per feature of a vector, per channel of an image.</summary>
internal sealed record BatchNormOptions(double Momentum, double Epsilon) : LayerOptions;

internal sealed class BatchNormLayer : LayerDefinition<BatchNormAttribute>
{
    public static readonly BatchNormLayer Instance = new();

    private BatchNormLayer() : base(LayerKind.BatchNorm, "batch_normalization", onnxOperator: "BatchNormalization")
    {
    }

    public override LayerEmitter Emitter => BatchNormEmitter.Instance;

    protected override LayerOptions Options(BatchNormAttribute a) => new BatchNormOptions(a.Momentum, a.Epsilon);

    /// <summary>Vector or Image → the same.</summary>
    public override Layout Infer(LayerRule rule)
    {
        var o = (BatchNormOptions)rule.Layer.Options;
        if (!rule.Input.IsVector && !rule.Input.IsImage)
            rule.Report(Descriptors.WrongRank, $"[BatchNorm] normalises per feature of a vector or per channel of a (C, H, W) tensor, but it is fed {Shapes.FormatShape(rule.Input.Shape)}.");
        if (!(o.Momentum >= 0 && o.Momentum <= 1))
            rule.Report(Descriptors.BadSize, $"[BatchNorm(Momentum = {o.Momentum})]: the momentum must be in [0, 1], e.g. 0.1.", "Momentum");
        if (!(o.Epsilon > 0) || double.IsInfinity(o.Epsilon))
            rule.Report(Descriptors.BadSize, $"[BatchNorm(Epsilon = {o.Epsilon})]: ε must be a small positive number, e.g. 1e-5.", "Epsilon");
        return rule.Input;
    }

    /// <summary>Channels of an image, features of a vector.</summary>
    public static int Channels(LayerPlan l) => l.InputLayout.IsImage ? l.InputLayout.Channels : l.InputSize;

    public override IEnumerable<ParameterSlot> Slots(LayerPlan l)
    {
        var c = ImmutableArray.Create(Channels(l));
        yield return new("Gamma", c, SlotInit.Ones, true, false, "scale γ, one per channel.");
        yield return new("Beta", c, SlotInit.Zeros, true, false, "shift β, one per channel.");
        yield return new("RunningMean", c, SlotInit.Zeros, false, true, "running mean (non-trainable state).");
        yield return new("RunningVariance", c, SlotInit.Ones, false, true, "running variance (non-trainable state).");
    }

    public override bool GradientViewsLast => true;

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        var o = (BatchNormOptions)l.Spec.Options;
        yield return ("Momentum", o.Momentum);
        yield return ("Epsilon", o.Epsilon);
    }
}

/// <summary>[Dropout(rate)]: any layout → the same.</summary>
internal sealed record DropoutOptions(double Rate) : LayerOptions;

internal sealed class DropoutLayer : LayerDefinition<DropoutAttribute>
{
    public static readonly DropoutLayer Instance = new();

    private DropoutLayer() : base(LayerKind.Dropout, "dropout", onnxOperator: null)   // inference: the identity, no node
    {
    }

    public override LayerEmitter Emitter => DropoutEmitter.Instance;

    protected override LayerOptions Options(DropoutAttribute a) => new DropoutOptions(a.Rate);

    public override Layout Infer(LayerRule rule)
    {
        double rate = ((DropoutOptions)rule.Layer.Options).Rate;
        if (!(rate >= 0 && rate < 1))
            rule.Report(Descriptors.BadSize, $"[Dropout({rate})]: the rate is the probability of dropping a value and must be in [0, 1), e.g. 0.5.", "rate");
        return rule.Input;
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        yield return ("Rate", ((DropoutOptions)l.Spec.Options).Rate);
    }

    public override string Title(LayerPlan l) => "Dropout " + ((DropoutOptions)l.Spec.Options).Rate.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>[Softmax]: over the values of each sample; must be the last layer.</summary>
internal sealed class SoftmaxLayer : LayerDefinition<SoftmaxAttribute>
{
    public static readonly SoftmaxLayer Instance = new();

    private SoftmaxLayer() : base(LayerKind.Softmax, "softmax", onnxOperator: "Softmax")
    {
    }

    public override bool IsActivation => true;

    public override LayerEmitter Emitter => SoftmaxEmitter.Instance;

    protected override LayerOptions Options(SoftmaxAttribute a) => NoOptions.Instance;

    public override Layout Infer(LayerRule rule)
    {
        var layers = rule.Network.Layers;
        if (rule.Index != layers.Count - 1)
            rule.Found.Add(new(Descriptors.SoftmaxNotLast, $"[Softmax] must be the last layer, but [{layers[layers.Count - 1].AttributeName}] follows it: it turns scores into class probabilities; use ReLU, Tanh or Sigmoid between layers.", rule.Index)
                { Fixes = ImmutableArray.Create(new ShapeFix("Replace [Softmax] with [ReLU]", "replace:ReLU"), new ShapeFix("Remove [Softmax]", "remove")) });
        return rule.Input;
    }
}
