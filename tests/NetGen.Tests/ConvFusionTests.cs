using NetGen;

namespace NetGen.Tests;

// The convolution's fusions must not change a single bit: a ReLU run inside the convolution's per-sample parts, and a
// 2×2 max pooling whose backward pass also applies that ReLU's backward. The same network with Identity layers in
// between (which blocks both fusions) is the reference. Float, since the vector pooling kernels are float only; the
// first convolution takes the direct rows form (20 wide, 6 filters), the second the filters form (10 wide, 16 filters).

/// <summary>Conv → ReLU → MaxPool twice: every fusion applies.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 20, 20)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 3, Padding = 1), ReLU, MaxPool(2)]
[Flatten]
[Dense(10), Softmax]
public partial class FusedConvBlocks;

/// <summary><see cref="FusedConvBlocks"/> with Identity layers between the convolution, the ReLU and the pooling.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 20, 20)]
[Conv2D(6, Kernel = 5, Padding = 2), Identity, ReLU, Identity, MaxPool(2)]
[Conv2D(16, Kernel = 3, Padding = 1), Identity, ReLU, Identity, MaxPool(2)]
[Flatten]
[Dense(10), Softmax]
public partial class UnfusedConvBlocks;

public class ConvFusionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void FusedReLUAndPoolingGiveTheUnfusedNumbers(int batch)
    {
        var fused = new FusedConvBlocks(batch);
        var plain = new UnfusedConvBlocks(batch);
        fused.Parameters.CopyTo(plain.Parameters);
        var random = new SeededRandom(20261123);
        var images = new float[batch * 400];
        for (int i = 0; i < images.Length; i++) images[i] = (float)(2 * random.NextDouble() - 1);
        int[] labels = Enumerable.Range(0, batch).Select(n => (3 * n + 1) % 10).ToArray();

        fused.Training = plain.Training = true;
        float[] y1 = fused.Forward(images, batch).ToArray(), y2 = plain.Forward(images, batch).ToArray();
        Assert.Equal(y2, y1);
        Assert.True(y1.All(float.IsFinite));
        fused.ZeroGradients(); plain.ZeroGradients();
        fused.Backward(labels); plain.Backward(labels);
        Assert.Equal(plain.Gradients.ToArray(), fused.Gradients.ToArray());
        Assert.Contains(fused.Gradients.ToArray(), g => g != 0);

        // ∂E/∂input through both convolutions, from an arbitrary output gradient.
        var outputGradient = new float[batch * 10];
        for (int i = 0; i < outputGradient.Length; i++) outputGradient[i] = (float)(random.NextDouble() - 0.5);
        float[] dx1 = new float[images.Length], dx2 = new float[images.Length];
        fused.Forward(images, batch); plain.Forward(images, batch);
        fused.Backward(outputGradient, dx1); plain.Backward(outputGradient, dx2);
        Assert.Equal(dx2, dx1);
        Assert.Contains(dx1, g => g != 0);
    }
}
