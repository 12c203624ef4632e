"""PyTorch oracle for NetGen's generative layers and compositions (run by Oracle/GenerativeTorchOracleTests.cs).

Usage: torch_generative_oracle.py INPUT.json OUTPUT.json

Everything in float64, torch autograd. Three kinds of case:

* "layers": a network given layer by layer (Dense, Conv2D, Conv2DTranspose as nn.ConvTranspose2d with weights
  [C_in, F, k, k], Upsample2D as nn.Upsample (nearest, or bilinear with align_corners=False), Reshape, Flatten,
  BatchNorm in training mode, activations, Sampling with NetGen's ε fed in), NetGen's flat parameters, an input batch,
  targets and an output gradient g. Reported: the output, the loss (plus beta * KL of each Sampling layer), its gradient
  with respect to every parameter and to the input, and the gradients of phi = sum(g * output) + sum(beta * KL) with
  respect to every parameter and the input (NetGen's Backward(outputGradient, ...) adds the KL's gradient itself).
* "vae": an encoder (ending with Sampling) and a decoder trained as one: loss = BCE(decoder(encoder(x)), x) summed over
  pixels / batch + KL; per step the gradients of both networks, then torch.optim.Adam over both parameter lists
  (one optimiser, one step count); two steps with NetGen's ε of each step.
* "gan": a generator and a discriminator (logit through Sigmoid; BCELoss), one step as NetGen's GanStep with SGD(lr):
  d_loss = BCE(D(x), r) + BCE(D(G(z).detach()), 0) with the real label r (1, or e.g. 0.9: one-sided label smoothing),
  D steps; g_loss = BCE(D(G(z)), 1) with the updated D (the generator's target is 1 whatever r is), G steps. With
  instance noise, "real_noise" and "fake_noise" (sigma * eps, NetGen's draws) are added to D's inputs: x + real_noise
  in D's step, G(z) + fake_noise in both steps. With "packing" m > 1 (PacGAN) D reads batch/m inputs of m samples
  stacked along the channels (consecutive samples: a reshape).
  Reported: both losses and both networks' parameters after the step.
Losses: MeanSquaredError = MSELoss(); BinaryCrossEntropy = BCELoss() (on the sigmoid's output);
BinaryCrossEntropySummed = BCELoss(reduction="sum") / batch.
"""

import json
import sys

import torch
from torch import nn

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


class Sampling(nn.Module):
    def __init__(self, beta):
        super().__init__()
        self.beta = beta
        self.eps = None
        self.kl = None

    def forward(self, x):
        latent = x.shape[1] // 2
        mu, logvar = x[:, :latent], x[:, latent:]
        self.kl = -0.5 * (1 + logvar - mu * mu - logvar.exp()).sum() / x.shape[0]
        return mu + torch.exp(0.5 * logvar) * self.eps


