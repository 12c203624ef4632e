using NetGen;

namespace NetGen.Benchmarks;

// The networks of the suite, in float32. The PyTorch peer (pytorch_peer.py) builds the same ones.

/// <summary>Workload 1: the lecture's 2-2-2 worked example (sigmoid, E = Σ ½(t − o)², biases held).</summary>
[Network(Loss = LossFunction.HalfSquaredError)]
[Input(2)]
[Dense(2, TrainBias = false), Sigmoid]
[Dense(2, TrainBias = false), Sigmoid]
public partial class WorkedExample;

/// <summary>Workload 2: MLP 784-100-10, sigmoid hidden layer, softmax + cross-entropy.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(784)]
[Dense(100), Sigmoid]
[Dense(10), Softmax]
public partial class Mlp;

/// <summary>Workloads 3 and 5: LeNet-5 as in samples/Module3.Cnn.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
[Flatten]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(10), Softmax]
public partial class LeNet;

/// <summary>Workload 4: one GEMM-bound layer, Dense 1024 → 1024 (forward, then backward with the input gradient).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1024)]
[Dense(1024)]
public partial class Gemm1024;

// LeNet-5's layers one by one, for `--profile` (where a LeNet step's time goes).

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2)]
internal partial class LeNetConv1;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(6, 28, 28)]
[ReLU, MaxPool(2)]
internal partial class LeNetReLUPool1;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(6, 14, 14)]
[Conv2D(16, Kernel = 5)]
internal partial class LeNetConv2;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(16, 10, 10)]
[ReLU, MaxPool(2)]
internal partial class LeNetReLUPool2;

[Network(Loss = LossFunction.CrossEntropy)]
[Input(400)]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(10), Softmax]
internal partial class LeNetDense;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(6, 28, 28)]
[ReLU]
internal partial class LeNetReLU1;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(6, 28, 28)]
[MaxPool(2)]
internal partial class LeNetPool1;

/// <summary>Workload 7 (detection): the Module 4 sample's YOLO network, a 64×64 canvas to an 8×8 grid of 2 anchor
/// boxes × (5 + 10 classes) = 30 channels, trained with NetGen.Detection's YoloLoss (pytorch_peer.py: the same layers
/// and the same loss written in torch).</summary>
[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 2, Classes = 10, Grid = 8)]
[Input(1, 64, 64)]
[Conv2D(16, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(32, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(64, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(128, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU]
[Conv2D(128, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU]
[Conv2D(30, Kernel = 1)]
public partial class Yolo;
