"""Builds two recurrent models in PyTorch with its own initialisation, exports each with torch.onnx.export, and writes
their outputs on the inputs it is given, for OnnxImportTests (NetGen loads the files and must give the same outputs).

  row_lstm.onnx       = NetGen.Tests.Networks.RowLstm:      [Input(28, 28)] [LSTM(16)] [Dense(10), Softmax]
  stacked_bi_rnn.onnx = NetGen.Tests.Networks.StackedBiRnn: [Input(6, 3)] [GRU(5, ReturnSequences = true)]
                        [SimpleRNN(4, Bidirectional = true, Activation = RecurrentActivation.ReLU)] [Dense(2)]

usage: torch_recurrent.py DIR   (DIR holds row_lstm_x.f32 and stacked_bi_rnn_x.f32 written by the test; writes the
two .onnx files and torch.json there)"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

directory = sys.argv[1]
torch.manual_seed(0)
torch.set_num_threads(1)


class RowLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 16, batch_first=True)
        self.dense = nn.Linear(16, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)          # h: [1, N, 16], the last step's state
        return torch.softmax(self.dense(h[0]), dim=1)


class StackedBiRnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 5, batch_first=True)
        self.rnn = nn.RNN(5, 4, batch_first=True, bidirectional=True, nonlinearity="relu")
        self.dense = nn.Linear(8, 2)

    def forward(self, x):
        y, _ = self.gru(x)                # every step
        _, h = self.rnn(y)                # h: [2, N, 4], [forward h_T, reverse h_1]
        return self.dense(h.transpose(0, 1).reshape(x.shape[0], 8))


result = {"torch": torch.__version__}
for name, model, steps, features in [("row_lstm", RowLstm(), 28, 28), ("stacked_bi_rnn", StackedBiRnn(), 6, 3)]:
    model.eval()
    x = torch.from_numpy(np.fromfile(os.path.join(directory, name + "_x.f32"), dtype="<f4").reshape(-1, steps, features))
    torch.onnx.export(model, torch.zeros(1, steps, features), os.path.join(directory, name + ".onnx"), opset_version=17,
                      input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    with torch.no_grad():
        result[name] = model(x).flatten().tolist()
    print("exported", name, "torch", torch.__version__)
json.dump(result, open(os.path.join(directory, "torch.json"), "w"))
