using NetGen;

namespace Module2.Optimization;

// Every network of this module, declared once. NetGen compiles each into a class with Forward, Backward, TrainStep,
// Summary and named views of every weight (Dense1Weights, Dense1Bias, …); see obj/…/generated/ for the code.

/// <summary>The hand-sized linear classifier f(x; W, b) = Wx + b, 4 pixels → 3 class scores, scored by the multiclass
/// SVM (hinge) loss Σ_{j≠y} max(0, s_j − s_y + 1).</summary>
[Network(Loss = LossFunction.MulticlassHinge, Precision = Precision.Double)]
[Input(4)]
[Dense(3)]
public partial class HandSvm;

/// <summary>The same linear classifier with a softmax on its scores, scored by cross-entropy −log p_y.</summary>
[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]
[Input(4)]
[Dense(3), Softmax]
public partial class HandSoftmax;

/// <summary>A linear SVM on the 8×8 digits: 64 pixels → 10 scores, multiclass hinge loss.</summary>
[Network(Loss = LossFunction.MulticlassHinge)]
[Input(64)]
[Dense(10)]
public partial class DigitsSvm;

/// <summary>Softmax regression on the 8×8 digits: the same 64 → 10 linear map, softmax + cross-entropy.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(10), Softmax]
public partial class DigitsSoftmax;

/// <summary>The network every optimiser and learning rate is tried on: 64 → 32 LeakyReLU → 10 softmax. LeakyReLU, not ReLU:
/// with ReLU a too-large step kills the hidden units (their inputs all go negative, so no gradient reaches them) and the
/// loss stalls near ln 10 ≈ 2.30; with a slope of 0.1 on the negative side the overshoot shows as the divergence it is.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(32), LeakyReLU(0.1)]
[Dense(10), Softmax]
public partial class DigitsMlp;

/// <summary>Wide enough to memorise a few hundred digits: 64 → 256 ReLU → 256 ReLU → 10, no regularisation.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(256), ReLU]
[Dense(256), ReLU]
[Dense(10), Softmax]
public partial class WideMlp;

/// <summary><see cref="WideMlp"/> with an L2 penalty λ·Σw² on every weight matrix, in the loss and its gradient.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(256, L2 = 3e-3), ReLU]
[Dense(256, L2 = 3e-3), ReLU]
[Dense(10, L2 = 3e-3), Softmax]
public partial class WideMlpL2;

/// <summary><see cref="WideMlp"/> with dropout after each hidden layer (inverted dropout; inference is unchanged).</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(256), ReLU, Dropout(0.5)]
[Dense(256), ReLU, Dropout(0.5)]
[Dense(10), Softmax]
public partial class WideMlpDropout;
