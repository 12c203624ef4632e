namespace NetGen.Tests.Infrastructure;

/// <summary>
/// One seeded forward and backward pass of a float network whose only parameters are one convolution's weights and
/// bias (Conv2D or Conv2DTranspose), for the tests that check the vector kernels against the layer's definition: the
/// caller writes the definition's loops over <see cref="X"/>, <see cref="W"/>, <see cref="B"/> and <see cref="Dy"/> in
/// double and hands the results to <see cref="Matches"/>.
/// </summary>
internal sealed class ConvolutionRun
{
    public required float[] X { get; init; }            // [batch, C, H, W]
    public required float[] Dy { get; init; }           // ∂E/∂y given, [batch, F, OH, OW]
    public required float[] Y { get; init; }            // the network's output
    public required float[] Dx { get; init; }           // the network's ∂E/∂x (filled with NaN before: every value must be written)
    public required float[] Gradients { get; init; }    // the network's ∂E/∂θ
    public required float[] W { get; init; }            // the weights, in the layer's stored layout
    public required float[] B { get; init; }            // the bias, [F]
    public required TensorInfo Weights { get; init; }
    public required TensorInfo Bias { get; init; }

    /// <summary>Sets every parameter, input and output-gradient value uniform in [−½, ½) from <paramref name="seed"/>,
    /// then runs Forward and Backward over <paramref name="batch"/> samples.</summary>
    public static ConvolutionRun Of(INetwork<float> net, int batch, int seed)
    {
        var random = new SeededRandom(seed);
        var p = net.Parameters;
        for (int i = 0; i < p.Length; i++) p[i] = (float)(random.NextDouble() - 0.5);
        var weights = net.Tensors.Single(t => t.Buffer == TensorBuffer.Parameters && t.Name.EndsWith("Weights", StringComparison.Ordinal));
        var bias = net.Tensors.Single(t => t.Buffer == TensorBuffer.Parameters && t.Name.EndsWith("Bias", StringComparison.Ordinal));
        float[] x = new float[batch * net.InputSize], dy = new float[batch * net.OutputSize], dx = new float[x.Length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() - 0.5);
        for (int i = 0; i < dy.Length; i++) dy[i] = (float)(random.NextDouble() - 0.5);
        Array.Fill(dx, float.NaN);
        var y = net.Forward(x, batch).ToArray();
        net.ZeroGradients();
        net.Backward(dy, dx);
        return new ConvolutionRun
        {
            X = x, Dy = dy, Y = y, Dx = dx, Gradients = net.Gradients.ToArray(),
            W = p.Slice(weights.Offset, weights.Length).ToArray(), B = p.Slice(bias.Offset, bias.Length).ToArray(),
            Weights = weights, Bias = bias,
        };
    }

    /// <summary>The output, ∂E/∂w, ∂E/∂b and ∂E/∂x each within 10⁻⁵ of the largest expected value.</summary>
    public void Matches(double[] y, double[] dw, double[] db, double[] dx)
    {
        Close(y, Y, "y");
        Close(dw, Gradients.AsSpan(Weights.Offset, Weights.Length), "∂E/∂w");
        Close(db, Gradients.AsSpan(Bias.Offset, Bias.Length), "∂E/∂b");
        Close(dx, Dx, "∂E/∂x");
    }

    /// <summary>Every value within 10⁻⁵ of the largest expected one.</summary>
    public static void Close(double[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale, $"{what}[{i}]: {actual[i]} vs {expected[i]} (scale {scale})");
    }
}
