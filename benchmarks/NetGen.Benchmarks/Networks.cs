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

/// <summary>Issue 13's workloads: MNIST read row by row (28 steps of 28 pixels), 128 units, the last step's state →
/// Dense 10, softmax + cross-entropy; SGD steps at batch 64 and LSTM inference at batch 1.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(28, 28)]
[LSTM(128)]
[Dense(10), Softmax]
public partial class RowLstm;

/// <summary>As <see cref="RowLstm"/> with a GRU.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(28, 28)]
[GRU(128)]
[Dense(10), Softmax]
public partial class RowGru;

/// <summary>As <see cref="RowLstm"/> with a SimpleRNN (tanh).</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(28, 28)]
[SimpleRNN(128)]
[Dense(10), Softmax]
public partial class RowRnn;

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

// The Module 6 networks (samples/Module6.Generative), for vae-train-b128 and dcgan-step-b64.

/// <summary>VAE encoder, L = 16: 784 → 400 → (μ, log σ²) → z (the Sampling layer adds the KL term).</summary>
[Network(Loss = LossFunction.SumSquaredError)]
[Input(784)]
[Dense(400), ReLU]
[Dense(32)]
[Sampling]
public partial class VaeEncoder16;

/// <summary>VAE decoder, L = 16: z → 400 → 784, binary cross-entropy summed over the pixels (fused with the Sigmoid).</summary>
[Network(Loss = LossFunction.BinaryCrossEntropySummed)]
[Input(16)]
[Dense(400), ReLU]
[Dense(784), Sigmoid]
public partial class VaeDecoder16;

/// <summary>DCGAN generator: z (100) → Dense → BatchNorm → ReLU → (128, 7, 7) → two stride-2 transposed convolutions.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy)]
[Input(100)]
[Dense(128 * 7 * 7), BatchNorm, ReLU]
[Reshape(128, 7, 7)]
[Conv2DTranspose(64, Kernel = 4, Stride = 2, Padding = 1), BatchNorm, ReLU]
[Conv2DTranspose(1, Kernel = 4, Stride = 2, Padding = 1), Sigmoid]
public partial class DcganGenerator;

/// <summary>DCGAN discriminator: two strided convolutions with LeakyReLU(0.2), one logit.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(32, Kernel = 4, Stride = 2, Padding = 1), LeakyReLU(0.2)]
[Conv2D(64, Kernel = 4, Stride = 2, Padding = 1), LeakyReLU(0.2)]
[Flatten]
[Dense(1), Sigmoid]
public partial class DcganDiscriminator;

// The DCGAN's layers alone, for --profile --only dcgan.
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(100)]
[Dense(128 * 7 * 7), BatchNorm, ReLU]
internal partial class DcganG1;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(128, 7, 7)]
[Conv2DTranspose(64, Kernel = 4, Stride = 2, Padding = 1)]
internal partial class DcganG2;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(64, 14, 14)]
[BatchNorm, ReLU]
internal partial class DcganG2Bn;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(64, 14, 14)]
[Conv2DTranspose(1, Kernel = 4, Stride = 2, Padding = 1), Sigmoid]
internal partial class DcganG3;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 28, 28)]
[Conv2D(32, Kernel = 4, Stride = 2, Padding = 1), LeakyReLU(0.2)]
internal partial class DcganD1;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(32, 14, 14)]
[Conv2D(64, Kernel = 4, Stride = 2, Padding = 1), LeakyReLU(0.2)]
internal partial class DcganD2;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(64 * 7 * 7)]
[Dense(1), Sigmoid]
internal partial class DcganD3;
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
