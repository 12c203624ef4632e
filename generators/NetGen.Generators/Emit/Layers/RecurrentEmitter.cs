using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// SimpleRNN, GRU and LSTM over a sequence (T, F). The network owns one <c>NetGen.RecurrentLayer&lt;T&gt;</c> per layer,
/// constructed with the layer's literal sizes: it holds the per-step gates and states that back-propagation through
/// time reads, and the state carried between stateful <c>Step</c> calls. Forward: the input products x_t·W_ihᵀ of
/// every sample and step as one product, then only h_(t−1)·W_hhᵀ step by step; backward: BPTT from the last step to the
/// first, then ∂E/∂W_ih, ∂E/∂W_hh and ∂E/∂x each as one product over every step (the equations are in
/// <c>RecurrentLayer</c>'s summary, forward and backward side by side). Parameters in PyTorch's layout and
/// <c>parameters()</c> order: weight_ih_l0 [G·H × F], weight_hh_l0 [G·H × H], bias_ih_l0, bias_hh_l0, then the
/// <c>_reverse</c> set of a bidirectional layer.
/// </summary>
internal sealed partial class RecurrentEmitter : LayerEmitter
{
    public static readonly RecurrentEmitter Instance = new();

    public static string Field(LayerPlan layer) => "_" + layer.PascalName.ToLowerInvariant();

    private static string Cell(LayerPlan layer) => layer.Kind switch
    {
        LayerKind.LSTM => "Lstm",
        LayerKind.GRU => "Gru",
        _ => O(layer).Activation == 1 ? "SimpleReLU" : "SimpleTanh",
    };

    private static RecurrentOptions O(LayerPlan layer) => layer.Options<RecurrentOptions>();

    private static int Units(LayerPlan layer) => O(layer).Units;

    private static int Features(LayerPlan layer) => layer.InputShape[1];

    // Memory, not spans: the layer splits its products across threads, whose parts reach the buffers through fields.
    private static string Params(LayerPlan layer) => $"_p.AsMemory({layer.WeightOffset}, {layer.ParameterCount})";

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"private readonly global::NetGen.RecurrentLayer<{c.T}> {Field(layer)};   // {layer.PascalName}: per-step gates and states (BPTT), the carried state of Step");

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan layer)
        => w.Line($"{Field(layer)} = new global::NetGen.RecurrentLayer<{c.T}>(global::NetGen.RecurrentCell.{Cell(layer)}, inputSize: {Features(layer)}, units: {Units(layer)}, " +
                  $"steps: {layer.InputShape[0]}, bidirectional: {(O(layer).Bidirectional ? "true" : "false")}, returnSequences: {(O(layer).ReturnSequences ? "true" : "false")}, maxBatch);");

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int f = Features(layer);
        w.Line($"// Layer {layer.Index}: {layer.PascalName} ({layer.InputShape[0]} steps × {f} → {Units(layer)} units{(O(layer).Bidirectional ? " × 2 directions" : "")}): " +
               "x_t·W_ihᵀ + b_ih for every step at once, then h_(t−1)·W_hhᵀ + b_hh and the gates step by step");
        // In inference mode the layer keeps W_hh packed (and W_ihᵀ) while the weights' version stays the same (c.CachesPanels
        // is true for every network with a recurrent layer); training passes make them anew, as the weights change every step.
        w.Line($"{Field(layer)}.Forward({Params(layer)}, {EmitContext.A(layer.Index)}.AsMemory(0, batch * _steps * {f}), {EmitContext.A(layer.Index + 1)}, batch, _steps, carry: _stepping, " +
               "weightsVersion: Training ? -1 : _weightsVersion[0]);");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int f = Features(layer);
        string dx = $"{EmitContext.D(layer.Index)}.AsMemory(0, batch * {layer.InputShape[0] * f})";
        if (layer.Index == 0) dx = $"inputGradient ? {dx} : default";
        w.Line($"// Layer {layer.Index}: {layer.PascalName} backward through time: δ per step from the last to the first, then ∂E/∂W_ih, ∂E/∂W_hh, ∂E/∂b and ∂E/∂x over every step");
        w.Line($"{Field(layer)}.Backward({Params(layer)}, _g.AsMemory({layer.WeightOffset}, {layer.ParameterCount}), {EmitContext.A(layer.Index)}.AsMemory(0, batch * {layer.InputShape[0] * f}), " +
               $"{EmitContext.D(layer.Index + 1)}.AsMemory(0, batch * {layer.OutputSize}), {dx}, batch);");
    }

    public override void Views(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        base.Views(w, c, layer);
        w.Line($"/// <summary>{layer.PascalName}'s step loops and per-step buffers: the hidden states of the last forward pass");
        w.Line("/// (<c>CopyHidden</c>), ∂E/∂h_t of the last backward pass (<c>HiddenGradient</c>), the carried state of <c>Step</c>.</summary>");
        w.Line($"public global::NetGen.RecurrentLayer<{c.T}> {layer.PascalName}Layer => {Field(layer)};");
    }
}

