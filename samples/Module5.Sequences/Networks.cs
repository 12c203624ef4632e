using NetGen;

namespace Module5.Sequences;

// ---- vanishing: a T = 50 sequence of one feature, the last hidden state out (∂E/∂h_t is read from the layer) ----

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(50, 1)]
[SimpleRNN(32)]
public partial class VanishingRnn;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(50, 1)]
[GRU(32)]
public partial class VanishingGru;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(50, 1)]
[LSTM(32)]
public partial class VanishingLstm;

// ---- adding: each step a value in [0, 1] and a marker; the target is the sum of the two marked values ----

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(50, 2)]
[SimpleRNN(32)]
[Dense(1)]
public partial class AddingRnn;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(50, 2)]
[GRU(32)]
[Dense(1)]
public partial class AddingGru;

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(50, 2)]
[LSTM(32)]
[Dense(1)]
public partial class AddingLstm;

// ---- mnist: 28 steps (the image rows) of 28 pixels, the last step's state → 10 classes ----

[Network(Loss = LossFunction.CrossEntropy)]
[Input(28, 28)]
[SimpleRNN(128)]
[Dense(10), Softmax]
public partial class RowRnn;

[Network(Loss = LossFunction.CrossEntropy)]
[Input(28, 28)]
[GRU(128)]
[Dense(10), Softmax]
public partial class RowGru;

[Network(Loss = LossFunction.CrossEntropy)]
[Input(28, 28)]
[LSTM(128)]
[Dense(10), Softmax]
public partial class RowLstm;

// ---- words: a character model; ids 0 = start, 1–26 = a–z, 27 = end; the next character at every step ----

[Network(Loss = LossFunction.CrossEntropy)]
[Input(CharModel.Steps)]
[Embedding(CharModel.Vocabulary, 16)]
[LSTM(128, ReturnSequences = true)]
[Dense(CharModel.Vocabulary)]
[Softmax]
public partial class CharLstm;

[Network(Loss = LossFunction.CrossEntropy)]
[Input(CharModel.Steps)]
[Embedding(CharModel.Vocabulary, 16)]
[GRU(128, ReturnSequences = true)]
[Dense(CharModel.Vocabulary)]
[Softmax]
public partial class CharGru;

// ---- the lecture's unrolled RNN: 1 input, 2 hidden units, T = 3 ----

[Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
[Input(3, 1)]
[SimpleRNN(2)]
public partial class TinyRnn;
