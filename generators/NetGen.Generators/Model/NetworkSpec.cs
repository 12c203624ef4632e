namespace NetGen.Generators.Model;

// The parser's output: what the user declared, as plain values. Never an ISymbol, SyntaxNode or Compilation, so the
// incremental pipeline can compare two runs and skip emitting when nothing about a network changed.

/// <summary>Mirrors <c>NetGen.LossFunction</c> (same numeric values).</summary>
internal enum LossKind
{
    HalfSquaredError,
    MeanSquaredError,
    CrossEntropy,
    BinaryCrossEntropy,
    MeanAbsoluteError,
    SumSquaredError,
    SumAbsoluteError,
    MulticlassHinge,
    MulticlassSquaredHinge,
    BinaryCrossEntropySummed,
}

/// <summary>One layer attribute as written: its kind and its options, read from its own attribute type (see
/// <see cref="LayerCatalog"/>); values the user did not set are the attribute class's defaults.</summary>
/// <param name="Kind">The layer kind, <see cref="LayerKind.Unknown"/> when the attribute could not be read.</param>
/// <param name="AttributeName">The attribute as the user wrote it (for messages), e.g. "Dense".</param>
/// <param name="Options">The kind's option record (<see cref="DenseOptions"/> …); <see cref="NoOptions"/> for none.</param>
internal sealed record LayerSpec(LayerKind Kind, string AttributeName, LayerOptions Options)
{
    public LayerDefinition Definition => LayerCatalog.Of(Kind);

    /// <summary>The L1/L2 penalties on the layer's weights (0 for kinds without weights).</summary>
    public double L1 => Options is IWeightPenalties p ? p.L1 : 0;

    public double L2 => Options is IWeightPenalties p ? p.L2 : 0;
}

/// <summary>Why no code can be emitted onto a class at all (NG0030–NG0034), with the descriptor the analyzers report.</summary>
internal sealed record ClassProblem(Microsoft.CodeAnalysis.DiagnosticDescriptor Descriptor, string Message)
{
    public override string ToString() => Descriptor.Id + ": " + Message;
}

// No source positions are kept: an edit above a network would shift them and defeat caching. The analyzers map a
// problem's layer index back to the attribute themselves.

/// <summary>A network declaration: the class it sits on and its layers in attribute order.</summary>
/// <param name="Namespace">The containing namespace as written in C# (keywords escaped), null for the global namespace.</param>
/// <param name="ClassName">The class name, unescaped (see <c>NetworkParser.Escape</c> for code).</param>
/// <param name="ContainingTypes">Declarations of enclosing types, outermost first, e.g. "partial class Outer".</param>
/// <param name="FileName">The class's full metadata name (<c>App.Models.Outer+Net</c>), from which the generated file's hint name is made.</param>
/// <param name="Loss">The training loss.</param>
/// <param name="Precision">NetGen.Precision as written (0 single, 1 double; anything else is reported).</param>
/// <param name="UnrollThreshold">Multiply-adds per sample at or below which a layer is emitted as straight-line code.</param>
/// <param name="Layers">Layers in order, Input first if the user wrote it first.</param>
/// <param name="ClassProblem">Why code cannot be emitted for this class at all (not partial, static, generic …), else null.</param>
internal sealed record NetworkSpec(
    string? Namespace,
    string ClassName,
    EquatableArray<string> ContainingTypes,
    string FileName,
    LossKind Loss,
    int Precision,
    int UnrollThreshold,
    EquatableArray<LayerSpec> Layers,
    ClassProblem? ClassProblem)
{
    public bool IsDouble => Precision == 1;

    /// <summary>The declared detection head (NetworkAttribute.Head and its sizes), or null for none.</summary>
    public DetectionHeadSpec? Head { get; init; }
}

/// <summary>[Network(Head = DetectionHead.Yolo, BoxesPerCell = 2, Classes = 10, Grid = 8)] as plain values
/// (Kind mirrors NetGen.DetectionHead: 1 Yolo, 2 Ssd).</summary>
internal sealed record DetectionHeadSpec(int Kind, int BoxesPerCell, int Classes, int Grid);
