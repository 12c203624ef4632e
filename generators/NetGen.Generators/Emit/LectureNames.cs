using System.Collections.Generic;
using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// The lecture's names for a small dense network: inputs i1, i2 …; hidden neurons h1, h2 … (h1_1, h2_1 … when there
/// are several hidden layers); outputs o1, o2 …; weights w1, w2 … numbered layer by layer in row-major order, which
/// is exactly the order of the flat parameter buffer (w1 = i1→h1, w2 = i2→h1, w3 = i1→h2 …).
/// </summary>
internal sealed class LectureNames
{
    private readonly Dictionary<int, string[]> _neurons = new();
    private readonly Dictionary<int, int> _firstWeight = new();

    public LectureNames(NetworkPlan plan)
    {
        var dense = plan.Layers.Where(l => l.Kind == LayerKind.Dense).ToList();
        int weight = 1;
        for (int k = 0; k < dense.Count; k++)
        {
            var layer = dense[k];
            string prefix = k == dense.Count - 1 ? "o" : dense.Count == 2 ? "h" : "h" + (k + 1) + "_";
            _neurons[layer.Index] = Enumerable.Range(1, layer.OutputSize).Select(j => prefix + j).ToArray();
            _firstWeight[layer.Index] = weight;
            weight += layer.WeightCount;
        }
        Inputs = Enumerable.Range(1, plan.InputSize).Select(j => "i" + j).ToArray();
        Plan = plan;
    }

    public NetworkPlan Plan { get; }

    public string[] Inputs { get; }

    /// <summary>The neuron names of a Dense layer.</summary>
    public string[] Neurons(LayerPlan dense) => _neurons[dense.Index];

    /// <summary>The name of weight (j, i) of a Dense layer: w{n}.</summary>
    public string Weight(LayerPlan dense, int j, int i) => "w" + (_firstWeight[dense.Index] + j * dense.InputSize + i);

    /// <summary>The names of the values a Dense layer reads: i1 … for the first, out_h1 … after that.</summary>
    public string[] LayerInputs(LayerPlan dense)
    {
        for (int k = dense.Index - 1; k >= 0; k--)
            if (Plan.Layers[k].Kind == LayerKind.Dense) return _neurons[k].Select(n => "out_" + n).ToArray();
        return Inputs;
    }

    /// <summary>The Dense layer an activation follows, or null.</summary>
    public LayerPlan? DenseBefore(LayerPlan layer)
    {
        for (int k = layer.Index - 1; k >= 0; k--)
            if (Plan.Layers[k].Kind == LayerKind.Dense) return Plan.Layers[k];
        return null;
    }
}
