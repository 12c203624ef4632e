using System.Collections.Generic;
using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Dense: y = W·x + b, W stored [out × in] row-major at parameters[WeightOffset], b at parameters[BiasOffset].
/// Forward  netⱼ = Σᵢ wⱼᵢ·xᵢ + bⱼ
/// Backward ∂E/∂wⱼᵢ += δⱼ·xᵢ,  ∂E/∂bⱼ += δⱼ,  ∂E/∂xᵢ = Σⱼ wⱼᵢ·δⱼ   (δ = ∂E/∂net, summed over the batch)
/// Small layers are unrolled into one statement per neuron; larger ones are loops over vectorised dot products.
/// </summary>
internal sealed class DenseEmitter : LayerEmitter
{
    public static readonly DenseEmitter Instance = new();

    public override void Initialize(CodeWriter w, EmitContext c, LayerPlan layer)
        => InitializeWeights(w, c, layer, fanIn: layer.InputSize, fanOut: layer.OutputSize);

    /// <summary>He init when a ReLU-family activation follows the layer (through BatchNorm/Dropout), Glorot otherwise.</summary>
    public static void InitializeWeights(CodeWriter w, EmitContext c, LayerPlan layer, int fanIn, int fanOut)
    {
        var next = LayerKind.Identity;
        for (int k = layer.Index + 1; k < c.Plan.Layers.Length; k++)
        {
            var kind = c.Plan.Layers[k].Kind;
            if (kind is LayerKind.BatchNorm or LayerKind.Dropout or LayerKind.MaxPool or LayerKind.AvgPool) continue;
            if (Shapes.IsActivation(kind)) next = kind;
            break;
        }
        bool he = next is LayerKind.ReLU or LayerKind.LeakyReLU;
        string span = $"_p.AsSpan({layer.WeightOffset}, {layer.WeightCount})";
        w.Line(he
            ? $"global::NetGen.Init.HeUniform<{c.T}>({span}, fanIn: {fanIn}, random);   // {layer.PascalName}: He, followed by {next}"
            : $"global::NetGen.Init.GlorotUniform<{c.T}>({span}, fanIn: {fanIn}, fanOut: {fanOut}, random);   // {layer.PascalName}: Glorot, followed by {next}");
    }

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int @in = layer.InputSize, @out = layer.OutputSize;
        if (c.IsUnrolled(layer))
        {
            w.Line($"// Layer {layer.Index}: {layer.PascalName} ({@in} → {@out}), unrolled: netⱼ = Σᵢ wⱼᵢ·xᵢ + bⱼ");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line($"int xo = n * {@in}, yo = n * {@out};");
            string[]? neurons = c.Names?.Neurons(layer);
            string[]? inputs = c.Names?.LayerInputs(layer);
            for (int j = 0; j < @out; j++)
            {
                var terms = new List<string>();
                for (int i = 0; i < @in; i++) terms.Add($"_p[{layer.WeightOffset + j * @in + i}] * {A(layer.Index)}[xo + {i}]");
                if (layer.BiasCount > 0) terms.Add($"_p[{layer.BiasOffset + j}]");
                string comment = neurons is null ? "" : $"   // net_{neurons[j]} = " + string.Join(" + ",
                    Enumerable.Range(0, @in).Select(i => c.Names!.Weight(layer, j, i) + "·" + inputs![i])) + (layer.BiasCount > 0 ? $" + b_{neurons[j]}·1" : "");
                w.Line($"{A(layer.Index + 1)}[yo + {j}] = {string.Join(" + ", terms)};{comment}");
            }
            w.Close();
            return;
        }

