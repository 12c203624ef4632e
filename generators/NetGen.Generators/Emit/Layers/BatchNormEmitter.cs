using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Batch normalisation per channel (C, H, W inputs: statistics over batch × H × W) or per feature (vector inputs:
/// statistics over the batch), m values per channel.
/// Forward   x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β; in training μ, σ² are the batch's (σ² biased) and the running
///           statistics move: r_μ ← (1 − momentum)·r_μ + momentum·μ, r_σ² likewise with the unbiased m/(m − 1)·σ²;
///           in inference μ, σ² are the running statistics.
/// Backward  ∂E/∂γ += Σ ∂E/∂y·x̂,  ∂E/∂β += Σ ∂E/∂y, and, since μ and σ² depend on every x of the batch (training),
///           ∂E/∂x = γ/(m·√(σ² + ε))·(m·∂E/∂y − Σ ∂E/∂y − x̂·Σ ∂E/∂y·x̂); in inference ∂E/∂x = γ·∂E/∂y/√(σ² + ε).
/// </summary>
internal sealed class BatchNormEmitter : LayerEmitter
{
    public static readonly BatchNormEmitter Instance = new();

    private static int Channels(LayerPlan l) => l.InputShape.Length == 3 ? l.InputShape[0] : l.InputSize;

    private static int Spatial(LayerPlan l) => l.InputShape.Length == 3 ? l.InputShape[1] * l.InputShape[2] : 1;

    public override void Initialize(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = Channels(l);
        w.Line($"_p.AsSpan({l.WeightOffset}, {C}).Fill({c.Lit(1)});   // {l.PascalName}: γ = 1, β = 0");
        w.Line($"_s.AsSpan({l.StateOffset + C}, {C}).Fill({c.Lit(1)});   // {l.PascalName}: running mean 0, running variance 1");
    }

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan l)
        => w.Line($"private readonly {c.T}[] _mean{l.Index} = new {c.T}[{Channels(l)}], _invStd{l.Index} = new {c.T}[{Channels(l)}];   // {l.PascalName}: μ and 1/√(σ² + ε) of the last forward pass");

    public override void Views(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = Channels(l);
        string t = c.T;
        w.Line($"/// <summary>{l.PascalName} scale γ, one per channel.</summary>");
        w.Line($"public global::System.Span<{t}> {l.PascalName}Gamma => _p.AsSpan({l.WeightOffset}, {C});");
        w.Line($"/// <summary>{l.PascalName} shift β, one per channel.</summary>");
        w.Line($"public global::System.Span<{t}> {l.PascalName}Beta => _p.AsSpan({l.BiasOffset}, {C});");
        w.Line($"/// <summary>∂E/∂ of <see cref=\"{l.PascalName}Gamma\"/>.</summary>");
        w.Line($"public global::System.Span<{t}> {l.PascalName}GammaGradient => _g.AsSpan({l.WeightOffset}, {C});");
        w.Line($"/// <summary>∂E/∂ of <see cref=\"{l.PascalName}Beta\"/>.</summary>");
        w.Line($"public global::System.Span<{t}> {l.PascalName}BetaGradient => _g.AsSpan({l.BiasOffset}, {C});");
        w.Line($"/// <summary>{l.PascalName} running mean (non-trainable state).</summary>");
        w.Line($"public global::System.Span<{t}> {l.PascalName}RunningMean => _s.AsSpan({l.StateOffset}, {C});");
        w.Line($"/// <summary>{l.PascalName} running variance (non-trainable state).</summary>");
        w.Line($"public global::System.Span<{t}> {l.PascalName}RunningVariance => _s.AsSpan({l.StateOffset + C}, {C});");
    }

    public override System.Collections.Generic.IEnumerable<(string Name, bool State, int Offset, int[] Shape)> Tensors(LayerPlan l)
    {
        int C = Channels(l);
        yield return (l.PascalName + "Gamma", false, l.WeightOffset, new[] { C });
        yield return (l.PascalName + "Beta", false, l.BiasOffset, new[] { C });
        yield return (l.PascalName + "RunningMean", true, l.StateOffset, new[] { C });
        yield return (l.PascalName + "RunningVariance", true, l.StateOffset + C, new[] { C });
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = Channels(l), S = Spatial(l), CS = C * S;
        string x = EmitContext.A(l.Index), y = EmitContext.A(l.Index + 1), t = c.T;
        string mom = c.Lit(l.Spec.Momentum), eps = c.Lit(l.Spec.Epsilon);
        w.Line($"// Layer {l.Index}: {l.PascalName} over {C} {(S > 1 ? "channels" : "features")}: y = γ·(x − μ)/√(σ² + ε) + β, batch statistics in training, running ones in inference");
        w.Open("");
        w.Line($"int m = batch * {S};");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Line($"{t} mean, invStd;");
        w.Open("if (Training)");
        w.Line($"{t} sum = {c.Lit(0)}, squares = {c.Lit(0)};");
        w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) sum += {x}[n * {CS} + ch * {S} + s];");
        w.Line("mean = sum / m;");
        w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ {t} e = {x}[n * {CS} + ch * {S} + s] - mean; squares += e * e; }}");
        w.Line($"{t} variance = squares / m;");
        w.Line($"invStd = {c.Lit(1)} / {c.Math}.Sqrt(variance + {eps});");
        w.Line($"_s[{l.StateOffset} + ch] = ({c.Lit(1)} - {mom}) * _s[{l.StateOffset} + ch] + {mom} * mean;");
        w.Line($"_s[{l.StateOffset + C} + ch] = ({c.Lit(1)} - {mom}) * _s[{l.StateOffset + C} + ch] + {mom} * (m > 1 ? variance * m / (m - 1) : variance);");
        w.Close();
        w.Open("else");
        w.Line($"mean = _s[{l.StateOffset} + ch];");
        w.Line($"invStd = {c.Lit(1)} / {c.Math}.Sqrt(_s[{l.StateOffset + C} + ch] + {eps});");
        w.Close();
        w.Line($"_mean{l.Index}[ch] = mean; _invStd{l.Index}[ch] = invStd;");
        w.Line($"{t} gamma = _p[{l.WeightOffset} + ch], beta = _p[{l.BiasOffset} + ch];");
        w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ int at = n * {CS} + ch * {S} + s; {y}[at] = gamma * ({x}[at] - mean) * invStd + beta; }}");
        w.Close();
        w.Close();
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = Channels(l), S = Spatial(l), CS = C * S;
        string x = EmitContext.A(l.Index), dy = EmitContext.D(l.Index + 1), dx = EmitContext.D(l.Index), t = c.T;
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂γ += Σ ∂E/∂y·x̂, ∂E/∂β += Σ ∂E/∂y; ∂E/∂x through the batch statistics in training");
        w.Open("");
        w.Line($"int m = batch * {S};");
        w.Open($"for (int ch = 0; ch < {C}; ch++)");
        w.Line($"{t} mean = _mean{l.Index}[ch], invStd = _invStd{l.Index}[ch], gamma = _p[{l.WeightOffset} + ch];");
        w.Line($"{t} sumDy = {c.Lit(0)}, sumDyXhat = {c.Lit(0)};");
        w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ int at = n * {CS} + ch * {S} + s; sumDy += {dy}[at]; sumDyXhat += {dy}[at] * ({x}[at] - mean) * invStd; }}");
        w.Line($"_g[{l.WeightOffset} + ch] += sumDyXhat;");
        w.Line($"_g[{l.BiasOffset} + ch] += sumDy;");
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Open("if (_trainingPass)");
        w.Line($"{t} k = gamma * invStd / m;");
        w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ int at = n * {CS} + ch * {S} + s; {dx}[at] = k * (m * {dy}[at] - sumDy - ({x}[at] - mean) * invStd * sumDyXhat); }}");
        w.Close();
        w.Line($"else for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ int at = n * {CS} + ch * {S} + s; {dx}[at] = gamma * invStd * {dy}[at]; }}");
        if (l.Index == 0) w.Close();
        w.Close();
        w.Close();
    }

    // ---- GPU (ILGPU): a per-channel statistics kernel, then one thread per value ----------------------------------

    public override void GpuForward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int C = Channels(l), S = Spatial(l), CS = C * S;
        string t = c.T, mom = c.Lit(l.Spec.Momentum), eps = c.Lit(l.Spec.Epsilon), one = c.Lit(1);
        string stats = g.Buffer("_stats" + l.Index, (2 * C).ToString(System.Globalization.CultureInfo.InvariantCulture), $"{l.PascalName}: μ then 1/√(σ² + ε) per channel of the last forward pass");
        g.Buffer("_sums" + l.Index, (2 * C).ToString(System.Globalization.CultureInfo.InvariantCulture), $"{l.PascalName}: Σ ∂E/∂y then Σ ∂E/∂y·x̂ per channel of the last backward pass");
        string statistics = g.Kernel(l.PascalName + "Statistics",
            $"{l.PascalName}, one thread per channel i: in training the batch's μ and biased σ² over batch × {S} values (the running statistics move by {l.Spec.Momentum}, with the unbiased variance); in inference the running ones. Writes μ and 1/√(σ² + ε)",
            new[] { g.V("x"), g.V("s"), g.V("stats"), ("int", "batch"), ("int", "training") }, w =>
        {
            w.Line($"{t} mean, invStd;");
            w.Open("if (training != 0)");
            w.Line($"int m = batch * {S};");
            w.Line($"{t} sum = {c.Lit(0)}, squares = {c.Lit(0)};");
            w.Line($"for (int n = 0; n < batch; n++) for (int k = 0; k < {S}; k++) sum += x[n * {CS} + i * {S} + k];");
            w.Line("mean = sum / m;");
            w.Line($"for (int n = 0; n < batch; n++) for (int k = 0; k < {S}; k++) {{ {t} e = x[n * {CS} + i * {S} + k] - mean; squares += e * e; }}");
            w.Line($"{t} variance = squares / m;");
            w.Line($"invStd = {one} / {c.Math}.Sqrt(variance + {eps});");
            w.Line($"s[{l.StateOffset} + i] = ({one} - {mom}) * s[{l.StateOffset} + i] + {mom} * mean;");
            w.Line($"s[{l.StateOffset + C} + i] = ({one} - {mom}) * s[{l.StateOffset + C} + i] + {mom} * (m > 1 ? variance * m / (m - 1) : variance);");
            w.Close();
            w.Open("else");
            w.Line($"mean = s[{l.StateOffset} + i];");
            w.Line($"invStd = {one} / {c.Math}.Sqrt(s[{l.StateOffset + C} + i] + {eps});");
            w.Close();
            w.Line("stats[i] = mean;");
            w.Line($"stats[{C} + i] = invStd;");
        });
        string normalize = g.Kernel(l.PascalName + "Forward", $"{l.PascalName} forward for value i: y = γ·(x − μ)·(1/√(σ² + ε)) + β of its channel",
            new[] { g.V("x"), g.V("p"), g.V("stats"), g.V("y") }, w =>
        {
            w.Line($"int ch = i / {S} - i / {CS} * {C};");
            w.Line($"y[i] = p[{l.WeightOffset} + ch] * (x[i] - stats[ch]) * stats[{C} + ch] + p[{l.BiasOffset} + ch];");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} over {C} {(S > 1 ? "channels" : "features")}: statistics per channel, then y = γ·x̂ + β per value");
        g.Launch(statistics, C.ToString(System.Globalization.CultureInfo.InvariantCulture), GpuWriter.A(l.Index), "S", stats, "batch", "training ? 1 : 0");
        g.Launch(normalize, $"batch * {CS}", GpuWriter.A(l.Index), "P", stats, GpuWriter.A(l.Index + 1));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int C = Channels(l), S = Spatial(l), CS = C * S;
        string t = c.T;
        string sums = g.Kernel(l.PascalName + "ParameterGradient",
            $"{l.PascalName}, one thread per channel i: Σ ∂E/∂y and Σ ∂E/∂y·x̂ over batch × {S} values; ∂E/∂γ += Σ ∂E/∂y·x̂, ∂E/∂β += Σ ∂E/∂y",
            new[] { g.V("x"), g.V("dy"), g.V("stats"), g.V("sums"), g.V("grad"), ("int", "batch") }, w =>
        {
            w.Line($"{t} mean = stats[i], invStd = stats[{C} + i], sumDy = {c.Lit(0)}, sumDyXhat = {c.Lit(0)};");
            w.Line($"for (int n = 0; n < batch; n++) for (int k = 0; k < {S}; k++) {{ int at = n * {CS} + i * {S} + k; sumDy += dy[at]; sumDyXhat += dy[at] * (x[at] - mean) * invStd; }}");
            w.Line("sums[i] = sumDy;");
            w.Line($"sums[{C} + i] = sumDyXhat;");
            w.Line($"grad[{l.WeightOffset} + i] += sumDyXhat;");
            w.Line($"grad[{l.BiasOffset} + i] += sumDy;");
        });
        string inputs = g.Kernel(l.PascalName + "InputGradient",
            $"{l.PascalName} ∂E/∂x for value i: training γ/(m·√(σ² + ε))·(m·∂E/∂y − Σ ∂E/∂y − x̂·Σ ∂E/∂y·x̂) with m = batch·{S}; inference γ·∂E/∂y/√(σ² + ε)",
            new[] { g.V("x"), g.V("dy"), g.V("p"), g.V("stats"), g.V("sums"), g.V("dx"), ("int", "batch"), ("int", "training") }, w =>
        {
            w.Line($"int ch = i / {S} - i / {CS} * {C}, m = batch * {S};");
            w.Line($"{t} gamma = p[{l.WeightOffset} + ch], invStd = stats[{C} + ch];");
            w.Line($"if (training != 0) dx[i] = gamma * invStd / m * (m * dy[i] - sums[ch] - (x[i] - stats[ch]) * invStd * sums[{C} + ch]);");
            w.Line("else dx[i] = gamma * invStd * dy[i];");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} backward: per-channel sums (∂E/∂γ, ∂E/∂β), then ∂E/∂x per value");
        g.Launch(sums, C.ToString(System.Globalization.CultureInfo.InvariantCulture), GpuWriter.A(l.Index), GpuWriter.D(l.Index + 1), $"_stats{l.Index}.View", $"_sums{l.Index}.View", "G", "batch");
        if (l.Index == 0) g.Host.Open("if (inputGradient)");
        g.Launch(inputs, $"batch * {CS}", GpuWriter.A(l.Index), GpuWriter.D(l.Index + 1), "P", $"_stats{l.Index}.View", $"_sums{l.Index}.View", GpuWriter.D(l.Index), "batch", "_trainingPass ? 1 : 0");
        if (l.Index == 0) g.Host.Close();
    }
}
