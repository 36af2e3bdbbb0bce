"""What every MNIST stream shares: loading, per-task subsampling, normalisation, target mapping."""

from __future__ import annotations

from pathlib import Path

import torch

from lifelong.data.mnist import MNIST, load_mnist
from lifelong.streams.scenario import Scenario, targets_for
from lifelong.streams.task import ImagePipeline, PixelMap, Split, Task

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def pipeline(normalize: bool, pixel_map: PixelMap | None = None) -> ImagePipeline:
    """uint8 -> [0, 1], optionally standardised with MNIST's mean/std, then the task's pixel map."""
    if normalize:
        return ImagePipeline(1.0 / (255.0 * MNIST_STD), MNIST_MEAN / MNIST_STD, pixel_map)
    return ImagePipeline(1.0 / 255.0, 0.0, pixel_map)


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
