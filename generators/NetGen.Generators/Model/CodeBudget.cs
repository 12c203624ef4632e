using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;

namespace NetGen.Generators.Model;

/// <summary>
/// Bounds on the size of the generated source, so that any accepted declaration builds in seconds and compiles.
/// Two things grow without bound otherwise: unrolled Dense layers (one statement per unit forward, one per weight
/// backward: about 110 bytes of source per multiply-add) and <c>Explain</c> (three printed lines per weight, about
/// 1 KB of source per weight across its two overloads). Measured before these bounds: eight Dense(64) layers with
/// UnrollThreshold = 4096 wrote 20 MB and failed with CS0204 (more than 65,534 locals in Explain); 150 Dense(8)
/// layers at the default threshold wrote 10.9 MB (8.6 MB of it Explain) and took minutes and gigabytes to build.
/// With the bounds the unrolled code of a network holds at most <see cref="MaxUnrolledMultiplyAdds"/> multiply-adds
/// and Explain at most <see cref="MaxExplainWeights"/> weights, so the source is linear in the layer count with a
/// constant per layer. What a bound changes is reported as a warning at UnrollThreshold (or [Network]): NG0048, NG0049.
/// </summary>
internal static class CodeBudget
{
    /// <summary>Multiply-adds of all unrolled layers of a network together: one 64×64 layer at the largest
    /// UnrollThreshold, or 64 layers of 8×8 at the default. Layers are unrolled in declaration order while they fit;
    /// the rest run the vectorised kernels (the same function).</summary>
    public const long MaxUnrolledMultiplyAdds = 4096;

    /// <summary>Weights <c>Explain</c> prints at most (the lecture's examples have 2 to a few dozen).</summary>
    public const int MaxExplainWeights = 256;

    /// <summary>Decides which layers are unrolled (<see cref="NetworkPlan.Unrolled"/>) and whether <c>Explain</c> is
    /// emitted (<see cref="NetworkPlan.Explainable"/>), and adds NG0048/NG0049 to <paramref name="found"/> when a bound
    /// changes what the declaration asked for.</summary>
    public static void Apply(NetworkPlan plan, List<ShapeProblem> found)
    {
        int threshold = plan.Spec.UnrollThreshold;
        var unrolled = new bool[plan.Layers.Length];
        var capped = new List<LayerPlan>();
        long total = 0, wanted = 0;
        foreach (var layer in plan.Layers)
        {
            if (layer.Kind != LayerKind.Dense || layer.MultiplyAdds > threshold) continue;
            wanted += layer.MultiplyAdds;
            if (total + layer.MultiplyAdds <= MaxUnrolledMultiplyAdds)
            {
                unrolled[layer.Index] = true;
                total += layer.MultiplyAdds;
            }
            else capped.Add(layer);
        }
        plan.Unrolled = unrolled.ToImmutableArray();

        // Explain prints the lecture's hand computation: Dense layers with element-wise activations, every one within
        // the threshold, and few enough weights to print.
        bool shaped = !plan.HasSequenceLayers && plan.Layers.All(l => !l.IsSequence)
            && plan.Layers.Any(l => l.Kind == LayerKind.Dense)
            && plan.Layers.All(l => l.Kind == LayerKind.Dense ? l.MultiplyAdds <= threshold : l.IsActivation);
        long weights = plan.Layers.Where(l => l.Kind == LayerKind.Dense).Sum(l => (long)l.WeightCount);
        plan.Explainable = shaped && capped.Count == 0 && weights <= MaxExplainWeights;

        string name = plan.Spec.ClassName;
        if (capped.Count > 0)
            found.Add(new(Descriptors.UnrollingCapped,
                $"UnrollThreshold = {threshold} asks to unroll Dense layers with {N(wanted)} multiply-adds in all, but NetGen unrolls at most " +
                $"{N(MaxUnrolledMultiplyAdds)} per network (beyond that the straight-line code of {name} runs to megabytes and builds for minutes): " +
                $"{Names(capped)} {(capped.Count == 1 ? "runs" : "run")} the vectorised kernels instead (the same function). " +
                $"Lower UnrollThreshold (UnrollThreshold = 0 unrolls nothing) to choose fewer layers, or suppress NG0048 to keep this split.", -1)
                { Argument = "UnrollThreshold" });
        if (shaped && weights > MaxExplainWeights)
            found.Add(new(Descriptors.ExplainNotGenerated,
                $"{name} has no Explain method: Explain prints three lines per weight and is generated for at most {N(MaxExplainWeights)} weights, " +
                $"but the Dense layers of {name} have {N(weights)}. Everything else is generated as usual; for the lecture's hand computation " +
                $"use a smaller network, or suppress NG0049 if Explain is not needed.", -1)
                { Argument = "UnrollThreshold" });
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>"Dense3", "Dense3 and Dense4", "Dense3–Dense8" (consecutive), or the first few and a count.</summary>
    private static string Names(List<LayerPlan> layers)
    {
        if (layers.Count == 1) return layers[0].PascalName;
        bool consecutive = layers.Zip(layers.Skip(1), (a, b) => b.KindIndex == a.KindIndex + 1).All(x => x);
        if (consecutive) return $"{layers[0].PascalName}–{layers[layers.Count - 1].PascalName} ({layers.Count} layers)";
        if (layers.Count <= 4) return string.Join(", ", layers.Take(layers.Count - 1).Select(l => l.PascalName)) + " and " + layers[layers.Count - 1].PascalName;
        return string.Join(", ", layers.Take(3).Select(l => l.PascalName)) + $" and {layers.Count - 3} more Dense layers";
    }
}
