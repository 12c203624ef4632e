using System.Collections.Generic;
using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// Emits <c>Explain</c> for small networks: the forward and backward computation of one sample printed the way the
/// lecture writes it by hand (net_h1 = w1·i1 + w2·i2 + b·1 = 0.15·0.05 + 0.2·0.1 + 0.35·1 = 0.3775 …).
/// The structure is known at compile time, so the method is straight-line WriteLine calls over the real buffers.
/// Two overloads: from a loss and a target (∂E_total/∂…), and from a given upstream gradient ∂f/∂out without a loss
/// (cs231n's circuit diagrams, which also print ∂f/∂ of the inputs).
/// </summary>
internal static class ExplainEmitter
{
    public static void Emit(CodeWriter w, EmitContext c)
    {
        EmitWithLoss(w, c);
        EmitWithUpstreamGradient(w, c);
    }

    /// <summary><c>Explain(input, target, writer, learningRate)</c>: forward, the loss E_total, backward from it, the update.</summary>
    private static void EmitWithLoss(CodeWriter w, EmitContext c)
    {
        var plan = c.Plan;
        var names = c.Names!;
        string t = c.T, tw = "global::System.IO.TextWriter";
        var dense = plan.Layers.Where(l => l.Kind == LayerKind.Dense).ToList();

        w.Line("/// <summary>Runs one sample forward and backward and prints every step of the computation in the lecture's");
        w.Line("/// notation: each net input, activation, the loss, every ∂E/∂w by the chain rule and, when");
        w.Line("/// <paramref name=\"learningRate\"/> is positive, the update w⁺ = w − η·∂E/∂w (printed, not applied).");
        w.Line("/// Leaves this sample's gradients in <see cref=\"Gradients\"/>.</summary>");
        w.Open($"public void Explain(global::System.ReadOnlySpan<{t}> input, global::System.ReadOnlySpan<{t}> target, {tw} writer, double learningRate = 0)");
        w.Line("global::System.ArgumentNullException.ThrowIfNull(writer);");
        w.Line("static string F(double v) => global::NetGen.Explanation.F(v);");
        w.Line("static string P(double v) => global::NetGen.Explanation.P(v);");
        w.Line("ZeroGradients();");
        w.Line("Forward(input, 1);");
        w.Line($"double loss = (double)Loss(target);");
        w.Line("Backward(target);");
        w.Line($"global::System.ReadOnlySpan<{t}> t = target;");
        EmitForward(w, c, dense);

        // The loss.
        var last = dense[dense.Count - 1];
        string[] outs = names.Neurons(last);
        string outBuf = EmitContext.A(plan.Layers.Length);
        if (plan.Spec.Loss == LossKind.HalfSquaredError)
        {
            for (int j = 0; j < plan.OutputSize; j++)
                w.Line($"writer.WriteLine($\"  E_{outs[j]} = ½(target_{outs[j]} - out_{outs[j]})² = ½({{F(t[{j}])}} - {{F({outBuf}[{j}])}})² = {{F(0.5 * ((double)t[{j}] - {outBuf}[{j}]) * ((double)t[{j}] - {outBuf}[{j}]))}}\");");
            w.Line($"writer.WriteLine($\"  E_total = {string.Join(" + ", outs.Select(o => "E_" + o))} = {{F(loss)}}\");");
        }
        else
        {
            w.Line($"writer.WriteLine($\"  E_total = {plan.Spec.Loss}(target, out) = {{F(loss)}}\");");
        }

        w.Line("writer.WriteLine(\"Backward pass\");");
        EmitBackward(w, c, dense, upstream: false);

        // The update the optimiser would make, in the lecture's notation.
        w.Open("if (learningRate > 0)");
        w.Line("writer.WriteLine($\"Update (η = {F(learningRate)})\");");
        foreach (var d in dense)
        {
            string[] n = names.Neurons(d);
            for (int j = 0; j < d.OutputSize; j++)
                for (int i = 0; i < d.InputSize; i++)
                {
                    int p = d.WeightOffset + j * d.InputSize + i;
                    string wName = names.Weight(d, j, i);
                    w.Line($"writer.WriteLine($\"  {wName}⁺ = {wName} - η·∂E_total/∂{wName} = {{F(_p[{p}])}} - {{F(learningRate)}}·{{P(_g[{p}])}} = {{F(_p[{p}] - learningRate * _g[{p}])}}\");");
                }
            if (d.BiasCount > 0 && d.TrainBias)
                for (int j = 0; j < d.OutputSize; j++)
                {
                    int p = d.BiasOffset + j;
                    w.Line($"writer.WriteLine($\"  b_{n[j]}⁺ = b_{n[j]} - η·∂E_total/∂b_{n[j]} = {{F(_p[{p}])}} - {{F(learningRate)}}·{{P(_g[{p}])}} = {{F(_p[{p}] - learningRate * _g[{p}])}}\");");
                }
        }
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary><c>Explain(input, writer, outputGradient)</c>: forward, then backward from a given ∂f/∂out (no loss),
    /// down to ∂f/∂ of every weight, bias and input.</summary>
    private static void EmitWithUpstreamGradient(CodeWriter w, EmitContext c)
    {
        var plan = c.Plan;
        var names = c.Names!;
        string t = c.T, tw = "global::System.IO.TextWriter";
        var dense = plan.Layers.Where(l => l.Kind == LayerKind.Dense).ToList();

        w.Line("/// <summary>Runs one sample forward, then backward from a given upstream gradient ∂f/∂out instead of a loss, and");
        w.Line("/// prints every step as the lecture's circuit diagrams do: each net input and activation, each local gradient,");
        w.Line("/// every ∂f/∂w and ∂f/∂b by the chain rule, and ∂f/∂ of each input. With <paramref name=\"outputGradient\"/> = 1 the");
        w.Line("/// network's output is f itself. Leaves this sample's gradients in <see cref=\"Gradients\"/>.</summary>");
        w.Open($"public void Explain(global::System.ReadOnlySpan<{t}> input, {tw} writer, global::System.ReadOnlySpan<{t}> outputGradient)");
        w.Line("global::System.ArgumentNullException.ThrowIfNull(writer);");
        w.Line("static string F(double v) => global::NetGen.Explanation.F(v);");
        w.Line("static string P(double v) => global::NetGen.Explanation.P(v);");
        w.Line("ZeroGradients();");
        w.Line("Forward(input, 1);");
        w.Line($"var inputGradient = new {t}[InputSize];");
        w.Line("Backward(outputGradient, inputGradient);");
        EmitForward(w, c, dense);
        w.Line("writer.WriteLine(\"Backward pass, from the given upstream gradient ∂f/∂out\");");
        EmitBackward(w, c, dense, upstream: true);

        // ∂f/∂ of the inputs: the sum over the first Dense layer's units, when the input feeds it directly.
        var first = dense[0];
        string[] fn = names.Neurons(first);
        for (int i = 0; i < plan.InputSize; i++)
        {
            string input = names.Inputs[i];
            if (first.Index == 0)
            {
                string sym = string.Join(" + ", Enumerable.Range(0, first.OutputSize).Select(j => $"δ_{fn[j]}·{names.Weight(first, j, i)}"));
                string num = string.Join(" + ", Enumerable.Range(0, first.OutputSize).Select(j =>
                    $"{{P({EmitContext.D(first.Index + 1)}[{j}])}}·{{P(_p[{first.WeightOffset + j * first.InputSize + i}])}}"));
                w.Line($"writer.WriteLine($\"  ∂f/∂{input} = {sym} = {num} = {{F(inputGradient[{i}])}}\");");
            }
            else
            {
                w.Line($"writer.WriteLine($\"  ∂f/∂{input} = {{F(inputGradient[{i}])}}\");");
            }
        }
        w.Close();
        w.Line();
    }

    /// <summary>Every neuron's net input and activation.</summary>
    private static void EmitForward(CodeWriter w, EmitContext c, List<LayerPlan> dense)
    {
        var plan = c.Plan;
        var names = c.Names!;
        w.Line("writer.WriteLine(\"Forward pass\");");
        foreach (var d in dense)
        {
            var act = ActivationAfter(plan, d);
            string[] n = names.Neurons(d), inputs = names.LayerInputs(d);
            string inBuf = EmitContext.A(d.Index), netBuf = EmitContext.A(d.Index + 1);
            for (int j = 0; j < d.OutputSize; j++)
            {
                var symbols = Enumerable.Range(0, d.InputSize).Select(i => names.Weight(d, j, i) + "·" + inputs[i]).ToList();
                var numbers = Enumerable.Range(0, d.InputSize).Select(i => $"{{P(_p[{d.WeightOffset + j * d.InputSize + i}])}}·{{P({inBuf}[{i}])}}").ToList();
                if (d.BiasCount > 0) { symbols.Add($"b_{n[j]}·1"); numbers.Add($"{{P(_p[{d.BiasOffset + j}])}}·1"); }
                w.Line($"writer.WriteLine($\"  net_{n[j]} = {string.Join(" + ", symbols)} = {string.Join(" + ", numbers)} = {{F({netBuf}[{j}])}}\");");
            }
            for (int j = 0; j < d.OutputSize; j++)
            {
                string outVal = act is null ? $"{netBuf}[{j}]" : $"{EmitContext.A(act.Index + 1)}[{j}]";
                string formula = act?.Kind switch
                {
                    LayerKind.Sigmoid => $"σ(net_{n[j]}) = 1/(1 + e^(-{{P({netBuf}[{j}])}}))",
                    LayerKind.Tanh => $"tanh(net_{n[j]}) = tanh({{F({netBuf}[{j}])}})",
                    LayerKind.ReLU => $"max(0, net_{n[j]}) = max(0, {{F({netBuf}[{j}])}})",
                    LayerKind.LeakyReLU => $"leaky_relu(net_{n[j]}) = leaky_relu({{F({netBuf}[{j}])}})",
                    LayerKind.Step => $"step(net_{n[j]}) = step({{F({netBuf}[{j}])}})",
                    LayerKind.Softmax => $"e^net_{n[j]} / Σₖ e^net_k",
                    _ => $"net_{n[j]}",
                };
                w.Line($"writer.WriteLine($\"  out_{n[j]} = {formula} = {{F({outVal})}}\");");
            }
        }
    }

    /// <summary>Layer by layer from the output, the chain rule for every weight: of the loss E_total, or, with
    /// <paramref name="upstream"/>, of f from the given ∂f/∂out (never fused with a softmax then: the given gradient
    /// goes through the softmax's Jacobian).</summary>
    private static void EmitBackward(CodeWriter w, EmitContext c, List<LayerPlan> dense, bool upstream)
    {
        var plan = c.Plan;
        var names = c.Names!;
        string e = upstream ? "f" : "E_total", eShort = upstream ? "f" : "E";
        for (int k = dense.Count - 1; k >= 0; k--)
        {
            var d = dense[k];
            var act = ActivationAfter(plan, d);
            string[] n = names.Neurons(d), inputs = names.LayerInputs(d);
            string outDelta = EmitContext.D((act ?? d).Index + 1), netDelta = EmitContext.D(d.Index + 1);
            string outAct = EmitContext.A((act ?? d).Index + 1), net = EmitContext.A(d.Index + 1);
            bool fused = !upstream && act is { Kind: LayerKind.Softmax } && plan.FusedSoftmaxCrossEntropy;
            bool chain = act is not null && act.Kind != LayerKind.Softmax;   // three printed factors
            for (int j = 0; j < d.OutputSize; j++)
            {
                string o = n[j];
                if (k == dense.Count - 1)
                {
                    if (upstream)
                        w.Line($"writer.WriteLine($\"  ∂f/∂out_{o} = {{F({outDelta}[{j}])}}   (given)\");");
                    else if (fused)
                        w.Line($"writer.WriteLine($\"  δ_{o} = ∂E_total/∂net_{o} = out_{o} - target_{o} = {{F({outAct}[{j}])}} - {{F(t[{j}])}} = {{F({netDelta}[{j}])}}   (softmax and cross-entropy fused)\");");
                    else if (plan.Spec.Loss == LossKind.HalfSquaredError)
                        w.Line($"writer.WriteLine($\"  ∂E_total/∂out_{o} = -(target_{o} - out_{o}) = -({{F(t[{j}])}} - {{F({outAct}[{j}])}}) = {{F({outDelta}[{j}])}}\");");
                    else
                        w.Line($"writer.WriteLine($\"  ∂E_total/∂out_{o} = {{F({outDelta}[{j}])}}\");");
                }
                else
                {
                    var next = dense[k + 1];
                    string[] nn = names.Neurons(next);
                    string sym = string.Join(" + ", Enumerable.Range(0, next.OutputSize).Select(m => $"δ_{nn[m]}·{names.Weight(next, m, j)}"));
                    string num = string.Join(" + ", Enumerable.Range(0, next.OutputSize).Select(m =>
                        $"{{P({EmitContext.D(next.Index + 1)}[{m}])}}·{{P(_p[{next.WeightOffset + m * next.InputSize + j}])}}"));
                    w.Line($"writer.WriteLine($\"  ∂{e}/∂out_{o} = {sym} = {num} = {{F({outDelta}[{j}])}}\");");
                }
                if (chain)
                {
                    string deriv = act!.Kind switch
                    {
                        LayerKind.Sigmoid => $"out_{o}·(1 - out_{o})",
                        LayerKind.Tanh => $"1 - out_{o}²",
                        LayerKind.ReLU => $"net_{o} > 0 ? 1 : 0",
                        LayerKind.LeakyReLU => $"net_{o} > 0 ? 1 : α",
                        LayerKind.Step => "1 (straight-through)",
                        _ => "1",
                    };
                    string derivValue = act.Kind switch
                    {
                        LayerKind.Sigmoid => $"(double){outAct}[{j}] * (1 - (double){outAct}[{j}])",
                        LayerKind.Tanh => $"1 - (double){outAct}[{j}] * {outAct}[{j}]",
                        LayerKind.ReLU => $"({net}[{j}] > 0 ? 1.0 : 0.0)",
                        LayerKind.LeakyReLU => $"({net}[{j}] > 0 ? 1.0 : {CodeWriter.Literal(act.Alpha, true)})",
                        _ => "1.0",
                    };
                    w.Line($"double dOut{d.Index}_{j} = {derivValue};");
                    w.Line($"writer.WriteLine($\"  ∂out_{o}/∂net_{o} = {deriv} = {{F(dOut{d.Index}_{j})}}\");");
                }
                else if (!fused && act is { Kind: LayerKind.Softmax })
                {
                    w.Line($"writer.WriteLine($\"  δ_{o} = ∂{e}/∂net_{o} = out_{o}·(∂{eShort}/∂out_{o} - Σₖ ∂{eShort}/∂out_k·out_k) = {{F({netDelta}[{j}])}}\");");
                }
                for (int i = 0; i < d.InputSize; i++)
                {
                    string wName = names.Weight(d, j, i);
                    string g = $"_g[{d.WeightOffset + j * d.InputSize + i}]";
                    string x = $"{EmitContext.A(d.Index)}[{i}]";
                    if (chain)
                        w.Line($"writer.WriteLine($\"  ∂{e}/∂{wName} = ∂{e}/∂out_{o} · ∂out_{o}/∂net_{o} · ∂net_{o}/∂{wName} = {{P({outDelta}[{j}])}} · {{P(dOut{d.Index}_{j})}} · {{P({x})}} = {{F({g})}}\");");
                    else
                        w.Line($"writer.WriteLine($\"  ∂{e}/∂{wName} = δ_{o} · {inputs[i]} = {{P({netDelta}[{j}])}} · {{P({x})}} = {{F({g})}}\");");
                }
                if (d.BiasCount > 0 && d.TrainBias)
                    w.Line($"writer.WriteLine($\"  ∂{e}/∂b_{o} = δ_{o} = {{F(_g[{d.BiasOffset + j}])}}\");");
            }
        }
    }

    /// <summary>The activation directly after a Dense layer, if any.</summary>
    private static LayerPlan? ActivationAfter(NetworkPlan plan, LayerPlan dense)
    {
        int next = dense.Index + 1;
        return next < plan.Layers.Length && plan.Layers[next].IsActivation ? plan.Layers[next] : null;
    }
}
