using NetGen;
using NetGen.Data;

namespace Module2.Optimization;

/// <summary>The module's data: the embedded UCI 8×8 digits (1,797 samples, 64 pixels in [0, 1], 10 classes).</summary>
public static class DigitsData
{
    private static readonly Lazy<Dataset<float>> All = new(Datasets.UciDigits<float>);

    /// <summary>The 80/20 split every part of the module uses: 1,438 samples to train, 359 held out.</summary>
    public static (Dataset<float> Train, Dataset<float> Test) Split(int seed = 7) => All.Value.Split(0.2, seed);

    /// <summary>A small training set (the first <paramref name="trainCount"/> of the 80 % split) and the 20 % held out:
    /// few enough samples for a wide network to memorise them.</summary>
    public static (Dataset<float> Train, Dataset<float> Test) Small(int trainCount, int seed = 7)
    {
        var (train, test) = Split(seed);
        if (trainCount < 1 || trainCount > train.Count)
            throw new ArgumentOutOfRangeException(nameof(trainCount), trainCount, $"Take 1 to {train.Count} training samples.");
        return (train.Subset(Enumerable.Range(0, trainCount).ToArray()), test);
    }

    /// <summary>A copy of <paramref name="data"/> in which a <paramref name="fraction"/> of the samples (chosen by a
    /// seeded shuffle) carry a wrong label: another class, drawn at random. The pixels are untouched.</summary>
    public static Dataset<float> WithWrongLabels(Dataset<float> data, double fraction, int seed)
    {
        if (!(fraction >= 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The fraction of wrong labels is in [0, 1).");
        int[] labels = data.Labels.ToArray();
        int[] order = Enumerable.Range(0, data.Count).ToArray();
        var random = new SeededRandom(seed);
        random.Shuffle<int>(order);
        int wrong = (int)Math.Round(fraction * data.Count);
        for (int k = 0; k < wrong; k++)
        {
            int i = order[k];
            labels[i] = (labels[i] + 1 + random.NextInt(data.Classes - 1)) % data.Classes;   // any class but the right one
        }
        return new Dataset<float>(data.AllFeatures.ToArray(), data.FeatureSize, labels, data.Classes);
    }
}
