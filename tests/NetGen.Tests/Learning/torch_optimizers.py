"""PyTorch reference for tests/NetGen.Tests/Learning/OptimizerTests.cs.

Reads one JSON object on stdin:
  {"initial": [p0, ...], "gradients": [[g at step 1], ...],
   "cases": [{"name": str, "optimizer": "SGD" | "Adagrad" | "RMSprop" | "Adam" | "AdamW",
              "kwargs": {...}, "clip_norm": float | null, "clip_value": float | null}, ...]}
and writes {"torch": version, "results": {name: [[parameters after step 1], ...]}} on stdout.

Each case starts from the same parameters (float64) and is fed the same gradient sequence; before each step the
gradient is clipped by value (clip_grad_value_) and then by norm (clip_grad_norm_) when asked, as NetGen's
optimisers do.
"""
import json
import sys

import torch


def run(case, initial, gradients):
    p = torch.tensor(initial, dtype=torch.float64, requires_grad=True)
    optimizer = getattr(torch.optim, case["optimizer"])([p], **case["kwargs"])
    trace = []
    for g in gradients:
        optimizer.zero_grad()
        p.grad = torch.tensor(g, dtype=torch.float64)
        if case.get("clip_value") is not None:
            torch.nn.utils.clip_grad_value_([p], case["clip_value"])
        if case.get("clip_norm") is not None:
            torch.nn.utils.clip_grad_norm_([p], case["clip_norm"])
        optimizer.step()
        trace.append(p.detach().tolist())
    return trace


def main():
    torch.set_num_threads(1)
    request = json.load(sys.stdin)
    results = {case["name"]: run(case, request["initial"], request["gradients"]) for case in request["cases"]}
    json.dump({"torch": torch.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
