namespace NetGen.Tests.Generative;

// Small double-precision networks with the generative layers, for the gradient checks and the PyTorch oracle.

/// <summary>Two transposed convolutions (stride 2 with output padding; stride 1 without bias) before a Dense layer.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(2, 3, 3)]
[Conv2DTranspose(3, Kernel = 3, Stride = 2, Padding = 1, OutputPadding = 1), Tanh]   // 3×6×6
[Conv2DTranspose(2, Kernel = 2, Bias = false)]                                       // 2×7×7
[Flatten]
[Dense(3)]
public partial class GenTransposed;

/// <summary>Nearest and bilinear upsampling around a convolution.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(2, 3, 4)]
[Upsample2D(2)]                                                  // 2×6×8
[Conv2D(2, Kernel = 3), Tanh]                                    // 2×4×6
[Upsample2D(3, Mode = UpsampleMode.Bilinear)]                    // 2×12×18
[Flatten]
[Dense(2)]
public partial class GenUpsample;

/// <summary>Reshape of a vector into an image, a transposed convolution (Same), BCE fused with the final Sigmoid.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)]
[Input(5)]
[Dense(12)]
[Reshape(3, 2, 2)]
[Conv2DTranspose(2, Kernel = 3, Stride = 2, Padding = Padding.Same), Sigmoid]        // 2×4×4
public partial class GenReshapeBce;

/// <summary>A one-class VAE: encoder, Sampling (β = 0.7), decoder, BCE summed per sample.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropySummed, Precision = Precision.Double)]
[Input(6)]
[Dense(5), Tanh]
[Dense(4)]
[Sampling(0.7)]
[Dense(5), ReLU]
[Dense(6), Sigmoid]
public partial class GenVae;

/// <summary>Sampling as the first layer (its ∂E/∂input only when asked).</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(6)]
[Sampling]
[Dense(2)]
public partial class GenSamplingFirst;

/// <summary>A VAE split into two networks (the Module 6 sample's composition), small.</summary>
[Network(Loss = LossFunction.SumSquaredError, Precision = Precision.Double)]
[Input(6)]
[Dense(5), ReLU]
[Dense(4)]
[Sampling]
public partial class GenVaeEncoder;

[Network(Loss = LossFunction.BinaryCrossEntropySummed, Precision = Precision.Double)]
[Input(2)]
[Dense(5), Tanh]
[Dense(6), Sigmoid]
public partial class GenVaeDecoder;

/// <summary>A small DCGAN: generator with BatchNorm, Reshape and a transposed convolution; a strided-conv discriminator.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)]
[Input(3)]
[Dense(8), BatchNorm, ReLU]
[Reshape(2, 2, 2)]
[Conv2DTranspose(1, Kernel = 2, Stride = 2), Sigmoid]                                // 1×4×4
public partial class GenGanGenerator;

[Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)]
[Input(1, 4, 4)]
[Conv2D(2, Kernel = 2, Stride = 2), LeakyReLU(0.2)]
[Flatten]
[Dense(1), Sigmoid]
public partial class GenGanDiscriminator;

/// <summary>GenGanDiscriminator for PacGAN with m = 2: two 1×4×4 samples packed as one 2×4×4 input.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)]
[Input(2, 4, 4)]
[Conv2D(2, Kernel = 2, Stride = 2), LeakyReLU(0.2)]
[Flatten]
[Dense(1), Sigmoid]
public partial class GenGanDiscriminatorPacked;
