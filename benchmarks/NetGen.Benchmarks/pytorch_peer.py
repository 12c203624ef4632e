"""PyTorch peer of the NetGen benchmark suite (started by NetGen.Benchmarks; not a test).

Usage: pytorch_peer.py --threads T --warmup-seconds W --sample-seconds S --samples N [--epoch-samples E]
                       [--data DIR] WORKLOAD...

Builds each named workload exactly as Workloads.cs does (float32, same shapes, SGD lr 0.01, same losses) and times
it with the same policy as Harness.cs: warm up for at least W seconds (and 2 calls), choose the calls per sample so
that one sample lasts about S seconds at the warm-up's time per call after its first call, take N samples, report the median time per call. The epoch workload is one
warm-up run on 2,048 samples, then E timed epochs. The launcher sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS to T as well, so OpenBLAS's own pool matches torch.set_num_threads(T).

Prints one line per workload: "result NAME MEDIAN_SECONDS MIN_SECONDS", and an "info" line first.
"""

import argparse
import gzip
import math
import os
import struct
import sys
import time

import torch
from torch import nn

EPOCH = "lenet-epoch-60000"


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def mlp():
    return nn.Sequential(nn.Linear(784, 100), nn.Sigmoid(), nn.Linear(100, 10))


def worked_example():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 2), nn.Sigmoid())
    for layer in (model[0], model[2]):
        layer.bias.requires_grad_(False)   # TrainBias = false: the biases are held
    return model


class Sampling(nn.Module):
    """z = mu + exp(logvar / 2) * eps over (mu, logvar) halves; keeps the KL term, as NetGen's [Sampling]."""

    def forward(self, h):
        mu, logvar = h.chunk(2, dim=1)
        self.kl = -0.5 * torch.sum(1 + logvar - mu * mu - logvar.exp()) / h.shape[0]
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def vae_step(batch=128, latent=16):
    """The Module 6 VAE: BCE-with-logits summed over the pixels / batch + KL, one Adam step over both halves."""
    sampler = Sampling()
    encoder = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 2 * latent), sampler)
    decoder = nn.Sequential(nn.Linear(latent, 400), nn.ReLU(), nn.Linear(400, 784))
    opt = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=1e-3)
    bce = nn.BCEWithLogitsLoss(reduction="sum")
    x = (data(batch, 784) + 1) / 2

    def step():
        opt.zero_grad()
        loss = bce(decoder(encoder(x)), x) / batch + sampler.kl
        loss.backward()
        opt.step()
        return loss
    return step


def dcgan_step(batch=64, latent=100):
    """The Module 6 DCGAN: the discriminator on real (1) and fake (0), then the generator through it (PyTorch's DCGAN
    example's step, BCE on logits as NetGen fuses it)."""
    g = nn.Sequential(nn.Linear(latent, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
                      nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.ConvTranspose2d(64, 1, 4, 2, 1))
    d = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2),
                      nn.Flatten(), nn.Linear(64 * 7 * 7, 1))
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    real = (data(batch, 1, 28, 28) + 1) / 2
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        fake = torch.sigmoid(g(torch.randn(batch, latent)))
        d_opt.zero_grad()
        d_loss = bce(d(real), ones) + bce(d(fake.detach()), zeros)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = bce(d(fake), ones)
        g_loss.backward()
        g_opt.step()
        return d_loss + g_loss
    return step


