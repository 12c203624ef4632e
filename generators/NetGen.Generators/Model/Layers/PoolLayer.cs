using System.Collections.Generic;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>[MaxPool(size, Stride, RoundDown)] and [AvgPool(...)]: Stride 0 means the window size.</summary>
internal sealed record PoolOptions(int Size, int Stride, bool RoundDown) : LayerOptions;

internal abstract class PoolLayer : LayerDefinition
{
    public static readonly PoolLayer Max = new Of<MaxPoolAttribute>(LayerKind.MaxPool, "max_pooling2d", "MaxPool", a => new PoolOptions(a.Size, a.Stride, a.RoundDown));

    public static readonly PoolLayer Average = new Of<AvgPoolAttribute>(LayerKind.AvgPool, "average_pooling2d", "AveragePool", a => new PoolOptions(a.Size, a.Stride, a.RoundDown));

    private PoolLayer(LayerKind kind, string snake, string onnx) : base(kind, snake, onnx)
    {
    }

    public override LayerEmitter Emitter => PoolEmitter.Instance;

    /// <summary>Image(C, H, W) → Image(C, OH, OW), no padding.</summary>
    public override Layout Infer(LayerRule rule) => Shapes.InferWindow(rule, Shapes.WindowOf(rule.Layer));

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        var o = (PoolOptions)l.Spec.Options;
        yield return ("Size", o.Size);
        yield return ("KernelHeight", l.KernelH);
        yield return ("KernelWidth", l.KernelW);
        yield return ("Stride", l.Stride);
        yield return ("PadHeight", 0);
        yield return ("PadWidth", 0);
        yield return ("RoundDown", Flag(o.RoundDown));
    }

    public override string Title(LayerPlan l) => $"{l.Kind} {l.KernelH}×{l.KernelW}" + (l.Stride != l.KernelH ? $" /{l.Stride}" : "");

    private sealed class Of<TAttribute> : PoolLayer where TAttribute : System.Attribute
    {
        private readonly System.Func<TAttribute, PoolOptions> _options;

        public Of(LayerKind kind, string snake, string onnx, System.Func<TAttribute, PoolOptions> options) : base(kind, snake, onnx) => _options = options;

        public override LayerOptions? Read(Microsoft.CodeAnalysis.AttributeData attribute) =>
            AttributeReader.Create<TAttribute>(attribute) is { } a ? _options(a) : null;
    }
}
