namespace NetGen.Tests.Networks;

// Reference networks compiled by the generator like any user's. Their generated code is also snapshot-tested
// (Snapshots/), so a change to the emitters shows up as a reviewable diff.

/// <summary>The lecture's worked backprop example: 2-2-2, sigmoid, E = Σ ½(t − o)², biases held.</summary>
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(2)]
[Dense(2, TrainBias = false), Sigmoid]
[Dense(2, TrainBias = false), Sigmoid]
public partial class WorkedExample;

/// <summary>A perceptron: one step unit, trained by SGD on HalfSquaredError = Rosenblatt's rule.</summary>
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(2)]
[Dense(1), Step]
public partial class Perceptron;

/// <summary>XOR: 2-4-1 sigmoid MLP with binary cross-entropy.</summary>
[Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)]
[Input(2)]
[Dense(4), Tanh]
[Dense(1), Sigmoid]
public partial class XorNet;

/// <summary>The digits MLP: 64-32-10, ReLU, softmax + cross-entropy (fused).</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(32), ReLU]
[Dense(10), Softmax]
public partial class DigitsMlp;
