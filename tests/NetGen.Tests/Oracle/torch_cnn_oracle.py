"""PyTorch oracle for NetGen's CNN layers (run by Oracle/CnnTorchOracleTests.cs).

Usage: torch_cnn_oracle.py INPUT.json OUTPUT.json

Every case describes a network layer by layer (shapes resolved by the C# side, Padding.Same included), NetGen's
flat parameters and state, an input batch, targets, an output gradient, and the dropout masks NetGen drew in each
of its forward passes. The network is rebuilt from torch.nn modules in float64 and run exactly as the C# test runs
NetGen, in training mode:

  1. forward (mask 0), the loss, its gradient with respect to every parameter, and the gradient of
     phi = sum(output_gradient * output) with respect to every parameter and the input;
  2. three SGD steps (torch.optim.SGD, lr): zero_grad, forward (mask 1, 2, 3), loss, backward, step;
  3. inference (model.eval(): running statistics, no dropout): the output and the gradient of phi again;

and reports the outputs, losses, gradients, final parameters and final batch-norm running statistics in NetGen's
flat layouts (Conv2d weight [F, C, kh, kw] then bias; BatchNorm weight (gamma) then bias (beta), running mean then
running variance; Linear weight [out, in] then bias).

Losses: HalfSquaredError = 0.5 * ((o - t) ** 2).sum() / batch; MeanSquaredError = MSELoss(); CrossEntropy =
CrossEntropyLoss() with probability targets, on the logits (the input of a final Softmax when there is one);
BinaryCrossEntropy = BCELoss(); MeanAbsoluteError = L1Loss().
"""

import json
import sys

import torch
from torch import nn

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


class Mask(nn.Module):
    """Inverted dropout with a given mask (NetGen's: 0 or 1/(1 - rate)), so both sides drop the same values."""

    def __init__(self):
        super().__init__()
        self.mask = None

    def forward(self, x):
        return x if self.mask is None else x * self.mask.reshape(x.shape)


def build(case):
    modules = []
    for layer in case["layers"]:
        kind, shape_in = layer["kind"], layer["in"]
        if kind == "Conv2D":
            modules.append(nn.Conv2d(shape_in[0], layer["filters"], (layer["kh"], layer["kw"]), stride=layer["stride"],
                                     padding=(layer["pad_h"], layer["pad_w"]), bias=layer["bias"]))
        elif kind == "MaxPool":
            modules.append(nn.MaxPool2d(layer["size"], stride=layer["stride"]))
        elif kind == "AvgPool":
            modules.append(nn.AvgPool2d(layer["size"], stride=layer["stride"]))
        elif kind == "Flatten":
            modules.append(nn.Flatten())
        elif kind == "Dense":
            modules.append(nn.Linear(shape_in[0], layer["units"], bias=layer["bias"]))
        elif kind == "BatchNorm":
            bn = nn.BatchNorm2d if len(shape_in) == 3 else nn.BatchNorm1d
            modules.append(bn(shape_in[0], eps=layer["eps"], momentum=layer["momentum"]))
        elif kind == "Dropout":
            modules.append(Mask())
        elif kind == "ReLU":
            modules.append(nn.ReLU())
        elif kind == "LeakyReLU":
            modules.append(nn.LeakyReLU(layer["alpha"]))
        elif kind == "Sigmoid":
            modules.append(nn.Sigmoid())
        elif kind == "Tanh":
            modules.append(nn.Tanh())
        elif kind == "Softmax":
            modules.append(nn.Softmax(dim=1))
        elif kind == "Identity":
            modules.append(nn.Identity())
        else:
            raise ValueError("unknown layer kind " + kind)
    return modules


def trainables(modules):
    """Parameters in NetGen's flat order."""
    out = []
    for m in modules:
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d)):
            out.append(m.weight)
            if m.bias is not None:
                out.append(m.bias)
    return out


def norms(modules):
    return [m for m in modules if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]


