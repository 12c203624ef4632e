#!/usr/bin/env python3
"""PyTorch oracle for NetGen's dense networks.

Usage: torch_oracle.py CASES.json RESULTS.json

CASES.json (written by TorchOracleTests.cs) holds {"cases": [case, ...]}, each case:
  name, loss (a NetGen LossFunction name), batch, inputSize, fusedSoftmax (cross-entropy after a final Softmax),
  layers: [{"type": "dense", "in", "out", "bias", "trainBias"} | {"type": "sigmoid" | "tanh" | "relu" | "softmax" |
           "identity" | "silu"} | {"type": "leaky_relu" | "elu", "alpha"}],
  params (NetGen's flat buffer: per Dense layer the weights [out x in] row-major, as nn.Linear stores them, then the
  bias), input, target, outputGradient (all row-major, batch x features), and NetGen's own results under "expected".

For each case this builds the same network from nn.Linear layers in float64 with the weights copied, runs
  1. forward, the loss and autograd: output, loss and the gradient of every parameter;
  2. forward again and output.backward(outputGradient): the parameter gradients and the input gradient,
and writes RESULTS.json: {"torch": version, "cases": [{name, output, loss, parameterGradient,
outputGradientParameterGradient, inputGradient}]}. Losses use PyTorch's default reductions:
  HalfSquaredError   0.5 * ((o - t) ** 2).sum() / batch
  MeanSquaredError   nn.MSELoss()
  CrossEntropy       nn.CrossEntropyLoss() on logits with probability targets; when the network ends in Softmax the
                     pre-softmax logits are fed to it (NetGen's "fused" softmax + cross-entropy)
  BinaryCrossEntropy nn.BCELoss()
  MeanAbsoluteError  nn.L1Loss()
A held bias (trainBias false) does not require grad; its gradient is reported as zeros.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
DTYPE = torch.float64


def build_linears(case):
    flat = torch.tensor(case["params"], dtype=DTYPE)
    linears, offset = [], 0
    for layer in case["layers"]:
        if layer["type"] != "dense":
            continue
        fan_in, units = layer["in"], layer["out"]
        linear = nn.Linear(fan_in, units, bias=layer["bias"], dtype=DTYPE)
        with torch.no_grad():
            linear.weight.copy_(flat[offset:offset + units * fan_in].view(units, fan_in))
            offset += units * fan_in
            if layer["bias"]:
                linear.bias.copy_(flat[offset:offset + units])
                offset += units
        if layer["bias"] and not layer["trainBias"]:
            linear.bias.requires_grad_(False)
        linears.append(linear)
    if offset != len(flat):
        raise ValueError(f"{case['name']}: the layers use {offset} parameters but {len(flat)} were given")
    return linears


def forward(case, linears, x):
    """Returns the network's output and the input of a final Softmax (None without one)."""
    h, logits, k = x, None, 0
    for layer in case["layers"]:
        kind = layer["type"]
        if kind == "dense":
            h = linears[k](h)
            k += 1
        elif kind == "sigmoid":
            h = torch.sigmoid(h)
        elif kind == "tanh":
            h = torch.tanh(h)
        elif kind == "relu":
            h = F.relu(h)
        elif kind == "leaky_relu":
            h = F.leaky_relu(h, negative_slope=layer["alpha"])
        elif kind == "elu":
            h = F.elu(h, alpha=layer["alpha"])
        elif kind == "silu":
            h = F.silu(h)
        elif kind == "softmax":
            logits = h
            h = F.softmax(h, dim=1)
        elif kind == "identity":
            pass
        else:
            raise ValueError(f"{case['name']}: unknown layer type {kind!r}")
    return h, logits


def loss_of(case, output, logits, target):
    name = case["loss"]
    if name == "HalfSquaredError":
        return 0.5 * ((output - target) ** 2).sum() / case["batch"]
    if name == "MeanSquaredError":
        return nn.MSELoss()(output, target)
    if name == "CrossEntropy":
        return nn.CrossEntropyLoss()(logits if case["fusedSoftmax"] else output, target)
    if name == "BinaryCrossEntropy":
        return nn.BCELoss()(output, target)
    if name == "MeanAbsoluteError":
        return nn.L1Loss()(output, target)
    raise ValueError(f"{case['name']}: unknown loss {name!r}")


def flat_gradients(linears):
    parts = []
    for linear in linears:
        for p in (linear.weight, linear.bias):
            if p is None:
                continue
            parts.append((p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1))
    return torch.cat(parts).tolist()


def run(case):
    batch, inputs = case["batch"], case["inputSize"]
    linears = build_linears(case)
    x = torch.tensor(case["input"], dtype=DTYPE).view(batch, inputs)
    output, logits = forward(case, linears, x)
    target = torch.tensor(case["target"], dtype=DTYPE).view_as(output)
    loss = loss_of(case, output, logits, target)
    loss.backward()
    result = {
        "name": case["name"],
        "output": output.detach().reshape(-1).tolist(),
        "loss": loss.item(),
        "parameterGradient": flat_gradients(linears),
    }

    for linear in linears:
        linear.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    output, _ = forward(case, linears, x)
    output.backward(torch.tensor(case["outputGradient"], dtype=DTYPE).view_as(output))
    result["outputGradientParameterGradient"] = flat_gradients(linears)
    result["inputGradient"] = x.grad.reshape(-1).tolist()
    return result


def max_difference(case, result):
    """The largest |NetGen − PyTorch| over every value, when the case carries NetGen's results."""
    expected = case.get("expected")
    if not expected:
        return 0.0
    worst = abs(expected["loss"] - result["loss"])
    for key in ("output", "parameterGradient", "outputGradientParameterGradient", "inputGradient"):
        for a, b in zip(expected[key], result[key]):
            worst = max(worst, abs(a - b))
    return worst


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    results = [run(case) for case in cases]
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump({"torch": torch.__version__, "cases": results}, f)
    worst = max((max_difference(c, r) for c, r in zip(cases, results)), default=0.0)
    print(f"torch {torch.__version__}: {len(results)} networks, max |NetGen - PyTorch| = {worst:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
