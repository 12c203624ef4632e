using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Pooling over k × k windows of each channel, stride s, no padding.
/// MaxPool  forward y = max of the window, remembering where it was;
///          backward the max gate is a gradient router: ∂E/∂x at the arg-max += ∂E/∂y, 0 elsewhere.
/// AvgPool  forward y = mean of the window;  backward every input of the window gets ∂E/∂y / k².
/// Overlapping windows (s &lt; k) add their shares.
/// </summary>
internal sealed class PoolEmitter : LayerEmitter
{
    public static readonly PoolEmitter Instance = new();

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (layer.Kind == LayerKind.MaxPool)
            w.Line($"private readonly int[] _argmax{layer.Index};   // {layer.PascalName}: index of each window's maximum in its input sample");
    }

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (layer.Kind == LayerKind.MaxPool) w.Line($"_argmax{layer.Index} = new int[maxBatch * {layer.OutputSize}];");
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        bool max = l.Kind == LayerKind.MaxPool;
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, K = l.KernelH, S = l.Stride;
        w.Line($"// Layer {l.Index}: {l.PascalName} {K}×{K}, stride {S} ({C}×{H}×{W} → {C}×{OH}×{OW}): y = {(max ? "max" : "mean")} of each window");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"global::System.ReadOnlySpan<{c.T}> x = {EmitContext.A(l.Index)}.AsSpan(n * {l.InputSize}, {l.InputSize});");
        w.Line($"global::System.Span<{c.T}> y = {EmitContext.A(l.Index + 1)}.AsSpan(n * {l.OutputSize}, {l.OutputSize});");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Open($"for (int oy = 0; oy < {OH}; oy++)");
        w.Open($"for (int ox = 0; ox < {OW}; ox++)");
        w.Line($"int first = ch * {H * W} + oy * {S * W} + ox * {S};");
        if (max)
        {
            w.Line($"int best = first; {c.T} m = x[first];");
            w.Line($"for (int u = 0; u < {K}; u++) for (int v = 0; v < {K}; v++) {{ int at = first + u * {W} + v; if (x[at] > m) {{ m = x[at]; best = at; }} }}");
            w.Line($"int o = ch * {OH * OW} + oy * {OW} + ox;");
            w.Line("y[o] = m;");
            w.Line($"_argmax{l.Index}[n * {l.OutputSize} + o] = best;");
        }
        else
        {
            w.Line($"{c.T} sum = {c.Lit(0)};");
            w.Line($"for (int u = 0; u < {K}; u++) for (int v = 0; v < {K}; v++) sum += x[first + u * {W} + v];");
            w.Line($"y[ch * {OH * OW} + oy * {OW} + ox] = sum * {c.Lit(1.0 / (K * K))};");
        }
        w.Close(); w.Close(); w.Close(); w.Close();
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        bool max = l.Kind == LayerKind.MaxPool;
        int C = l.InC, H = l.InH, W = l.InW, OH = l.OutH, OW = l.OutW, K = l.KernelH, S = l.Stride;
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: " + (max ? "route ∂E/∂y to each window's arg-max" : $"share ∂E/∂y equally, 1/{K * K} to each input of the window"));
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"global::System.ReadOnlySpan<{c.T}> dy = {EmitContext.D(l.Index + 1)}.AsSpan(n * {l.OutputSize}, {l.OutputSize});");
        w.Line($"global::System.Span<{c.T}> dx = {EmitContext.D(l.Index)}.AsSpan(n * {l.InputSize}, {l.InputSize});");
        w.Line("dx.Clear();");
        if (max)
        {
            w.Line($"global::System.ReadOnlySpan<int> arg = _argmax{l.Index}.AsSpan(n * {l.OutputSize}, {l.OutputSize});");
            w.Line($"for (int o = 0; o < {l.OutputSize}; o++) dx[arg[o]] += dy[o];");
        }
        else
        {
            w.Open($"for (int ch = 0; ch < {C}; ch++)");
            w.Open($"for (int oy = 0; oy < {OH}; oy++)");
            w.Open($"for (int ox = 0; ox < {OW}; ox++)");
            w.Line($"int first = ch * {H * W} + oy * {S * W} + ox * {S};");
            w.Line($"{c.T} share = dy[ch * {OH * OW} + oy * {OW} + ox] * {c.Lit(1.0 / (K * K))};");
            w.Line($"for (int u = 0; u < {K}; u++) for (int v = 0; v < {K}; v++) dx[first + u * {W} + v] += share;");
            w.Close(); w.Close(); w.Close();
        }
        w.Close();
        if (l.Index == 0) w.Close();
    }
}
