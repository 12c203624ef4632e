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
        if (FusedIntoConv(c, layer))
        {
            w.Line($"// Layer {layer.Index}: {layer.Kind}: computed by layer {layer.Index - 1}'s per-sample parts (fused)");
            return;
        }
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
            LayerKind.ReLU => $"{y}[k] = !({x}[k] <= {c.Lit(0)}) ? {x}[k] : {c.Lit(0)};",   // NaN stays NaN, as PyTorch's relu
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
        if (FusedIntoConv(c, layer))
        {
            w.Line($"// Layer {layer.Index}: {layer.Kind} backward: computed by layer {layer.Index - 1}'s per-sample parts (fused)");
            return;
        }
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
        string? vector = VectorBackward(c, layer.Kind, layer.Spec.Alpha);
        if (body is not null && vector is not null && size > c.Plan.Spec.UnrollThreshold)
        {
            // Large tensors: one vector of lanes at a time, then the remainder one by one (no bounds checks).
            string vec = $"global::System.Runtime.Intrinsics.Vector256", unsafeAdd = "global::System.Runtime.CompilerServices.Unsafe.Add";
            w.Open("");
            w.Line($"ref {c.T} x = ref {x}[0], y = ref {y}[0], dy = ref {dy}[0], dx = ref {dx}[0];");
            w.Line($"int count = {count}, k = 0;");
            w.Open($"for (; k + {vec}<{c.T}>.Count <= count; k += {vec}<{c.T}>.Count)");
            w.Line($"{vec}<{c.T}> xv = {vec}.LoadUnsafe(ref x, (nuint)k), yv = {vec}.LoadUnsafe(ref y, (nuint)k), dyv = {vec}.LoadUnsafe(ref dy, (nuint)k);");
            w.Line($"{vec}.StoreUnsafe({vector}, ref dx, (nuint)k);");
            w.Close();
            w.Line($"for (; k < count; k++) {body.Replace($"{dx}[k]", $"{unsafeAdd}(ref dx, k)").Replace($"{dy}[k]", $"{unsafeAdd}(ref dy, k)").Replace($"{x}[k]", $"{unsafeAdd}(ref x, k)").Replace($"{y}[k]", $"{unsafeAdd}(ref y, k)")}");
            w.Close();
        }
        else
            w.Line(body is null
                ? $"{dy}.AsSpan(0, {count}).CopyTo({dx});"
                : $"for (int k = 0; k < {count}; k++) {body}");
        if (layer.Index == 0) w.Close();
    }

    // ---- GPU (ILGPU) --------------------------------------------------------------------------------------------

    public override void GpuForward(GpuWriter g, LayerPlan layer)
    {
        string name = layer.PascalName;
        if (GpuWriter.IsFused(g.C.Plan, layer))
        {
            g.Host.Line($"// Layer {layer.Index}: {layer.Kind}: computed by layer {layer.Index - 1}'s kernel (fused)");
            return;
        }
        string field = g.Kernel(name + "Forward", $"{name} forward: y = {layer.Kind}(x) for value i",
            new[] { g.V("x"), g.V("y") }, w =>
        {
            w.Line($"{g.T} v = x[i];");
            w.Line($"y[i] = {g.Activation(layer.Kind, layer.Spec.Alpha, "v")};");
        });
        g.Host.Line($"// Layer {layer.Index}: {layer.Kind} over {layer.OutputSize} values per sample");
        g.Launch(field, $"batch * {layer.OutputSize}", GpuWriter.A(layer.Index), GpuWriter.A(layer.Index + 1));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan layer)
    {
        var c = g.C;
        string x = "x[i]", y = "y[i]", dy = "dy[i]", one = c.Lit(1), zero = c.Lit(0);
        string body = layer.Kind switch
        {
            LayerKind.Sigmoid => $"{dy} * {y} * ({one} - {y})",
            LayerKind.Tanh => $"{dy} * ({one} - {y} * {y})",
            LayerKind.ReLU => $"{x} > {zero} ? {dy} : {zero}",
            LayerKind.LeakyReLU => $"{x} > {zero} ? {dy} : {c.Lit(layer.Spec.Alpha)} * {dy}",
            _ => dy,   // Identity; Step is straight-through
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
        string field = g.Kernel(layer.PascalName + "Backward", $"{layer.PascalName} backward for value i: {what}",
            new[] { g.V("x"), g.V("y"), g.V("dy"), g.V("dx") }, w => w.Line($"dx[i] = {body};"));
        if (layer.Index == 0) g.Host.Open("if (inputGradient)");
        g.Host.Line($"// Layer {layer.Index}: {layer.Kind} backward: {what}");
        g.Launch(field, $"batch * {layer.OutputSize}", GpuWriter.A(layer.Index), GpuWriter.A(layer.Index + 1), GpuWriter.D(layer.Index + 1), GpuWriter.D(layer.Index));
        if (layer.Index == 0) g.Host.Close();
    }

    /// <summary>Whether a Conv2D layer before this one runs its passes sample by sample (Conv2DEmitter.FusedReLU).</summary>
    private static bool FusedIntoConv(EmitContext c, LayerPlan layer) =>
        layer.Index > 0 && Conv2DEmitter.FusedReLU(c, c.Plan.Layers[layer.Index - 1]) == layer;

    /// <summary>The backward pass on vectors xv (input), yv (output), dyv (∂E/∂y), or null.</summary>
    private static string? VectorBackward(EmitContext c, LayerKind kind, double alpha)
    {
        string vec = "global::System.Runtime.Intrinsics.Vector256", zero = $"{vec}<{c.T}>.Zero", one = $"{vec}.Create({c.Lit(1)})";
        return kind switch
        {
            LayerKind.Sigmoid => $"dyv * yv * ({one} - yv)",
            LayerKind.Tanh => $"dyv * ({one} - yv * yv)",
            LayerKind.ReLU => $"{vec}.ConditionalSelect({vec}.GreaterThan(xv, {zero}), dyv, {zero})",
            LayerKind.LeakyReLU => $"{vec}.ConditionalSelect({vec}.GreaterThan(xv, {zero}), dyv, dyv * {vec}.Create({c.Lit(alpha)}))",
            _ => null,
        };
    }
}
