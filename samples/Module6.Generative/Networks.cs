using NetGen;

namespace Module6.Generative;

// ---- Autoencoders: reconstruction loss = binary cross-entropy summed over the 784 pixels (nats per image) ----

/// <summary>The dense autoencoder 784 → 128 → 32 → 128 → 784.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropySummed)]
[Input(784)]
[Dense(128), ReLU]
[Dense(32), ReLU]          // the 32-value code
[Dense(128), ReLU]
[Dense(784), Sigmoid]
public partial class DenseAutoencoder;

/// <summary>A convolutional autoencoder: Conv/pool encoder to 8×7×7, decoder with a transposed convolution and an upsampling.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropySummed)]
[Input(1, 28, 28)]
[Conv2D(16, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(2)]                 // 16×14×14
[Conv2D(8, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(2)]                  // 8×7×7: the code
[Conv2DTranspose(16, Kernel = 4, Stride = 2, Padding = 1), ReLU]                    // 16×14×14
[Upsample2D(2)]                                                                      // 16×28×28
[Conv2D(1, Kernel = 3, Padding = Padding.Same), Sigmoid]
public partial class ConvAutoencoder;

// ---- The variational autoencoder, as two networks: the encoder ends with the Sampling layer (which owns the KL
// term), the decoder maps a latent vector to pixel probabilities. Decoding a latent point is decoder.Forward(z). ----

/// <summary>VAE encoder for L = 2: 784 → 400 → (μ, log σ²) → z.</summary>
[Network(Loss = LossFunction.SumSquaredError)]   // never trained against a target: its loss is the Sampling layer's KL
[Input(784)]
[Dense(400), ReLU]
[Dense(4)]
[Sampling]
public partial class VaeEncoder2;

/// <summary>VAE decoder for L = 2: z → 400 → 784 pixel probabilities; BCE summed over the pixels.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropySummed)]
[Input(2)]
[Dense(400), ReLU]
[Dense(784), Sigmoid]
public partial class VaeDecoder2;

/// <summary>VAE encoder for L = 16.</summary>
[Network(Loss = LossFunction.SumSquaredError)]
[Input(784)]
[Dense(400), ReLU]
[Dense(32)]
[Sampling]
public partial class VaeEncoder16;

/// <summary>VAE decoder for L = 16.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropySummed)]
[Input(16)]
[Dense(400), ReLU]
[Dense(784), Sigmoid]
public partial class VaeDecoder16;

// ---- DCGAN ----

/// <summary>The generator: z (100) → Dense → BatchNorm → ReLU → (128, 7, 7) → two stride-2 transposed convolutions → 28×28 in (0, 1).</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy)]   // trained through the discriminator (GanStep), never against a target
[Input(100)]
[Dense(128 * 7 * 7), BatchNorm, ReLU]
[Reshape(128, 7, 7)]
[Conv2DTranspose(64, Kernel = 4, Stride = 2, Padding = 1), BatchNorm, ReLU]         // 64×14×14
[Conv2DTranspose(1, Kernel = 4, Stride = 2, Padding = 1), Sigmoid]                  // 1×28×28
public partial class DcganGenerator;

/// <summary>The discriminator: strided convolutions with LeakyReLU(0.2), batch norm after the second (as the DCGAN
/// paper's discriminator: none on its input layer), then one logit (BCE fused with the Sigmoid).</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(32, Kernel = 4, Stride = 2, Padding = 1), LeakyReLU(0.2)]                   // 32×14×14
[Conv2D(64, Kernel = 4, Stride = 2, Padding = 1), BatchNorm, LeakyReLU(0.2)]        // 64×7×7
[Flatten]
[Dense(1), Sigmoid]
public partial class DcganDiscriminator;

/// <summary>The judge: the course's LeNet-5, trained on the same 8,000 digits; its 84-unit layer gives the features
/// of the Fréchet distance.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
[Flatten]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(10), Softmax]
public partial class LeNet;
