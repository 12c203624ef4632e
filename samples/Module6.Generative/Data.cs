using NetGen;
using NetGen.Data;

namespace Module6.Generative;

/// <summary>The module's data: the embedded 10,000-digit MNIST sample, the first 8,000 for training and the last
/// 2,000 for testing; pixels in [0, 1].</summary>
public static class Digits
{
    public const int TrainCount = 8000, TestCount = 2000, Pixels = 784;

    private static readonly Lazy<(Dataset<float> Train, Dataset<float> Test)> Split = new(() =>
    {
        var all = Datasets.MnistSample<float>(TrainCount + TestCount);
        return (all.Subset(Enumerable.Range(0, TrainCount).ToArray()), all.Subset(Enumerable.Range(TrainCount, TestCount).ToArray()));
    });

    /// <summary>The 8,000 training digits with their labels.</summary>
    public static Dataset<float> Train => Split.Value.Train;

    /// <summary>The 2,000 test digits with their labels.</summary>
    public static Dataset<float> Test => Split.Value.Test;

    /// <summary>A data set whose targets are its features (an autoencoder's): images in, the same images out.</summary>
    public static Dataset<float> AsReconstruction(Dataset<float> data) =>
        new(data.AllFeatures.ToArray(), Pixels, data.AllFeatures.ToArray(), Pixels);
}
