using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Flatten: (C, H, W) read as C·H·W values. NCHW is already flat in memory, so the layer's output buffer is its
/// input buffer (and the same for the gradient): the network emitter aliases them and no code runs.
/// </summary>
internal sealed class FlattenEmitter : LayerEmitter
{
    public static readonly FlattenEmitter Instance = new();

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"// Layer {layer.Index}: Flatten {Shapes.FormatShape(layer.InputShape)} → {Shapes.FormatShape(layer.OutputShape)}: a view, {EmitContext.A(layer.Index + 1)} is {EmitContext.A(layer.Index)}");

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"// Layer {layer.Index}: Flatten backward: nothing to do, {EmitContext.D(layer.Index)} is {EmitContext.D(layer.Index + 1)}");

    public override void GpuForward(GpuWriter g, LayerPlan layer)
        => g.Host.Line($"// Layer {layer.Index}: Flatten: a view, no kernel (_a{layer.Index + 1} is _a{layer.Index})");

    public override void GpuBackward(GpuWriter g, LayerPlan layer)
        => g.Host.Line($"// Layer {layer.Index}: Flatten backward: nothing to do (_d{layer.Index} is _d{layer.Index + 1})");
}
