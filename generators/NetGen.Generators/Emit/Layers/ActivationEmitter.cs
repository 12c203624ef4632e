using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Element-wise activations over every value of the batch, whatever the tensor's layout. Nothing here knows a
/// particular activation: each is one <see cref="ActivationFormula"/> in its catalog definition (ActivationLayer.cs),
/// and this emitter prints it — the CPU's scalar loop, its Vector512/Vector256 backward, the TensorPrimitives forward where the
/// library has one, and the GPU kernels (the fused Dense/Conv2D kernels print the same formula through
/// <see cref="GpuWriter.Activation"/>). (At x = 0 ReLU and LeakyReLU take the left derivative, as PyTorch does.)
/// </summary>
internal sealed class ActivationEmitter : LayerEmitter
{
    public static readonly ActivationEmitter Instance = new();

    /// <summary>The formula of an activation layer.</summary>
    public static ActivationFormula Formula(LayerPlan layer) => ((ActivationLayer)layer.Definition).Formula;

    /// <summary>The formula printed as scalar C#, with x, y, dy bound to <paramref name="x"/>, <paramref name="y"/>, <paramref name="dy"/>.</summary>
    public static string Scalar(EmitContext c, Expr e, LayerPlan layer, string x, string y, string dy, bool operand = false) =>
        e.Scalar(v => v switch { "x" => x, "y" => y, "dy" => dy, _ => c.Lit(layer.Alpha) }, c.Lit, c.Math, operand);

    /// <summary>The forward pass over a whole span with the formula's TensorPrimitives kernel
    /// (<see cref="ActivationFormula.Library"/>), or null when it has none.</summary>
    public static string? LibraryForward(EmitContext c, LayerPlan layer, string x, string y)
    {
        var f = Formula(layer);
        return f.Library is null ? null
            : $"{c.Tp}." + string.Format(System.Globalization.CultureInfo.InvariantCulture, f.Library, x, y, c.T, c.Lit(0));
    }

