using NetGen;

namespace Module1.NeuralNetworks;

// Every network of this module, declared once. NetGen compiles each into a class with Forward, Backward, TrainStep,
// Summary and (for the small ones) Explain; see obj/…/generated/ for the code it writes.

/// <summary>The lecture's worked backprop example: 2 inputs, 2 hidden and 2 output sigmoid units, E = Σ ½(t − o)².
/// The lecture updates the weights and holds the biases, hence TrainBias = false.</summary>
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(2)]
[Dense(2, TrainBias = false), Sigmoid]
[Dense(2, TrainBias = false), Sigmoid]
public partial class WorkedExample;

/// <summary>Rosenblatt's perceptron: y = step(w·x + b). With a step unit, E = ½(d − y)² and SGD at batch 1, NetGen's
/// update is exactly the perceptron rule w ← w + α(d − y)x (the step passes the gradient straight through).</summary>
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(2)]
[Dense(1), Step]
public partial class Perceptron;

/// <summary>cs231n's sigmoid neuron f(w, x) = σ(w0·x0 + w1·x1 + w2): one Dense unit (weights w0, w1, bias w2) and a
/// sigmoid. The graph walkthrough backpropagates a given upstream gradient of 1 through it, so the loss is never used.</summary>
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(2)]
[Dense(1), Sigmoid]
public partial class SigmoidNeuron;

/// <summary>A 2-4-1 sigmoid MLP: the hidden layer bends the decision boundary, which XOR needs.</summary>
[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(2)]
[Dense(4), Sigmoid]
[Dense(1), Sigmoid]
public partial class XorMlp;

/// <summary>An MLP for the 8×8 digits: 64 pixels → 64 ReLU units → 10 classes, softmax + cross-entropy.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(64), ReLU]
[Dense(10), Softmax]
public partial class DigitsMlp;
