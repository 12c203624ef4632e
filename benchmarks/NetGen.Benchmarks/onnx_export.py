"""Exports the suite's inference networks to ONNX for the ONNX Runtime peer (started by NetGen.Benchmarks; not a test).

Usage: onnx_export.py OUT_DIR NETWORK:BATCH:PARAMETERS_FILE ...

NETWORK is mlp (784-100(sigmoid)-10, softmax) or lenet (LeNet-5 as in Networks.cs, softmax). PARAMETERS_FILE holds
the NetGen network's flat parameter buffer (float32, little-endian): per layer the weights, row-major as PyTorch
stores them ([out, in] for Linear, [F, C, kh, kw] for Conv2d), then the bias. The model is built in PyTorch, loaded
with exactly those values, and written by PyTorch's exporter (torch.onnx.export, opset 13, fixed batch) to
OUT_DIR/NETWORK-bBATCH.onnx with one input "input" and one output "output" (the softmax probabilities, as NetGen's
Forward returns them).

Prints "exported PATH" per model.
"""

import os
import sys

import numpy as np
import torch
from torch import nn


def mlp():
    return nn.Sequential(nn.Linear(784, 100), nn.Sigmoid(), nn.Linear(100, 10), nn.Softmax(dim=1))


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10), nn.Softmax(dim=1))


def load(model, path):
    flat = torch.from_numpy(np.fromfile(path, dtype="<f4"))
    offset = 0
    with torch.no_grad():
        for module in model:
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                for tensor in (module.weight, module.bias):
                    n = tensor.numel()
                    tensor.copy_(flat[offset:offset + n].reshape(tensor.shape))
                    offset += n
    if offset != flat.numel():
        raise SystemExit(f"{path}: {flat.numel()} values, the network has {offset} parameters")


def main():
    out = sys.argv[1]
    torch.set_num_threads(1)
    for spec in sys.argv[2:]:
        network, batch, parameters = spec.split(":", 2)
        batch = int(batch)
        model, shape = (mlp(), (batch, 784)) if network == "mlp" else (lenet(), (batch, 1, 28, 28))
        load(model, parameters)
        model.eval()
        path = os.path.join(out, f"{network}-b{batch}.onnx")
        torch.onnx.export(model, torch.zeros(*shape), path, input_names=["input"], output_names=["output"], opset_version=13)
        print(f"exported {path}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
