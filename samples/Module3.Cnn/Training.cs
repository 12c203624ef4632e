using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;
using NetGen.Gpu;
using NetGen.Samples;

namespace Module3.Cnn;

/// <summary>What to train and how; a null setting takes the model's default (see <see cref="CnnModel"/>).</summary>
public sealed record TrainOptions
{
    /// <summary>shallownet, lenet or minivggnet.</summary>
    public string Model { get; init; } = CnnModel.LeNet.Name;

    /// <summary>Passes over the training set.</summary>
    public int? Epochs { get; init; }

    /// <summary>Samples per SGD step.</summary>
    public int? BatchSize { get; init; }

    /// <summary>The SGD learning rate.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Train on only the first this many training samples.</summary>
    public int? TrainSamples { get; init; }

    /// <summary>Test on only the first this many test samples (default: all, or the model's emulator default).</summary>
    public int? TestSamples { get; init; }

    /// <summary>Where to train: null for the generated CPU network, else its Gpu variant on this device (the caller
    /// owns and disposes it). On ILGPU's CPU emulator the unset settings take the model's emulator defaults.</summary>
    public GpuDevice? Device { get; init; }

    /// <summary>A directory of MNIST-format IDX files (MNIST or Fashion-MNIST); null for the embedded sample.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Where the filter and feature-map PNGs go; null writes none.</summary>
    public string? OutputDirectory { get; init; } = "module3-images";

    /// <summary>Seeds the weights and the shuffling.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>The outcome of <see cref="Training.Run"/>.</summary>
public sealed record TrainResult(string Model, double TestAccuracy, double TestLoss, int Epochs, int TrainCount, int TestCount,
    TimeSpan TrainingTime, IReadOnlyList<string> Images);

/// <summary>Trains one of the module's CNNs, reports its test accuracy and draws what its first layer learned.</summary>
public static class Training
{
    /// <summary>The embedded 10,000-digit sample is split in order: the first 8,000 digits train, the last 2,000 test.
    /// (The sample is stored in a fixed shuffled order, so both parts hold every digit in about equal proportions.)</summary>
    public const int EmbeddedTrainCount = 8000;

    private static readonly Lazy<(Dataset<float> Train, Dataset<float> Test)> Embedded = new(() =>
    {
        var all = Datasets.MnistSample<float>();
        return (First(all, EmbeddedTrainCount), all.Subset(Enumerable.Range(EmbeddedTrainCount, all.Count - EmbeddedTrainCount).ToArray()));
    });

    /// <summary>The embedded MNIST sample's training (first 8,000) and test (last 2,000) digits.</summary>
    public static (Dataset<float> Train, Dataset<float> Test) EmbeddedSplit() => Embedded.Value;

