using System.Collections.Generic;
using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// The optimiser updates and weight penalties on the GPU: one kernel per optimiser family, one thread per parameter,
/// following src/NetGen/Optimizers.cs formula for formula (the host computes the step's scalars — bias corrections,
/// decayed learning rates — into <c>GpuUpdateArgs</c>). Every update first clamps the gradient to ±ClipValue and
/// multiplies it by the clip-by-norm coefficient in <c>clip[0]</c> when clipping by norm.
/// </summary>
internal static class GpuOptimizerEmitter
{
    /// <summary>Partial sums a reduction kernel writes (GpuNetwork&lt;T&gt;.PartialCount).</summary>
    public const int Parts = 256;

    public static void Updates(GpuWriter g, CodeWriter update, CodeWriter clip)
    {
        var c = g.C;
        string t = c.T, zero = c.Lit(0), one = c.Lit(1);
        long N = c.Plan.ParameterCount;
        string args = $"global::NetGen.Gpu.GpuUpdateArgs<{t}>";
        var parameters = new[] { g.V("p"), g.V("grad"), g.V("s0"), g.V("s1"), g.V("s2"), g.V("clip"), (args, "a") };
        var held = NetworkEmitter.HeldBiases(c.Plan);
        string? keep = held.Count == 0 ? null
            : "if (" + string.Join(" || ", held.Select(h => $"(i >= {h.Offset} && i < {h.Offset + h.Count})")) + ") return;   // held biases (TrainBias = false) never move, whatever the decay";
        string clippedLine = $"{t} d = grad[i]; if (d > a.ClipValue) d = a.ClipValue; else if (d < -a.ClipValue) d = -a.ClipValue; if (a.ClipByNorm != 0) d *= clip[0];   // clip by value, then by norm";
        void Clipped(CodeWriter w)
        {
            if (keep is not null) w.Line(keep);
            w.Line(clippedLine);
        }

        string sgd = g.Kernel("SgdUpdate", "SGD (torch.optim.SGD, dampening 0): g += λθ; with momentum b ← μb + g and g ← b (Nesterov: g + μb); θ ← θ − η·g. s0 = b", parameters, w =>
        {
            Clipped(w);
            w.Line($"if (a.WeightDecay != {zero}) d += a.WeightDecay * p[i];");
            w.Open($"if (a.Momentum != {zero})");
            w.Line($"{t} b = a.Momentum * s0[i] + d;");
            w.Line("s0[i] = b;");
            w.Line("d = a.Variant != 0 ? d + a.Momentum * b : b;");
            w.Close();
            w.Line("p[i] -= a.LearningRate * d;");
        });
        string adagrad = g.Kernel("AdagradUpdate", "Adagrad: g += λθ; s ← s + g²; θ ← θ − η′·g/(√s + ε), η′ the decayed rate. s0 = s", parameters, w =>
        {
            Clipped(w);
            w.Line($"if (a.WeightDecay != {zero}) d += a.WeightDecay * p[i];");
            w.Line($"{t} s = s0[i] + d * d;");
            w.Line("s0[i] = s;");
            w.Line($"p[i] -= a.LearningRate * (d / ({c.Math}.Sqrt(s) + a.Epsilon));");
        });
        string rms = g.Kernel("RmsPropUpdate", "RMSProp: g += λθ; v ← αv + (1 − α)g²; centred: ḡ ← αḡ + (1 − α)g, v̂ = v − ḡ²; q = g/(√v̂ + ε); with momentum b ← μb + q, θ ← θ − η·b, else θ ← θ − η·q. s0 = v, s1 = ḡ, s2 = b", parameters, w =>
        {
            Clipped(w);
            w.Line($"if (a.WeightDecay != {zero}) d += a.WeightDecay * p[i];");
            w.Line($"{t} v = a.Beta1 * s0[i] + ({one} - a.Beta1) * d * d;");
            w.Line("s0[i] = v;");
            w.Open("if (a.Variant != 0)");
            w.Line($"{t} mean = a.Beta1 * s1[i] + ({one} - a.Beta1) * d;");
            w.Line("s1[i] = mean;");
            w.Line("v -= mean * mean;");
            w.Close();
            w.Line($"{t} q = d / ({c.Math}.Sqrt(v) + a.Epsilon);");
            w.Open($"if (a.Momentum != {zero})");
            w.Line($"{t} b = a.Momentum * s2[i] + q;");
            w.Line("s2[i] = b;");
            w.Line("q = b;");
            w.Close();
            w.Line("p[i] -= a.LearningRate * q;");
        });
        string adam = g.Kernel("AdamUpdate", "Adam / AdamW: θ ← θ·(1 − ηλ) (AdamW), g += λθ (Adam); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; AMSGrad v̂ ← max(v̂, v); θ ← θ − η/(1 − β₁ᵗ)·m/(√v̂/√(1 − β₂ᵗ) + ε). s0 = m, s1 = v, s2 = max v", parameters, w =>
        {
            w.Line($"{t} theta = p[i] * a.DecayFactor;");
            Clipped(w);
            w.Line($"if (a.WeightDecay != {zero}) d += a.WeightDecay * theta;");
            w.Line($"{t} m = a.Beta1 * s0[i] + ({one} - a.Beta1) * d;");
            w.Line($"{t} v = a.Beta2 * s1[i] + ({one} - a.Beta2) * d * d;");
            w.Line("s0[i] = m;");
            w.Line("s1[i] = v;");
            w.Open("if (a.Variant != 0)");
            w.Line("if (s2[i] > v) v = s2[i];");
            w.Line("s2[i] = v;");
            w.Close();
            w.Line($"p[i] = theta - a.LearningRate * (m / ({c.Math}.Sqrt(v) / a.BiasCorrection2Sqrt + a.Epsilon));");
        });
        update.Line($"// One thread per parameter ({N}); state0..2 are the optimiser's state vectors on the device.");
        update.Open("switch (kind)");
        foreach (var (kind, field) in new[] { ("Sgd", sgd), ("Adagrad", adagrad), ("RmsProp", rms), ("Adam", adam) })
            update.Line($"case global::NetGen.Gpu.GpuUpdateKind.{kind}: {field}({N}, P, G, state0, state1, state2, Clip, args); break;");
        update.Close();

        int parts = Parts;
        string squares = g.Kernel("ClipSquares", $"Partial sum i of the clamped squared gradient: Σ over k ≡ i (mod {parts}) of clamp(g_k, ±ClipValue)²", new[] { g.V("grad"), g.V("partials"), (args, "a") }, w =>
        {
            w.Line($"{t} sum = {zero};");
            w.Open($"for (int k = i; k < {N}; k += {parts})");
            w.Line($"{t} d = grad[k]; if (d > a.ClipValue) d = a.ClipValue; else if (d < -a.ClipValue) d = -a.ClipValue;");
            w.Line("sum += d * d;");
            w.Close();
            w.Line("partials[i] = sum;");
        });
        string coefficient = g.Kernel("ClipCoefficient", "One thread: ‖g‖ = √Σ partials; clip[0] = ClipNorm/(‖g‖ + 1e-6) when that is below 1, else 1 (torch.nn.utils.clip_grad_norm_)", new[] { g.V("partials"), g.V("clip"), (args, "a") }, w =>
        {
            w.Line($"{t} sum = {zero};");
            w.Line($"for (int k = 0; k < {parts}; k++) sum += partials[k];");
            w.Line($"{t} coefficient = a.ClipNorm / ({c.Math}.Sqrt(sum) + {c.Lit(1e-6)});");
            w.Line($"clip[0] = coefficient < {one} ? coefficient : {one};");
        });
        clip.Line($"{squares}({parts}, G, Partials, args);");
        clip.Line($"{coefficient}(1, Partials, Clip, args);");
    }

