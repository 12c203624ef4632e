using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>[SimpleRNN(units)], [GRU(units)], [LSTM(units)]: a recurrent layer over a sequence.</summary>
/// <param name="Activation">SimpleRNN's non-linearity as declared (0 tanh, 1 ReLU; GRU and LSTM: 0).</param>
internal sealed record RecurrentOptions(int Units, bool ReturnSequences, bool Bidirectional, int Activation) : LayerOptions;

/// <summary>[Embedding(vocabulary, dimension)]: token ids → vectors.</summary>
internal sealed record EmbeddingOptions(int Vocabulary, int Dimension) : LayerOptions;

/// <summary>
/// SimpleRNN, GRU and LSTM: Sequence(T, F) → Vector(D·H), or Sequence(T, D·H) with ReturnSequences (D = 2 when
/// bidirectional). Slots in PyTorch's <c>parameters()</c> order: WeightIh [G·H × F], WeightHh [G·H × H], BiasIh [G·H],
/// BiasHh [G·H] (PyTorch's weight_ih_l0 …), then the same with "Reverse" (…_reverse), all uniform ±1/√H.
/// </summary>
internal abstract class RecurrentLayerDefinition<TAttribute> : LayerDefinition<TAttribute> where TAttribute : System.Attribute
{
    protected RecurrentLayerDefinition(LayerKind kind, string snakeName, string onnxOperator) : base(kind, snakeName, onnxOperator, gpu: true)
    {
    }

    public override LayerEmitter Emitter => RecurrentEmitter.Instance;

    public override Layout Infer(LayerRule rule)
    {
        var o = (RecurrentOptions)rule.Layer.Options;
        string name = rule.Layer.AttributeName;
        int units = o.Units, directions = o.Bidirectional ? 2 : 1;
        if (units <= 0 || units > (1 << 16))
            rule.Report(Descriptors.BadSize, $"[{name}({units})]: the number of units must be a positive integer{(units > 0 ? " no larger than 65536" : "")}, e.g. [{name}(64)].", "units");
        if (Kind == LayerKind.SimpleRNN && o.Activation is not (0 or 1))
            rule.Report(Descriptors.CannotHonour, $"[SimpleRNN(Activation = {o.Activation})] is not a RecurrentActivation: use RecurrentActivation.Tanh or RecurrentActivation.ReLU.", "Activation");
        int h = directions * System.Math.Max(units, 0);
        var input = rule.Input;
        if (!input.IsSequence)
        {
            int previous = rule.Index - 1;
            while (previous >= 0 && rule.Network.Layers[previous].Kind is LayerKind.Input or LayerKind.Unknown) previous--;
            var before = previous >= 0 && rule.Network.Layers[previous].Kind != LayerKind.Input ? rule.Network.Layers[previous] : null;
            if (before is { Options: RecurrentOptions { ReturnSequences: false } })
                rule.Found.Add(new(Descriptors.RecurrentReturnsLastStep, $"[{before.AttributeName}] feeds [{name}], which reads a sequence, but it returns only its last step {Shapes.FormatShape(input.Shape)}: set ReturnSequences = true on it to pass every step on.", previous)
                    { Fixes = ImmutableArray.Create(new ShapeFix($"Set ReturnSequences = true on [{before.AttributeName}]", "set:ReturnSequences=true")) });
            else if (input.Shape.Length > 0)
            {
                var shape = input.Shape;
                string suggestion = input.IsVector
                    ? $" To read the {shape[0]} values as {shape[0]} steps of one feature declare [Input({shape[0]}, 1)]" + RowSuggestion(shape[0]) + "."
                    : input.IsImage ? $" To read each of the {shape[1]} rows of a ({string.Join(", ", shape)}) image as a step declare [Input({shape[1]}, {shape[0] * shape[2]})]." : "";
                bool fromInput = before is null;
                string reshape = fromInput ? "" : " Or read the tensor as a sequence with [Reshape(T, F)] before it.";
                rule.Found.Add(new(Descriptors.RecurrentNeedsSequence, $"[{name}] reads a sequence (T steps × F features), but it is fed {Shapes.FormatShape(shape)}.{suggestion} A sequence input is [Input(T, F)], e.g. [Input(28, 28)] for an image read row by row.{reshape}", rule.Index)
                    { Fixes = SequenceFixes(shape, name, fromInput) });
            }
            return Layout.Vector(System.Math.Max(h, 1));
        }
        // The gates of every step, kept for backpropagation through time, count against the limit of every tensor.
        long gates = Shapes.Product(new[] { input.Steps, directions, Shapes.Gates(Kind), System.Math.Max(units, 1) });
        if (units > 0 && gates > Shapes.MaxValuesPerSample)
            rule.Report(Descriptors.BadSize, $"[{name}({units})] keeps {input.Steps} steps × {directions * Shapes.Gates(Kind)} gate(s) × {units} units = {Shapes.Count(gates)} values per sample for backpropagation through time, more than the {Shapes.Count(Shapes.MaxValuesPerSample)} NetGen allows per tensor: use fewer units or shorter sequences.", "units");
        return o.ReturnSequences ? Layout.Sequence(input.Steps, System.Math.Max(h, 1)) : Layout.Vector(System.Math.Max(h, 1));
    }

