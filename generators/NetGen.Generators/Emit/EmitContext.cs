using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>What every layer emitter needs to know about the network it writes into.</summary>
internal sealed class EmitContext
{
    public EmitContext(NetworkPlan plan)
    {
        Plan = plan;
        Names = plan.Explainable ? new LectureNames(plan) : null;
    }

    public NetworkPlan Plan { get; }

    /// <summary>The lecture's names (i1, h1, o1, w1 …) for small networks, else null.</summary>
    public LectureNames? Names { get; }

    /// <summary>The element type keyword: float or double.</summary>
    public string T => Plan.ElementType;

    /// <summary>Math or MathF, matching the element type.</summary>
    public string Math => Plan.Spec.IsDouble ? "global::System.Math" : "global::System.MathF";

    public string Tp => "global::System.Numerics.Tensors.TensorPrimitives";

    public string Lit(double value) => CodeWriter.Literal(value, Plan.Spec.IsDouble);

    /// <summary>Activation buffer k: a0 is the input, a{i+1} the output of layer i.</summary>
    public static string A(int k) => "_a" + k;

    /// <summary>Delta buffer k: ∂E/∂a{k}.</summary>
    public static string D(int k) => "_d" + k;

    /// <summary>The register-block methods the layers' kernels call (dot or broadcast, rows, columns or vectors),
    /// collected while the kernels are written and written once after them.</summary>
    public System.Collections.Generic.HashSet<(bool Dot, int Rows, int Width)> KernelBlocks { get; } = new();

    /// <summary>The same for the kernels' Vector512 twins (GemmEmitter).</summary>
    public System.Collections.Generic.HashSet<(bool Dot, int Rows, int Width)> KernelBlocks512 { get; } = new();

    /// <summary>Whether a Vector512 twin packs transposed panels (GemmEmitter writes its Transpose16 helper then).</summary>
    public bool Transposes { get; set; }

    public bool IsUnrolled(LayerPlan layer) => Shapes.IsUnrolled(Plan, layer);

    /// <summary>Whether a layer keeps copies derived from its weights between inference passes: a Dense layer's packed
    /// panels (<see cref="Layers.DenseEmitter.CachesPanels"/>), a recurrent layer's packed W_hh and transposed W_ih
    /// (<c>RecurrentLayer.Forward</c>'s weightsVersion). The network then counts writes to its parameters in
    /// <c>_weightsVersion</c> (the Parameters getter, the weight views, TrainStep).</summary>
    public bool CachesPanels => Plan.Layers.Any(l => Layers.LayerEmitter.For(l) is Layers.DenseEmitter && Layers.DenseEmitter.CachesPanels(this, l)
                                                     || Layers.LayerEmitter.For(l) is Layers.RecurrentEmitter);

    /// <summary>The expression that marks the parameters as possibly written (see <see cref="CachesPanels"/>).</summary>
    public const string TouchWeights = "_weightsVersion[0]++;";

    /// <summary>Whether TrainStep can fuse a plain-SGD update into the backward pass: the network has parameters,
    /// every layer that has any can apply the step where it computes the gradient
    /// (<see cref="Layers.LayerEmitter.CanDescend"/>: Dense computed by kernels, Conv2D), and no layer has an L1/L2
    /// penalty (whose gradient is added to the whole gradient buffer afterwards).</summary>
    public bool FusedSgd =>
        Plan.Layers.Any(l => l.ParameterCount > 0)
        && Plan.Layers.All(l => l.ParameterCount == 0 || Layers.LayerEmitter.For(l).CanDescend(this, l))
        && Plan.Layers.All(l => l.L1 == 0 && l.L2 == 0);
}
