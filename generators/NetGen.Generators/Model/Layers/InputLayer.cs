using System.Collections.Immutable;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>[Input(shape)]: one sample's dimensions. (F) is a vector, (T, F) a sequence of T steps of F features,
/// (C, H, W) an image. Not a layer of the plan: shape inference starts from it.</summary>
internal sealed record InputOptions(EquatableArray<int> Shape) : LayerOptions;

internal sealed class InputLayer : LayerDefinition<InputAttribute>
{
    public static readonly InputLayer Instance = new();

    private InputLayer() : base(LayerKind.Input, "input", onnxOperator: null)
    {
    }

    public override LayerEmitter Emitter => throw new System.InvalidOperationException("[Input] is not emitted as a layer.");

    protected override LayerOptions Options(InputAttribute a) => new InputOptions(new EquatableArray<int>(a.Shape ?? System.Array.Empty<int>()));

    /// <summary>Never called: inference starts from the declared input (see <see cref="Shapes.Infer"/>).</summary>
    public override Layout Infer(LayerRule rule) => rule.Input;

    public static ImmutableArray<int> ShapeOf(LayerSpec input) => input.Options is InputOptions o ? ImmutableArray.CreateRange(o.Shape) : ImmutableArray<int>.Empty;
}
