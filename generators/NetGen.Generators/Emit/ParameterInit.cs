using System.Globalization;
using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// The constructor's initialisation of a layer's tensors, written from each slot's declared <see cref="SlotInit"/>:
/// no emitter writes its own. Slots are drawn in buffer order (consecutive slots with the same uniform range in one
/// call, which draws the same numbers as one call per slot); zeros write nothing (the buffers start cleared).
/// </summary>
internal static class ParameterInit
{
    public static void Write(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        var slots = layer.Parameters.Select(p => (Placed: p, Buffer: "_p")).Concat(layer.States.Select(s => (Placed: s, Buffer: "_s"))).ToList();
        for (int k = 0; k < slots.Count; k++)
        {
            var (slot, buffer) = slots[k];
            string name = layer.PascalName;
            switch (slot.Slot.Init)
            {
                case SlotInit.Fill { Value: 0 }:
                    break;
                case SlotInit.Fill fill:
                    w.Line($"{buffer}.AsSpan({slot.Offset}, {slot.Count}).Fill({c.Lit(fill.Value)});   // {name}{slot.Name} = {Expr.ExplainLiteral(fill.Value)}");
                    break;
                case SlotInit.Normal:
                    w.Line($"for (int k = 0; k < {slot.Count}; k++) {buffer}[{slot.Offset} + k] = ({c.T})random.NextGaussian();   // {name}: N(0, 1), PyTorch's");
                    break;
                case SlotInit.InverseSqrtUniform u:
                    int count = slot.Count;
                    while (k + 1 < slots.Count && slots[k + 1].Buffer == buffer && slots[k + 1].Placed.Slot.Init == u) count += slots[++k].Placed.Count;
                    string units = u.Units.ToString(CultureInfo.InvariantCulture);
                    w.Line($"global::NetGen.Init.Uniform<{c.T}>({buffer}.AsSpan({slot.Offset}, {count}), 1.0 / global::System.Math.Sqrt({units}), random);   // {name}: uniform ±1/√{units} (PyTorch's)");
                    break;
                case SlotInit.Fans fans:
                    var next = NextActivation(c.Plan, layer);
                    bool he = next?.Definition is ActivationLayer { HeInit: true };
                    string span = $"{buffer}.AsSpan({slot.Offset}, {slot.Count})", after = next?.Kind.ToString() ?? "Identity";
                    w.Line(he
                        ? $"global::NetGen.Init.HeUniform<{c.T}>({span}, fanIn: {fans.FanIn}, random);   // {name}: He, followed by {after}"
                        : $"global::NetGen.Init.GlorotUniform<{c.T}>({span}, fanIn: {fans.FanIn}, fanOut: {fans.FanOut}, random);   // {name}: Glorot, followed by {after}");
                    break;
            }
        }
    }

    /// <summary>The activation that follows the layer through BatchNorm, Dropout and pooling, or null (another layer, or the end).</summary>
    private static LayerPlan? NextActivation(NetworkPlan plan, LayerPlan layer)
    {
        for (int k = layer.Index + 1; k < plan.Layers.Length; k++)
        {
            var next = plan.Layers[k];
            if (next.Kind is LayerKind.BatchNorm or LayerKind.Dropout or LayerKind.MaxPool or LayerKind.AvgPool) continue;
            return next.IsActivation ? next : null;
        }
        return null;
    }
}
