namespace NetGen.Tests.Networks;

// The course's CNN architectures (Module 3), compiled by the generator like any user's.

/// <summary>ShallowNet: Conv(32, 3×3, same) → ReLU → Flatten → Dense(10) → Softmax.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(32, Kernel = 3, Padding = Padding.Same), ReLU]
[Flatten]
[Dense(10), Softmax]
public partial class ShallowNet;

/// <summary>LeNet-5 on 28×28 digits.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
[Flatten]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(10), Softmax]
public partial class LeNet;

/// <summary>MiniVGGNet on 28×28 digits.</summary>
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
