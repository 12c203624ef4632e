namespace NetGen.Benchmarks;

/// <summary>Workload 6: the declarations the generator is timed on, as source text.</summary>
internal static class GeneratorSources
{
    public const string LeNet = """
        using NetGen;
        [Network(Loss = LossFunction.CrossEntropy)]
        [Input(1, 28, 28)]
        [Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
        [Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
        [Flatten]
        [Dense(120), ReLU]
        [Dense(84), ReLU]
        [Dense(10), Softmax]
        public partial class LeNet;
        """;

    public const string MiniVggNet = """
        using NetGen;
        [Network(Loss = LossFunction.CrossEntropy)]
        [Input(1, 28, 28)]
        [Conv2D(32, Kernel = 3, Padding = Padding.Same), ReLU, BatchNorm]
        [Conv2D(32, Kernel = 3, Padding = Padding.Same), ReLU, BatchNorm]
        [MaxPool(2), Dropout(0.25)]
        [Conv2D(64, Kernel = 3, Padding = Padding.Same), ReLU, BatchNorm]
        [Conv2D(64, Kernel = 3, Padding = Padding.Same), ReLU, BatchNorm]
        [MaxPool(2), Dropout(0.25)]
        [Flatten]
        [Dense(512), ReLU, BatchNorm, Dropout(0.5)]
        [Dense(10), Softmax]
        public partial class MiniVggNet;
        """;

    public const string Vgg16 = """
        using NetGen;
        [Network(Loss = LossFunction.CrossEntropy)]
        [Input(3, 224, 224)]
        [Conv2D(64, Kernel = 3, Padding = Padding.Same), ReLU, Conv2D(64, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(2)]
        [Conv2D(128, Kernel = 3, Padding = Padding.Same), ReLU, Conv2D(128, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(2)]
        [Conv2D(256, Kernel = 3, Padding = Padding.Same), ReLU, Conv2D(256, Kernel = 3, Padding = Padding.Same), ReLU]
        [Conv2D(256, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(2)]
        [Conv2D(512, Kernel = 3, Padding = Padding.Same), ReLU, Conv2D(512, Kernel = 3, Padding = Padding.Same), ReLU]
        [Conv2D(512, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(2)]
        [Conv2D(512, Kernel = 3, Padding = Padding.Same), ReLU, Conv2D(512, Kernel = 3, Padding = Padding.Same), ReLU]
        [Conv2D(512, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(2)]
        [Flatten]
        [Dense(4096), ReLU, Dropout(0.5)]
        [Dense(4096), ReLU, Dropout(0.5)]
        [Dense(1000), Softmax]
        public partial class Vgg16;
        """;
}
