using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using NetGen.Generators.Model;

namespace NetGen.Generators;

/// <summary>A problem with a declaration, found by shape inference. The analyzers report these with stable IDs.</summary>
/// <param name="Id">The diagnostic ID, NG0001 …</param>
/// <param name="Message">What is wrong, with the numbers, and the fix.</param>
/// <param name="LayerIndex">Index into <see cref="NetworkSpec.Layers"/>, or −1 for the whole declaration.</param>
internal sealed record ShapeProblem(string Id, string Message, int LayerIndex);

/// <summary>
/// Shape inference: the single source of truth for shape rules, a pure function from a declaration to a plan or a
/// list of problems. The generator emits from the plan; the analyzers report the problems.
/// </summary>
internal static class Shapes
{
    /// <summary>Largest tensor (values per sample) a layer may produce; beyond it a declaration is surely a typo.</summary>
    public const int MaxValuesPerSample = 1 << 26;

    public static int Size(ImmutableArray<int> shape)
    {
        long size = 1;
        foreach (int d in shape) size *= d;
        return size > int.MaxValue ? int.MaxValue : (int)size;
    }

    public static bool IsActivation(LayerKind kind) => kind is LayerKind.Step or LayerKind.Sigmoid or LayerKind.Tanh
        or LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.Softmax or LayerKind.Identity;

