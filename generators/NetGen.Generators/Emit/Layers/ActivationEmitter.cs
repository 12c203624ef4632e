using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Element-wise activations over every value of the batch, whatever the tensor's shape.
///   Step      y = x ≥ 0 ? 1 : 0        ∂E/∂x = ∂E/∂y (straight-through: the true derivative is 0 almost everywhere)
///   Sigmoid   y = 1 / (1 + e^−x)       ∂E/∂x = ∂E/∂y · y(1 − y)
///   Tanh      y = tanh x               ∂E/∂x = ∂E/∂y · (1 − y²)
///   ReLU      y = max(0, x)            ∂E/∂x = x > 0 ? ∂E/∂y : 0
///   LeakyReLU y = x ≥ 0 ? x : αx       ∂E/∂x = x > 0 ? ∂E/∂y : α·∂E/∂y
///   Identity  y = x                    ∂E/∂x = ∂E/∂y
/// (At x = 0 ReLU and LeakyReLU take the left derivative, as PyTorch does.)
/// </summary>
internal sealed class ActivationEmitter : LayerEmitter
{
    public static readonly ActivationEmitter Instance = new();

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int size = layer.OutputSize;
        string x = EmitContext.A(layer.Index), y = EmitContext.A(layer.Index + 1);
        w.Line($"// Layer {layer.Index}: {layer.Kind} over {size} values per sample");
        // Vectorised library kernels for large tensors; a plain loop reads better for small ones.
        bool vector = size > c.Plan.Spec.UnrollThreshold;
        string count = $"batch * {size}";
        switch (layer.Kind)
        {
            case LayerKind.Sigmoid when vector:
                w.Line($"{c.Tp}.Sigmoid<{c.T}>({x}.AsSpan(0, {count}), {y}.AsSpan(0, {count}));");
                return;
            case LayerKind.Tanh when vector:
                w.Line($"{c.Tp}.Tanh<{c.T}>({x}.AsSpan(0, {count}), {y}.AsSpan(0, {count}));");
                return;
            case LayerKind.ReLU when vector:
                w.Line($"{c.Tp}.Max<{c.T}>({x}.AsSpan(0, {count}), {c.Lit(0)}, {y}.AsSpan(0, {count}));");
                return;
            case LayerKind.Identity:
                w.Line($"{x}.AsSpan(0, {count}).CopyTo({y});");
                return;
        }
        string body = layer.Kind switch
        {
            LayerKind.Step => $"{y}[k] = {x}[k] >= {c.Lit(0)} ? {c.Lit(1)} : {c.Lit(0)};",
            LayerKind.Sigmoid => $"{y}[k] = {c.Lit(1)} / ({c.Lit(1)} + {c.Math}.Exp(-{x}[k]));",
            LayerKind.Tanh => $"{y}[k] = {c.Math}.Tanh({x}[k]);",
            LayerKind.ReLU => $"{y}[k] = {x}[k] > {c.Lit(0)} ? {x}[k] : {c.Lit(0)};",
            LayerKind.LeakyReLU => $"{y}[k] = {x}[k] >= {c.Lit(0)} ? {x}[k] : {c.Lit(layer.Spec.Alpha)} * {x}[k];",
            _ => throw new System.NotSupportedException("No element-wise forward for " + layer.Kind),
        };
        w.Line($"for (int k = 0; k < {count}; k++) {body}");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int size = layer.OutputSize;
        string x = EmitContext.A(layer.Index), y = EmitContext.A(layer.Index + 1);
        string dy = EmitContext.D(layer.Index + 1), dx = EmitContext.D(layer.Index);
        string count = $"batch * {size}";
        string? body = layer.Kind switch
        {
            LayerKind.Sigmoid => $"{dx}[k] = {dy}[k] * {y}[k] * ({c.Lit(1)} - {y}[k]);",
            LayerKind.Tanh => $"{dx}[k] = {dy}[k] * ({c.Lit(1)} - {y}[k] * {y}[k]);",
            LayerKind.ReLU => $"{dx}[k] = {x}[k] > {c.Lit(0)} ? {dy}[k] : {c.Lit(0)};",
            LayerKind.LeakyReLU => $"{dx}[k] = {x}[k] > {c.Lit(0)} ? {dy}[k] : {c.Lit(layer.Spec.Alpha)} * {dy}[k];",
            _ => null,
        };
        string what = layer.Kind switch
        {
            LayerKind.Sigmoid => "∂E/∂x = ∂E/∂y · y(1 − y)",
            LayerKind.Tanh => "∂E/∂x = ∂E/∂y · (1 − y²)",
            LayerKind.ReLU => "∂E/∂x = x > 0 ? ∂E/∂y : 0",
            LayerKind.LeakyReLU => "∂E/∂x = x > 0 ? ∂E/∂y : α·∂E/∂y",
            LayerKind.Step => "∂E/∂x = ∂E/∂y (straight-through)",
            _ => "∂E/∂x = ∂E/∂y",
        };
        if (layer.Index == 0) w.Open("if (inputGradient)");
        w.Line($"// Layer {layer.Index}: {layer.Kind} backward: {what}");
        w.Line(body is null
            ? $"{dy}.AsSpan(0, {count}).CopyTo({dx});"
            : $"for (int k = 0; k < {count}; k++) {body}");
        if (layer.Index == 0) w.Close();
    }
}
