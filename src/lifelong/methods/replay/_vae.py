"""A fully connected variational autoencoder, written as functions of a dict of weights.

Deep generative replay's generator (arXiv 1705.08690; a VAE as in van de Ven & Tolias, arXiv
1904.07734): encoder in → hidden… → (μ, log σ²) of a ``latent``-dimensional Gaussian, decoder the
mirror image. The weights are a plain ``dict[str, Tensor]`` initialised from the method's own
generator (PyTorch's default Linear initialisation), so the generator is method state like any
other and building it never touches the global random stream.

Loss per sample: reconstruction −log p(x|z) and KL(q(z|x) ‖ N(0, I)), both divided by the number of
input features (as in arXiv 1904.07734's code; the ratio of the two terms is the ELBO's).
Likelihood ``bernoulli`` (inputs in [0, 1], decoder mean = sigmoid) or ``gaussian`` (unit variance,
for standardised inputs).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LIKELIHOODS = ("bernoulli", "gaussian")


def init(features: int, hidden: tuple[int, ...], latent: int, generator: torch.Generator,
         device: torch.device) -> dict[str, Tensor]:
    """Weights of encoder ``features→hidden…``, heads ``→latent`` (μ and log σ²), mirrored decoder: drawn on
    the CPU with ``generator`` (the same weights on every device), kept on ``device``."""
    shapes: list[tuple[str, int, int]] = []
    widths = (features, *hidden)
    shapes += [(f"enc{i}", a, b) for i, (a, b) in enumerate(itertools.pairwise(widths))]
    shapes += [("mu", widths[-1], latent), ("logvar", widths[-1], latent)]
    back = (latent, *reversed(hidden), features)
    shapes += [(f"dec{i}", a, b) for i, (a, b) in enumerate(itertools.pairwise(back))]
    weights: dict[str, Tensor] = {}
    for name, fan_in, fan_out in shapes:
        bound = 1.0 / fan_in**0.5
        for part, shape in (("weight", (fan_out, fan_in)), ("bias", (fan_out,))):
            drawn = torch.empty(shape, device="cpu").uniform_(-bound, bound, generator=generator)
            weights[f"{name}.{part}"] = nn.Parameter(drawn.to(device))
    return weights


def _layers(weights: dict[str, Tensor], prefix: str) -> int:
    return sum(1 for k in weights if k.startswith(prefix) and k.endswith(".weight"))


def encode(weights: dict[str, Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
    h = x.flatten(1)
    for i in range(_layers(weights, "enc")):
        h = F.relu(F.linear(h, weights[f"enc{i}.weight"], weights[f"enc{i}.bias"]))
    return (F.linear(h, weights["mu.weight"], weights["mu.bias"]),
            F.linear(h, weights["logvar.weight"], weights["logvar.bias"]))


def decode(weights: dict[str, Tensor], z: Tensor) -> Tensor:
    """The decoder's output before the likelihood's link (logits for Bernoulli, means for Gaussian)."""
    h = z
    n = _layers(weights, "dec")
    for i in range(n):
        h = F.linear(h, weights[f"dec{i}.weight"], weights[f"dec{i}.bias"])
        if i < n - 1:
            h = F.relu(h)
    return h


def loss(weights: dict[str, Tensor], x: Tensor, likelihood: str, generator: torch.Generator) -> Tensor:
    """Negative ELBO per input feature, averaged over the batch (reparameterised with ``generator``)."""
    flat = x.flatten(1)
    mu, logvar = encode(weights, flat)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator, device="cpu").to(mu.device)
    out = decode(weights, z)
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(out, flat, reduction="none").sum(1)
    else:
        recon = 0.5 * (out - flat).pow(2).sum(1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
    return ((recon + kl) / flat.shape[1]).mean()


@torch.no_grad()
def sample(weights: dict[str, Tensor], n: int, likelihood: str, generator: torch.Generator) -> Tensor:
    """n decoded draws z ~ N(0, I): the likelihood's mean (pixel intensities for Bernoulli)."""
    latent = weights["mu.weight"].shape[0]
    z = torch.randn(n, latent, generator=generator, device="cpu").to(weights["mu.weight"].device)
    out = decode(weights, z)
    return torch.sigmoid(out) if likelihood == "bernoulli" else out