def load(modules, flat, state):
    at = 0
    with torch.no_grad():
        for p in trainables(modules):
            n = p.numel()
            p.copy_(torch.tensor(flat[at:at + n]).reshape(p.shape))
            at += n
        if at != len(flat):
            raise ValueError(f"{len(flat)} parameters given, the modules hold {at}")
        at = 0
        for bn in norms(modules):
            c = bn.num_features
            bn.running_mean.copy_(torch.tensor(state[at:at + c]))
            bn.running_var.copy_(torch.tensor(state[at + c:at + 2 * c]))
            at += 2 * c
        if at != len(state):
            raise ValueError(f"{len(state)} state values given, the modules hold {at}")


def flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors]).tolist() if tensors else []


def state_of(modules):
    return flat([t for bn in norms(modules) for t in (bn.running_mean, bn.running_var)])


def forward(case, modules, x, masks):
    """Returns (output, logits): logits is the input of a final Softmax, else the output. masks None: inference."""
    dropouts = iter(masks) if masks is not None else None
    logits = None
    last = len(modules) - 1
    for i, m in enumerate(modules):
        if isinstance(m, Mask):
            m.mask = torch.tensor(next(dropouts)) if dropouts is not None else None
        if i == last and isinstance(m, nn.Softmax):
            logits = x
        x = m(x)
    return x, (x if logits is None else logits)


def loss_of(case, output, logits, target):
    batch = case["batch"]
    o = output.reshape(batch, -1)
    z = logits.reshape(batch, -1)
    t = target
    kind = case["loss"]
    if kind == "HalfSquaredError":
        return 0.5 * ((o - t) ** 2).sum() / batch
    if kind == "MeanSquaredError":
        return nn.MSELoss()(o, t)
    if kind == "CrossEntropy":
        return nn.CrossEntropyLoss()(z, t)
    if kind == "BinaryCrossEntropy":
        return nn.BCELoss()(o, t)
    if kind == "MeanAbsoluteError":
        return nn.L1Loss()(o, t)
    raise ValueError("unknown loss " + kind)


def run(case):
    modules = build(case)
    for m in modules:
        m.train()
    load(modules, case["parameters"], case["state"])
    params = trainables(modules)
    batch = case["batch"]
    x = torch.tensor(case["input"]).reshape([batch] + case["input_shape"]).requires_grad_(True)
    target = torch.tensor(case["target"]).reshape(batch, -1)
    g = torch.tensor(case["output_gradient"])

    output, logits = forward(case, modules, x, case["masks"][0])
    loss = loss_of(case, output, logits, target)
    gradients = torch.autograd.grad(loss, params, retain_graph=True) if params else []
    phi = (output.reshape(-1) * g).sum()
    phi_all = torch.autograd.grad(phi, params + [x])
    result = {
        "name": case["name"],
        "output": output.reshape(-1).tolist(),
        "loss": loss.item(),
        "gradients": flat(gradients),
        "phi_gradients": flat(phi_all[:-1]),
        "phi_input_gradient": phi_all[-1].reshape(-1).tolist(),
        "state_after_forward": state_of(modules),
    }

    xs = x.detach()
    optimizer = torch.optim.SGD(params, lr=case["lr"])
    losses = []
    for step in range(case["steps"]):
        optimizer.zero_grad()
        output, logits = forward(case, modules, xs, case["masks"][step + 1])
        loss = loss_of(case, output, logits, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    result["step_losses"] = losses
    result["parameters"] = flat([p.detach() for p in params])
    result["state"] = state_of(modules)

    # 3. Inference (model.eval()): running statistics, no dropout; the gradient of phi again.
    for m in modules:
        m.eval()
    xe = xs.clone().requires_grad_(True)
    output, _ = forward(case, modules, xe, None)
    phi = (output.reshape(-1) * g).sum()
    phi_all = torch.autograd.grad(phi, params + [xe])
    result["eval_output"] = output.reshape(-1).tolist()
    result["eval_phi_gradients"] = flat(phi_all[:-1])
    result["eval_phi_input_gradient"] = phi_all[-1].reshape(-1).tolist()
    return result


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    results = []
    for case in cases:
        try:
            results.append(run(case))
        except Exception as e:  # reported per case by the C# side
            results.append({"name": case["name"], "error": f"{type(e).__name__}: {e}"})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump({"torch": torch.__version__, "results": results}, f)


if __name__ == "__main__":
    main()
