namespace NetGen.Tests.Networks;

// Sequence networks (Module 5) compiled by the generator with the project, so the GPU kernel-compile test
// (GpuKernelCompileTests) compiles every recurrent kernel for CUDA and OpenCL: each cell, both directions, every step
// and the last, stacked, Embedding, a Dense at every step with a fused activation, per-step Softmax and losses.

/// <summary>The row-by-row MNIST LSTM, smaller: 28 steps of 28 pixels → LSTM(16) → Dense(10) → Softmax.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(28, 28)]
[LSTM(16)]
[Dense(10), Softmax]
public partial class RowLstm;

/// <summary>Stacked and bidirectional: a GRU over every step feeding a bidirectional SimpleRNN (ReLU), the last states.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(6, 3)]
[GRU(5, ReturnSequences = true)]
[SimpleRNN(4, Bidirectional = true, Activation = RecurrentActivation.ReLU)]
[Dense(2)]
public partial class StackedBiRnn;

/// <summary>A character model: Embedding → LSTM over every step → a Dense at every step (tanh fused) → Dense → Softmax, per-step cross-entropy.</summary>
[Network(Loss = LossFunction.CrossEntropy, Precision = Precision.Double)]
[Input(8)]
[Embedding(12, 4)]
[LSTM(6, ReturnSequences = true, Bidirectional = true)]
[Dense(5), Tanh]
[Dense(12), Softmax]
public partial class CharLstm;

/// <summary>A per-step multiclass hinge loss on a SimpleRNN (tanh) over every step.</summary>
[Network(Loss = LossFunction.MulticlassHinge)]
[Input(5, 2)]
[SimpleRNN(3, ReturnSequences = true)]
[Dense(4)]
public partial class StepHingeRnn;