class RowRecurrent(nn.Module):
    """MNIST row by row: 28 steps of 28 pixels, 128 units, the last step's hidden state -> Linear 10 (as RowLstm …)."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = getattr(nn, cell)(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def yolo_net():
    """Module 4's YOLO network (benchmarks' Networks.cs: Yolo)."""
    layers, c = [], 1
    for i, out in enumerate((16, 32, 64, 128, 128)):
        layers += [nn.Conv2d(c, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
        if i < 3:
            layers.append(nn.MaxPool2d(2))
        c = out
    layers.append(nn.Conv2d(128, 30, 1))
    return nn.Sequential(*layers)


def lcg(count, seed):
    """Workloads.Lcg: the same values in [0, 1)."""
    x, values = seed, []
    for _ in range(count):
        x = (1664525 * x + 1013904223) % 4294967296
        values.append(x / 4294967296.0)
    return values


def yolo_targets(batch):
    """Workloads.YoloTargets: 1-3 objects per canvas as (class, x1, y1, x2, y2) rows, -1 for empty rows."""
    u = lcg(batch * 15, 7)
    rows = []
    for n in range(batch):
        objects = 1 + n % 3
        for o in range(3):
            f = (n * 3 + o) * 5
            if o >= objects:
                rows.append((-1, 0, 0, 0, 0))
                continue
            w, h = 0.2 + 0.3 * u[f + 1], 0.2 + 0.3 * u[f + 2]
            x1, y1 = (1 - w) * u[f + 3], (1 - h) * u[f + 4]
            rows.append((int(u[f] * 10), x1, y1, x1 + w, y1 + h))
    return rows


def yolo_assign(rows, batch, S=8, anchors=((0.12, 0.25), (0.25, 0.3))):
    """YoloLoss's assignment (centre cell, free anchor of best shape IoU) as dense target tensors. Done once, outside
    the timed step (NetGen assigns inside every step: this favours PyTorch)."""
    B = len(anchors)
    mask = torch.zeros(batch, B, S, S, dtype=torch.bool)
    box = torch.zeros(batch, B, 4, S, S)
    cls = torch.zeros(batch, B, S, S, dtype=torch.long)
    for n in range(batch):
        for o in range(3):
            c, x1, y1, x2, y2 = rows[n * 3 + o]
            if c < 0:
                continue
            w, h = x2 - x1, y2 - y1
            col, r = min(max(int((x1 + x2) / 2 * S), 0), S - 1), min(max(int((y1 + y2) / 2 * S), 0), S - 1)
            best, best_iou = -1, -1.0
            for b, (aw, ah) in enumerate(anchors):
                if mask[n, b, r, col]:
                    continue
                inter = min(aw, w) * min(ah, h)
                iou = inter / (aw * ah + w * h - inter)
                if iou > best_iou:
                    best, best_iou = b, iou
            if best < 0:
                continue
            aw, ah = anchors[best]
            mask[n, best, r, col] = True
            box[n, best, :, r, col] = torch.tensor([(x1 + x2) / 2 * S - col, (y1 + y2) / 2 * S - r, math.log(w / aw), math.log(h / ah)])
            cls[n, best, r, col] = c
    return mask, box, cls


def yolo_loss(out, mask, box, cls, lambda_coord=5.0, lambda_noobj=0.5):
    """NetGen.Detection.YoloLoss written in torch, vectorised: λ_coord·squared error of σ(tx), σ(ty), tw, th for the
    responsible slots, BCE objectness (λ_noobj for empty slots), softmax cross-entropy of the class; mean over the batch."""
    n, S = out.shape[0], out.shape[-1]
    o = out.view(n, 2, 15, S, S)
    m = mask.to(o.dtype)
    xy = torch.sigmoid(o[:, :, 0:2])
    coord = ((xy - box[:, :, 0:2]) ** 2).sum(2) + ((o[:, :, 2:4] - box[:, :, 2:4]) ** 2).sum(2)
    to = o[:, :, 4]
    objectness = nn.functional.softplus(-to) * m + lambda_noobj * nn.functional.softplus(to) * (1 - m)
    ce = nn.functional.cross_entropy(o[:, :, 5:].reshape(n * 2, 10, S, S), cls.view(n * 2, S, S), reduction="none").view(n, 2, S, S)
    return (lambda_coord * coord * m + objectness + ce * m).sum() / n


def nms_boxes(count):
    """Workloads.NmsBoxes: the same boxes and scores."""
    u = lcg(count * 5, 11)
    boxes, scores = [], []
    for i in range(count):
        x1, y1 = 100 * u[5 * i], 100 * u[5 * i + 1]
        boxes.append((x1, y1, x1 + 5 + 25 * u[5 * i + 2], y1 + 5 + 25 * u[5 * i + 3]))
        scores.append(u[5 * i + 4])
    return torch.tensor(boxes, dtype=torch.float32), torch.tensor(scores, dtype=torch.float32)


def data(*shape):
    g = torch.Generator().manual_seed(1)
    return torch.rand(*shape, generator=g) * 2 - 1


def labels(n, classes):
    g = torch.Generator().manual_seed(2)
    return torch.randint(0, classes, (n,), generator=g)


def train_step(model, x, target, loss_fn):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.01)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        return loss
    return step


def infer_step(model, x, softmax):
    model.eval()

    def step():
        with torch.no_grad():
            y = model(x)
            return torch.softmax(y, dim=1) if softmax else y
    return step


def half_squared_error(o, t):
    return 0.5 * ((o - t) ** 2).sum() / o.shape[0]


def create(name):
    ce = nn.CrossEntropyLoss()
    if name == "worked-example-train-b1":
        return train_step(worked_example(), data(1, 2), data(1, 2), half_squared_error)
    if name.startswith("mlp-train-b"):
        b = int(name[len("mlp-train-b"):])
        return train_step(mlp(), data(b, 784), labels(b, 10), ce)
    if name.startswith("mlp-infer-b"):
        b = int(name[len("mlp-infer-b"):])
        return infer_step(mlp(), data(b, 784), True)
    if name.startswith("lenet-train-b"):
        b = int(name[len("lenet-train-b"):])
        return train_step(lenet(), data(b, 1, 28, 28), labels(b, 10), ce)
    if name.startswith("lenet-infer-b"):
        b = int(name[len("lenet-infer-b"):])
        return infer_step(lenet(), data(b, 1, 28, 28), True)
    if name == "vae-train-b128":
        return vae_step()
    if name == "dcgan-step-b64":
        return dcgan_step()
    cell = name.split("-")[0]
    if cell in RECURRENT and "-train-b" in name:
        b = int(name.split("-train-b")[1])
        return train_step(RowRecurrent(RECURRENT[cell]), data(b, 28, 28), labels(b, 10), ce)
    if cell in RECURRENT and "-infer-b" in name:
        b = int(name.split("-infer-b")[1])
        return infer_step(RowRecurrent(RECURRENT[cell]), data(b, 28, 28), True)
    if name == "gemm1024-fwdbwd-b256":
        layer = nn.Linear(1024, 1024)
        x = data(256, 1024).requires_grad_(True)
        dy = data(256, 1024)

        def step():
            y = layer(x)
            y.backward(dy)   # ∂W, ∂b and ∂x, as NetGen's Backward(outputGradient, inputGradient)
        return step
    if name.startswith("yolo-train-b"):
        b = int(name[len("yolo-train-b"):])
        model, x = yolo_net(), data(b, 1, 64, 64)
        mask, box, cls = yolo_assign(yolo_targets(b), b)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def step():
            opt.zero_grad()
            loss = yolo_loss(model(x), mask, box, cls)
            loss.backward()
            opt.step()
            return loss
        return step
    if name.startswith("yolo-infer-b"):
        b = int(name[len("yolo-infer-b"):])
        return infer_step(yolo_net(), data(b, 1, 64, 64), False)
    if name.startswith("nms-"):
        import torchvision
        boxes, scores = nms_boxes(int(name[len("nms-"):]))
        return lambda: torchvision.ops.nms(boxes, scores, 0.5)
    raise SystemExit("unknown workload " + name)


def measure(step, warmup_seconds, sample_seconds, samples):
    # The first call is left out of the time per call (as in Harness.cs): it pays one-time costs (lazy
    # initialisation, allocator warm-up) that would make a slow workload's samples single calls.
    start = time.perf_counter()
    step()
    first, calls = time.perf_counter() - start, 1
    while calls < 2 or time.perf_counter() - start < warmup_seconds:
        step()
        calls += 1
    per_call = (time.perf_counter() - start - first) / (calls - 1)
    n = max(1, int(-(-sample_seconds // max(per_call, 1e-9))))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        times.append((time.perf_counter() - t0) / n)
    times.sort()
    return times[len(times) // 2], times[0]


def read_idx(path):
    with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def epoch_data(directory):
    """Fashion-MNIST's training set if present (as NetGen reads it: pixels / 255), else random data of the same shape."""
    if directory:
        for images, lbls in (("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"), ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")):
            ip, lp = os.path.join(directory, images), os.path.join(directory, lbls)
            if os.path.exists(ip) and os.path.exists(lp):
                x = read_idx(ip).to(torch.float32).div_(255).reshape(-1, 1, 28, 28)
                return x, read_idx(lp).to(torch.int64)
    return data(60000, 1, 28, 28), labels(60000, 10)


def epoch(x, y, model, opt, ce, batch=64, limit=None, seed=1):
    """One epoch as Trainer.Fit runs it: shuffled order, mini-batches gathered into contiguous tensors, the last one
    smaller; the loss and accuracy of each step read back (Fit logs both)."""
    count = x.shape[0] if limit is None else limit
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    total, correct = 0.0, 0
    for start in range(0, count, batch):
        idx = order[start:start + batch]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        opt.zero_grad()
        out = model(xb)
        loss = ce(out, yb)
        loss.backward()
        opt.step()
        total += loss.item()
        correct += (out.argmax(1) == yb).sum().item()
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--warmup-seconds", type=float, required=True)
    p.add_argument("--sample-seconds", type=float, required=True)
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--epoch-samples", type=int, default=1)
    p.add_argument("--data", default=None)
    p.add_argument("workloads", nargs="+")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    blas = "unknown"
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line}
        blas = ",".join(sorted(os.path.basename(os.path.dirname(l)) + "/" + os.path.basename(l) for l in libs)) or "none"
    except OSError:
        pass
    print(f"info torch {torch.__version__} threads {torch.get_num_threads()} blas {blas}", flush=True)
    for name in a.workloads:
        if name == EPOCH:
            x, y = epoch_data(a.data)
            model, ce = lenet(), nn.CrossEntropyLoss()
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            epoch(x, y, model, opt, ce, limit=2048)
            times = []
            for s in range(a.epoch_samples):
                t0 = time.perf_counter()
                epoch(x, y, model, opt, ce, seed=s + 1)
                times.append(time.perf_counter() - t0)
            times.sort()
            med, low = times[len(times) // 2], times[0]
        else:
            med, low = measure(create(name), a.warmup_seconds, a.sample_seconds, a.samples)
        print(f"result {name} {med:.9e} {low:.9e}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