    /// <summary>The formula as Vector256 C# with x, y, dy bound to the given vector expressions (null: no vector form).</summary>
    public static string? Vector(EmitContext c, Expr e, LayerPlan layer, string x, string y, string dy, string vec = "global::System.Runtime.Intrinsics.Vector256") =>
        e.Vector(c.T, c.Lit, () => layer.Alpha, v => v switch { "x" => x, "y" => y, _ => dy }, vec);

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
        var f = Formula(layer);
        // Vectorised library kernels for large tensors; a plain loop reads better for small ones.
        bool vector = size > c.Plan.Spec.UnrollThreshold;
        string count = $"batch * {size}";
        if (f.IsIdentity)
        {
            w.Line($"{x}.AsSpan(0, {count}).CopyTo({y});");
            return;
        }
        if (vector && LibraryForward(c, layer, $"{x}.AsSpan(0, {count})", $"{y}.AsSpan(0, {count})") is { } library)
        {
            w.Line(library + ";");
            return;
        }
        string wide = "global::System.Runtime.Intrinsics.Vector512", vec = "global::System.Runtime.Intrinsics.Vector256";
        if (vector && f.Forward.IsExact && !c.Plan.Spec.IsDouble
            && f.Forward.Vector(c.T, c.Lit, () => layer.Alpha, vec: wide) is { } forward512 && f.Forward.Vector(c.T, c.Lit, () => layer.Alpha) is { } forward256)
        {
            // Large tensors without a library kernel (LeakyReLU): Vector512 where the JIT accelerates it, then Vector256, then the
            // remainder one by one; the formula uses only exactly rounded operations, so every path gives the scalar loop's bits.
            string unsafeAdd = "global::System.Runtime.CompilerServices.Unsafe.Add";
            w.Open("");
            w.Line($"ref {c.T} x = ref {x}[0], y = ref {y}[0];");
            w.Line($"int count = {count}, k = 0;");
            w.Open($"if ({wide}.IsHardwareAccelerated)");
            w.Open($"for (; k + {wide}<{c.T}>.Count <= count; k += {wide}<{c.T}>.Count)");
            w.Line($"{wide}<{c.T}> xv = {wide}.LoadUnsafe(ref x, (nuint)k);");
            w.Line($"{wide}.StoreUnsafe({forward512}, ref y, (nuint)k);");
            w.Close();
            w.Close();
            w.Open($"for (; k + {vec}<{c.T}>.Count <= count; k += {vec}<{c.T}>.Count)");
            w.Line($"{vec}<{c.T}> xv = {vec}.LoadUnsafe(ref x, (nuint)k);");
            w.Line($"{vec}.StoreUnsafe({forward256}, ref y, (nuint)k);");
            w.Close();
            w.Line($"for (; k < count; k++) {unsafeAdd}(ref y, k) = {Scalar(c, f.Forward, layer, $"{unsafeAdd}(ref x, k)", $"{unsafeAdd}(ref y, k)", "")};");
            w.Close();
            return;
        }
        w.Line($"for (int k = 0; k < {count}; k++) {y}[k] = {Scalar(c, f.Forward, layer, $"{x}[k]", $"{y}[k]", "")};");
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
        var f = Formula(layer);
        string count = $"batch * {size}";
        string? body = f.PassesGradient ? null : $"{dx}[k] = {Scalar(c, f.Backward, layer, $"{x}[k]", $"{y}[k]", $"{dy}[k]")};";
        if (layer.Index == 0) w.Open("if (inputGradient)");
        w.Line($"// Layer {layer.Index}: {layer.Kind} backward: {f.BackwardWords}");
        string? vector = f.PassesGradient ? null : f.Backward.Vector(c.T, c.Lit, () => layer.Alpha);
        if (body is not null && vector is not null && size > c.Plan.Spec.UnrollThreshold)
        {
            // Large tensors: one vector of lanes at a time, then the remainder one by one (no bounds checks).
            string vec = $"global::System.Runtime.Intrinsics.Vector256", unsafeAdd = "global::System.Runtime.CompilerServices.Unsafe.Add";
            w.Open("");
            w.Line($"ref {c.T} x = ref {x}[0], y = ref {y}[0], dy = ref {dy}[0], dx = ref {dx}[0];");
            w.Line($"int count = {count}, k = 0;");
            string wide = "global::System.Runtime.Intrinsics.Vector512";
            if (f.Backward.Vector(c.T, c.Lit, () => layer.Alpha, vec: wide) is { } vector512)
            {
                // Where the JIT accelerates Vector512 (a JIT-time constant), 16 floats at a time first: the same formula
                // lane by lane, so the same bits as the 256-bit loop.
                w.Open($"if ({wide}.IsHardwareAccelerated)");
                w.Open($"for (; k + {wide}<{c.T}>.Count <= count; k += {wide}<{c.T}>.Count)");
                w.Line($"{wide}<{c.T}> xv = {wide}.LoadUnsafe(ref x, (nuint)k), yv = {wide}.LoadUnsafe(ref y, (nuint)k), dyv = {wide}.LoadUnsafe(ref dy, (nuint)k);");
                w.Line($"{wide}.StoreUnsafe({vector512}, ref dx, (nuint)k);");
                w.Close();
                w.Close();
            }
            w.Open($"for (; k + {vec}<{c.T}>.Count <= count; k += {vec}<{c.T}>.Count)");
            w.Line($"{vec}<{c.T}> xv = {vec}.LoadUnsafe(ref x, (nuint)k), yv = {vec}.LoadUnsafe(ref y, (nuint)k), dyv = {vec}.LoadUnsafe(ref dy, (nuint)k);");
            w.Line($"{vec}.StoreUnsafe({vector}, ref dx, (nuint)k);");
            w.Close();
            w.Line($"for (; k < count; k++) {unsafeAdd}(ref dx, k) = {Scalar(c, f.Backward, layer, $"{unsafeAdd}(ref x, k)", $"{unsafeAdd}(ref y, k)", $"{unsafeAdd}(ref dy, k)")};");
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
            w.Line($"y[i] = {g.Activation(layer, "v")};");
        });
        g.Host.Line($"// Layer {layer.Index}: {layer.Kind} over {layer.OutputSize} values per sample");
        g.Launch(field, $"batch * {layer.OutputSize}", GpuWriter.A(layer.Index), GpuWriter.A(layer.Index + 1));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan layer)
    {
        var f = Formula(layer);
        string body = Scalar(g.C, f.Backward, layer, "x[i]", "y[i]", "dy[i]");
        string what = f.BackwardWords;
        string field = g.Kernel(layer.PascalName + "Backward", $"{layer.PascalName} backward for value i: {what}",
            new[] { g.V("x"), g.V("y"), g.V("dy"), g.V("dx") }, w => w.Line($"dx[i] = {body};"));
        if (layer.Index == 0) g.Host.Open("if (inputGradient)");
        g.Host.Line($"// Layer {layer.Index}: {layer.Kind} backward: {what}");
        g.Launch(field, $"batch * {layer.OutputSize}", GpuWriter.A(layer.Index), GpuWriter.A(layer.Index + 1), GpuWriter.D(layer.Index + 1), GpuWriter.D(layer.Index));
        if (layer.Index == 0) g.Host.Close();
    }

    /// <summary>Whether a Conv2D layer before this one runs its passes sample by sample (Conv2DEmitter.FusedReLU), printing
    /// this formula there (<see cref="LibraryForward"/>, <see cref="Vector"/>, <see cref="Scalar"/>).</summary>
    private static bool FusedIntoConv(EmitContext c, LayerPlan layer) =>
        layer.Index > 0 && Conv2DEmitter.FusedReLU(c, c.Plan.Layers[layer.Index - 1]) == layer;
}
