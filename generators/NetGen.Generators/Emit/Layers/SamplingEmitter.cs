using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// A VAE's Sampling layer over 2·L inputs per sample, μ = x[0..L) and ℓ = log σ² = x[L..2L):
/// Forward   z = μ + e^(ℓ/2)·ε, ε ~ N(0, 1) from NetGen.CounterRandom (keyed by seed, layer and draw; ε = 0, so z = μ,
///           in inference unless SampleInInference); KL = −½ Σⱼ (1 + ℓⱼ − μⱼ² − e^ℓⱼ) / n over the batch (kept for Loss)
/// Backward  ∂E/∂μ = ∂E/∂z + β·μ/n      ∂E/∂ℓ = ∂E/∂z·ε·½e^(ℓ/2) + β·½(e^ℓ − 1)/n
/// The KL term is the layer's own loss: Loss adds β·KL and every backward pass adds its gradient.
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
        w.Line($"_kl{l.Index} = global::NetGen.Losses.GaussianKL<{t}>({x}.AsSpan(0, batch * {2 * L}), batch, {L});");
        w.Close();
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int L = l.OutputSize;
        string t = c.T, x = EmitContext.A(l.Index), dy = EmitContext.D(l.Index + 1), dx = EmitContext.D(l.Index), eps = "_eps" + l.Index;
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂μ = ∂E/∂z, ∂E/∂log σ² = ∂E/∂z·ε·½e^(log σ²/2), plus β·∂KL/∂(μ, log σ²)");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Open($"for (int j = 0; j < {L}; j++)");
        w.Line($"int k = n * {L} + j, m = n * {2 * L} + j;");
        w.Line($"{t} g = {dy}[k];");
        w.Line($"{dx}[m] = g;");
        w.Line($"{dx}[m + {L}] = g * {eps}[k] * {c.Lit(0.5)} * {c.Math}.Exp({c.Lit(0.5)} * {x}[m + {L}]);");
        w.Close();
        w.Close();
        w.Line($"global::NetGen.Losses.AddGaussianKLGradient<{t}>({x}.AsSpan(0, batch * {2 * L}), batch, {L}, {l.PascalName}Beta, {dx});");
        if (l.Index == 0) w.Close();
    }

    public override void GpuForward(GpuWriter g, LayerPlan layer) => throw ReshapeEmitter.NoGpu(layer);

    public override void GpuBackward(GpuWriter g, LayerPlan layer) => throw ReshapeEmitter.NoGpu(layer);
}
