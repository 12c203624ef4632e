namespace NetGen.Tests.Networks;

// Small networks whose Explain with an upstream gradient is checked against Backward(outputGradient, inputGradient).

/// <summary>cs231n's sigmoid neuron: f = σ(w0·x0 + w1·x1 + w2).</summary>
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(2)]
[Dense(1), Sigmoid]
public partial class SigmoidNeuron;

/// <summary>A softmax output fused with cross-entropy for the loss; a given upstream gradient goes through its Jacobian.</summary>
[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]
[Input(3)]
[Dense(4), ReLU]
[Dense(3), Softmax]
public partial class SoftmaxExplained;

/// <summary>An activation before the first Dense layer, and a linear output.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(2)]
[Tanh]
[Dense(3), LeakyReLU(0.1)]
[Dense(2)]
public partial class TanhFirst;
