using NetGen.Tests.Networks;

namespace NetGen.Tests.Hardening;

/// <summary>Max pooling over small windows (the scalar kernel).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 4, 4)]
[MaxPool(2)]
public partial class NaNPoolSmall;

/// <summary>Max pooling over rows wide enough for the vector kernel.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 8, 32)]
[MaxPool(2)]
public partial class NaNPoolWide;

/// <summary>Max pooling with a 3×3 window (the looped scalar kernel).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 6, 6)]
[MaxPool(3)]
public partial class NaNPoolThree;

/// <summary>
/// NaN must not hide (generated half): ReLU and max pooling propagate NaN as PyTorch's relu and max_pool2d do
/// (relu(nan) = nan; a window holding a NaN pools to NaN wherever the NaN is), and a training step whose loss is not
/// finite changes no weight, with the fused plain-SGD step as with any other optimiser.
/// </summary>
public sealed class NaNGeneratedTests
{
    [Fact]
    public void ReLU_PropagatesNaN()
    {
        var net = new DigitsMlp(seed: 3);
        var x = new float[64];
        x[0] = float.NaN;
        var output = net.Forward(x);
        Assert.All(net.ReLU1Output.ToArray(), v => Assert.True(float.IsNaN(v), $"ReLU1 output {v}, expected NaN"));
        Assert.All(output.ToArray(), v => Assert.True(float.IsNaN(v)));
        // Finite inputs are unchanged: max(x, 0).
        x[0] = 1;
        net.Forward(x);
        Assert.All(net.ReLU1Output.ToArray(), v => Assert.True(v >= 0 && float.IsFinite(v)));
        Assert.Equal(net.Dense1Output.ToArray().Select(v => Math.Max(v, 0)), net.ReLU1Output.ToArray());
    }

    [Theory]
    [InlineData(typeof(NaNPoolSmall))]
    [InlineData(typeof(NaNPoolWide))]
    [InlineData(typeof(NaNPoolThree))]
    public void MaxPool_AWindowWithANaN_PoolsToNaN_WhereverTheNaNIs(Type type)
    {
        var net = (INetwork<float>)Activator.CreateInstance(type, 1, 42)!;
        var random = new SeededRandom(4);
        var x = new float[net.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
        float[] clean = net.Forward(x).ToArray();
        Assert.All(clean, v => Assert.False(float.IsNaN(v)));
        // A NaN at every position in turn: exactly one output (its window's) becomes NaN, the others are unchanged.
        for (int at = 0; at < x.Length; at++)
        {
            float keep = x[at];
            x[at] = float.NaN;
            float[] y = net.Forward(x).ToArray();
            int nans = y.Count(float.IsNaN);
            Assert.True(nans == 1, $"{type.Name}: NaN at input {at} gave {nans} NaN outputs");
            x[at] = keep;
        }
    }

    [Fact]
    public void FusedSgdStep_WithANaNLoss_ChangesNoWeight()
    {
        var net = new DigitsMlp(maxBatch: 2, seed: 5);
        float[] before = net.Parameters.ToArray();
        var x = new float[128];
        x[70] = float.NaN;
        var sgd = new Sgd(0.1);
        float loss = net.TrainStep(x, [3, 4], sgd, batch: 2);
        Assert.True(float.IsNaN(loss));
        Assert.Equal(before, net.Parameters.ToArray());
        Assert.Equal(0, sgd.Iterations);
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

/// <summary>A layer of a million units: maxBatch 4,097 × 1,048,576 wrapped the generated int sizes.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(16)]
[Dense(1048576), Sigmoid]
public partial class MillionWide;

/// <summary>The documented limit of values per sample, in one Dense layer.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1)]
[Dense(67108864)]
public partial class LimitWide;

/// <summary>Constructors check every buffer size in checked arithmetic, before allocating anything: a maxBatch whose
/// buffers would wrap an int (and let the kernels write past them) is a clear error naming the largest maxBatch.</summary>
public sealed class BufferSizeTests
{
    [Fact]
    public void MaxBatchTooLargeForTheBuffers_IsAClearError_NamingTheLargestMaxBatch()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new MillionWide(maxBatch: 4097));
        Assert.Contains("maxBatch 4,097 × 1,048,576 values per sample (Dense1's output) = 4,296,015,872 values exceeds the 2,147,483,591 one array can hold", ex.Message);
        Assert.Contains("the largest maxBatch for MillionWide is 2,047", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MillionWide(maxBatch: int.MaxValue));
    }

    [Fact]
    public void ALayerTooWideForTheKernelsWorkingMemory_IsAClearError()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new LimitWide(maxBatch: 1));
        Assert.Contains("LimitWide's kernels need more working memory per thread", ex.Message);
    }
}
