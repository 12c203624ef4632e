using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace NetGen.Generators;

/// <summary>Every NetGen diagnostic: a stable ID, a title, a severity and a help link into docs/diagnostics.md. Messages
/// come from the rules themselves (shape inference and the declaration checks) and carry the numbers. Compiled into the
/// generator and the analyzers from this one file: a rule names its descriptor object (<c>Descriptors.DoesNotTile</c>),
/// never an ID string, so an unknown ID cannot compile and the analyzer reports exactly the descriptor the rule chose.</summary>
internal static class Descriptors
{
    /// <summary>Where each ID is documented: docs/diagnostics.md, one section per ID (anchor = lower-case ID).</summary>
    public const string HelpBase = "docs/diagnostics.md#";

    /// <summary>The category of every NetGen diagnostic.</summary>
    public const string Category = "NetGen";

    private static DiagnosticDescriptor D(string id, string title, DiagnosticSeverity severity) =>
        new(id, title, "{0}", Category, severity, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());

    // ---- The input and sizes ---------------------------------------------------------------------------------------
#pragma warning disable CS1591   // each descriptor's documentation is its title and docs/diagnostics.md
    public static readonly DiagnosticDescriptor NoInput = D("NG0001", "Network has no [Input]", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor RepeatedInput = D("NG0002", "[Input] appears more than once", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor InputNotFirst = D("NG0003", "[Input] is not the first layer", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor BadSize = D("NG0004", "Size is not positive or is absurdly large", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor CannotHonour = D("NG0005", "Argument NetGen cannot honour", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor NoLayers = D("NG0006", "Network has no layers", DiagnosticSeverity.Error);

    // ---- Shapes ----------------------------------------------------------------------------------------------------
    public static readonly DiagnosticDescriptor DenseNeedsFlatten = D("NG0010", "Dense layer fed a multi-dimensional tensor without [Flatten]", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor WrongRank = D("NG0011", "Layer fed a tensor of the wrong rank", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor WindowTooLarge = D("NG0012", "Window larger than the padded input", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor SameNotSymmetric = D("NG0013", "Padding.Same cannot be split equally between the borders", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor DoesNotTile = D("NG0014", "Window, stride and padding do not tile the input", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor PaddingNotSmaller = D("NG0015", "Padding not smaller than the kernel", DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor StrideSkips = D("NG0016", "Stride larger than the window", DiagnosticSeverity.Warning);

    // ---- Activations and the loss -----------------------------------------------------------------------------------
    public static readonly DiagnosticDescriptor SoftmaxNotLast = D("NG0020", "Softmax is not the last layer", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor TwoActivations = D("NG0021", "Two activations in a row", DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor ActivationFirst = D("NG0022", "Activation before any layer", DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor FusedCrossEntropy = D("NG0023", "Cross-entropy without Softmax: the fused form is used", DiagnosticSeverity.Info);
    public static readonly DiagnosticDescriptor SoftmaxLossMismatch = D("NG0024", "Softmax does not fit the loss", DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor BinaryCrossEntropyWithoutSigmoid = D("NG0025", "BinaryCrossEntropy without a final Sigmoid", DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor SoftmaxOverOneUnit = D("NG0026", "Softmax or cross-entropy over a single output", DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor CrossEntropyAfterActivation = D("NG0027", "Cross-entropy after an activation other than Softmax", DiagnosticSeverity.Warning);

    // ---- Generative layers (Reshape, Conv2DTranspose, Sampling) ------------------------------------------------------
    public static readonly DiagnosticDescriptor ReshapeSizeMismatch = D("NG0060", "Reshape does not keep the number of values", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor OutputPaddingNotBelowStride = D("NG0061", "Conv2DTranspose output padding not smaller than the stride", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor TransposedOutputUnreachable = D("NG0062", "Conv2DTranspose output size that no padding gives", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor SamplingNeedsEvenVector = D("NG0063", "Sampling fed something other than a vector of 2·L values", DiagnosticSeverity.Error);

    // ---- Detection heads ([Network(Head = …)]) ------------------------------------------------------------------------
    public static readonly DiagnosticDescriptor DetectionHeadSizes = D("NG0070", "Detection head without boxes per cell or classes", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor DetectionHeadNotAMap = D("NG0071", "Detection head does not end in a (channels, grid, grid) map", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor DetectionHeadChannels = D("NG0072", "Detection head's channels are not boxes per cell × (5 + classes)", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor DetectionGridMismatch = D("NG0073", "Detection head's map does not fit the declared grid", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor DetectionHeadActivation = D("NG0074", "Detection head ends in an activation", DiagnosticSeverity.Warning);

    // ---- Sequences ---------------------------------------------------------------------------------------------------
    public static readonly DiagnosticDescriptor RecurrentNeedsSequence = D("NG0050", "Recurrent layer fed a tensor that is not a sequence", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor RecurrentReturnsLastStep = D("NG0051", "Recurrent layer feeds another without ReturnSequences", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor EmbeddingNotFirst = D("NG0052", "Embedding is not the first layer after [Input(T)]", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor PerStepTargetMismatch = D("NG0056", "Per-step loss whose targets cannot match one value per step", DiagnosticSeverity.Warning);

    // ---- The declaration --------------------------------------------------------------------------------------------
    public static readonly DiagnosticDescriptor NotPartial = D("NG0030", "Network class is not partial", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor Static = D("NG0031", "Network class is static", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor Generic = D("NG0032", "Network class is generic", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor NestedInGeneric = D("NG0033", "Network class is nested in a generic type", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor NotAClass = D("NG0034", "Network is not a class", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor LayersOnSeveralDeclarations = D("NG0035", "Layer attributes on more than one partial declaration", DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor LayersWithoutNetwork = D("NG0036", "Layer attributes on a class without [Network]", DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor ClashesWithGeneratedCode = D("NG0037", "The class clashes with the code NetGen generates", DiagnosticSeverity.Error);

    // ---- Generated code size (Model/CodeBudget.cs) -------------------------------------------------------------------
    public static readonly DiagnosticDescriptor UnrollingCapped = D("NG0048", "Unrolling capped by the network's code budget", DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor ExplainNotGenerated = D("NG0049", "Explain not generated: the network is too large to print", DiagnosticSeverity.Warning);

    // ---- NetGen itself -----------------------------------------------------------------------------------------------
    /// <summary>NG9999: the generator threw (a NetGen bug); reported by the generator, never by the analyzers.</summary>
    public static readonly DiagnosticDescriptor InternalError = new(
        id: "NG9999",
        title: "NetGen generator internal error",
        messageFormat: "NetGen failed to generate {0}: {1}. This is a bug in NetGen; please report it with the declaration.",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);
#pragma warning restore CS1591

    /// <summary>Every descriptor the analyzers report (all but <see cref="InternalError"/>), in ID order.</summary>
    public static readonly ImmutableArray<DiagnosticDescriptor> All = typeof(Descriptors).GetFields()
        .Where(f => f.FieldType == typeof(DiagnosticDescriptor) && f.Name != nameof(InternalError))
        .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
        .OrderBy(d => d.Id, System.StringComparer.Ordinal)
        .ToImmutableArray();
}
