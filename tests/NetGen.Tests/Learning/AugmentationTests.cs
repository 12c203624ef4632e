using NetGen.Tests.Infrastructure;

namespace NetGen.Tests.Learning;

/// <summary>Image augmentation on exact small images, and the trainer's augmentation hook.</summary>
public sealed class AugmentationTests
{
    private static readonly double[] Nine = [1, 2, 3, 4, 5, 6, 7, 8, 9];   // 1×3×3: rows 1 2 3 / 4 5 6 / 7 8 9

    [Fact]
    public void FlipHorizontal_ReversesEveryRowOfEveryChannel()
    {
        double[] image = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];           // 2×2×3
        Augmentation.FlipHorizontal<double>(image, 2, 2, 3);
        Assert.Equal([3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10], image);
    }

    [Fact]
    public void Translate_ShiftsWithZeroFill()
    {
        var output = new double[9];
        Augmentation.Translate<double>(Nine, output, 1, 3, 3, dx: 1, dy: -1);   // right 1, up 1
        Assert.Equal([0, 4, 5, 0, 7, 8, 0, 0, 0], output);
        Augmentation.Translate<double>(Nine, output, 1, 3, 3, dx: -2, dy: 2);   // left 2, down 2
        Assert.Equal([0, 0, 0, 0, 0, 0, 3, 0, 0], output);
        Augmentation.Translate<double>(Nine, output, 1, 3, 3, dx: 3, dy: 0);    // all the way out
        Assert.All(output, v => Assert.Equal(0, v));
        Augmentation.Translate<double>(Nine, output, 1, 3, 3, 0, 0);
        Assert.Equal(Nine, output);
    }

    [Fact]
    public void Rotate_QuarterTurn_IsExactAndCounterClockwise()
    {
        var output = new double[9];
        Augmentation.Rotate<double>(Nine, output, 1, 3, 3, 90);
        Assert.Equal([3, 6, 9, 2, 5, 8, 1, 4, 7], output);                   // numpy.rot90
        Augmentation.Rotate<double>(Nine, output, 1, 3, 3, -90);
        Assert.Equal([7, 4, 1, 8, 5, 2, 9, 6, 3], output);
        Augmentation.Rotate<double>(Nine, output, 1, 3, 3, 0);
        Assert.Equal(Nine, output);
        // A 2×2 image turns about its centre (0.5, 0.5).
        var square = new double[4];
        Augmentation.Rotate<double>([1, 2, 3, 4], square, 1, 2, 2, 90);
        Assert.Equal([2, 4, 1, 3], square);
    }

    [Fact]
    public void Rotate_SmallAngle_IsBilinearWithZeroFill()
    {
        var output = new double[9];
        Augmentation.Rotate<double>(Nine, output, 1, 3, 3, 30);
        double c = Math.Cos(Math.PI / 6), s = 0.5;
        // Top centre (u = 0, v = −1) samples (x, y) = (1 + s, 1 − c): halfway between columns 1 and 2, a fraction
        // 1 − c below row 0: (1 − fy)·(2 + 3)/2 + fy·(5 + 6)/2.
        double fy = 1 - c;
        Assert.Equal((1 - fy) * 2.5 + fy * 5.5, output[1], 12);
        // Top-left corner (u = v = −1) samples (1 − c + s, 1 − s − c) = (0.634, −0.366): row −1 is outside (0), so
        // only row 0 contributes, with weight 1 − 0.366 = 0.634.
        double sx = 1 - c + s, sy = 1 - s - c, wy = sy + 1;
        Assert.Equal(wy * ((1 - sx) * 1 + sx * 2), output[0], 12);
        Assert.Equal(5, output[4], 12);                                      // the centre stays
    }

    [Fact]
    public void Brightness_AddsAndClamps()
    {
        double[] image = [0.5, 0.9, -0.5, 0.1];
        Augmentation.AdjustBrightness<double>(image, 0.25, (0, 1));
        Assert.Equal([0.75, 1, 0, 0.35], image);
        Augmentation.AdjustBrightness<double>(image, -1);
        Assert.Equal([-0.25, 0, -1, -0.65], image);
    }

    [Fact]
    public void ImageAugmentation_DrawsFromTheSeed_PerSample()
    {
        var flip = new ImageAugmentation<double>(1, 2, 2) { HorizontalFlip = true };
        var batch = new double[4 * 20];
        for (int i = 0; i < batch.Length; i++) batch[i] = i;
        var copy = (double[])batch.Clone();
        flip.Apply(batch, 20, new SeededRandom(7));
        var random = new SeededRandom(7);
        int flipped = 0;
        for (int n = 0; n < 20; n++)
        {
            double[] image = copy[(n * 4)..(n * 4 + 4)];
            if (random.NextDouble() < 0.5) { Augmentation.FlipHorizontal<double>(image, 1, 2, 2); flipped++; }
            Assert.Equal(image, batch[(n * 4)..(n * 4 + 4)]);
        }
        Assert.InRange(flipped, 3, 17);
    }

    [Fact]
    public void ImageAugmentation_IsDeterministicAndAllocationFree()
    {
        var augment = new ImageAugmentation<float>(3, 8, 8)
        {
            HorizontalFlip = true, MaxTranslation = 2, MaxRotationDegrees = 15, MaxBrightness = 0.1, BrightnessRange = (0, 1),
        };
        float[] Run(int seed)
        {
            var batch = new float[16 * 192];
            for (int i = 0; i < batch.Length; i++) batch[i] = (i % 17) / 17f;
            augment.Apply(batch, 16, new SeededRandom(seed));
            return batch;
        }
        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
        Assert.All(Run(3), v => Assert.InRange(v, 0f, 1f));

        var data = new float[16 * 192];
        var random = new SeededRandom(5);
        augment.Apply(data, 16, random);
        Assert.Equal(0, Allocations.Steady(() => augment.Apply(data, 16, random), 20));
        Assert.Throws<ArgumentException>(() => augment.Apply(new float[100], 1, random));
    }

    private sealed class ZeroInputs : IAugmentation<double>
    {
        public int Calls, Samples;

        public void Apply(Span<double> batch, int count, SeededRandom random)
        {
            Assert.Equal(count * 2, batch.Length);
            batch.Clear();
            Calls++;
            Samples += count;
        }
    }

    [Fact]
    public void Fit_AppliesTheAugmentationToEachTrainingBatchOnly()
    {
        // Zeroed inputs leave no gradient on the weights (∂E/∂w = δ·x = 0): only the biases learn, and the data set
        // itself is untouched.
        var net = new HandSoftmaxRegression(maxBatch: 8, seed: 2);
        var data = FitTests.Blobs(50, 1);
        double[] features = data.AllFeatures.ToArray();
        double[] weights = net.Parameters[..6].ToArray(), bias = net.Parameters[6..].ToArray();
        var zero = new ZeroInputs();
        var history = Trainer.Fit(net, data, epochs: 3, batchSize: 8, new Sgd(0.5), validationSplit: 0.2, augment: zero);
        Assert.Equal(3 * 5, zero.Calls);                        // 40 training samples: 5 steps per epoch
        Assert.Equal(3 * 40, zero.Samples);
        Assert.Equal(weights, net.Parameters[..6].ToArray());
        Assert.NotEqual(bias, net.Parameters[6..].ToArray());
        Assert.Equal(features, data.AllFeatures.ToArray());
        // Validation sees the real inputs, so its accuracy differs from a constant prediction's.
        Assert.Equal(3, history.ValidationLoss.Count);
    }
}
