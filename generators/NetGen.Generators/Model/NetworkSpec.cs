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
    Conv2D,
    MaxPool,
    AvgPool,
    Flatten,
    BatchNorm,
    Dropout,
    SimpleRNN,
    GRU,
    LSTM,
    Embedding,
}

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
}

/// <summary>One layer attribute as written. Values the user did not set keep the attribute's defaults.</summary>
/// <param name="Kind">The layer kind, <see cref="LayerKind.Unknown"/> when the attribute could not be read.</param>
/// <param name="AttributeName">The attribute as the user wrote it (for messages), e.g. "Dense".</param>
/// <param name="Sizes">Integer constructor arguments: the Input shape, Dense's units, Conv2D's filters, a pool's size.</param>
internal sealed record LayerSpec(LayerKind Kind, string AttributeName, EquatableArray<int> Sizes)
{
    /// <summary>LeakyReLU's slope.</summary>
    public double Alpha { get; init; } = 0.01;

    /// <summary>Whether a Dense/Conv2D layer has a bias.</summary>
    public bool Bias { get; init; } = true;

    /// <summary>Whether that bias is learned.</summary>
    public bool TrainBias { get; init; } = true;

    /// <summary>Conv2D's square kernel size; KernelHeight/KernelWidth override it when positive.</summary>
    public int Kernel { get; init; } = 3;

    public int KernelHeight { get; init; }

    public int KernelWidth { get; init; }

    /// <summary>Conv2D's stride (default 1); a pool's stride (0 = its size).</summary>
    public int Stride { get; init; }

    /// <summary>Conv2D's padding: a number, or −1 for Same.</summary>
    public int Padding { get; init; }

    /// <summary>Floor a window that does not tile instead of rejecting it.</summary>
    public bool RoundDown { get; init; }

    /// <summary>Dropout's rate.</summary>
    public double Rate { get; init; }

    /// <summary>BatchNorm's momentum and ε.</summary>
    public double Momentum { get; init; } = 0.1;

    public double Epsilon { get; init; } = 1e-5;

    /// <summary>L1 and L2 penalties on the layer's weights.</summary>
    public double L1 { get; init; }

    public double L2 { get; init; }

    /// <summary>A recurrent layer outputs every step (T, H) instead of the last step's state (H).</summary>
    public bool ReturnSequences { get; init; }

    /// <summary>A recurrent layer also runs a reverse pass and concatenates both directions.</summary>
    public bool Bidirectional { get; init; }

    /// <summary>SimpleRNN's non-linearity: NetGen.RecurrentActivation as written (0 tanh, 1 ReLU).</summary>
    public int RecurrentActivation { get; init; }
}
// No source positions are kept: an edit above a network would shift them and defeat caching. The analyzers map a
// problem's layer index back to the attribute themselves.

/// <summary>A network declaration: the class it sits on and its layers in attribute order.</summary>
/// <param name="Namespace">The containing namespace as written in C# (keywords escaped), null for the global namespace.</param>
/// <param name="ClassName">The class name, unescaped (see <c>NetworkParser.Escape</c> for code).</param>
/// <param name="ContainingTypes">Declarations of enclosing types, outermost first, e.g. "partial class Outer".</param>
/// <param name="FileName">A hint-name-safe full name for the generated file.</param>
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
    string? ClassProblem)
{
    public bool IsDouble => Precision == 1;
}
