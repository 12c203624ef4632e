using System.Collections.Generic;
using System.Collections.Immutable;
using NetGen.Generators.Declared;
using NetGen.Generators.Emit.Layers;

namespace NetGen.Generators.Model;

/// <summary>[Dense(units)]: y = W·x + b over a vector.</summary>
internal sealed record DenseOptions(int Units, bool Bias, bool TrainBias, double L1, double L2) : LayerOptions, IWeightPenalties;

internal sealed class DenseLayer : LayerDefinition<DenseAttribute>
{
    public static readonly DenseLayer Instance = new();

    private DenseLayer() : base(LayerKind.Dense, "dense", onnxOperator: "Gemm")
    {
    }

    public override LayerEmitter Emitter => DenseEmitter.Instance;

    protected override LayerOptions Options(DenseAttribute a) => new DenseOptions(a.Units, a.Bias, a.TrainBias && a.Bias, a.L1, a.L2);

    /// <summary>Vector(F) → Vector(units). A sequence or image must be flattened first (Dense per step of a sequence
    /// is applied at every step: Sequence(T, F) → Sequence(T, units)).</summary>
    public override Layout Infer(LayerRule rule)
    {
        var o = (DenseOptions)rule.Layer.Options;
        int units = o.Units;
        if (units <= 0 || units > Shapes.MaxValuesPerSample)
            rule.Report(Descriptors.BadSize, $"[Dense({units})]: the number of units must be a positive integer{(units > Shapes.MaxValuesPerSample ? $" no larger than {Shapes.MaxValuesPerSample}" : "")}, e.g. [Dense(10)].", "units");
        var input = rule.Input;
        // A sequence (T, F): the same Dense at every step (Keras' semantics), output (T, units).
        if (input.IsSequence) return Layout.Sequence(input.Steps, System.Math.Max(units, 1));
        if (!input.IsVector && input.Shape.Length > 0)   // (no input at all is NG0001)
        {
            string fed = input.IsSequence
                ? $"a sequence of {input.Steps} steps × {input.Features} features {Shapes.FormatShape(input.Shape)}"
                : $"a {input.Shape.Length}-D tensor {Shapes.FormatShape(input.Shape)}";
            rule.Found.Add(new(Descriptors.DenseNeedsFlatten, $"[Dense({units})] is fed {fed}: add [Flatten] before it to read its {input.Size} values as a vector.", rule.Index)
                { Fixes = ImmutableArray.Create(new ShapeFix("Insert [Flatten] before [Dense]", "insert-before:Flatten")) });
        }
        return Layout.Vector(units);
    }

    public override IEnumerable<ParameterSlot> Slots(LayerPlan l)
    {
        var o = (DenseOptions)l.Spec.Options;
        // After a sequence the layer is applied at every step: [units × F].
        int outputs = l.OutputLayout.IsSequence ? l.OutputLayout.Features : l.OutputSize;
        int inputs = l.InputLayout.IsSequence ? l.InputLayout.Features : l.InputSize;
        yield return new("Weights", ImmutableArray.Create(outputs, inputs), SlotInit.GlorotOrHe(inputs, outputs), true, false,
            $"weights, [{outputs} × {inputs}]: element (j, i) connects input i to unit j, row-major{(l.InputLayout.IsSequence ? ", applied at every step" : "")}.");
        if (o.Bias)
            yield return new("Bias", ImmutableArray.Create(outputs), SlotInit.Zeros, o.TrainBias, false,
                $"bias, {outputs} values{(o.TrainBias ? "" : " (held: TrainBias = false)")}.");
    }

    public override IEnumerable<(string Name, double Value)> Info(LayerPlan l)
    {
        var o = (DenseOptions)l.Spec.Options;
        yield return ("Units", o.Units);
        yield return ("Bias", Flag(o.Bias));
        yield return ("TrainBias", Flag(o.TrainBias));
        yield return ("L1", o.L1);
        yield return ("L2", o.L2);
    }
}
