namespace NetGen;

/// <summary>
/// One layer of a generated network, as a constant description the generator writes from its layer catalog: what
/// exporters (ONNX), tools and tests read instead of the prose <c>Summary</c>. A network lists them in layer order,
/// Input excluded, through <c>INetwork&lt;T&gt;.Layers</c>.
/// </summary>
/// <param name="Kind">The layer kind as its attribute is named: "Dense", "Conv2D", "MaxPool", "ReLU" ….</param>
/// <param name="Name">The layer's name in views and in <c>Summary</c>'s order, e.g. "Conv2D1" (Pascal) .</param>
/// <param name="InputShape">Values per sample coming in, in the layer's layout: (F), (C, H, W) or (T, F).</param>
/// <param name="OutputShape">Values per sample going out, same convention.</param>
/// <param name="Options">The layer's resolved options by attribute property name (e.g. "KernelHeight", "Stride",
/// "PadHeight", "Alpha", "Epsilon"), numbers after defaults and inference; flags as 0/1, enums as their numeric value.</param>
/// <param name="Tensors">The layer's named tensors in <c>Parameters</c>/<c>State</c> (a subset of the network's
/// <c>Tensors</c>, in slot order).</param>
public sealed record LayerInfo(
    string Kind,
    string Name,
    int[] InputShape,
    int[] OutputShape,
    IReadOnlyDictionary<string, double> Options,
    IReadOnlyList<TensorInfo> Tensors)
{
    /// <summary>An option's value, or <paramref name="fallback"/> when the layer does not have it.</summary>
    public double Option(string name, double fallback = 0) => Options.TryGetValue(name, out double v) ? v : fallback;
}
