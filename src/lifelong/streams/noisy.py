"""The lecture's noisy-then-clean pair: task 1 is MNIST with heavy pixel noise, task 2 clean MNIST.

Trained in sequence, accuracy on the noisy task drops after the clean one although a model
trained on both at once handles both. The noisy copy is drawn once from the seed (stored as uint8,
one copy for the one noisy task), so every epoch sees the same noisy digits.

``noise_kind`` picks the corruption, ``noise`` its level:

- ``gaussian`` (default): additive Gaussian noise of std ``noise`` in [0, 1] pixel units, clipped to [0, 1];
- ``salt-pepper``: a fraction ``noise`` of the pixels, drawn per image, set to black or white (half each);
- ``occlusion``: a black (erased) square of side ``round(noise * 28)`` pixels at a random place per image;
- ``blur``: a Gaussian blur of std ``noise`` pixels (deterministic).

Fresh noise every epoch is not offered: the stream holds one stored copy of each task and the
sampler draws batches from it, so new noise per epoch would need the sampler to corrupt batches.
"""

from __future__ import annotations

import math

import torch

from lifelong._registry import STREAMS
from lifelong.errors import OptionError
from lifelong.streams._mnist_tasks import make_task, mnist, pipeline, select, subsample
from lifelong.streams.scenario import Scenario, ScenarioName
from lifelong.streams.stream import Stream


def add_noise(images: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Gaussian pixel noise of standard deviation ``std`` (in [0, 1] units), clipped back to uint8."""
    noise = torch.randn(images.shape, generator=generator) * (255.0 * std)
    return (images.float() + noise).round_().clamp_(0, 255).to(torch.uint8)


def salt_pepper(images: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """A ``fraction`` of each image's pixels (drawn independently) set to 0 or 255 with equal odds."""
    hit = torch.rand(images.shape, generator=generator) < fraction
    white = torch.rand(images.shape, generator=generator) < 0.5
    out = images.clone()
    out[hit & white] = 255
    out[hit & ~white] = 0
    return out


def occlude(images: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """A black square of side ``round(fraction * width)`` at a uniformly random place in each image."""
    n, height, width = images.shape[0], images.shape[-2], images.shape[-1]
    side = min(round(fraction * width), height, width)
    out = images.clone()
    if side == 0:
        return out
    top = torch.randint(0, height - side + 1, (n,), generator=generator)
    left = torch.randint(0, width - side + 1, (n,), generator=generator)
    rows = torch.arange(height).view(1, height, 1)
    cols = torch.arange(width).view(1, 1, width)
    mask = ((rows >= top.view(-1, 1, 1)) & (rows < (top + side).view(-1, 1, 1))
            & (cols >= left.view(-1, 1, 1)) & (cols < (left + side).view(-1, 1, 1)))
    out.view(n, height, width)[mask] = 0
    return out


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur of std ``sigma`` pixels (kernel radius 3 sigma, zero padding)."""
    if sigma == 0:
        return images.clone()
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    shape = images.shape
    x = images.float().reshape(-1, 1, shape[-2], shape[-1])
    x = torch.nn.functional.conv2d(x, kernel.view(1, 1, 1, -1), padding=(0, radius))
    x = torch.nn.functional.conv2d(x, kernel.view(1, 1, -1, 1), padding=(radius, 0))
    return x.reshape(shape).round_().clamp_(0, 255).to(torch.uint8)


NOISE_KINDS = ("gaussian", "salt-pepper", "occlusion", "blur")


def corrupt(images: torch.Tensor, kind: str, level: float, generator: torch.Generator) -> torch.Tensor:
    """``images`` (uint8) corrupted by noise ``kind`` at ``level`` (see the module's docstring)."""
    if kind == "gaussian":
        return add_noise(images, level, generator)
    if kind == "salt-pepper":
        return salt_pepper(images, level, generator)
    if kind == "occlusion":
        return occlude(images, level, generator)
    return blur(images, level)


# The lecture's network (three hidden layers of 50). Adam at 3e-3 for 5 epochs a task brings the noisy task to
# 90.3% and the clean one to 97.0% (seed 0, measured 2026-12-02), the lecture's 90% and 97%; at the
# common 1e-3 and 4 epochs the noisy task stays near 88%.
@STREAMS.register("noisy-mnist", family="mnist", defaults={"model": "mlp-50x3", "train": {"lr": 0.003, "epochs": 5}})
def noisy_mnist(
    noise: float = 0.5,
    seed: int = 0,
    scenario: ScenarioName = "domain",
    examples: int | None = None,
    normalize: bool = False,
    root: str | None = None,
    noise_kind: str = "gaussian",
) -> Stream:
    """Task 1: MNIST plus Gaussian noise of std ``noise``; task 2: clean MNIST (the lecture's example).

    Args:
        noise: the noise level: Gaussian std in [0, 1] pixel units, the salt-and-pepper fraction of
            pixels (at most 1), the occluding square's side as a fraction of the width (at most 1),
            or the blur's std in pixels.
        seed: draws the noise and any subsample.
        scenario: ``domain`` (one 10-way head, the lecture's setting), ``task`` or ``class``.
        examples: training examples per task; None for all 60,000.
        normalize: standardise with MNIST's mean and std.
        root: a directory with MNIST files instead of the default source.
        noise_kind: ``gaussian``, ``salt-pepper``, ``occlusion`` or ``blur``; recorded in the
            stream's params only when not the default, so runs from before the option keep their ids.
    """
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not math.isfinite(noise) or noise < 0:
        raise OptionError(f"--stream.noise: must be a finite number of at least 0, got {noise!r}")
    if noise_kind not in NOISE_KINDS:
        raise OptionError(f"--stream.noise_kind: {noise_kind!r} is not one of {', '.join(NOISE_KINDS)}")
    if noise_kind in ("salt-pepper", "occlusion") and noise > 1:
        raise OptionError(f"--stream.noise: a {noise_kind} level is a fraction, at most 1, got {noise!r}")
    kind = Scenario.parse(scenario)
    data = mnist(root)
    generator = torch.Generator().manual_seed(seed)
    prepare = pipeline(normalize)
    out = []
    for t, name in enumerate(("noisy", "clean")):
        classes = tuple(range(10 * t, 10 * t + 10)) if kind is Scenario.CLASS else tuple(range(10))
        x, y = select(data.x_train, data.y_train, subsample(len(data.y_train), examples, generator))
        x_test = data.x_test
        if name == "noisy":
            x, x_test = corrupt(x, noise_kind, noise, generator), corrupt(x_test, noise_kind, noise, generator)
        out.append(make_task(t, name, kind, (x, y), (x_test, data.y_test), classes, prepare))
    params = dict(noise=noise, seed=seed, scenario=kind.value, examples=examples, normalize=normalize)
    if noise_kind != "gaussian":
        params["noise_kind"] = noise_kind
    return Stream("noisy-mnist", tuple(out), kind, (784,), params)