/// <summary>
/// Embedding: T token ids per sample → (T, dimension). Forward y[t] = table[id_t] (each id checked to be an exact integer
/// below the vocabulary); backward ∂E/∂table[id_t] += ∂E/∂y[t]; ids have no gradient (∂E/∂input = 0). The table is
/// [vocabulary × dimension], PyTorch's <c>nn.Embedding.weight</c>, initialised from N(0, 1) as there.
/// </summary>
internal sealed partial class EmbeddingEmitter : LayerEmitter
{
    public static readonly EmbeddingEmitter Instance = new();

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        var o = layer.Options<EmbeddingOptions>();
        int v = o.Vocabulary, d = o.Dimension;
        w.Line($"// Layer {layer.Index}: {layer.PascalName}: y[t] = table[id_t], {v} ids × {d} values (ids are exact integers in the input)");
        w.Line($"global::NetGen.SequenceLayers.EmbeddingForward<{c.T}>(_p.AsSpan({layer.WeightOffset}, {layer.WeightCount}), {EmitContext.A(layer.Index)}, {EmitContext.A(layer.Index + 1)}, batch * _steps, _steps, {v}, {d}, \"{c.Plan.Spec.ClassName}\");");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int d = layer.Options<EmbeddingOptions>().Dimension;
        w.Line($"// Layer {layer.Index}: {layer.PascalName} backward: ∂E/∂table[id_t] += ∂E/∂y[t]; ids have no gradient");
        w.Line($"global::NetGen.SequenceLayers.EmbeddingBackward<{c.T}>({EmitContext.A(layer.Index)}, {EmitContext.D(layer.Index + 1)}, _g.AsSpan({layer.WeightOffset}, {layer.WeightCount}), batch * {layer.InputSize}, {d});");
        if (layer.Index == 0) w.Line($"if (inputGradient) global::System.Array.Clear({EmitContext.D(layer.Index)}, 0, batch * {layer.InputSize});");
    }
}

/// <summary>
/// Dense after a sequence (T, F): the same layer at every step (Keras' semantics, PyTorch's <c>Linear</c> on the last
/// axis), y[t] = W·x[t] + b with W [units × F]. Backward: ∂E/∂W += Σ_t δ[t]·x[t]ᵀ, ∂E/∂b += Σ_t δ[t], ∂E/∂x[t] = Wᵀ·δ[t].
/// </summary>
internal sealed partial class SequenceDenseEmitter : LayerEmitter
{
    public static readonly SequenceDenseEmitter Instance = new();

    private static int In(LayerPlan l) => l.InputShape[1];

    private static int Out(LayerPlan l) => l.OutputShape[1];

    private static string Bias(LayerPlan l, string buffer) => l.BiasCount > 0 ? $"{buffer}.AsSpan({l.BiasOffset}, {l.BiasCount})" : "default";

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        w.Line($"// Layer {layer.Index}: {layer.PascalName} at every step ({In(layer)} → {Out(layer)}): y[t] = W·x[t] + b");
        w.Line($"global::NetGen.SequenceLayers.DenseForward<{c.T}>(_p.AsSpan({layer.WeightOffset}, {layer.WeightCount}), {Bias(layer, "_p")}, {EmitContext.A(layer.Index)}, {EmitContext.A(layer.Index + 1)}, batch * _steps, {In(layer)}, {Out(layer)});");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        string bias = layer.BiasCount > 0 && layer.TrainBias ? Bias(layer, "_g") : "default";
        string dx = $"{EmitContext.D(layer.Index)}";
        if (layer.Index == 0) dx = $"inputGradient ? {dx} : default";
        w.Line($"// Layer {layer.Index}: {layer.PascalName} backward at every step: ∂E/∂W += Σ_t δ[t]·x[t]ᵀ, ∂E/∂b += Σ_t δ[t], ∂E/∂x[t] = Wᵀ·δ[t]");
        w.Line($"global::NetGen.SequenceLayers.DenseBackward<{c.T}>(_p.AsSpan({layer.WeightOffset}, {layer.WeightCount}), _g.AsSpan({layer.WeightOffset}, {layer.WeightCount}), {bias}, " +
               $"{EmitContext.A(layer.Index)}, {EmitContext.D(layer.Index + 1)}, {dx}, batch * {layer.InputShape[0]}, {In(layer)}, {Out(layer)});");
    }
}
