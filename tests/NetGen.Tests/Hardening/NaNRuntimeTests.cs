namespace NetGen.Tests.Hardening;

/// <summary>
/// NaN must not hide (runtime half): a data set refuses non-finite values unless told otherwise, an optimiser step
/// with a non-finite gradient changes nothing, and <see cref="Trainer.Fit"/> stops at the first diverging step with
/// the weights of the last good step, saying so, or hands the step to <see cref="TerminateOnNaN"/>.
/// </summary>
public sealed class NaNRuntimeTests
{
    private static Dataset<float> Regression(int count, bool nanAtFirst)
    {
        var random = new SeededRandom(9);
        var x = new float[count * 3];
        var y = new float[count * 2];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        for (int i = 0; i < y.Length; i++) y[i] = (float)(random.NextDouble() - 0.5);
        if (nanAtFirst) x[1] = float.NaN;
        return new Dataset<float>(x, 3, y, 2, allowNonFinite: nanAtFirst);
    }

    [Fact]
    public void Dataset_RejectsNaNAndInfinity_NamingSampleAndFeature()
    {
        var features = new float[5 * 4];
        features[3 * 4 + 2] = float.NaN;
        var ex = Assert.Throws<ArgumentException>(() => new Dataset<float>(features, 4, new int[5], 2));
        Assert.Contains("Feature 2 of sample 3 is NaN", ex.Message);
        Assert.Contains("allowNonFinite: true", ex.Message);

        features[3 * 4 + 2] = 0;
        features[4 * 4 + 1] = float.PositiveInfinity;
        Assert.Contains("Feature 1 of sample 4 is ∞", Assert.Throws<ArgumentException>(() => new Dataset<float>(features, 4, new int[5], 2)).Message
            .Replace("Infinity", "∞"));

        var targets = new double[3 * 2];
        targets[5] = double.NegativeInfinity;
        Assert.Contains("Target value 1 of sample 2", Assert.Throws<ArgumentException>(() => new Dataset<double>(new double[3], 1, targets, 2)).Message);

        // Opting out keeps the values, and subsets, splits and conversions inherit the choice.
        var kept = new Dataset<float>(features, 4, new int[5], 2, allowNonFinite: true);
        Assert.True(kept.AllowsNonFinite);
        Assert.True(float.IsInfinity(kept.Subset([4]).Features(0)[1]));
        Assert.True(kept.Convert<double>().AllowsNonFinite);
        // Converting a finite double set whose values overflow float is caught too.
        var big = new Dataset<double>([1e300], 1, [0], 1);
        Assert.Contains("Feature 0 of sample 0", Assert.Throws<ArgumentException>(() => big.Convert<float>()).Message);
    }

    [Fact]
    public void Optimizer_StepWithANonFiniteGradient_ChangesNothing_AndSaysSo()
    {
        var adam = new Adam(0.1);
        float[] p = [1, 2, 3, 4];
        adam.Step<float>(p, [0.1f, 0.2f, 0.3f, 0.4f]);
        float[] afterOne = [.. p];
        adam.Step<float>(p, [0.1f, float.NaN, 0.3f, 0.4f]);
        Assert.True(adam.LastStepSkipped);
        Assert.Equal(1, adam.SkippedSteps);
        Assert.Equal(1, adam.Iterations);
        Assert.Equal(afterOne, p);
        adam.Step<float>(p, [0.1f, float.PositiveInfinity, 0.3f, 0.4f]);
        Assert.Equal(afterOne, p);
        Assert.Equal(2, adam.SkippedSteps);

        // The next finite step is exactly the second step of a run that never saw the NaN: the state was untouched.
        adam.Step<float>(p, [0.1f, 0.2f, 0.3f, 0.4f]);
        Assert.False(adam.LastStepSkipped);
        var clean = new Adam(0.1);
        float[] q = [1, 2, 3, 4];
        clean.Step<float>(q, [0.1f, 0.2f, 0.3f, 0.4f]);
        clean.Step<float>(q, [0.1f, 0.2f, 0.3f, 0.4f]);
        Assert.Equal(q, p);

        // Finite gradients whose sum overflows are not a divergence.
        float[] r = [0, 0];
        new Sgd(1e-38).Step<float>(r, [float.MaxValue, float.MaxValue]);
        Assert.NotEqual(0f, r[0]);
    }

    [Fact]
    public void Fit_DivergingStep_LeavesTheLastGoodWeights_AndTheErrorSaysSo()
    {
        var data = Regression(8, nanAtFirst: true);
        var net = new HardenedFloatNet(maxBatch: 4, seed: 1);
        float[] initial = net.Parameters.ToArray();
        var ex = Assert.Throws<InvalidOperationException>(() =>
            Trainer.Fit(net, data, epochs: 2, batchSize: 4, new Adam(0.01), shuffle: false, verbose: 0));
        Assert.Contains("at epoch 1/2, step 1/2", ex.Message);
        Assert.Contains("The network's weights are those of the last good step (the initial weights): this step's update was not applied.", ex.Message);
        Assert.Equal(initial, net.Parameters.ToArray());
        Assert.All(net.Parameters.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void TerminateOnNaN_StopsAtTheNaNBatch_WithFiniteWeights()
    {
        var data = Regression(8, nanAtFirst: true);
        var net = new HardenedFloatNet(maxBatch: 4, seed: 1);
        float[] initial = net.Parameters.ToArray();
        var terminate = new TerminateOnNaN();
        var history = Trainer.Fit(net, data, epochs: 3, batchSize: 4, new RmsProp(0.01), shuffle: false, verbose: 0, callbacks: [terminate]);
        Assert.NotNull(terminate.TerminatedAt);
        Assert.Equal(1, history.Epochs);
        Assert.True(double.IsNaN(history.Loss[0]));
        Assert.Equal(initial, net.Parameters.ToArray());
    }
}