    /// <summary>The (T, F) readings of a vector or image as a sequence — (n, 1) and the most square (n / r, r) for a
    /// vector, each row a step for an image — as fixes: the input declared as that sequence when the recurrent layer
    /// reads the input, else [Reshape(T, F)] inserted before it.</summary>
    private static ImmutableArray<ShapeFix> SequenceFixes(ImmutableArray<int> shape, string name, bool fromInput)
    {
        var readings = new List<(int T, int F)>();
        if (shape.Length == 1)
        {
            int n = shape[0], best = 0;
            for (int r = 2; (long)r * r <= n; r++) if (n % r == 0) best = r;
            if (best > 0) readings.Add((n / best, best));
            readings.Add((n, 1));
        }
        else if (shape.Length == 3) readings.Add((shape[1], shape[0] * shape[2]));
        var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
        foreach (var (t, f) in readings)
            fixes.Add(fromInput
                ? new ShapeFix($"Declare [Input({t}, {f})] ({t} steps of {f})", $"input:{t}, {f}")
                : new ShapeFix($"Insert [Reshape({t}, {f})] before [{name}] ({t} steps of {f})", $"insert-before:Reshape({t}, {f})"));
        return fixes.ToImmutable();
    }

    /// <summary>", or [Input(R, C)] to read it as R steps of C values" for the most square factorisation.</summary>
    private static string RowSuggestion(int n)
    {
        int best = 0;
        for (int r = 2; (long)r * r <= n; r++) if (n % r == 0) best = r;
        return best > 0 ? $", or [Input({n / best}, {best})] to read it as {n / best} steps of {best} values" : "";
    }

    public override IEnumerable<ParameterSlot> Slots(LayerPlan l)
    {
        var o = (RecurrentOptions)l.Spec.Options;
        if (!l.InputLayout.IsSequence || o.Units <= 0) yield break;
        int h = o.Units, g = Shapes.Gates(Kind) * h, f = l.InputLayout.Features;
        string gates = Kind switch { LayerKind.LSTM => "gates i, f, g, o", LayerKind.GRU => "gates r, z, n", _ => "one gate" };
        for (int d = 0; d < (o.Bidirectional ? 2 : 1); d++)
        {
            string suffix = d == 1 ? "Reverse" : "", torch = d == 1 ? "_reverse" : "";
            yield return new("WeightIh" + suffix, ImmutableArray.Create(g, f), SlotInit.UniformInverseSqrt(h), true, false, $"weight_ih_l0{torch}, [{g} × {f}] ({gates}, {h} rows each), PyTorch's layout.");
            yield return new("WeightHh" + suffix, ImmutableArray.Create(g, h), SlotInit.UniformInverseSqrt(h), true, false, $"weight_hh_l0{torch}, [{g} × {h}] ({gates}), PyTorch's layout.");
            yield return new("BiasIh" + suffix, ImmutableArray.Create(g), SlotInit.UniformInverseSqrt(h), true, false, $"bias_ih_l0{torch}, {g} values.");
            yield return new("BiasHh" + suffix, ImmutableArray.Create(g), SlotInit.UniformInverseSqrt(h), true, false, $"bias_hh_l0{torch}, {g} values.");
        }
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        var o = (RecurrentOptions)l.Spec.Options;
        yield return ("Units", o.Units);
        yield return ("ReturnSequences", Flag(o.ReturnSequences));
        yield return ("Bidirectional", Flag(o.Bidirectional));
        if (Kind == LayerKind.SimpleRNN) yield return ("Activation", o.Activation);
    }

    public override string Title(LayerPlan l)
    {
        var o = (RecurrentOptions)l.Spec.Options;
        return (o.Bidirectional ? "Bidirectional " : "") + Kind + (Kind == LayerKind.SimpleRNN && o.Activation == 1 ? " ReLU" : "") + (o.ReturnSequences ? ", sequences" : "");
    }
}

internal sealed class SimpleRnnLayer : RecurrentLayerDefinition<SimpleRNNAttribute>
{
    public static readonly SimpleRnnLayer Instance = new();

    private SimpleRnnLayer() : base(LayerKind.SimpleRNN, "simple_rnn", "RNN")
    {
    }

    protected override LayerOptions Options(SimpleRNNAttribute a) => new RecurrentOptions(a.Units, a.ReturnSequences, a.Bidirectional, (int)a.Activation);
}

internal sealed class GruLayer : RecurrentLayerDefinition<GRUAttribute>
{
    public static readonly GruLayer Instance = new();

