using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>Layer kinds the DSL knows. Each has exactly one <see cref="LayerDefinition"/> in <see cref="LayerCatalog"/>.</summary>
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
    Reshape,
    Upsample2D,
    Conv2DTranspose,
    Sampling,
    ELU,
    SimpleRNN,
    GRU,
    LSTM,
    Embedding,
    SiLU,
}

/// <summary>
/// The layer catalog: one <see cref="LayerDefinition"/> per kind, the only place a kind is listed. The parser finds a
/// kind by its attribute name here, shape inference runs its rule, the plan places its parameter slots, Summary and
/// the generated <c>Layers</c> read its title and options, and <c>LayerEmitter.For</c> is its emitter. The switch has
/// no default arm: a kind without a definition does not compile (CS8509 is an error here).
/// <para>Options each kind reports in <c>LayerInfo.Options</c> (attribute property names, resolved values; flags 0/1):</para>
/// <list type="table">
/// <item><term>Dense</term><description>Units, Bias, TrainBias, L1, L2</description></item>
/// <item><term>Conv2D</term><description>Filters, KernelHeight, KernelWidth, Stride, PadHeight, PadWidth, RoundDown, Bias, TrainBias, L1, L2 (PadHeight/PadWidth are the padding after Padding.Same is resolved)</description></item>
/// <item><term>MaxPool, AvgPool</term><description>Size, KernelHeight, KernelWidth, Stride (resolved: the size when 0), PadHeight, PadWidth (0), RoundDown</description></item>
/// <item><term>BatchNorm</term><description>Momentum, Epsilon</description></item>
/// <item><term>Dropout</term><description>Rate</description></item>
/// <item><term>LeakyReLU, ELU</term><description>Alpha</description></item>
/// <item><term>SimpleRNN, GRU, LSTM</term><description>Units, ReturnSequences, Bidirectional, Activation (SimpleRNN: 0 tanh, 1 ReLU)</description></item>
/// <item><term>Embedding</term><description>Vocabulary, Dimension</description></item>
/// <item><term>Step, Sigmoid, Tanh, ReLU, SiLU, Softmax, Identity, Flatten</term><description>none</description></item>
/// <item><term>Reshape</term><description>none (the shape is the output layout)</description></item>
/// <item><term>Upsample2D</term><description>Factor, Mode (0 nearest, 1 bilinear)</description></item>
/// <item><term>Conv2DTranspose</term><description>Filters, KernelHeight, KernelWidth, Stride, PadHeight, PadWidth, OutputPaddingHeight, OutputPaddingWidth, Bias (paddings resolved from Padding.Same or OutputSize)</description></item>
/// <item><term>Sampling</term><description>Beta</description></item>
/// </list>
/// </summary>
internal static class LayerCatalog
{
    // One line per kind: the definition file (options, shape rule, slots) and, in it, the emitter, GPU support, ONNX.
#pragma warning disable CS8524   // an unnamed enum value is a bug; every named one must have an arm (CS8509 stays an error)
    public static LayerDefinition Of(LayerKind kind) => kind switch
    {
        LayerKind.Input => InputLayer.Instance,
        LayerKind.Dense => DenseLayer.Instance,
        LayerKind.Step => ActivationLayer.Step,
        LayerKind.Sigmoid => ActivationLayer.Sigmoid,
        LayerKind.Tanh => ActivationLayer.Tanh,
        LayerKind.ReLU => ActivationLayer.ReLU,
        LayerKind.LeakyReLU => ActivationLayer.LeakyReLU,
        LayerKind.Identity => ActivationLayer.Identity,
        LayerKind.Softmax => SoftmaxLayer.Instance,
        LayerKind.Conv2D => Conv2DLayer.Instance,
        LayerKind.MaxPool => PoolLayer.Max,
        LayerKind.AvgPool => PoolLayer.Average,
        LayerKind.Flatten => FlattenLayer.Instance,
        LayerKind.BatchNorm => BatchNormLayer.Instance,
        LayerKind.Dropout => DropoutLayer.Instance,
        LayerKind.Reshape => ReshapeLayer.Instance,
        LayerKind.Upsample2D => Upsample2DLayer.Instance,
        LayerKind.Conv2DTranspose => Conv2DTransposeLayer.Instance,
        LayerKind.Sampling => SamplingLayer.Instance,
        LayerKind.ELU => ActivationLayer.ELU,
        LayerKind.SimpleRNN => SimpleRnnLayer.Instance,
        LayerKind.GRU => GruLayer.Instance,
        LayerKind.LSTM => LstmLayer.Instance,
        LayerKind.Embedding => EmbeddingLayer.Instance,
        LayerKind.SiLU => ActivationLayer.SiLU,
        LayerKind.Unknown => throw new InvalidOperationException("A layer that could not be read has no definition; shape inference reports it (NG0005) before anything asks."),
    };
#pragma warning restore CS8524

