using Module3.Cnn;
using NetGen.Imaging;

namespace NetGen.Tests.Samples;

/// <summary>The Module 3 sample's claims, checked on the sample's own code and networks.</summary>
public class Module3SampleTests
{
    private static string ConvolveOutput()
    {
        var text = new StringWriter();
        Convolutions.Run(text);
        return text.ToString();
    }

    /// <summary>The printed matrices with the alignment spaces removed: "[ 0, 30, 30,  0]" reads "[0,30,30,0]".</summary>
    private static string Compact(string s) => s.Replace(" ", "");

    [Fact]
    public void ConvolvePrintsTheVerticalEdgeNumbersForBothImages()
    {
        string s = Compact(ConvolveOutput());
        Assert.Contains("[0,30,30,0]", s);
        Assert.Contains("[0,-30,-30,0]", s);
        Assert.Equal(
            new double[,] { { 0, 30, 30, 0 }, { 0, 30, 30, 0 }, { 0, 30, 30, 0 }, { 0, 30, 30, 0 } },
            Convolutions.CrossCorrelate(Convolutions.BrightLeft(), Convolutions.VerticalKernel));
        Assert.Equal(
            new double[,] { { 0, -30, -30, 0 }, { 0, -30, -30, 0 }, { 0, -30, -30, 0 }, { 0, -30, -30, 0 } },
            Convolutions.CrossCorrelate(Convolutions.BrightRight(), Convolutions.VerticalKernel));
    }

    [Fact]
    public void ConvolvePrintsTheHorizontalEdgeNumbersOnFourQuadrants()
    {
        var expected = new double[,] { { 0, 0, 0, 0 }, { 30, 10, -10, -30 }, { 30, 10, -10, -30 }, { 0, 0, 0, 0 } };
        Assert.Equal(expected, Convolutions.CrossCorrelate(Convolutions.Quadrants(), Convolutions.HorizontalKernel));
        string s = Compact(ConvolveOutput());
        Assert.Contains("[30,10,-10,-30]", s);
        Assert.Contains("[0,0,0,0]", s);
    }

    [Fact]
    public void ConvolvePrintsMaxAndAveragePooling()
    {
        Assert.Equal(new double[,] { { 9, 2 }, { 6, 3 } }, Convolutions.MaxPool(Convolutions.MaxPoolInput));
        Assert.Equal(new double[,] { { 3.75, 1.25 }, { 4, 2 } }, Convolutions.AvgPool(Convolutions.AvgPoolInput));
        string s = Compact(ConvolveOutput());
        foreach (var row in new[] { "[9,2]", "[6,3]", "[3.75,1.25]", "[4,2]" })
            Assert.Contains(row, s);
    }

    [Fact]
    public void CrossCorrelationDiffersFromConvolutionUnlessTheKernelIsFlipped()
    {
        var image = Convolutions.Quadrants();
        var w = Convolutions.AsymmetricKernel;
        var convolution = Convolutions.Convolve(image, w);
        Assert.NotEqual(convolution, Convolutions.CrossCorrelate(image, w));
        Assert.Equal(convolution, Convolutions.CrossCorrelate(image, Convolutions.Rotate180(w)));
        string s = ConvolveOutput();
        Assert.Contains("cross-correlation with w equals convolution with w: False", s);
        Assert.Contains("cross-correlation with rot180(w) equals convolution with w: True", s);
        // The impulse stamps the rotated kernel under cross-correlation and the kernel itself under convolution.
        Assert.Contains("[0,9,8,7,0][0,1,2,3,0]", Compact(s));
    }

    [Fact]
    public void ConvolvePrintsTheParameterCountOf32KernelsOverThreeChannels()
    {
        Assert.Equal(896, Conv32On3Channels.ParameterCount);
        Assert.Contains("ParameterCount = 896", ConvolveOutput());
    }

