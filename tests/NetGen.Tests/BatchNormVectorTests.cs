namespace NetGen.Tests;

/// <summary>Nine features: the CPU's BatchNorm runs features 0–7 as the lanes of one vector and feature 8 in the scalar
/// loop that follows.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(9)]
[BatchNorm]
public partial class NineFeatureNorm;

/// <summary>
/// BatchNorm over features (after a Dense) runs eight features at a time, lane l adding feature ch + l's values in
/// sample order, which must give the scalar loop's bits. Feature 0 (a vector lane) and feature 8 (the scalar remainder)
/// are fed the same values in every sample: their outputs, their ∂E/∂x, their ∂E/∂γ, ∂E/∂β and their running
/// statistics must be equal to the bit, in training and in inference. (Values chosen so that the sums round.)
/// </summary>
public class BatchNormVectorTests
{
    [Fact]
    public void VectorLanes_GiveTheScalarLoopsBits()
    {
        const int batch = 37;
        var net = new NineFeatureNorm(batch);
        var random = new SeededRandom(11);
        float[] x = new float[batch * 9], dy = new float[batch * 9], dx = new float[batch * 9];
        for (int n = 0; n < batch; n++)
        {
            for (int f = 0; f < 9; f++)
            {
                x[n * 9 + f] = (float)((random.NextDouble() - 0.3) * Math.Pow(10, (int)(random.NextDouble() * 6) - 3));
                dy[n * 9 + f] = (float)(random.NextDouble() - 0.5);
            }
            x[n * 9 + 8] = x[n * 9];
            dy[n * 9 + 8] = dy[n * 9];
        }
        for (int step = 0; step < 3; step++)
        {
            net.ZeroGradients();
            var y = net.Forward(x, batch).ToArray();
            net.Backward(dy, dx);
            for (int n = 0; n < batch; n++)
            {
                Assert.Equal(y[n * 9], y[n * 9 + 8]);
                Assert.Equal(dx[n * 9], dx[n * 9 + 8]);
            }
            Assert.NotEqual(y[0], y[1]);   // the features differ from each other
            var g = net.Gradients;
            Assert.Equal(g[0], g[8]);       // ∂E/∂γ
            Assert.Equal(g[9], g[17]);      // ∂E/∂β
            Assert.NotEqual(0f, g[0]);
            var s = net.State;
            Assert.Equal(s[0], s[8]);       // running mean
            Assert.Equal(s[9], s[17]);      // running variance
            var p = net.Parameters;         // move γ and β of both features alike
            p[0] += 0.25f; p[8] += 0.25f; p[9] -= 0.5f; p[17] -= 0.5f;
        }
        net.Training = false;
        var inference = net.Forward(x, batch).ToArray();
        for (int n = 0; n < batch; n++) Assert.Equal(inference[n * 9], inference[n * 9 + 8]);
    }
}