    private GruLayer() : base(LayerKind.GRU, "gru", "GRU")
    {
    }

    protected override LayerOptions Options(GRUAttribute a) => new RecurrentOptions(a.Units, a.ReturnSequences, a.Bidirectional, 0);
}

internal sealed class LstmLayer : RecurrentLayerDefinition<LSTMAttribute>
{
    public static readonly LstmLayer Instance = new();

    private LstmLayer() : base(LayerKind.LSTM, "lstm", "LSTM")
    {
    }

    protected override LayerOptions Options(LSTMAttribute a) => new RecurrentOptions(a.Units, a.ReturnSequences, a.Bidirectional, 0);
}

/// <summary>[Embedding(vocabulary, dimension)]: Vector(T) of token ids, first after [Input(T)] → Sequence(T, dimension).
/// One slot, Weights [vocabulary × dimension] (PyTorch's nn.Embedding.weight), N(0, 1).</summary>
internal sealed class EmbeddingLayer : LayerDefinition<EmbeddingAttribute>
{
    public static readonly EmbeddingLayer Instance = new();

    private EmbeddingLayer() : base(LayerKind.Embedding, "embedding", onnxOperator: "Gather", gpu: true)
    {
    }

    public override LayerEmitter Emitter => EmbeddingEmitter.Instance;

    protected override LayerOptions Options(EmbeddingAttribute a) => new EmbeddingOptions(a.Vocabulary, a.Dimension);

    public override Layout Infer(LayerRule rule)
    {
        var o = (EmbeddingOptions)rule.Layer.Options;
        int vocabulary = o.Vocabulary, dimension = o.Dimension;
        if (vocabulary <= 0 || vocabulary > (1 << 24))
            rule.Report(Descriptors.BadSize, $"[Embedding({vocabulary}, {dimension})]: the vocabulary must be a positive number of ids{(vocabulary > 0 ? " no larger than 16777216 (ids travel as exact float values)" : "")}, e.g. [Embedding(30, 16)].", "vocabulary");
        if (dimension <= 0 || dimension > (1 << 16))
            rule.Report(Descriptors.BadSize, $"[Embedding({vocabulary}, {dimension})]: the dimension must be a positive integer, e.g. [Embedding({System.Math.Max(vocabulary, 1)}, 16)].", "dimension");
        bool first = true;
        for (int j = 0; j < rule.Index; j++)
            if (rule.Network.Layers[j].Kind != LayerKind.Input) first = false;
        var input = rule.Input;
        var declared = rule.Network.Layers.FirstOrDefault(l => l.Kind == LayerKind.Input) is { } inputLayer ? InputLayer.ShapeOf(inputLayer) : ImmutableArray<int>.Empty;
        if (!first)
        {
            // Moving it is a fix only when the input holds ids: [Input(T)].
            var fixes = declared.Length == 1
                ? ImmutableArray.Create(new ShapeFix($"Move [Embedding({vocabulary}, {dimension})] right after [Input({declared[0]})]", $"remove;input-after:Embedding({vocabulary}, {dimension})"))
                : ImmutableArray<ShapeFix>.Empty;
            rule.Found.Add(new(Descriptors.EmbeddingNotFirst, $"[Embedding({vocabulary}, {dimension})] must be the first layer, right after [Input(T)]: it looks up token ids, which only the input holds. Move it up, or remove it.", rule.Index) { Fixes = fixes });
        }
        else if (!input.IsVector && input.Shape.Length > 0)
            rule.Found.Add(new(Descriptors.EmbeddingNotFirst, $"[Embedding({vocabulary}, {dimension})] reads T token ids per sample (exact integers), but the input is {Shapes.FormatShape(input.Shape)}, not one id per step: declare [Input(T)], e.g. [Input({input.Shape[0]})].", rule.Index)
                { Fixes = ImmutableArray.Create(new ShapeFix($"Declare [Input({input.Shape[0]})] ({input.Shape[0]} token ids)", $"input:{input.Shape[0]}")) });
        return Layout.Sequence(input.Shape.Length > 0 ? input.Shape[0] : 1, System.Math.Max(dimension, 1));
    }

    public override IEnumerable<ParameterSlot> Slots(LayerPlan l)
    {
        var o = (EmbeddingOptions)l.Spec.Options;
        if (o.Vocabulary > 0 && o.Dimension > 0)
            yield return new("Weights", ImmutableArray.Create(o.Vocabulary, o.Dimension), SlotInit.StandardNormal, true, false,
                $"table, [{o.Vocabulary} ids × {o.Dimension}] row-major (PyTorch's nn.Embedding.weight).");
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        var o = (EmbeddingOptions)l.Spec.Options;
        yield return ("Vocabulary", o.Vocabulary);
        yield return ("Dimension", o.Dimension);
    }
}
