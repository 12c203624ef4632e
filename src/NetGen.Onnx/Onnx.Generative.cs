using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace NetGen;

// The generative layers' ONNX mappings (Module 6): Reshape, Upsample2D, Conv2DTranspose, Sampling.
public static partial class Onnx
{
    /// <summary>Reshape → Reshape(x, [−1, …shape]): a view in NetGen, a view in ONNX.</summary>
    private static string Reshape(LayerContext c) =>
        c.Graph.Node("Reshape", [c.Input, c.Graph.ShapeConstant(c.Output + "_shape", c.Layer.OutputShape)], c.Output);

    /// <summary>Upsample2D → Resize with scales (1, 1, f, f). Nearest: output (y, x) reads input (⌊y/f⌋, ⌊x/f⌋), ONNX's
    /// "asymmetric" coordinates with <c>nearest_mode = floor</c> (what PyTorch exports for <c>nn.Upsample</c>).
    /// Bilinear: NetGen's is <c>align_corners = False</c>, the source coordinate (o + ½)/f − ½ clamped at the border —
    /// ONNX's "half_pixel" linear resize.</summary>
    private static string Upsample2D(LayerContext c)
    {
        int f = c.Int("Factor");
        bool bilinear = c.Layer.Option("Mode") == 1;
        int[] x = c.Layer.InputShape;
        c.ExpectShape([x[0], x[1] * f, x[2] * f]);
        string scales = c.Graph.Constant(c.Output + "_scales", GraphBuilder.FloatTensor([1f, 1f, f, f]));
        return bilinear
            ? c.Graph.Node("Resize", [c.Input, "", scales], c.Output,
                Attr.String("mode", "linear"), Attr.String("coordinate_transformation_mode", "half_pixel"))
            : c.Graph.Node("Resize", [c.Input, "", scales], c.Output,
                Attr.String("mode", "nearest"), Attr.String("coordinate_transformation_mode", "asymmetric"), Attr.String("nearest_mode", "floor"));
    }

    /// <summary>Conv2DTranspose → ConvTranspose (W [C_in, C_out, kh, kw], PyTorch's and ONNX's layout) with explicit pads
    /// and output padding: H_out = (H − 1)·s − 2p + k + op.</summary>
    private static string Conv2DTranspose(LayerContext c)
    {
        int kh = c.Int("KernelHeight", "Kernel"), kw = c.Int("KernelWidth", "Kernel"), s = c.Int("Stride");
        int ph = c.Int("PadHeight", "Padding"), pw = c.Int("PadWidth", "Padding");
        int oph = (int)c.Layer.Option("OutputPaddingHeight"), opw = (int)c.Layer.Option("OutputPaddingWidth");
        int[] x = c.Layer.InputShape;
        c.ExpectShape([c.Int("Filters"), (x[1] - 1) * s - 2 * ph + kh + oph, (x[2] - 1) * s - 2 * pw + kw + opw]);
        string weights = c.RequiredTensor("Weights");
        string? bias = c.Tensor("Bias");
        return c.Graph.Node("ConvTranspose", bias is null ? [c.Input, weights] : [c.Input, weights, bias], c.Output,
            Attr.Ints("kernel_shape", kh, kw), Attr.Ints("strides", s, s), Attr.Ints("pads", ph, pw, ph, pw),
            Attr.Ints("output_padding", oph, opw), Attr.Ints("dilations", 1, 1), Attr.Int("group", 1));
    }

    /// <summary>Sampling in inference is z = μ, the first L of its 2·L inputs: Slice(x, 0, L) on axis 1. A network
    /// asked to sample in inference (<c>…SampleInInference</c>) is refused: its ε comes from NetGen's seeded counter
    /// generator, which ONNX cannot reproduce.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "A trimmed application that never reads or sets the generated SampleInInference property keeps its default, false: the export then writes z = μ, which is what that network computes.")]
    private static string Sampling(LayerContext c)
    {
        var sampling = c.Network.GetType().GetProperty(c.Layer.Name + "SampleInInference", BindingFlags.Public | BindingFlags.Instance);
        if (sampling?.GetValue(c.Network) is true)
            throw new NotSupportedException(
                $"layer {c.Layer.Name} (Sampling) samples in inference ({c.Layer.Name}SampleInInference = true), and ONNX has no generator that draws NetGen's ε: set it to false to export z = μ, or sample outside the model.");
        int latent = c.Layer.OutputShape[0];
        c.ExpectShape([c.Layer.InputShape[0] / 2]);
        string starts = c.Graph.Constant(c.Output + "_starts", GraphBuilder.Int64Tensor([0]));
        string ends = c.Graph.Constant(c.Output + "_ends", GraphBuilder.Int64Tensor([latent]));
        string axes = c.Graph.Constant(c.Output + "_axes", GraphBuilder.Int64Tensor([1]));
        return c.Graph.Node("Slice", [c.Input, starts, ends, axes], c.Output);
    }
}
