using NetGen.Data;

namespace NetGen.Tests;

public class DatasetsTests
{
    private static int[] ClassCounts<T>(Dataset<T> set) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var counts = new int[set.Classes];
        foreach (int label in set.Labels) counts[label]++;
        return counts;
    }

    [Fact]
    public void UciDigits_Has1797SamplesOf64PixelsIn10Classes()
    {
        var set = Datasets.UciDigits<double>();
        Assert.Equal(1797, set.Count);
        Assert.Equal(64, set.FeatureSize);
        Assert.Equal(10, set.Classes);
        Assert.True(set.HasLabels);
        // Counted from the CSV itself (the last field of each line).
        Assert.Equal([178, 182, 177, 183, 181, 182, 181, 179, 174, 180], ClassCounts(set));
        double min = double.MaxValue, max = double.MinValue;
        foreach (double v in set.AllFeatures) { min = Math.Min(min, v); max = Math.Max(max, v); }
        Assert.Equal(0.0, min);
        Assert.Equal(1.0, max);
    }

    [Fact]
    public void UciDigits_FirstSampleMatchesTheFile()
    {
        // Line 1: 0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,... label 0.
        var set = Datasets.UciDigits<float>();
        Assert.Equal(0, set.Label(0));
        Assert.Equal(1, set.Label(1));
        Assert.Equal([0f, 0f, 5f / 16, 13f / 16, 9f / 16, 1f / 16, 0f, 0f, 0f, 0f, 13f / 16, 15f / 16], set.Features(0)[..12].ToArray());
        // Last line ends ...,1,8,12,14,12,1,0 and the label 8.
        Assert.Equal(8, set.Label(1796));
        Assert.Equal([1f / 16, 8f / 16, 12f / 16, 14f / 16, 12f / 16, 1f / 16, 0f], set.Features(1796)[^7..].ToArray());
    }

    [Fact]
    public void DigitsCsv_BadLine_NamesTheLineAndProblem()
    {
        string good = string.Join(",", Enumerable.Repeat("0", 64)) + ",3\n";
        string bad = string.Join(",", Enumerable.Repeat("0", 63)) + ",17,3\n";
        var set = Datasets.ParseDigitsCsv<double>(System.Text.Encoding.ASCII.GetBytes(good + good.TrimEnd('\n')));
        Assert.Equal(2, set.Count);
        var ex = Assert.Throws<InvalidDataException>(() => Datasets.ParseDigitsCsv<double>(System.Text.Encoding.ASCII.GetBytes(good + bad)));
        Assert.Contains("line 2: pixel 64 is 17, not in 0..16", ex.Message);
        var shortLine = Assert.Throws<InvalidDataException>(() => Datasets.ParseDigitsCsv<double>("1,2,3\n"u8));
        Assert.Contains("line 1: it has 3 fields", shortLine.Message);
    }

    [Fact]
    public void MnistSample_Has10000DigitsWithTheStatedClassCounts()
    {
        var set = Datasets.MnistSample<float>();
        Assert.Equal(10000, set.Count);
        Assert.Equal(784, set.FeatureSize);
        Assert.Equal(10, set.Classes);
        Assert.Equal([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], ClassCounts(set));
        Assert.All(set.AllFeatures.ToArray(), v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void MnistSample_PrefixKeepsOrderAndPixels()
    {
        var set = Datasets.MnistSample<double>(100);
        Assert.Equal(100, set.Count);
        Assert.Equal([1, 9, 4, 1, 6, 6, 5, 4, 4, 5], set.Labels[..10].ToArray());
        // Row 4 of the first digit (a "1") has bytes 0x33, 0xFD at columns 18 and 19.
        Assert.Equal(51 / 255.0, set.Features(0)[4 * 28 + 18]);
        Assert.Equal(253 / 255.0, set.Features(0)[4 * 28 + 19]);
        Assert.Equal(0.0, set.Features(0)[0]);
        Assert.True(ClassCounts(set).All(c => c > 0), "a 100-digit prefix holds every class");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10001)]
    public void MnistSample_CountOutOfRange_IsRejected(int count)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.MnistSample<float>(count));
        Assert.Contains("ask for 1 to 10000", ex.Message);
    }

    [Fact]
    public void Mnist_ReadsStandardFileNamesGzippedOrNot()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-mnist-").FullName;
        try
        {
            var pixels = new byte[3 * 28 * 28];
            pixels[5] = 255;
            Idx.Write(Path.Combine(dir, "train-images-idx3-ubyte.gz"), new IdxArray([3, 28, 28], pixels));
            Idx.Write(Path.Combine(dir, "train-labels-idx1-ubyte"), new IdxArray([3], [7, 0, 9]));
            Idx.Write(Path.Combine(dir, "t10k-images.idx3-ubyte"), new IdxArray([1, 28, 28], new byte[784]));
            Idx.Write(Path.Combine(dir, "t10k-labels.idx1-ubyte.gz"), new IdxArray([1], [3]));

            var train = Datasets.Mnist<float>(dir, train: true);
            Assert.Equal(3, train.Count);
            Assert.Equal(784, train.FeatureSize);
            Assert.Equal(10, train.Classes);
            Assert.Equal([7, 0, 9], train.Labels.ToArray());
            Assert.Equal(1f, train.Features(0)[5]);

            var test = Datasets.Mnist<double>(dir, train: false);
            Assert.Equal(1, test.Count);
            Assert.Equal(3, test.Label(0));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Mnist_MissingFiles_ListsPathsTriedAndWhereToGetThem()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"netgen-no-such-dir-{Guid.NewGuid():N}");
        var ex = Assert.Throws<FileNotFoundException>(() => Datasets.Mnist<float>(dir, train: false));
        Assert.Contains("test images were not found", ex.Message);
        Assert.Contains("does not exist", ex.Message);
        Assert.Contains(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), ex.Message);
        Assert.Contains(Path.Combine(dir, "t10k-images-idx3-ubyte"), ex.Message);
        Assert.Contains(Path.Combine(dir, "t10k-images.idx3-ubyte"), ex.Message);
        Assert.Contains("dataset-fashion-mnist", ex.Message);
        Assert.Contains(Datasets.DebianFashionMnistDirectory, ex.Message);
        Assert.Equal(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), ex.FileName);
    }

    [Fact]
    public void Mnist_LabelsMissing_NamesTheLabelsFiles()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-mnist-").FullName;
        try
        {
            Idx.Write(Path.Combine(dir, "train-images-idx3-ubyte.gz"), new IdxArray([1, 28, 28], new byte[784]));
            var ex = Assert.Throws<FileNotFoundException>(() => Datasets.Mnist<float>(dir, train: true));
            Assert.Contains("training labels were not found", ex.Message);
            Assert.Contains(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), ex.Message);
            Assert.DoesNotContain("does not exist", ex.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
