"""What every MNIST stream shares: loading, per-task subsampling, normalisation, target mapping."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from lifelong.data.mnist import MNIST, load_mnist
from lifelong.streams.scenario import Scenario, targets_for
from lifelong.streams.task import ImagePipeline, PixelMap, Split, Task

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def pipeline(normalize: bool, pixel_map: PixelMap | None = None, pad: int = 0) -> ImagePipeline:
    """uint8 -> [0, 1], optionally zero-padded by ``pad`` pixels a side and standardised, then the pixel map.

    Standardising uses MNIST's mean/std over the image as fed: with padding, the added black pixels
    lower both (28×28: 0.1307/0.3081; 32×32: 0.1001/0.2752, the values Hsu et al.'s code hard-codes).
    """
    if pad < 0:
        raise ValueError(f"pad must be at least 0, got {pad}")
    if not normalize:
        return ImagePipeline(1.0 / 255.0, 0.0, pixel_map, pad)
    mean, std = padded_stats(pad)
    return ImagePipeline(1.0 / (255.0 * std), mean / std, pixel_map, pad)


def padded_stats(
    pad: int, mean: float = MNIST_MEAN, std: float = MNIST_STD, side: int = 28
) -> tuple[float, float]:
    """Pixel mean and std over ``side``² images (pixel ``mean``/``std``) zero-padded by ``pad`` a side, exactly."""
    kept = side**2 / (side + 2 * pad) ** 2  # fraction of pixels that are the image's
    padded_mean = mean * kept
    second_moment = (std**2 + mean**2) * kept
    return padded_mean, math.sqrt(second_moment - padded_mean**2)


def mnist(root: str | Path | None) -> MNIST:
    return load_mnist(root)


def subsample(n: int, examples: int | None, generator: torch.Generator) -> torch.Tensor | None:
    """Indices of ``examples`` of ``n`` drawn without replacement, or None for all of them."""
    if examples is None or examples >= n:
        return None
    if examples <= 0:
        raise ValueError(f"examples per task must be positive, got {examples}")
    return torch.randperm(n, generator=generator)[:examples].sort().values


def make_task(
    task_id: int,
    name: str,
    scenario: Scenario,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    classes: tuple[int, ...],
    prepare: ImagePipeline,
) -> Task:
    """A task from raw inputs and *local* labels (0..k-1), targets mapped for the scenario."""
    return Task(
        task_id,
        name,
        Split(train[0], targets_for(scenario, train[1], classes)),
        Split(test[0], targets_for(scenario, test[1], classes)),
        classes,
        prepare,
    )


def select(x: torch.Tensor, y: torch.Tensor, index: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    return (x, y) if index is None else (x[index], y[index])