    /// <summary>The weight penalties E_reg = Σ λ₁|w| + λ₂w²: partial sums for the loss, and the gradient λ₁·sign(w) + 2λ₂·w
    /// added per weight.</summary>
    public static void Penalty(GpuWriter g, List<LayerPlan> layers, CodeWriter penalty, CodeWriter gradient)
    {
        var c = g.C;
        string t = c.T, zero = c.Lit(0), one = c.Lit(1);
        int parts = Parts;
        string partials = g.Kernel("PenaltySums", $"Partial sum i of the weight penalties: Σ over weights k ≡ i (mod {parts}) of λ₁|w_k| + λ₂w_k²", new[] { g.V("p"), g.V("partials") }, w =>
        {
            w.Line($"{t} sum = {zero};");
            foreach (var l in layers)
            {
                w.Open($"for (int k = i; k < {l.WeightCount}; k += {parts})   // {l.PascalName}");
                w.Line($"{t} weight = p[{l.WeightOffset} + k];");
                if (l.L1 > 0) w.Line($"sum += {c.Lit(l.L1)} * {c.Math}.Abs(weight);");
                if (l.L2 > 0) w.Line($"sum += {c.Lit(l.L2)} * weight * weight;");
                w.Close();
            }
            w.Line("partials[i] = sum;");
        });
        penalty.Line($"{partials}({parts}, P, PenaltyPartials);");
        gradient.Line("// The weight penalties' gradient λ₁·sign(w) + 2λ₂·w, as the CPU's AddRegularizationGradients");
        foreach (var l in layers)
        {
            var terms = new List<string>();
            if (l.L1 > 0) terms.Add($"{c.Lit(l.L1)} * (weight > {zero} ? {one} : weight < {zero} ? -{one} : {zero})");
            if (l.L2 > 0) terms.Add($"{c.Lit(2 * l.L2)} * weight");
            string field = g.Kernel($"{l.PascalName}PenaltyGradient", $"{l.PascalName}: ∂E_reg/∂w for weight i", new[] { g.V("p"), g.V("grad") }, w =>
            {
                w.Line($"{t} weight = p[{l.WeightOffset} + i];");
                w.Line($"grad[{l.WeightOffset} + i] += {string.Join(" + ", terms)};");
            });
            gradient.Line($"{field}({l.WeightCount}, P, G);");
        }
    }
}
