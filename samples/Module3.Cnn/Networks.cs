using NetGen;

namespace Module3.Cnn;

// Every network of this module, declared once. NetGen compiles each into a class with Forward, Backward, TrainStep,
// Summary and a named view of every layer's weights and output (Conv2D1Weights, ReLU1Output, …).

/// <summary>One 3×3 kernel over a 6×6 one-channel image, no bias: the lecture's hand computations.</summary>
[Network(Precision = Precision.Double)]
[Input(1, 6, 6)]
[Conv2D(1, Kernel = 3, Bias = false)]
public partial class Convolve6x6;

/// <summary>One 3×3 kernel over a 5×5 image with padding 1 ("same"): the output is 5×5 too.</summary>
[Network(Precision = Precision.Double)]
[Input(1, 5, 5)]
[Conv2D(1, Kernel = 3, Padding = Padding.Same, Bias = false)]
public partial class Impulse5x5;

/// <summary>2×2 max pooling with stride 2 of a 4×4 input.</summary>
[Network(Precision = Precision.Double)]
[Input(1, 4, 4)]
[MaxPool(2)]
public partial class MaxPool4x4;

/// <summary>2×2 average pooling with stride 2 of a 4×4 input.</summary>
[Network(Precision = Precision.Double)]
[Input(1, 4, 4)]
[AvgPool(2)]
public partial class AvgPool4x4;

/// <summary>32 kernels of 3×3 over 3 channels (an RGB image): 32 · (3·3·3 + 1) = 896 parameters.</summary>
[Network(Precision = Precision.Double)]
[Input(3, 32, 32)]
[Conv2D(32, Kernel = 3, Padding = Padding.Same)]
public partial class Conv32On3Channels;

/// <summary>ShallowNet: Conv(32, 3×3, same) → ReLU → Flatten → Dense(10) → Softmax.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(32, Kernel = 3, Padding = Padding.Same), ReLU]
[Flatten]
[Dense(10), Softmax]
public partial class ShallowNet;

/// <summary>LeNet-5 on 28×28 digits (the original padded the 28×28 digits to 32×32; padding 2 does the same).</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
[Flatten]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(10), Softmax]
public partial class LeNet;

/// <summary>MiniVGGNet: two VGG blocks of two 3×3 convolutions, batch norm and dropout.</summary>
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
