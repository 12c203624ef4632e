using NetGen.Generators.Model;
using NetGen.Tests.Infrastructure;
using NetGen.Tests.Networks;

namespace NetGen.Tests;

/// <summary>The layer catalog and what it writes into every network: one definition per layer attribute, options whose
/// defaults are the attribute classes' own, the constant <c>Layers</c> description, typed layouts.</summary>
public class LayerCatalogTests
{
    [Fact]
    public void EveryLayerAttributeHasOneCatalogEntry()
    {
        var attributes = typeof(LayerAttribute).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(LayerAttribute)) && !t.IsAbstract)
            .Select(t => t.Name[..^"Attribute".Length]).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var catalog = LayerCatalog.All.Select(d => d.AttributeName).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(attributes, catalog);
        foreach (var d in LayerCatalog.All) Assert.Same(d, LayerCatalog.ForAttribute(d.AttributeName));
    }

    [Fact]
    public void LayersDescribeEveryLayerWithItsResolvedOptionsAndTensors()
    {
        var net = new MiniVggNet();
        var layers = ((INetwork<float>)net).Layers;
        Assert.Equal(["Conv2D", "ReLU", "BatchNorm", "Conv2D", "ReLU", "BatchNorm", "MaxPool", "Dropout", "Conv2D", "ReLU", "BatchNorm",
            "Conv2D", "ReLU", "BatchNorm", "MaxPool", "Dropout", "Flatten", "Dense", "ReLU", "BatchNorm", "Dropout", "Dense", "Softmax"],
            layers.Select(l => l.Kind));
        var conv = layers[0];
        Assert.Equal("Conv2D1", conv.Name);
        Assert.Equal([1, 28, 28], conv.InputShape);
        Assert.Equal([32, 28, 28], conv.OutputShape);
        Assert.Equal(3, conv.Option("KernelHeight"));
        Assert.Equal(3, conv.Option("KernelWidth"));
        Assert.Equal(1, conv.Option("Stride"));
        Assert.Equal(1, conv.Option("PadHeight"));   // Padding.Same resolved
        Assert.Equal(1, conv.Option("PadWidth"));
        Assert.Equal(0, conv.Option("RoundDown"));
        Assert.Equal(["Conv2D1Weights", "Conv2D1Bias"], conv.Tensors.Select(t => t.Name));
        Assert.Equal([32, 1, 3, 3], conv.Tensors[0].Shape);

        // Defaults nobody wrote are the attribute classes' own.
        var bn = layers[2];
        Assert.Equal(new BatchNormAttribute().Momentum, bn.Option("Momentum"));
        Assert.Equal(new BatchNormAttribute().Epsilon, bn.Option("Epsilon"));
        Assert.Equal(["BatchNorm1Gamma", "BatchNorm1Beta", "BatchNorm1RunningMean", "BatchNorm1RunningVariance"], bn.Tensors.Select(t => t.Name));
        Assert.Equal([TensorBuffer.Parameters, TensorBuffer.Parameters, TensorBuffer.State, TensorBuffer.State], bn.Tensors.Select(t => t.Buffer));
        Assert.Equal(2, layers[6].Option("Stride"));   // MaxPool(2): stride 0 resolved to the size
        Assert.Equal(0.25, layers[7].Option("Rate"));
        Assert.Equal([3136], layers[16].OutputShape);
        Assert.Equal(512, layers[17].Option("Units"));

        // Every tensor of the network belongs to exactly one layer, in buffer order.
        Assert.Equal(net.Tensors, layers.SelectMany(l => l.Tensors));
        Assert.Same(layers, ((INetwork<float>)new MiniVggNet()).Layers);   // built once
    }

    [Fact]
    public void HeldBiasesAndAttributeDefaultsReachTheDescription()
    {
        var layers = ((INetwork<double>)new WorkedExample()).Layers;
        Assert.Equal(0, layers[0].Option("TrainBias"));
        Assert.Equal(1, layers[0].Option("Bias"));
        var type = GeneratorHarness.CompileAndLoad("""
            using NetGen;
            [Network(Loss = LossFunction.MeanSquaredError)]
            [Input(3)]
            [Dense(4), LeakyReLU]
            [Dense(2, Bias = false)]
            public partial class Defaults;
            """).GetType("Defaults")!;
        var net = (INetwork<float>)Activator.CreateInstance(type, 1, 42)!;
        Assert.Equal(new LeakyReLUAttribute().Alpha, net.Layers[1].Option("Alpha"));
        Assert.Equal(["Dense2Weights"], net.Layers[2].Tensors.Select(t => t.Name));
        Assert.Equal(0, net.Layers[2].Option("Bias"));
    }

    [Fact]
    public void TwoDimensionalInputIsASequence()
    {
        // [Input(T, F)] reads as T steps of F features: Flatten makes a vector of T·F values.
        var type = GeneratorHarness.CompileAndLoad("""
            using NetGen;
            [Network(Loss = LossFunction.MeanSquaredError)]
            [Input(4, 3)]
            [Flatten]
            [Dense(2)]
            public partial class Steps;
            """).GetType("Steps")!;
        var net = (INetwork<float>)Activator.CreateInstance(type, 1, 42)!;
        Assert.Equal(12, net.InputSize);
        Assert.Equal([4, 3], net.Layers[0].InputShape);
        Assert.Equal([12], net.Layers[0].OutputShape);

        // A Dense fed the sequence directly is applied at every step (Keras): (4, 3) → (4, 2), weights [2 × 3].
        var perStep = (INetwork<float>)Activator.CreateInstance(GeneratorHarness.CompileAndLoad(
            "using NetGen; [Network(Loss = LossFunction.MeanSquaredError)][Input(4, 3)][Dense(2)] public partial class PerStep;").GetType("PerStep")!, 1, 42)!;
        Assert.Equal([4, 2], perStep.Layers[0].OutputShape);
        Assert.Equal(8, perStep.Parameters.Length);
    }

    [Fact]
    public void EveryKindHasItsOwnEmitterAndAnOnnxNameOrNone()
    {
        foreach (var d in LayerCatalog.All.Where(d => d.Kind != LayerKind.Input))
        {
            Assert.NotNull(d.Emitter);
            // Every kind has GPU kernels (the generative and sequence kinds included); a kind added without them
            // joins this list, and its networks' Gpu class throws, naming the layer.
            bool cpuOnly = false;
            Assert.Equal(!cpuOnly, d.Gpu);
        }
        Assert.NotSame(LayerCatalog.Of(LayerKind.Dense).Emitter, LayerCatalog.Of(LayerKind.ReLU).Emitter);
        Assert.Equal("Conv", LayerCatalog.Of(LayerKind.Conv2D).OnnxOperator);
        Assert.Equal("Gemm", LayerCatalog.Of(LayerKind.Dense).OnnxOperator);
    }
}
