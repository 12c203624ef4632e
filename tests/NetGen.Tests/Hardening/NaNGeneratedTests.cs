using NetGen.Tests.Networks;

namespace NetGen.Tests.Hardening;

/// <summary>ReLU over a few values (the scalar loop printed from its formula).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(3)]
[Dense(4), ReLU]
public partial class NaNReluSmall;

/// <summary>ReLU over enough values for the library kernel (TensorPrimitives.Max), in double.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(3)]
[Dense(200), ReLU]
public partial class NaNReluWide;

/// <summary>Convolution, ReLU and 2×2 max pooling fused sample by sample (the convolution's own ReLU and pool kernels).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 8, 16)]
[Conv2D(2, Kernel = 3, Padding = 1), ReLU]
[MaxPool(2)]
[Flatten]
[Dense(2)]
public partial class NaNConvReluPool;

/// <summary>Max pooling over small windows (the unrolled scalar kernel).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 4, 4)]
[MaxPool(2)]
public partial class NaNPoolSmall;

/// <summary>Max pooling over rows wide enough for the vector kernel.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 8, 32)]
[MaxPool(2)]
public partial class NaNPoolWide;

/// <summary>Max pooling over rows of four windows (the Vector128 kernel).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 4, 8)]
[MaxPool(2)]
public partial class NaNPoolFour;

/// <summary>Max pooling with a 4×4 window (the looped scalar kernel), in double.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(1, 8, 8)]
[MaxPool(4)]
public partial class NaNPoolLooped;

/// <summary>
/// NaN must not hide (generated half, issue 18 item 12): ReLU and max pooling propagate NaN as PyTorch's relu and
/// max_pool2d do (relu(nan) = nan; a window holding a NaN pools to NaN wherever the NaN is), and a training step whose
/// loss is not finite changes no weight, with the fused plain-SGD step as with any other optimiser.
/// </summary>
public sealed class NaNGeneratedTests
{
    [Fact]
    public void ReLU_PropagatesNaN_InTheScalarAndTheLibraryForm()
    {
        // Before: x > 0 ? x : 0 turned NaN into 0, so one NaN feature gave a finite output and loss.
        var small = new NaNReluSmall(seed: 3);
        var output = small.Forward([float.NaN, 1, 2]).ToArray();
        Assert.All(output, v => Assert.True(float.IsNaN(v), $"ReLU output {v}, expected NaN"));
        small.Forward([-1, 1, 2]);
        Assert.Equal(small.Dense1Output.ToArray().Select(v => Math.Max(v, 0)), small.ReLU1Output.ToArray());
        Assert.Contains(0f, small.ReLU1Output.ToArray());

        var wide = new NaNReluWide(seed: 3);
        Assert.All(wide.Forward([1, double.NaN, 2]).ToArray(), v => Assert.True(double.IsNaN(v)));
        wide.Forward([1, -2, 3]);
        Assert.Equal(wide.Dense1Output.ToArray().Select(v => Math.Max(v, 0)), wide.ReLU1Output.ToArray());
    }