    /// <summary>
    /// LeNet as the sample trains it (batch 32, SGD η = 0.1, seed 1, the embedded sample's first 8,000 digits, tested on
    /// the last 2,000), for 3 of its 12 default epochs. The full default run reaches 0.979 (seeds 1–5: 0.9785–0.982)
    /// but takes 35–70 s on this 2-core machine depending on load, too long for the suite; after 3 epochs seed 1 gives
    /// 0.968 (seeds 1–5: 0.960–0.972) in about a quarter of the time, so ≥ 0.95 is a real bound with a margin.
    /// </summary>
    [Fact]
    public void LeNetReachesNinetyFivePercentOnTheEmbeddedSampleAfterThreeEpochs()
    {
        var text = new StringWriter();
        string output = Path.Combine(Path.GetTempPath(), "netgen-module3-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = Training.Run(text, new TrainOptions { Model = "lenet", Epochs = 3, OutputDirectory = output });
            Assert.True(result.TestAccuracy >= 0.95, $"test accuracy {result.TestAccuracy:0.000} < 0.95\n{text}");
            Assert.Equal((8000, 2000), (result.TrainCount, result.TestCount));
            string s = text.ToString();
            Assert.Matches(@"test accuracy: 0\.\d{3}", s);
            Assert.Contains("Epoch 3/3", s);
            Assert.Contains("Total params: 61,706", s);
            AssertImages(result, CnnModel.LeNet);
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void ShallowNetWritesItsFiltersAndFeatureMapsAfterOneShortEpoch()
    {
        var text = new StringWriter();
        string output = Path.Combine(Path.GetTempPath(), "netgen-module3-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = Training.Run(text, new TrainOptions { Model = "shallownet", Epochs = 1, TrainSamples = 2000, OutputDirectory = output });
            Assert.True(result.TestAccuracy >= 0.80, $"test accuracy {result.TestAccuracy:0.000} < 0.80\n{text}");
            AssertImages(result, CnnModel.ShallowNet);
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void GridLaysTilesOutWithGapsAndNormalisesEachTile()
    {
        // Two 2×2 maps, ×3: the first ramps 0..3 (min black, max white), the second is constant (black).
        float[] maps = [0, 1, 2, 3, 5, 5, 5, 5];
        var image = FeatureImages.Grid(maps, 2, 2, 2, 3);
        Assert.Equal((2 * 6 + 3 * FeatureImages.Gap, 6 + 2 * FeatureImages.Gap), (image.Width, image.Height));
        Assert.Equal(255, image[0, 0, 0]);                                    // the gap is white
        Assert.Equal(0, image[FeatureImages.Gap, FeatureImages.Gap, 0]);      // tile 0, value 0 → black
        Assert.Equal(255, image[FeatureImages.Gap + 5, FeatureImages.Gap + 5, 0]);   // tile 0, value 3 → white
        Assert.Equal(85, image[FeatureImages.Gap + 3, FeatureImages.Gap, 0]);        // value 1 → 1/3 → 85
        Assert.Equal(0, image[2 * FeatureImages.Gap + 6, FeatureImages.Gap, 0]);     // the constant tile is black
    }

    /// <summary>The three PNGs exist and have the grid's size: filters k·8 px, maps 28·3 px, 8 per row, 2 px gaps.</summary>
    private static void AssertImages(TrainResult result, CnnModel model)
    {
        Assert.Equal(3, result.Images.Count);
        var filters = Image.Load(result.Images[0]);
        var input = Image.Load(result.Images[1]);
        var maps = Image.Load(result.Images[2]);
        int k = model.Kernel * Training.FilterScale, side = 28 * Training.MapScale;
        Assert.Equal(FeatureImages.GridSize(model.Filters, k, k), (filters.Width, filters.Height));
        Assert.Equal(FeatureImages.GridSize(1, side, side), (input.Width, input.Height));
        Assert.Equal(FeatureImages.GridSize(model.Filters, side, side), (maps.Width, maps.Height));
        if (model.Filters == 6) Assert.Equal((6 * 40 + 7 * 2, 40 + 2 * 2), (filters.Width, filters.Height));   // LeNet: one row of six 5×5·8 tiles
        if (model.Filters == 32) Assert.Equal((8 * 84 + 9 * 2, 4 * 84 + 5 * 2), (maps.Width, maps.Height));   // 32 maps: 8 × 4 tiles
        // Each kernel is normalised on its own: the first tile (inside the white gaps) spans black to white.
        var tile = new List<byte>();
        for (int y = 0; y < k; y++)
            for (int x = 0; x < k; x++)
                tile.Add(filters[FeatureImages.Gap + x, FeatureImages.Gap + y, 0]);
        Assert.Equal((byte)0, tile.Min());
        Assert.Equal((byte)255, tile.Max());
        Assert.True(maps.Pixels.Distinct().Count() > 16, "the feature maps should show more than a few grey levels");
    }
}
