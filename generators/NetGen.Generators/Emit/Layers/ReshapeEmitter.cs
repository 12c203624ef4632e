using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Reshape: the same values read with another shape, e.g. a Dense layer's 6,272 units as (128, 7, 7). NCHW is flat in
/// memory, so, as for Flatten, the layer's output buffer is its input buffer (and the same for the gradient): the
/// network emitters (CPU and GPU) alias them and no code runs.
/// </summary>
internal sealed class ReshapeEmitter : LayerEmitter
{
    public static readonly ReshapeEmitter Instance = new();

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"// Layer {layer.Index}: {layer.PascalName} {Shapes.FormatShape(layer.InputShape)} → {Shapes.FormatShape(layer.OutputShape)}: a view, {EmitContext.A(layer.Index + 1)} is {EmitContext.A(layer.Index)}");

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"// Layer {layer.Index}: {layer.PascalName} backward: nothing to do, {EmitContext.D(layer.Index)} is {EmitContext.D(layer.Index + 1)}");

    public override void GpuForward(GpuWriter g, LayerPlan layer)
        => g.Host.Line($"// Layer {layer.Index}: {layer.PascalName} {Shapes.FormatShape(layer.InputShape)} → {Shapes.FormatShape(layer.OutputShape)}: a view, no kernel (_a{layer.Index + 1} is _a{layer.Index})");

    public override void GpuBackward(GpuWriter g, LayerPlan layer)
        => g.Host.Line($"// Layer {layer.Index}: {layer.PascalName} backward: nothing to do (_d{layer.Index} is _d{layer.Index + 1})");
}
