namespace NetGen.Generators.Model;

// The parser's output: what the user declared, as plain values. Never an ISymbol, SyntaxNode or Compilation, so the
// incremental pipeline can compare two runs and skip emitting when nothing about a network changed.

/// <summary>Layer kinds the DSL knows. New kinds (Conv2D, pooling, recurrent …) are added here and in <see cref="Shapes"/>.</summary>
internal enum LayerKind
{
    Unknown,
    Input,
    Dense,
    Step,
    Sigmoid,
    Tanh,
    ReLU,
    LeakyReLU,
    Softmax,
    Identity,
}

/// <summary>Mirrors <c>NetGen.LossFunction</c> (same numeric values).</summary>
internal enum LossKind
{
    HalfSquaredError,
    MeanSquaredError,
    CrossEntropy,
    BinaryCrossEntropy,
    MeanAbsoluteError,
}

/// <summary>One layer attribute as written.</summary>
/// <param name="Kind">The layer kind, <see cref="LayerKind.Unknown"/> when the attribute could not be read.</param>
/// <param name="AttributeName">The attribute as the user wrote it (for messages), e.g. "Dense".</param>
/// <param name="Sizes">Integer arguments: the Input shape, or Dense's units.</param>
/// <param name="Alpha">LeakyReLU's slope.</param>
/// <param name="Bias">Whether a Dense layer has a bias.</param>
/// <param name="TrainBias">Whether that bias is learned.</param>
internal sealed record LayerSpec(
    LayerKind Kind,
    string AttributeName,
    EquatableArray<int> Sizes,
    double Alpha,
    bool Bias,
    bool TrainBias);
// No source positions are kept: an edit above a network would shift them and defeat caching. The analyzers map a
// problem's layer index back to the attribute themselves.

/// <summary>A network declaration: the class it sits on and its layers in attribute order.</summary>
/// <param name="Namespace">The containing namespace, null for the global namespace.</param>
/// <param name="ClassName">The class name.</param>
/// <param name="ContainingTypes">Declarations of enclosing types, outermost first, e.g. "partial class Outer".</param>
/// <param name="FileName">A hint-name-safe full name for the generated file.</param>
/// <param name="Loss">The training loss.</param>
/// <param name="IsDouble">Precision.Double.</param>
/// <param name="UnrollThreshold">Multiply-adds per sample at or below which a layer is emitted as straight-line code.</param>
/// <param name="Layers">Layers in order, Input first if the user wrote it first.</param>
/// <param name="ClassProblem">Why code cannot be emitted for this class at all (not partial, static, generic …), else null.</param>
internal sealed record NetworkSpec(
    string? Namespace,
    string ClassName,
    EquatableArray<string> ContainingTypes,
    string FileName,
    LossKind Loss,
    bool IsDouble,
    int UnrollThreshold,
    EquatableArray<LayerSpec> Layers,
    string? ClassProblem);
