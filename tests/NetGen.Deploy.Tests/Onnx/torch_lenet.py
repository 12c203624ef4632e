"""Trains LeNet-5 for one epoch in PyTorch on the digits it is given, exports it with torch.onnx.export, and writes its
predictions on the test digits, for OnnxImportTests (NetGen loads the file and must predict the same).

usage: torch_lenet.py DIR   (DIR holds train_x.f32, train_y.i32, test_x.f32 written by the test; writes lenet.onnx
and torch.json there)"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

directory = sys.argv[1]
torch.manual_seed(0)
torch.set_num_threads(1)
train_x = torch.from_numpy(np.fromfile(os.path.join(directory, "train_x.f32"), dtype="<f4").reshape(-1, 1, 28, 28))
train_y = torch.from_numpy(np.fromfile(os.path.join(directory, "train_y.i32"), dtype="<i4").astype(np.int64))
test_x = torch.from_numpy(np.fromfile(os.path.join(directory, "test_x.f32"), dtype="<f4").reshape(-1, 1, 28, 28))

# The same layers, in the same order, as NetGen's
#   [Input(1, 28, 28)] [Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)] [Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
#   [Flatten] [Dense(120), ReLU] [Dense(84), ReLU] [Dense(10), Softmax]   (the softmax is in the loss here)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(),
    nn.Linear(120, 84), nn.ReLU(),
    nn.Linear(84, 10),
)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss()
model.train()
order = torch.randperm(len(train_x))
for start in range(0, len(train_x), 32):
    batch = order[start:start + 32]
    optimizer.zero_grad()
    loss = loss_fn(model(train_x[batch]), train_y[batch])
    loss.backward()
    optimizer.step()

model.eval()
path = os.path.join(directory, "lenet.onnx")
torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=17, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
with torch.no_grad():
    probabilities = torch.softmax(model(test_x), dim=1)
json.dump({
    "torch": torch.__version__,
    "loss": float(loss),
    "predictions": probabilities.argmax(dim=1).tolist(),
    "probabilities": probabilities.flatten().tolist(),
}, open(os.path.join(directory, "torch.json"), "w"))
print("exported", path, "torch", torch.__version__)
