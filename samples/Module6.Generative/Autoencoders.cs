using System.Globalization;
using NetGen;

namespace Module6.Generative;

/// <summary>The `autoencoder` subcommand: a dense and a convolutional autoencoder, optionally denoising.</summary>
public static class Autoencoders
{
    public const int DefaultEpochs = 10, BatchSize = 128;
    public const double NoiseSigma = 0.5;

    /// <summary>One trained autoencoder: its training history (loss per epoch) and its test reconstruction loss.</summary>
    public sealed record Result(string Name, History History, double TestLoss);

    public static IReadOnlyList<Result> Run(TextWriter log, int epochs, bool denoise, bool convolutionalOnly, string output, int seed = 1)
    {
        var results = new List<Result>();
        if (!convolutionalOnly)
            results.Add(Train(log, new DenseAutoencoder(BatchSize, seed), "dense 784-128-32-128-784", "autoencoder-dense", epochs, denoise, output, seed));
        results.Add(Train(log, new ConvAutoencoder(BatchSize, seed), "convolutional (Conv/MaxPool → 8×7×7 → Conv2DTranspose, Upsample2D, Conv)", "autoencoder-conv", epochs, denoise, output, seed));
        return results;
    }

    /// <summary>The images with Gaussian noise of σ = 0.5 added, clipped to [0, 1] (a fixed draw per seed).</summary>
    public static float[] Noisy(ReadOnlySpan<float> images, int seed)
    {
        var random = new SeededRandom(seed);
        var noisy = new float[images.Length];
        for (int i = 0; i < noisy.Length; i++) noisy[i] = Math.Clamp(images[i] + (float)(NoiseSigma * random.NextGaussian()), 0f, 1f);
        return noisy;
    }

    private static Result Train(TextWriter log, INetwork<float> net, string title, string file, int epochs, bool denoise, string output, int seed)
    {
        log.WriteLine($"{title} autoencoder{(denoise ? ", denoising (σ = 0.5)" : "")}: Adam 1e-3, batch {BatchSize}, {epochs} epochs, loss = binary cross-entropy summed over the pixels (nats per image)");
        var train = Digits.Train;
        var test = Digits.Test;
        var inputs = denoise ? Noisy(train.AllFeatures, seed + 7) : train.AllFeatures.ToArray();
        var data = new Dataset<float>(inputs, Digits.Pixels, train.AllFeatures.ToArray(), Digits.Pixels);
        var history = Trainer.Fit(net, data, epochs, BatchSize, new Adam(1e-3), seed: seed, log: log, verbose: 2);

        var testInputs = denoise ? Noisy(test.AllFeatures, seed + 8) : test.AllFeatures.ToArray();
        var (loss, _) = Trainer.Evaluate(net, new Dataset<float>(testInputs, Digits.Pixels, test.AllFeatures.ToArray(), Digits.Pixels), BatchSize);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test reconstruction loss: {loss:F2}"));

        // Originals above reconstructions (denoising: noisy / denoised / clean), 10 test digits.
        const int Count = 10;
        net.Training = false;
        var shown = testInputs.AsSpan(0, Count * Digits.Pixels);
        var reconstructed = net.Forward(shown, Count).ToArray();
        float[] grid = denoise
            ? [.. shown, .. reconstructed, .. test.AllFeatures[..(Count * Digits.Pixels)]]
            : [.. shown, .. reconstructed];
        string path = Grids.Save(Path.Combine(output, file + (denoise ? "-denoise" : "") + ".png"), grid, denoise ? 3 : 2, Count);
        log.WriteLine("wrote " + Grids.Describe(path) + (denoise ? ": noisy, denoised, clean" : ": originals above reconstructions"));
        log.WriteLine();
        return new Result(file, history, loss);
    }
}