        w.Line($"// Layer {layer.Index}: {layer.PascalName} ({@in} → {@out}): y = W·x + b, one vectorised dot product per unit");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"global::System.ReadOnlySpan<{c.T}> x = {A(layer.Index)}.AsSpan(n * {@in}, {@in});");
        w.Line($"global::System.Span<{c.T}> y = {A(layer.Index + 1)}.AsSpan(n * {@out}, {@out});");
        w.Open($"for (int j = 0; j < {@out}; j++)");
        string bias = layer.BiasCount > 0 ? $" + _p[{layer.BiasOffset} + j]" : "";
        w.Line($"y[j] = {c.Tp}.Dot<{c.T}>(_p.AsSpan({layer.WeightOffset} + j * {@in}, {@in}), x){bias};");
        w.Close();
        w.Close();
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int @in = layer.InputSize, @out = layer.OutputSize;
        bool trainBias = layer.BiasCount > 0 && layer.Spec.TrainBias;
        // The first layer's ∂E/∂x is only needed when the caller asked for the input gradient.
        string? guard = layer.Index == 0 ? "if (inputGradient)" : null;
        if (c.IsUnrolled(layer))
        {
            w.Line($"// Layer {layer.Index}: {layer.PascalName} backward, unrolled: ∂E/∂wⱼᵢ += δⱼ·xᵢ{(trainBias ? ", ∂E/∂bⱼ += δⱼ" : "")}, ∂E/∂xᵢ = Σⱼ wⱼᵢ·δⱼ" +
                (layer.BiasCount > 0 && !trainBias ? " (bias held: TrainBias = false)" : ""));
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line($"int xo = n * {@in}, yo = n * {@out};");
            string[]? neurons = c.Names?.Neurons(layer);
            string[]? inputs = c.Names?.LayerInputs(layer);
            for (int j = 0; j < @out; j++)
                w.Line($"{c.T} delta{j} = {D(layer.Index + 1)}[yo + {j}];" + (neurons is null ? "" : $"   // δ_{neurons[j]} = ∂E/∂net_{neurons[j]}"));
            for (int j = 0; j < @out; j++)
            {
                for (int i = 0; i < @in; i++)
                    w.Line($"_g[{layer.WeightOffset + j * @in + i}] += delta{j} * {A(layer.Index)}[xo + {i}];" +
                           (neurons is null ? "" : $"   // ∂E/∂{c.Names!.Weight(layer, j, i)} = δ_{neurons[j]}·{inputs![i]}"));
                if (trainBias) w.Line($"_g[{layer.BiasOffset + j}] += delta{j};");
            }
            if (guard is not null) w.Open(guard);
            for (int i = 0; i < @in; i++)
                w.Line($"{D(layer.Index)}[xo + {i}] = " + string.Join(" + ", Enumerable.Range(0, @out).Select(j => $"_p[{layer.WeightOffset + j * @in + i}] * delta{j}")) + ";");
            if (guard is not null) w.Close();
            w.Close();
            return;
        }

        w.Line($"// Layer {layer.Index}: {layer.PascalName} backward: ∂E/∂W += δ·xᵀ{(trainBias ? ", ∂E/∂b += δ" : "")}, ∂E/∂x = Wᵀ·δ");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"global::System.ReadOnlySpan<{c.T}> x = {A(layer.Index)}.AsSpan(n * {@in}, {@in});");
        w.Line($"global::System.ReadOnlySpan<{c.T}> delta = {D(layer.Index + 1)}.AsSpan(n * {@out}, {@out});");
        w.Open($"for (int j = 0; j < {@out}; j++)");
        w.Line($"global::System.Span<{c.T}> gw = _g.AsSpan({layer.WeightOffset} + j * {@in}, {@in});");
        w.Line($"{c.Tp}.MultiplyAdd<{c.T}>(x, delta[j], gw, gw);");
        if (trainBias) w.Line($"_g[{layer.BiasOffset} + j] += delta[j];");
        w.Close();
        if (guard is not null) w.Open(guard);
        w.Line($"global::System.Span<{c.T}> dx = {D(layer.Index)}.AsSpan(n * {@in}, {@in});");
        w.Line("dx.Clear();");
        w.Open($"for (int j = 0; j < {@out}; j++)");
        w.Line($"{c.Tp}.MultiplyAdd<{c.T}>(_p.AsSpan({layer.WeightOffset} + j * {@in}, {@in}), delta[j], dx, dx);");
        w.Close();
        if (guard is not null) w.Close();
        w.Close();
    }

    private static string A(int k) => EmitContext.A(k);

    private static string D(int k) => EmitContext.D(k);
}