    [Fact]
    public void FusedConvolutionReLUAndPool_PropagateNaN()
    {
        var net = new NaNConvReluPool(seed: 5);
        var x = new float[NaNConvReluPool.InputSize];
        var random = new SeededRandom(2);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() - 0.5);
        Assert.All(net.Forward(x).ToArray(), v => Assert.False(float.IsNaN(v)));
        // Padding 1: the NaN reaches the 3×3 outputs around it, and the pool windows holding those.
        x[3 * 16 + 5] = float.NaN;
        net.Forward(x);
        float[] relu = net.ReLU1Output.ToArray(), pool = net.MaxPool1Output.ToArray();
        Assert.Equal(2 * 9, relu.Count(float.IsNaN));
        Assert.Equal(2 * 4, pool.Count(float.IsNaN));   // rows 2–4 × columns 4–6 meet 2 × 2 windows in each channel
        Assert.All(net.Output.ToArray(), v => Assert.True(float.IsNaN(v)));
    }

    [Theory]
    [InlineData(typeof(NaNPoolSmall))]
    [InlineData(typeof(NaNPoolWide))]
    [InlineData(typeof(NaNPoolFour))]
    public void MaxPool_AWindowWithANaN_PoolsToNaN_WhereverTheNaNIs(Type type)
    {
        // Before: MaxNative / x > m kept or dropped the NaN depending on its position in the window.
        var net = (INetwork<float>)Activator.CreateInstance(type, 1, 42)!;
        var random = new SeededRandom(4);
        var x = new float[net.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
        float[] clean = net.Forward(x).ToArray();
        Assert.All(clean, v => Assert.False(float.IsNaN(v)));
        for (int at = 0; at < x.Length; at++)
        {
            float keep = x[at];
            x[at] = float.NaN;
            float[] y = net.Forward(x).ToArray();
            Assert.True(y.Count(float.IsNaN) == 1, $"{type.Name}: NaN at input {at} gave {y.Count(float.IsNaN)} NaN outputs");
            for (int o = 0; o < y.Length; o++)
                if (!float.IsNaN(y[o])) Assert.Equal(clean[o], y[o]);
            x[at] = keep;
        }
    }

    [Fact]
    public void MaxPool_Double_LoopedWindow_PoolsToNaN_WhereverTheNaNIs()
    {
        var net = new NaNPoolLooped();
        var x = Enumerable.Range(0, NaNPoolLooped.InputSize).Select(i => (double)(i % 7)).ToArray();
        for (int at = 0; at < x.Length; at++)
        {
            double keep = x[at];
            x[at] = double.NaN;
            Assert.Equal(1, net.Forward(x).ToArray().Count(double.IsNaN));
            x[at] = keep;
        }
    }

    [Fact]
    public void TrainStep_WithANaNLoss_ChangesNoWeight_FusedSgdOrNot()
    {
        // Before: the fused plain-SGD step wrote NaN into every weight the NaN feature touched before Fit saw the loss.
        var net = new DigitsMlp(maxBatch: 2, seed: 5);
        float[] before = net.Parameters.ToArray();
        var x = new float[128];
        x[70] = float.NaN;
        var sgd = new Sgd(0.1);
        float loss = net.TrainStep(x, [3, 4], sgd, batch: 2);
        Assert.True(float.IsNaN(loss));
        Assert.Equal(before, net.Parameters.ToArray());
        Assert.Equal(0, sgd.Iterations);
        Assert.True(float.IsNaN(net.TrainStep(x, [3, 4], new Adam(0.01), batch: 2)));
        Assert.Equal(before, net.Parameters.ToArray());
        Assert.True(float.IsFinite(net.TrainStep(new float[128], [3, 4], sgd, batch: 2)));
        Assert.NotEqual(before, net.Parameters.ToArray());
    }

    [Fact]
    public void Fit_WithFusedSgd_StopsAtTheNaNSample_WithTheLastGoodWeights()
    {
        var features = new float[40 * 64];
        var random = new SeededRandom(6);
        for (int i = 0; i < features.Length; i++) features[i] = (float)random.NextDouble();
        var labels = Enumerable.Range(0, 40).Select(i => i % 10).ToArray();
        features[25 * 64 + 9] = float.NaN;   // sample 25: the fourth batch of 8 in order
        var data = new Dataset<float>(features, 64, labels, 10, allowNonFinite: true);
        var net = new DigitsMlp(maxBatch: 8, seed: 1);
        var good = new DigitsMlp(maxBatch: 8, seed: 1);
        Trainer.Fit(good, new Dataset<float>(features[..(24 * 64)], 64, labels[..24], 10), epochs: 1, batchSize: 8, new Sgd(0.05), shuffle: false, verbose: 0);
        var ex = Assert.Throws<InvalidOperationException>(() =>
            Trainer.Fit(net, data, epochs: 1, batchSize: 8, new Sgd(0.05), shuffle: false, verbose: 0));
        Assert.Contains("step 4/5", ex.Message);
        Assert.Contains("weights are those of the last good step (step 3 of epoch 1)", ex.Message);
        Assert.Equal(good.Parameters.ToArray(), net.Parameters.ToArray());
    }
}
