using NetGen;
using NetGen.Gpu;

namespace Module3.Cnn;

/// <summary>Returns a span over a network's buffer (a generated view such as <c>Conv2D1Weights</c>).</summary>
public delegate ReadOnlySpan<float> View(INetwork<float> network);

/// <summary>Constructs a network for batches of up to <paramref name="maxBatch"/> samples, weights seeded by <paramref name="seed"/>.
/// (A delegate, not a Func: INetwork has static abstract members, so it cannot be a type argument.)</summary>
public delegate INetwork<float> Factory(int maxBatch, int seed);

/// <summary>Constructs a network's Gpu variant on <paramref name="device"/>, initialised as the <see cref="Factory"/>'s
/// network with the same seed.</summary>
public delegate GpuNetwork<float> GpuFactory(GpuDevice device, int maxBatch, int seed);

/// <summary>
/// One of the module's CNNs with the training defaults that work for it on the embedded MNIST sample, and the
/// generated views the visualisation reads: the first convolution's kernels and the feature maps after its ReLU.
/// </summary>
public sealed class CnnModel
{
    /// <summary>The name on the command line: shallownet, lenet or minivggnet.</summary>
    public required string Name { get; init; }

    /// <summary>The generated class's Keras-style summary.</summary>
    public required string Summary { get; init; }

    /// <summary>Constructs the network for batches of up to maxBatch samples, weights seeded by seed.</summary>
    public required Factory Create { get; init; }

    /// <summary>Constructs the network's Gpu variant on a device (same seed, same initial weights).</summary>
    public required GpuFactory CreateGpu { get; init; }

    /// <summary>Default epochs.</summary>
    public required int Epochs { get; init; }

    /// <summary>Default mini-batch size.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Default SGD learning rate.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Default number of training samples used; null for the whole training set.</summary>
    public int? TrainSamples { get; init; }

    /// <summary>Defaults on ILGPU's CPU emulator (<c>--device ilgpu-cpu</c>), which runs the GPU kernels thousands of times
    /// slower than the CPU network: epochs, training samples and test samples for a run of one to two minutes.</summary>
    public required (int Epochs, int TrainSamples, int TestSamples) Emulator { get; init; }

    /// <summary>Kernels of the first convolution.</summary>
    public required int Filters { get; init; }

    /// <summary>Side of the first convolution's square kernel.</summary>
    public required int Kernel { get; init; }

    /// <summary>The first convolution's kernels, [Filters × 1 × Kernel × Kernel].</summary>
    public required View FirstLayerWeights { get; init; }

    /// <summary>The feature maps after the first convolution and its ReLU, [Filters × 28 × 28] per sample.</summary>
    public required View FirstLayerFeatureMaps { get; init; }

    /// <summary>ShallowNet: one convolution, then straight to the classifier.</summary>
    public static readonly CnnModel ShallowNet = new()
    {
        Name = "shallownet",
        Summary = Cnn.ShallowNet.Summary,
        Create = (maxBatch, seed) => new ShallowNet(maxBatch, seed),
        CreateGpu = (device, maxBatch, seed) => new ShallowNet.Gpu(device, maxBatch, seed),
        Epochs = 5, BatchSize = 32, LearningRate = 0.1,
        Emulator = (1, 192, 192),
        Filters = 32, Kernel = 3,
        FirstLayerWeights = n => ((ShallowNet)n).Conv2D1Weights,
        FirstLayerFeatureMaps = n => ((ShallowNet)n).ReLU1Output,
    };

    /// <summary>LeNet-5: two convolution + pooling stages, three dense layers.</summary>
    public static readonly CnnModel LeNet = new()
    {
        Name = "lenet",
        Summary = Cnn.LeNet.Summary,
        Create = (maxBatch, seed) => new LeNet(maxBatch, seed),
        CreateGpu = (device, maxBatch, seed) => new LeNet.Gpu(device, maxBatch, seed),
        Epochs = 12, BatchSize = 32, LearningRate = 0.1,
        Emulator = (1, 1024, 300),
        Filters = 6, Kernel = 5,
        FirstLayerWeights = n => ((LeNet)n).Conv2D1Weights,
        FirstLayerFeatureMaps = n => ((LeNet)n).ReLU1Output,
    };

    /// <summary>MiniVGGNet: two VGG blocks with batch norm and dropout. About 50 times LeNet's arithmetic per sample,
    /// so by default it trains briefly on part of the training set.</summary>
    public static readonly CnnModel MiniVggNet = new()
    {
        Name = "minivggnet",
        Summary = Cnn.MiniVggNet.Summary,
        Create = (maxBatch, seed) => new MiniVggNet(maxBatch, seed),
        CreateGpu = (device, maxBatch, seed) => new MiniVggNet.Gpu(device, maxBatch, seed),
        Epochs = 3, BatchSize = 32, LearningRate = 0.1, TrainSamples = 2000,
        Emulator = (1, 32, 32),
        Filters = 32, Kernel = 3,
        FirstLayerWeights = n => ((MiniVggNet)n).Conv2D1Weights,
        FirstLayerFeatureMaps = n => ((MiniVggNet)n).ReLU1Output,
    };

    /// <summary>Every model, by command-line name.</summary>
    public static IReadOnlyList<CnnModel> All { get; } = [ShallowNet, LeNet, MiniVggNet];

    /// <summary>The model called <paramref name="name"/> (case-insensitive).</summary>
    public static CnnModel Named(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown model '{name}': choose one of {string.Join(", ", All.Select(m => m.Name))}.", nameof(name));
}