    /// <summary>Every definition, in <see cref="LayerKind"/> order.</summary>
    public static readonly ImmutableArray<LayerDefinition> All = Enum.GetValues(typeof(LayerKind)).Cast<LayerKind>()
        .Where(k => k != LayerKind.Unknown).Select(Of).ToImmutableArray();

    private static readonly Dictionary<string, LayerDefinition> ByAttribute = All.ToDictionary(d => d.AttributeName, StringComparer.Ordinal);

    /// <summary>The definition of an attribute as written ("Dense" for <c>DenseAttribute</c>), or null.</summary>
    public static LayerDefinition? ForAttribute(string name) => ByAttribute.TryGetValue(name, out var d) ? d : null;
}

/// <summary>A layer kind's options, read from its own attribute type (<c>src/NetGen/Attributes.cs</c>, compiled into
/// the generator: the defaults are the attribute's). Records, so a spec compares by value.</summary>
internal abstract record LayerOptions;

/// <summary>A kind with no options (activations, Flatten), or a layer that could not be read.</summary>
internal sealed record NoOptions : LayerOptions
{
    public static readonly NoOptions Instance = new();
}

/// <summary>Options of a layer with weights that can carry L1/L2 penalties.</summary>
internal interface IWeightPenalties
{
    double L1 { get; }

    double L2 { get; }
}

/// <summary>How a parameter slot starts: the only place a layer states its initialisation (the constructor's code is
/// written from it, <c>ParameterInit</c>).</summary>
internal abstract record SlotInit
{
    /// <summary>All 0 (the buffers start cleared: nothing is written).</summary>
    public static readonly SlotInit Zeros = new Fill(0);

    /// <summary>All 1 (BatchNorm's γ and running variance).</summary>
    public static readonly SlotInit Ones = new Fill(1);

    /// <summary>N(0, 1) (PyTorch's nn.Embedding).</summary>
    public static readonly SlotInit StandardNormal = new Normal();

    /// <summary>Glorot uniform U(±√(6/(fanIn + fanOut))), or He uniform U(±√(6/fanIn)) when an activation that asks for
    /// it (<c>ActivationLayer.HeInit</c>: ReLU, LeakyReLU) follows the layer through BatchNorm/Dropout/pooling.</summary>
    public static SlotInit GlorotOrHe(int fanIn, int fanOut) => new Fans(fanIn, fanOut);

    /// <summary>U(±1/√<paramref name="units"/>) (PyTorch's recurrent layers).</summary>
    public static SlotInit UniformInverseSqrt(int units) => new InverseSqrtUniform(units);

    internal sealed record Fill(double Value) : SlotInit;

    internal sealed record Normal : SlotInit;

    internal sealed record Fans(int FanIn, int FanOut) : SlotInit;

    internal sealed record InverseSqrtUniform(int Units) : SlotInit;
}

/// <summary>One named tensor a layer declares: its view is <c>{LayerName}{Name}</c>, it sits in Parameters (trainable
/// or held) or in State, and offsets, <c>Tensors</c>, the named views, checkpoint names and held-bias handling all
/// derive from the list of slots.</summary>
/// <param name="Name">The suffix of the view, e.g. "Weights", "Bias", "Gamma", "RunningMean".</param>
/// <param name="Shape">Row-major shape (PyTorch's layouts).</param>
/// <param name="Init">How the constructor fills it.</param>
/// <param name="Trainable">Whether an optimiser moves it (false: a held bias, or state).</param>
/// <param name="State">In <c>State</c> (non-trainable statistics) rather than <c>Parameters</c>.</param>
/// <param name="Description">The view's summary after the layer name, e.g. "bias, 10 values."</param>
internal sealed record ParameterSlot(string Name, ImmutableArray<int> Shape, SlotInit Init, bool Trainable, bool State, string Description)
{
    public int Count => Shapes.Size(Shape);
}

/// <summary>A slot placed in its buffer.</summary>
internal sealed record PlacedSlot(ParameterSlot Slot, int Offset)
{
    public string Name => Slot.Name;

    public int Count => Slot.Count;
}

