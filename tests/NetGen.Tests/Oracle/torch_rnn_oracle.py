"""PyTorch oracle for NetGen's sequence layers (run by Oracle/RecurrentTorchOracleTests.cs).

Usage: torch_rnn_oracle.py INPUT.json OUTPUT.json

Each case describes a network layer by layer (Embedding, SimpleRNN/GRU/LSTM with units, bidirectional,
return_sequences and the SimpleRNN non-linearity, Dense — at every step when it follows a sequence — and
activations), NetGen's flat parameters, an input batch (float features, or token ids for Embedding), targets and an
output gradient. The network is rebuilt from torch.nn modules in float64 (batch_first recurrent modules whose
parameters() are filled, in order, from the flat buffer) and run as the C# test ran NetGen:

  1. forward, the loss, its gradient with respect to every parameter, and the gradient of
     phi = sum(output_gradient * output) with respect to every parameter and the input (zeros for token ids);
  2. twenty Adam steps (torch.optim.Adam(lr)): zero_grad, forward, loss, backward, step.

A recurrent layer without return_sequences outputs each direction's final state: h_n[0] (the forward pass after the
last step), then h_n[1] (the reverse pass after the first step) when bidirectional.

Losses, with every step of a sequence output a row: HalfSquaredError = 0.5 * ((o - t) ** 2).sum() / rows;
MeanSquaredError = MSELoss(); CrossEntropy = CrossEntropyLoss() with probability targets on the logits (the input of
a final Softmax when there is one); BinaryCrossEntropy = BCELoss(); MeanAbsoluteError = L1Loss().
"""

import json
import sys

import torch
from torch import nn

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


class Recurrent(nn.Module):
    def __init__(self, layer):
        super().__init__()
        kind, features, units = layer["kind"], layer["features"], layer["units"]
        common = dict(input_size=features, hidden_size=units, batch_first=True, bidirectional=layer["bidirectional"])
        if kind == "SimpleRNN":
            self.cell = nn.RNN(nonlinearity=layer["activation"], **common)
        elif kind == "GRU":
            self.cell = nn.GRU(**common)
        else:
            self.cell = nn.LSTM(**common)
        self.kind = kind
        self.sequences = layer["return_sequences"]

    def forward(self, x):
        out, state = self.cell(x)
        if self.sequences:
            return out
        h_n = state[0] if self.kind == "LSTM" else state
        return torch.cat([h_n[d] for d in range(h_n.shape[0])], dim=1)


def build(case):
    modules = []
    for layer in case["layers"]:
        kind = layer["kind"]
        if kind == "Embedding":
            modules.append(nn.Embedding(layer["vocabulary"], layer["dimension"]))
        elif kind in ("SimpleRNN", "GRU", "LSTM"):
            modules.append(Recurrent(layer))
        elif kind == "Dense":
            modules.append(nn.Linear(layer["features"], layer["units"]))
        elif kind == "Tanh":
            modules.append(nn.Tanh())
        elif kind == "Sigmoid":
            modules.append(nn.Sigmoid())
        elif kind == "ReLU":
            modules.append(nn.ReLU())
        elif kind == "Softmax":
            modules.append(nn.Softmax(dim=-1))
        else:
            raise ValueError(kind)
    return nn.Sequential(*modules)


def load(model, flat):
    flat = torch.tensor(flat, dtype=torch.float64)
    at = 0
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_(flat[at:at + n].reshape(p.shape))
            at += n
    if at != len(flat):
        raise ValueError(f"NetGen has {len(flat)} parameters, the torch model {at}")


def flat_grads(model):
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in model.parameters()]).tolist()


def run_case(case):
    model = build(case)
    load(model, case["parameters"])
    batch, loss_name = case["batch"], case["loss"]
    ids = case["layers"][0]["kind"] == "Embedding"
    shape = [batch] + case["input_shape"]
    x_data = torch.tensor(case["input"], dtype=torch.float64).reshape(shape)
    fused = loss_name == "CrossEntropy" and case["layers"][-1]["kind"] == "Softmax"
    body = model[:-1] if fused else model
    out_features = case["output_shape"][-1]
    target = torch.tensor(case["target"], dtype=torch.float64).reshape(-1, out_features)
    rows = target.shape[0]

    def loss_of(x):
        z = body(x)
        o = z.reshape(rows, out_features)
        if loss_name == "HalfSquaredError":
            return 0.5 * ((o - target) ** 2).sum() / rows
        if loss_name == "MeanSquaredError":
            return nn.MSELoss()(o, target)
        if loss_name == "CrossEntropy":
            return nn.CrossEntropyLoss()(o, target)
        if loss_name == "BinaryCrossEntropy":
            return nn.BCELoss()(o, target)
        if loss_name == "MeanAbsoluteError":
            return nn.L1Loss()(o, target)
        raise ValueError(loss_name)

    def prepare():
        return x_data.long() if ids else x_data.clone().requires_grad_(True)

    x = prepare()
    output = model(x)
    model.zero_grad()
    loss = loss_of(x)
    loss.backward()
    gradients = flat_grads(model)

    x = prepare()
    model.zero_grad()
    g = torch.tensor(case["output_gradient"]).reshape(output.shape)
    phi = (model(x) * g).sum()
    phi.backward()
    phi_gradients = flat_grads(model)
    phi_input = torch.zeros(x_data.numel()).tolist() if ids else x.grad.reshape(-1).tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=case["lr"])
    step_losses = []
    for _ in range(case["steps"]):
        optimizer.zero_grad()
        x = prepare()
        step_loss = loss_of(x)
        step_loss.backward()
        optimizer.step()
        step_losses.append(step_loss.item())
    parameters = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).tolist()
    return {
        "name": case["name"],
        "output": output.detach().reshape(-1).tolist(),
        "loss": loss.item(),
        "gradients": gradients,
        "phi_gradients": phi_gradients,
        "phi_input_gradient": phi_input,
        "step_losses": step_losses,
        "parameters": parameters,
    }


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    results = []
    for case in cases:
        try:
            results.append(run_case(case))
        except Exception as e:  # reported per case by the C# test
            results.append({"name": case["name"], "error": f"{type(e).__name__}: {e}"})
    with open(sys.argv[2], "w") as f:
        json.dump({"torch": torch.__version__, "results": results}, f)


if __name__ == "__main__":
    main()
