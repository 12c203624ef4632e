using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// A VAE's Sampling layer over 2·L inputs per sample, μ = x[0..L) and ℓ = log σ² = x[L..2L):
/// Forward   z = μ + e^(ℓ/2)·ε, ε ~ N(0, 1) from NetGen.CounterRandom (keyed by seed, layer and draw; ε = 0, so z = μ,
///           in inference unless SampleInInference); KL = −½ Σⱼ (1 + ℓⱼ − μⱼ² − e^ℓⱼ) / n over the batch (kept for Loss)
/// Backward  ∂E/∂μ = ∂E/∂z + β·μ/n      ∂E/∂ℓ = ∂E/∂z·ε·½e^(ℓ/2) + β·½(e^ℓ − 1)/n
/// The KL term is the layer's own loss: Loss adds β·KL and every backward pass adds its gradient (on the GPU too), both
/// printed from its formula (GaussianKLFormula) on the CPU and the GPU.
/// </summary>
internal sealed class SamplingEmitter : LayerEmitter
{
    public static readonly SamplingEmitter Instance = new();

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan l)
    {
        w.Line($"private readonly {c.T}[] _eps{l.Index};   // {l.PascalName}: ε of the last forward pass, maxBatch × {l.OutputSize}");
        w.Line($"private long _draws{l.Index};   // {l.PascalName}: forward passes that drew ε so far (each draws new noise)");
        w.Line($"private {c.T} _kl{l.Index};   // {l.PascalName}: KL of the last forward pass, averaged over its batch");
    }

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan l)
        => w.Line($"_eps{l.Index} = new {c.T}[maxBatch * {l.OutputSize}];");

    public override void Views(CodeWriter w, EmitContext c, LayerPlan l)
    {
        string t = c.T, name = l.PascalName;
        w.Line($"/// <summary>{name}: β, the weight of KL(N(μ, σ²) ‖ N(0, 1)) in the loss (declared {((SamplingOptions)l.Spec.Options).Beta.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}); set it between steps for a β-VAE or KL annealing.</summary>");
        w.Line($"public {t} {name}Beta {{ get; set; }} = {c.Lit(((SamplingOptions)l.Spec.Options).Beta)};");
        w.Line($"/// <summary>{name}: whether inference passes (Training = false) also sample z = μ + σ·ε instead of returning z = μ.</summary>");
        w.Line($"public bool {name}SampleInInference {{ get; set; }}");
        w.Line($"/// <summary>{name}: KL(N(μ, σ²) ‖ N(0, 1)) of the last forward pass, summed over the {l.OutputSize} latent values and averaged over the batch (without β).</summary>");
        w.Line($"public {t} {name}KL => _kl{l.Index};");
        w.Line($"/// <summary>{name}: the noise ε of the last forward pass, batch × {l.OutputSize} values (zeros when it returned z = μ).</summary>");
        w.Line($"public global::System.ReadOnlySpan<{t}> {name}Epsilon => _eps{l.Index}.AsSpan(0, _batch * {l.OutputSize});");
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int L = l.OutputSize;
        string t = c.T, x = EmitContext.A(l.Index), y = EmitContext.A(l.Index + 1), eps = "_eps" + l.Index;
        w.Line($"// Layer {l.Index}: {l.PascalName} ({2 * L} → {L}): z = μ + e^(log σ²/2)·ε, ε ~ N(0, 1) in training (or when asked), else z = μ; KL kept for the loss");
        w.Open("");
        w.Line($"bool draw = Training || {l.PascalName}SampleInInference;");
        w.Line($"ulong key = draw ? global::NetGen.CounterRandom.Key(_seed, {l.Index}, ++_draws{l.Index}) : 0UL;   // ε[k] is a function of (key, k)");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Open($"for (int j = 0; j < {L}; j++)");
        w.Line($"int k = n * {L} + j;");
        w.Line($"{t} e = draw ? ({t})global::NetGen.CounterRandom.Normal(key, (ulong)k) : {c.Lit(0)};");
        w.Line($"{eps}[k] = e;");
        w.Line($"{y}[k] = {x}[n * {2 * L} + j] + {c.Math}.Exp({c.Lit(0.5)} * {x}[n * {2 * L} + {L} + j]) * e;");
        w.Close();
        w.Close();
        w.Line($"// {GaussianKLFormula.Words.Split(';')[0]} (GaussianKLFormula); {x} holds each sample's {L} μ, then its {L} log σ²");
        w.Line($"{t} kl = {c.Lit(0)};");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Open($"for (int j = 0; j < {L}; j++)");
        w.Line($"{t} mu = {x}[n * {2 * L} + j], logVariance = {x}[n * {2 * L} + {L} + j];");
        w.Line($"kl += {GaussianKLFormula.Print(GaussianKLFormula.Term, c.Lit, c.Math)};");
        w.Close();
        w.Close();
        w.Line($"_kl{l.Index} = kl / ({GaussianKLFormula.Print(GaussianKLFormula.Divisor, c.Lit, c.Math)});");
        w.Close();
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int L = l.OutputSize;
        string t = c.T, x = EmitContext.A(l.Index), dy = EmitContext.D(l.Index + 1), dx = EmitContext.D(l.Index), eps = "_eps" + l.Index;
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂μ = ∂E/∂z, ∂E/∂log σ² = ∂E/∂z·ε·½e^(log σ²/2), plus β·∂KL/∂(μ, log σ²) (GaussianKLFormula)");
        w.Open("");
        w.Line($"{t} scale = {GaussianKLFormula.Print(GaussianKLFormula.Scale, c.Lit, c.Math, l.PascalName + "Beta")};   // β/batch");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Open($"for (int j = 0; j < {L}; j++)");
        w.Line($"int k = n * {L} + j, m = n * {2 * L} + j;");
        w.Line($"{t} g = {dy}[k], mu = {x}[m], logVariance = {x}[m + {L}];");
        w.Line($"{dx}[m] = g + scale * {GaussianKLFormula.Print(GaussianKLFormula.MeanGradient, c.Lit, c.Math)};");
        w.Line($"{dx}[m + {L}] = g * {eps}[k] * {c.Lit(0.5)} * {c.Math}.Exp({c.Lit(0.5)} * logVariance) + scale * {GaussianKLFormula.Print(GaussianKLFormula.LogVarianceGradient, c.Lit, c.Math)};");
        w.Close();
        w.Close();
        w.Close();
        if (l.Index == 0) w.Close();
    }

    // ---- GPU (ILGPU): ε[k] = CounterRandom.Normal(key, k) with the CPU's key (seed, layer, draw count), one thread per
    // latent value; the KL term is added to each sample's loss after the loss kernel, and its gradient inside the
    // backward kernel, as on the CPU. ----

    public override void GpuForward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int L = l.OutputSize;
        string t = c.T, name = l.PascalName;
        string eps = g.Buffer("_eps" + l.Index, $"(long)maxBatch * {L}", $"{name}: ε of the last forward pass (0 where z = μ)");
        g.Members.Line($"private long _draws{l.Index};   // {name}: forward passes that drew ε so far (as the CPU network's count)");
        g.Members.Line($"/// <summary>{name}: β, the weight of KL(N(μ, σ²) ‖ N(0, 1)) in the loss (declared {((SamplingOptions)l.Spec.Options).Beta.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}); set it between steps.</summary>");
        g.Members.Line($"public {t} {name}Beta {{ get; set; }} = {c.Lit(((SamplingOptions)l.Spec.Options).Beta)};");
        g.Members.Line($"/// <summary>{name}: whether inference passes also sample z = μ + σ·ε instead of returning z = μ.</summary>");
        g.Members.Line($"public bool {name}SampleInInference {{ get; set; }}");
        g.Members.Line($"/// <summary>{name}: the noise ε of the last forward pass, read back (batch × {L} values; the CPU network's for the same seed and pass).</summary>");
        g.Members.Line($"public {t}[] Get{name}Epsilon(int batch) => Download(_eps{l.Index}.View, (long)batch * {L});");
        string field = g.Kernel(name + "Forward",
            $"{name} forward for latent value i = (sample n, j): ε = CounterRandom.Normal(key, i) when drawing, else 0; z = μ + e^(log σ²/2)·ε",
            new[] { g.V("x"), g.V("y"), g.V("eps"), ("ulong", "key"), ("int", "draw") }, w =>
        {
            w.Line($"int n = i / {L}, j = i - n * {L};");
            w.Line($"{t} e = draw == 0 ? {c.Lit(0)} : ({t})global::NetGen.CounterRandom.Normal(key, (ulong)i);");
            w.Line("eps[i] = e;");
            w.Line($"y[i] = x[n * {2 * L} + j] + {c.Math}.Exp({c.Lit(0.5)} * x[n * {2 * L} + {L} + j]) * e;");
        });
        g.Host.Line($"// Layer {l.Index}: {name} ({2 * L} → {L}): ε keyed by (seed, layer, draw), identical to the CPU's; z = μ in inference unless {name}SampleInInference");
        g.Host.Line($"bool draw{l.Index} = training || {name}SampleInInference;");
        g.Launch(field, $"batch * {L}", GpuWriter.A(l.Index), GpuWriter.A(l.Index + 1), eps,
            $"draw{l.Index} ? global::NetGen.CounterRandom.Key(_seed, {l.Index}, ++_draws{l.Index}) : 0UL", $"draw{l.Index} ? 1 : 0");
    }

    public override void GpuBackward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int L = l.OutputSize;
        string t = c.T;
        string field = g.Kernel(l.PascalName + "Backward",
            $"{l.PascalName} backward for latent value i = (sample n, j): ∂E/∂μ = ∂E/∂z + β·μ/batch, ∂E/∂log σ² = ∂E/∂z·ε·½e^(log σ²/2) + β·½(e^(log σ²) − 1)/batch",
            new[] { g.V("x"), g.V("dy"), g.V("eps"), g.V("dx"), (t, "beta"), ("int", "batch") }, w =>
        {
            w.Line($"int n = i / {L}, j = i - n * {L}, m = n * {2 * L} + j;");
            w.Line($"{t} scale = {GaussianKLFormula.Print(GaussianKLFormula.Scale, c.Lit, c.Math)}, gz = dy[i], mu = x[m], logVariance = x[m + {L}];");
            w.Line($"dx[m] = gz + scale * {GaussianKLFormula.Print(GaussianKLFormula.MeanGradient, c.Lit, c.Math)};");
            w.Line($"dx[m + {L}] = gz * eps[i] * {c.Lit(0.5)} * {c.Math}.Exp({c.Lit(0.5)} * logVariance) + scale * {GaussianKLFormula.Print(GaussianKLFormula.LogVarianceGradient, c.Lit, c.Math)};");
        });
        if (l.Index == 0) g.Host.Open("if (inputGradient)");
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} backward, with β·∂KL/∂(μ, log σ²)");
        g.Launch(field, $"batch * {L}", GpuWriter.A(l.Index), GpuWriter.D(l.Index + 1), $"_eps{l.Index}.View", GpuWriter.D(l.Index), $"{l.PascalName}Beta", "batch");
        if (l.Index == 0) g.Host.Close();
    }

    public override void GpuLoss(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int L = l.OutputSize;
        string t = c.T;
        string field = g.Kernel(l.PascalName + "LossTerm",
            $"{l.PascalName}: sample i's loss term += β·KL/batch, KL = −½ Σⱼ (1 + log σ²ⱼ − μⱼ² − σ²ⱼ) over its {L} latent values",
            new[] { g.V("x"), g.V("terms"), (t, "beta"), ("int", "batch") }, w =>
        {
            w.Line($"{t} sum = {c.Lit(0)};");
            w.Open($"for (int j = 0; j < {L}; j++)");
            w.Line($"{t} mu = x[i * {2 * L} + j], logVariance = x[i * {2 * L} + {L} + j];");
            w.Line($"sum += {GaussianKLFormula.Print(GaussianKLFormula.Term, c.Lit, c.Math)};");
            w.Close();
            w.Line($"terms[i] += beta * sum / ({GaussianKLFormula.Print(GaussianKLFormula.Divisor, c.Lit, c.Math)});");
        });
        g.Host.Line($"// {l.PascalName}'s β·KL, the layer's own loss term");
        g.Launch(field, "batch", GpuWriter.A(l.Index), "SampleLoss", $"{l.PascalName}Beta", "batch");
    }
}