    public static string SnakeName(LayerKind kind) => kind switch
    {
        LayerKind.ReLU => "re_lu",
        LayerKind.LeakyReLU => "leaky_re_lu",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public static string FormatShape(ImmutableArray<int> shape) => "(None, " + string.Join(", ", shape) + ")";

    /// <summary>Infers shapes and the parameter layout. Returns a plan, or null with the problems that prevent one.</summary>
    public static NetworkPlan? Infer(NetworkSpec spec, out ImmutableArray<ShapeProblem> problems)
    {
        var found = new List<ShapeProblem>();
        var layers = spec.Layers;
        int inputAt = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i].Kind != LayerKind.Input) continue;
            if (inputAt >= 0) found.Add(new("NG0002", "[Input] appears more than once: a network has exactly one input; remove the extra [Input].", i));
            else inputAt = i;
        }
        if (inputAt < 0)
            found.Add(new("NG0001", $"{spec.ClassName} has no [Input(...)] attribute: add one before the first layer, e.g. [Input(784)] or [Input(1, 28, 28)].", -1));
        else if (inputAt != 0)
            found.Add(new("NG0003", $"[Input] must be the first layer attribute of {spec.ClassName}; move it above [{layers[0].AttributeName}].", inputAt));

        var planned = ImmutableArray.CreateBuilder<LayerPlan>();
        var kindCounts = new Dictionary<LayerKind, int>();
        ImmutableArray<int> shape = ImmutableArray<int>.Empty;
        ImmutableArray<int> inputShape = ImmutableArray<int>.Empty;
        if (inputAt >= 0)
        {
            inputShape = ImmutableArray.CreateRange(layers[inputAt].Sizes);
            if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
                found.Add(new("NG0004", $"[Input({string.Join(", ", inputShape)})]: every dimension must be a positive integer, e.g. [Input(784)].", inputAt));
            else if ((long)inputShape.Aggregate(1L, (a, d) => a * d) > MaxValuesPerSample)
                found.Add(new("NG0004", $"[Input({string.Join(", ", inputShape)})] holds more than {MaxValuesPerSample} values per sample; check the dimensions.", inputAt));
            shape = inputShape;
        }

        long offset = 0, trainable = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if (layer.Kind == LayerKind.Input) continue;
            if (layer.Kind == LayerKind.Unknown)
            {
                found.Add(new("NG0005", $"[{layer.AttributeName}] could not be read: check its arguments against the attribute's constructor.", i));
                continue;
            }
            kindCounts.TryGetValue(layer.Kind, out int count);
            kindCounts[layer.Kind] = ++count;
            ImmutableArray<int> outShape = shape;
            switch (layer.Kind)
            {
                case LayerKind.Dense:
                    int units = layer.Sizes.Count > 0 ? layer.Sizes[0] : 0;
                    if (units <= 0 || units > MaxValuesPerSample)
                        found.Add(new("NG0004", $"[Dense({units})]: the number of units must be a positive integer, e.g. [Dense(10)].", i));
                    if (shape.Length > 1)
                        found.Add(new("NG0010", $"[Dense({units})] is fed a {shape.Length}-D tensor {FormatShape(shape)}: add [Flatten] before it.", i));
                    outShape = ImmutableArray.Create(units);
                    break;
                case LayerKind.Softmax:
                    if (i != layers.Count - 1)
                        found.Add(new("NG0020", "[Softmax] must be the last layer: it turns scores into class probabilities; use ReLU, Tanh or Sigmoid between layers.", i));
                    break;
                case LayerKind.LeakyReLU:
                    if (double.IsNaN(layer.Alpha) || double.IsInfinity(layer.Alpha))
                        found.Add(new("NG0005", "[LeakyReLU] needs a finite slope, e.g. [LeakyReLU(0.01)].", i));
                    break;
            }
            var plan = new LayerPlan(layer, planned.Count, count, shape, outShape);
            if (layer.Kind == LayerKind.Dense)
            {
                plan.WeightOffset = (int)Math.Min(offset, int.MaxValue);
                plan.WeightCount = (int)Math.Min((long)plan.InputSize * plan.OutputSize, int.MaxValue);
                plan.BiasOffset = plan.WeightOffset + plan.WeightCount;
                plan.BiasCount = layer.Bias ? plan.OutputSize : 0;
                offset += (long)plan.WeightCount + plan.BiasCount;
                trainable += plan.TrainableCount;
            }
            planned.Add(plan);
            shape = outShape;
        }
        if (planned.Count == 0 && inputAt >= 0)
            found.Add(new("NG0006", $"{spec.ClassName} has an input but no layers: add at least one, e.g. [Dense(10)].", -1));
        if (offset > int.MaxValue / 2)
            found.Add(new("NG0004", $"{spec.ClassName} would have {offset} parameters, more than one buffer can hold; make the layers smaller.", -1));
        if (spec.UnrollThreshold < 0)
            found.Add(new("NG0005", $"UnrollThreshold = {spec.UnrollThreshold} must be zero or positive (0 turns unrolling off).", -1));

        problems = found.ToImmutableArray();
        if (found.Count > 0) return null;

        var result = new NetworkPlan(spec, inputShape, planned.ToImmutable()) { ParameterCount = offset, TrainableCount = trainable };
        result.Explainable = result.Layers.Any(l => l.Kind == LayerKind.Dense) && result.Layers.All(l => l.Kind != LayerKind.Dense || IsUnrolled(result, l));
        return result;
    }

    /// <summary>Whether a Dense layer is emitted as straight-line code.</summary>
    public static bool IsUnrolled(NetworkPlan plan, LayerPlan layer) => layer.MultiplyAdds <= plan.Spec.UnrollThreshold;

    /// <summary>The Keras-style summary table.</summary>
    public static string Summary(NetworkPlan plan)
    {
        var rows = new List<(string Name, string Shape, string Params)>
        {
            ("input (Input)", FormatShape(plan.InputShape), "0"),
        };
        foreach (var l in plan.Layers)
            rows.Add(($"{l.SnakeName} ({LayerTitle(l)})", FormatShape(l.OutputShape), l.ParameterCount.ToString(CultureInfo.InvariantCulture)));
        int w1 = Math.Max(28, rows.Max(r => r.Name.Length) + 2), w2 = Math.Max(26, rows.Max(r => r.Shape.Length) + 2), w3 = 11;
        int width = 1 + w1 + w2 + w3;
        var sb = new StringBuilder();
        string loss = plan.Spec.Loss.ToString();
        sb.Append("Network: \"").Append(plan.Spec.ClassName).Append("\" (").Append(plan.ElementType).Append(", loss: ").Append(loss)
          .Append(plan.FusedSoftmaxCrossEntropy ? ", fused with Softmax" : "").Append(")\n");
        sb.Append('_', width).Append('\n');
        sb.Append(' ').Append("Layer (type)".PadRight(w1)).Append("Output Shape".PadRight(w2)).Append("Param #").Append('\n');
        sb.Append('=', width).Append('\n');
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append(' ').Append(rows[i].Name.PadRight(w1)).Append(rows[i].Shape.PadRight(w2)).Append(rows[i].Params).Append('\n');
            if (i < rows.Count - 1) sb.Append('_', width).Append('\n');
        }
        sb.Append('=', width).Append('\n');
        sb.Append("Total params: ").Append(plan.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Trainable params: ").Append(plan.TrainableCount.ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Non-trainable params: ").Append((plan.ParameterCount - plan.TrainableCount).ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append('_', width).Append('\n');
        return sb.ToString();
    }

    private static string LayerTitle(LayerPlan l) => l.Kind switch
    {
        LayerKind.LeakyReLU => "LeakyReLU " + l.Spec.Alpha.ToString("R", CultureInfo.InvariantCulture),
        _ => l.Kind.ToString(),
    };
}