/// <summary>What a shape rule sees: the layer as declared, where it sits, and the layout coming in. It reports
/// problems into <see cref="Found"/> and may set the window of a convolution or pooling.</summary>
internal sealed class LayerRule
{
    public LayerRule(NetworkSpec network, int index, Layout input, List<ShapeProblem> found)
    {
        Network = network;
        Index = index;
        Input = input;
        Found = found;
    }

    public NetworkSpec Network { get; }

    public LayerSpec Layer => Network.Layers[Index];

    /// <summary>Index into <see cref="NetworkSpec.Layers"/> (problems are reported against it).</summary>
    public int Index { get; }

    public Layout Input { get; }

    public List<ShapeProblem> Found { get; }

    /// <summary>Kernel or window (height, width), stride and resolved padding, for Conv2D and pooling.</summary>
    public (int KH, int KW, int Stride, int PH, int PW) Window { get; set; }

    public void Report(DiagnosticDescriptor descriptor, string message, string? argument = null) =>
        Found.Add(new ShapeProblem(descriptor, message, Index) { Argument = argument });
}

/// <summary>One layer kind, everything about it that is not its generated code: its attribute and how its options are
/// read, its shape rule over layouts, its parameter slots, its emitter, GPU support and ONNX operator.</summary>
internal abstract class LayerDefinition
{
    protected LayerDefinition(LayerKind kind, string snakeName, string? onnxOperator, bool gpu = true)
    {
        Kind = kind;
        SnakeName = snakeName;
        OnnxOperator = onnxOperator;
        Gpu = gpu;
    }

    public LayerKind Kind { get; }

    /// <summary>The attribute as written, without "Attribute": "Dense".</summary>
    public string AttributeName => Kind.ToString();

    /// <summary>The Keras-style name in Summary ("dense", "conv2d", "re_lu").</summary>
    public string SnakeName { get; }

    /// <summary>The ONNX operator the layer exports as, among the nodes the exporter writes for it (Step: GreaterOrEqual,
    /// then a Cast; Sampling: Slice, z = μ); null: no node (Dropout is the identity in inference; Input). NetGen.Onnx's own mapping
    /// list is tied to this by OnnxCatalogTests (NetGen.Deploy.Tests).</summary>
    public string? OnnxOperator { get; }

    /// <summary>Whether the GPU backend has kernels for it (every kind so far).</summary>
    public bool Gpu { get; }

    /// <summary>An element-wise activation (the loss and ordering rules treat these alike).</summary>
    public virtual bool IsActivation => false;

    /// <summary>The layer's forward/backward code.</summary>
    public abstract LayerEmitter Emitter { get; }

    /// <summary>Reads the layer's options from its attribute, or null when the attribute is not the one this kind
    /// expects (a user attribute of the same name, a NetGen of another version).</summary>
    public abstract LayerOptions? Read(AttributeData attribute);

    /// <summary>The shape rule: the output layout for the input layout, reporting what is wrong.</summary>
    public abstract Layout Infer(LayerRule rule);

    /// <summary>The layer's named tensors, in buffer order (parameters first, then state).</summary>
    public virtual IEnumerable<ParameterSlot> Slots(LayerPlan layer) => Enumerable.Empty<ParameterSlot>();

    /// <summary>Whether the views list every parameter before their gradients (BatchNorm's γ, β, ∂γ, ∂β) instead of
    /// each tensor followed by its gradient.</summary>
    public virtual bool GradientViewsLast => false;

    /// <summary>The resolved options for <c>LayerInfo.Options</c>, by attribute property name.</summary>
    public virtual IEnumerable<(string Name, double Value)> Info(LayerPlan layer) => Enumerable.Empty<(string, double)>();

    /// <summary>The "(type)" column of Summary.</summary>
    public virtual string Title(LayerPlan layer) => AttributeName;

    protected static double Flag(bool value) => value ? 1 : 0;
}

/// <summary>A definition whose options come from attribute type <typeparamref name="TAttribute"/>.</summary>
internal abstract class LayerDefinition<TAttribute> : LayerDefinition where TAttribute : Attribute
{
    protected LayerDefinition(LayerKind kind, string snakeName, string? onnxOperator, bool gpu = true) : base(kind, snakeName, onnxOperator, gpu)
    {
    }

    public sealed override LayerOptions? Read(AttributeData attribute) =>
        AttributeReader.Create<TAttribute>(attribute) is { } a ? Options(a) : null;

    /// <summary>The options of the attribute object the declaration builds (defaults are the attribute class's).</summary>
    protected abstract LayerOptions Options(TAttribute attribute);
}