class Reshape(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape([x.shape[0]] + self.shape)


def build(layers):
    modules = []
    for layer in layers:
        kind, shape_in = layer["kind"], layer["in"]
        if kind == "Dense":
            modules.append(nn.Linear(shape_in[0], layer["units"], bias=layer["bias"]))
        elif kind == "Conv2D":
            modules.append(nn.Conv2d(shape_in[0], layer["filters"], layer["k"], stride=layer["stride"], padding=layer["pad"], bias=layer["bias"]))
        elif kind == "Conv2DTranspose":
            modules.append(nn.ConvTranspose2d(shape_in[0], layer["filters"], layer["k"], stride=layer["stride"], padding=layer["pad"],
                                              output_padding=layer["output_padding"], bias=layer["bias"]))
        elif kind == "Upsample2D":
            if layer["mode"] == "bilinear":
                modules.append(nn.Upsample(scale_factor=layer["factor"], mode="bilinear", align_corners=False))
            else:
                modules.append(nn.Upsample(scale_factor=layer["factor"], mode="nearest"))
        elif kind == "Reshape":
            modules.append(Reshape(layer["shape"]))
        elif kind == "Flatten":
            modules.append(nn.Flatten())
        elif kind == "BatchNorm":
            bn = nn.BatchNorm2d if len(shape_in) == 3 else nn.BatchNorm1d
            modules.append(bn(shape_in[0]))
        elif kind == "ReLU":
            modules.append(nn.ReLU())
        elif kind == "LeakyReLU":
            modules.append(nn.LeakyReLU(layer["alpha"]))
        elif kind == "Sigmoid":
            modules.append(nn.Sigmoid())
        elif kind == "Tanh":
            modules.append(nn.Tanh())
        elif kind == "Sampling":
            modules.append(Sampling(layer["beta"]))
        else:
            raise ValueError("unknown layer kind " + kind)
    return nn.Sequential(*modules)


def parameters_of(model):
    return [p for m in model for p in m.parameters(recurse=False)]


def load(model, flat):
    flat = torch.tensor(flat)
    at = 0
    with torch.no_grad():
        for p in parameters_of(model):
            n = p.numel()
            p.copy_(flat[at:at + n].reshape(p.shape))
            at += n
    if at != flat.numel():
        raise ValueError(f"{flat.numel()} parameters given, the model has {at}")


def flat_grad(model):
    return torch.cat([p.grad.reshape(-1) if p.grad is not None else torch.zeros(p.numel()) for p in parameters_of(model)]).tolist()


def flat_params(model):
    return torch.cat([p.detach().reshape(-1) for p in parameters_of(model)]).tolist()


def set_eps(model, eps_list, batch):
    samplers = [m for m in model if isinstance(m, Sampling)]
    for m, eps in zip(samplers, eps_list):
        m.eps = torch.tensor(eps).reshape(batch, -1)
    return samplers


def main_loss(kind, output, target, batch):
    if kind == "MeanSquaredError":
        return nn.MSELoss()(output, target)
    if kind == "BinaryCrossEntropy":
        return nn.BCELoss()(output, target)
    if kind == "BinaryCrossEntropySummed":
        return nn.BCELoss(reduction="sum")(output, target) / batch
    raise ValueError("unknown loss " + kind)


def layers_case(case):
    model = build(case["layers"])
    model.train()
    load(model, case["parameters"])
    batch = case["batch"]
    shape = [batch] + case["input_shape"]
    results = {"name": case["name"]}

    def run(objective):
        model.zero_grad()
        x = torch.tensor(case["input"]).reshape(shape).requires_grad_(True)
        samplers = set_eps(model, case["eps"], batch)
        out = model(x)
        kl = sum((m.beta * m.kl for m in samplers), torch.tensor(0.0))
        value = objective(out.reshape(batch, -1)) + kl
        value.backward()
        return out, value, x.grad.reshape(-1).tolist()

    target = torch.tensor(case["target"]).reshape(batch, -1)
    out, loss, gx = run(lambda o: main_loss(case["loss"], o, target, batch))
    results["output"] = out.detach().reshape(-1).tolist()
    results["loss"] = loss.item()
    results["loss_gradients"] = flat_grad(model)
    results["loss_input_gradient"] = gx
    g = torch.tensor(case["output_gradient"]).reshape(batch, -1)
    _, _, gx = run(lambda o: (g * o).sum())
    results["phi_gradients"] = flat_grad(model)
    results["phi_input_gradient"] = gx
    return results


def vae_case(case):
    encoder, decoder = build(case["encoder"]), build(case["decoder"])
    load(encoder, case["encoder_parameters"])
    load(decoder, case["decoder_parameters"])
    batch = case["batch"]
    x = torch.tensor(case["input"]).reshape(batch, -1)
    optimizer = torch.optim.Adam(parameters_of(encoder) + parameters_of(decoder), lr=case["lr"])
    steps = []
    for eps in case["eps"]:
        optimizer.zero_grad()
        (sampler,) = set_eps(encoder, [eps], batch)
        recon = decoder(encoder(x))
        rec = nn.BCELoss(reduction="sum")(recon, x) / batch
        loss = rec + sampler.beta * sampler.kl
        loss.backward()
        steps.append({"reconstruction": rec.item(), "kl": sampler.kl.item(),
                      "encoder_gradients": flat_grad(encoder), "decoder_gradients": flat_grad(decoder)})
        optimizer.step()
    return {"name": case["name"], "steps": steps, "encoder_parameters": flat_params(encoder), "decoder_parameters": flat_params(decoder)}


def gan_case(case):
    generator, discriminator = build(case["generator"]), build(case["discriminator"])
    generator.train()
    discriminator.train()
    load(generator, case["generator_parameters"])
    load(discriminator, case["discriminator_parameters"])
    batch = case["batch"]
    real = torch.tensor(case["real"]).reshape([batch] + case["sample_shape"])
    real_noise = torch.tensor(case["real_noise"]).reshape(real.shape)
    fake_noise = torch.tensor(case["fake_noise"]).reshape(real.shape)
    z = torch.tensor(case["z"]).reshape(batch, -1)
    d_opt = torch.optim.SGD(parameters_of(discriminator), lr=case["lr"])
    g_opt = torch.optim.SGD(parameters_of(generator), lr=case["lr"])
    bce = nn.BCELoss()
    m = case.get("packing", 1)
    packs = batch // m
    packed_shape = [packs, m * case["sample_shape"][0]] + case["sample_shape"][1:]
    ones, zeros = torch.ones(packs, 1), torch.zeros(packs, 1)
    real_targets = torch.full((packs, 1), float(case.get("real_label", 1.0)))

    fake = generator(z)
    d_opt.zero_grad()
    d_real = bce(discriminator((real + real_noise).reshape(packed_shape)), real_targets)
    d_real.backward()
    d_fake = bce(discriminator((fake.detach() + fake_noise).reshape(packed_shape)), zeros)
    d_fake.backward()
    d_gradients = flat_grad(discriminator)
    d_opt.step()

    g_opt.zero_grad()
    g_loss = bce(discriminator((fake + fake_noise).reshape(packed_shape)), ones)
    g_loss.backward()
    g_gradients = flat_grad(generator)
    g_opt.step()
    return {"name": case["name"], "d_loss": (d_real + d_fake).item(), "g_loss": g_loss.item(),
            "discriminator_gradients": d_gradients, "generator_gradients": g_gradients,
            "discriminator_parameters": flat_params(discriminator), "generator_parameters": flat_params(generator),
            "generator_state": [v for m in generator if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))
                                for v in m.running_mean.tolist() + m.running_var.tolist()]}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    handlers = {"layers": layers_case, "vae": vae_case, "gan": gan_case}
    results = [handlers[case["mode"]](case) for case in cases]
    with open(sys.argv[2], "w") as f:
        json.dump({"torch": torch.__version__, "results": results}, f)


if __name__ == "__main__":
    main()
