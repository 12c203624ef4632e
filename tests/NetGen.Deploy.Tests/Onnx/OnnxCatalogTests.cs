using System.Text;
using NetGen.Deploy.Tests.Infrastructure;
using NetGen.Generators.Model;
using P = global::Onnx;

namespace NetGen.Deploy.Tests.Onnx;

/// <summary>
/// The layer catalog says what each kind is in ONNX (<see cref="LayerDefinition.OnnxOperator"/>); the exporter has its
/// own mapping per kind (<c>Onnx.Mappings</c>). The two lists are tied here: every kind the exporter maps is a catalog
/// kind, and exporting a small network with that layer writes the catalog's operator among the layer's nodes (a kind
/// whose catalog operator is null, Dropout, writes none), and ONNX Runtime runs that model to NetGen's outputs. A new
/// mapping, or a catalog entry changed without the exporter, fails this test.
/// </summary>
public sealed class OnnxCatalogTests
{
    /// <summary>A network holding one layer of <paramref name="definition"/>'s kind, named Probe1 … as the generator names
    /// layers (its name is the kind and its ordinal), or null when the test does not know how to declare one.</summary>
    private static string? Declaration(LayerDefinition definition)
    {
        string kind = definition.AttributeName;
        string? layer = kind switch
        {
            "Dense" => "[Input(6)] [Dense(3)]",
            "Conv2D" => "[Input(2, 6, 6)] [Conv2D(3, Kernel = 3)] [Flatten] [Dense(2)]",
            "MaxPool" or "AvgPool" => $"[Input(2, 6, 6)] [{kind}(2)] [Flatten] [Dense(2)]",
            "Flatten" => "[Input(2, 4, 4)] [Flatten] [Dense(2)]",
            "BatchNorm" => "[Input(6)] [Dense(4)] [BatchNorm] [Dense(2)]",
            "Dropout" => "[Input(6)] [Dense(4)] [Dropout(0.5)] [Dense(2)]",
            "Softmax" => "[Input(6)] [Dense(3)] [Softmax]",   // (the last layer: NG0020)
            "Reshape" => "[Input(12)] [Reshape(3, 2, 2)] [Conv2D(2, Kernel = 1)] [Flatten] [Dense(2)]",
            "Upsample2D" => "[Input(2, 3, 3)] [Upsample2D(2)] [Flatten] [Dense(2)]",
            "Conv2DTranspose" => "[Input(2, 3, 3)] [Conv2DTranspose(2, Kernel = 3, Stride = 2, Padding = 1, OutputPadding = 1)] [Flatten] [Dense(2)]",
            "Sampling" => "[Input(6)] [Dense(4)] [Sampling] [Dense(2)]",
            "Embedding" => "[Input(5)] [Embedding(7, 3)] [GRU(4)] [Dense(2)]",
            "SimpleRNN" or "GRU" or "LSTM" => $"[Input(4, 3)] [{kind}(5)] [Dense(2)]",
            _ when definition.IsActivation => $"[Input(6)] [Dense(4)] [{kind}] [Dense(2)]",
            _ => null,
        };
        return layer is null ? null : $"[Network] {layer} public partial class Probe{kind};";
    }

    [Fact]
    public void EveryExportMappingWritesTheCatalogsOnnxOperator()
    {
        var kinds = NetGen.Onnx.Mappings.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var definitions = new List<LayerDefinition>();
        var source = new StringBuilder("using NetGen;\nnamespace NetGen.Deploy.Catalog;\n");
        foreach (string kind in kinds)
        {
            var definition = LayerCatalog.ForAttribute(kind);
            Assert.True(definition is not null, $"the ONNX exporter maps {kind}, which is not a layer kind of the catalog");
            string? declaration = Declaration(definition!);
            Assert.True(declaration is not null, $"the exporter maps {kind}: add a network declaring one to {nameof(OnnxCatalogTests)}.{nameof(Declaration)}");
            source.AppendLine(declaration);
            definitions.Add(definition!);
        }
        var assembly = Generated.CompileAndLoad(source.ToString());
        foreach (var definition in definitions)
        {
            string kind = definition.AttributeName;
            var net = Generated.Create<float>(assembly, "NetGen.Deploy.Catalog.Probe" + kind, 2);
            net.Training = false;
            var layer = net.Layers.Single(l => l.Kind == kind);
            var model = P.ModelProto.Parser.ParseFrom(NetGen.Onnx.ToBytes(net, "Probe" + kind));
            var ops = model.Graph.Node.Where(n => n.Name.StartsWith(layer.Name + "/", StringComparison.Ordinal) || n.Name.StartsWith(layer.Name + "_", StringComparison.Ordinal))
                .Select(n => n.OpType).Where(op => op != "Constant").ToList();
            if (definition.OnnxOperator is null)
                Assert.True(ops.Count == 0, $"{kind}: the catalog says it is nothing in ONNX, the exporter writes {string.Join(", ", ops)}");
            else
                Assert.True(ops.Contains(definition.OnnxOperator), $"{kind}: the catalog says ONNX {definition.OnnxOperator}, the exporter writes {(ops.Count == 0 ? "nothing" : string.Join(", ", ops))}");
            // And the mapping computes the layer: ONNX Runtime gives NetGen's outputs (random weights, a random batch).
            var probe = new ExportCase<float>("catalog/" + kind, () => Generated.Create<float>(assembly, "NetGen.Deploy.Catalog.Probe" + kind, 4));
            var (difference, largest, _) = probe.Compare(batch: 3, seed: 7);
            Assert.True(difference <= 1e-5 * Math.Max(1, largest), $"{kind}: ONNX Runtime differs from NetGen by {difference}");
        }
    }

    [Fact]
    public void EveryCatalogKindWithAnOnnxOperatorIsExported_OrListedAsNotYet()
    {
        // Kinds the catalog gives an ONNX operator for that the exporter does not map yet: none. A new kind lands with
        // its mapping, or is listed here until it has one (never grow this list without a reason in the README).
        string[] notYet = [];
        var missing = LayerCatalog.All.Where(d => d.OnnxOperator is not null && !NetGen.Onnx.Mappings.ContainsKey(d.AttributeName)).Select(d => d.AttributeName).ToList();
        Assert.Equal(notYet.OrderBy(k => k, StringComparer.Ordinal), missing.OrderBy(k => k, StringComparer.Ordinal));
    }
}
