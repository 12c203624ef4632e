using System.Buffers.Binary;
using NetGen.Plots;

namespace NetGen.Tests.Learning;

/// <summary>Training curves saved as PNG, headless.</summary>
public sealed class PlotsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("netgen-plots-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Checks the PNG signature and reads the IHDR chunk's width and height.</summary>
    private static (int Width, int Height) ReadPng(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 33, $"{path} is too short for a PNG");
        Assert.Equal(PngSignature, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal("IEND", System.Text.Encoding.ASCII.GetString(bytes, bytes.Length - 8, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    private static History Train(IOptimizer optimizer, int epochs = 8) =>
        Trainer.Fit(new HandSoftmaxRegression(maxBatch: 10, seed: 1), FitTests.Blobs(90, 1), epochs, 10, optimizer, validationSplit: 0.2);

    [Fact]
    public void SaveHistory_WritesAPngOfTheRequestedSize()
    {
        var history = Train(new Sgd(0.3));
        string path = Path.Combine(_directory, "curves", "history.png");
        Plots.Plots.SaveHistory(history, path, width: 640, height: 320, title: "Blobs");
        Assert.Equal((640, 320), ReadPng(path));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));

        Plots.Plots.SaveHistory(history, path);                       // replaces it, default size
        Assert.Equal((1000, 400), ReadPng(path));
    }

    [Fact]
    public void SaveComparison_WritesAPngOfTheRequestedSize()
    {
        var runs = new Dictionary<string, History>
        {
            ["SGD 0.3"] = Train(new Sgd(0.3)),
            ["SGD momentum"] = Train(new Sgd(0.1, momentum: 0.9)),
            ["Adam"] = Train(new Adam(0.05)),
        };
        string path = Path.Combine(_directory, "comparison.png");
        Plots.Plots.SaveComparison(runs, "loss", path, width: 700, height: 450);
        Assert.Equal((700, 450), ReadPng(path));

        var ex = Assert.Throws<ArgumentException>(() => Plots.Plots.SaveComparison(runs, "f1", path));
        Assert.Contains("Run 'SGD 0.3' has no 'f1'", ex.Message);
        Assert.Throws<ArgumentException>(() => Plots.Plots.SaveHistory(new History(), path));
        Assert.Throws<ArgumentOutOfRangeException>(() => Plots.Plots.SaveHistory(runs["Adam"], path, width: 5));
    }
}