    /// <summary>Trains as <paramref name="options"/> say, printing the summary, one line per epoch and
    /// <c>test accuracy: 0.xxx</c>; then writes the first layer's filters and feature maps as PNGs.</summary>
    /// <exception cref="FileNotFoundException">The data directory lacks the IDX files.</exception>
    public static TrainResult Run(TextWriter o, TrainOptions options)
    {
        var model = CnnModel.Named(options.Model);
        var device = options.Device;
        bool emulator = device is { IsEmulator: true };
        int epochs = options.Epochs ?? (emulator ? model.Emulator.Epochs : model.Epochs);
        int batchSize = options.BatchSize ?? model.BatchSize;
        double learningRate = options.LearningRate ?? model.LearningRate;

        Dataset<float> train, test;
        string source;
        if (options.DataDirectory is null)
        {
            (train, test) = EmbeddedSplit();
            source = Invariant($"embedded MNIST sample (10,000 digits): the first {train.Count:N0} train, the last {test.Count:N0} test");
        }
        else
        {
            train = Datasets.Mnist<float>(options.DataDirectory, train: true);
            test = Datasets.Mnist<float>(options.DataDirectory, train: false);
            source = Invariant($"IDX files in {options.DataDirectory}: {train.Count:N0} training and {test.Count:N0} test images");
        }
        int? limit = options.TrainSamples ?? (emulator ? model.Emulator.TrainSamples : model.TrainSamples);
        if (limit is int n && n < train.Count)
        {
            if (n < 1) throw new ArgumentOutOfRangeException(nameof(options), n, "Train on at least 1 sample.");
            train = First(train, n);
            source += options.TrainSamples is not null ? Invariant($"; training on the first {n:N0}")
                : emulator ? Invariant($"; on the emulator {model.Name} trains on the first {n:N0} only by default (--train-samples changes it)")
                : Invariant($"; {model.Name} trains on the first {n:N0} only by default (it is slow; --train-samples changes it)");
        }
        int? testLimit = options.TestSamples ?? (emulator ? model.Emulator.TestSamples : null);
        if (testLimit is int m && m < test.Count)
        {
            if (m < 1) throw new ArgumentOutOfRangeException(nameof(options), m, "Test on at least 1 sample.");
            test = First(test, m);
            source += options.TestSamples is not null ? Invariant($"; testing on the first {m:N0}")
                : Invariant($"; on the emulator tested on the first {m:N0} only by default (--test-samples changes it)");
        }

        o.WriteLine(Invariant($"== {model.Name}: {epochs} epoch(s) of mini-batch SGD, batch {batchSize}, η = {learningRate}, seed {options.Seed}"));
        o.WriteLine($"data: {source}");
        o.WriteLine(model.Summary);

        // The CPU network: trained here, or (with a device) the initial weights' twin that receives the trained ones.
        var net = model.Create(batchSize, options.Seed);
        float[] initialKernels = model.FirstLayerWeights(net).ToArray();
        var clock = Stopwatch.StartNew();
        double loss, accuracy;
        if (device is null)
        {
            Trainer.Fit(net, train, epochs, batchSize, new Sgd(learningRate), seed: options.Seed, log: o);
            clock.Stop();
            // Inference mode: dropout off, batch norm uses its running statistics. (Trainer.Evaluate switches to
            // inference mode by itself and restores the mode afterwards; the feature maps below need it too.)
            net.Training = false;
            (loss, accuracy) = Trainer.Evaluate(net, test);
        }
        else
        {
            SampleDevice.Describe(o, device);
            using var gpu = model.CreateGpu(device, batchSize, options.Seed);   // the same initial weights as net
            GpuTrainer.Fit(gpu, train, epochs, batchSize, new Sgd(learningRate), options.Seed, o);
            clock.Stop();
            (loss, accuracy) = GpuTrainer.Evaluate(gpu, test);   // Forward in inference mode, on the device
            o.WriteLine(SampleDevice.MemoryLine(gpu));
            gpu.CopyTo(net);   // the trained parameters (and batch-norm statistics) to the CPU network, for the images
            net.Training = false;
        }
        o.WriteLine(Invariant($"trained on {train.Count:N0} samples in {clock.Elapsed.TotalSeconds:0.0} s; test loss {loss:0.0000} on {test.Count:N0} samples"));
        o.WriteLine(Invariant($"test accuracy: {accuracy:0.000}"));

        var images = options.OutputDirectory is null ? [] : WriteImages(o, model, net, test, options.OutputDirectory);
        string moved = (100 * RelativeChange(initialKernels, model.FirstLayerWeights(net))).ToString("0", CultureInfo.InvariantCulture);
        o.WriteLine($"the first layer's kernels moved {moved}% from their random start " +
                    "(‖w − w₀‖ / ‖w₀‖); what remains of that start shows as noise in the filter image.");
        o.WriteLine();
        return new TrainResult(model.Name, accuracy, loss, epochs, train.Count, test.Count, clock.Elapsed, images);
    }

    /// <summary>Scale of the kernels in the filter grid (a 5×5 kernel becomes 40×40 pixels).</summary>
    public const int FilterScale = 8;

    /// <summary>Scale of the 28×28 feature maps and the input digit.</summary>
    public const int MapScale = 3;

    /// <summary>Writes <c>{model}-filters.png</c> (the first layer's kernels), <c>{model}-input.png</c> (the first
    /// test image) and <c>{model}-feature-maps.png</c> (that image seen through the first convolution and ReLU).</summary>
    public static IReadOnlyList<string> WriteImages(TextWriter o, CnnModel model, INetwork<float> net, Dataset<float> test, string directory)
    {
        Directory.CreateDirectory(directory);
        int k = model.Kernel, side = 28;
        string filters = Path.Combine(directory, $"{model.Name}-filters.png");
        FeatureImages.Grid(model.FirstLayerWeights(net), model.Filters, k, k, FilterScale).SavePng(filters);

        net.Training = false;
        ReadOnlySpan<float> probabilities = net.Forward(test.Features(0), 1);
        int predicted = 0;
        for (int j = 1; j < probabilities.Length; j++) if (probabilities[j] > probabilities[predicted]) predicted = j;
        string maps = Path.Combine(directory, $"{model.Name}-feature-maps.png");
        FeatureImages.Grid(model.FirstLayerFeatureMaps(net), model.Filters, side, side, MapScale).SavePng(maps);
        string input = Path.Combine(directory, $"{model.Name}-input.png");
        FeatureImages.Grid(test.Features(0), 1, side, side, MapScale).SavePng(input);

        o.WriteLine($"wrote {filters}: the {model.Filters} learned {k}×{k} kernels of the first convolution (×{FilterScale}, each scaled black = min to white = max)");
        o.WriteLine($"wrote {input}: test image 0 (label {test.Label(0)}, predicted {predicted})");
        o.WriteLine($"wrote {maps}: its {model.Filters} feature maps after the first convolution and ReLU (×{MapScale}, each scaled to its own range)");
        return [filters, input, maps];
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    private static double RelativeChange(ReadOnlySpan<float> initial, ReadOnlySpan<float> now)
    {
        double change = 0, size = 0;
        for (int i = 0; i < initial.Length; i++)
        {
            change += (now[i] - initial[i]) * (double)(now[i] - initial[i]);
            size += initial[i] * (double)initial[i];
        }
        return Math.Sqrt(change / size);
    }

    private static Dataset<float> First(Dataset<float> data, int count) => data.Subset(Enumerable.Range(0, count).ToArray());
}
