"""Permuted MNIST (Goodfellow et al., arXiv 1312.6211; the EWC and SI benchmarks).

Each task applies one fixed random pixel permutation to every image; labels stay the digits.
Permutations are index maps applied to each batch, so the tasks share one copy of MNIST.
"""

from __future__ import annotations

import torch

from lifelong._registry import STREAMS
from lifelong.streams._mnist_tasks import make_task, mnist, pipeline, select, subsample
from lifelong.streams.scenario import Scenario, ScenarioName
from lifelong.streams.stream import Stream
from lifelong.streams.task import PixelMap


def permutations(tasks: int, seed: int, first_identity: bool, pixels: int = 784) -> list[torch.Tensor]:
    """``tasks`` permutations of ``range(pixels)`` from one seeded generator; the first may be the identity."""
    generator = torch.Generator().manual_seed(seed)
    perms = [torch.randperm(pixels, generator=generator) for _ in range(tasks)]
    if first_identity:
        perms[0] = torch.arange(pixels)
    return perms


@STREAMS.register("permuted-mnist", family="mnist")
def permuted_mnist(
    tasks: int = 5,
    seed: int = 0,
    scenario: ScenarioName = "domain",
    first_identity: bool = True,
    examples: int | None = None,
    normalize: bool = False,
    root: str | None = None,
) -> Stream:
    """MNIST under a different fixed pixel permutation per task.

    Args:
        tasks: number of permutations.
        seed: draws the permutations and any subsample.
        scenario: ``domain`` (one 10-way head), ``task`` (a head per task) or ``class`` (10 classes per task).
        first_identity: task 1 sees unpermuted digits, as in the lecture's homework.
        examples: training examples per task (e.g. 1000 as in GEM/A-GEM); None for all 60,000.
        normalize: standardise with MNIST's mean and std before permuting.
        root: a directory with MNIST files instead of the default source.
    """
    if tasks < 1:
        raise ValueError(f"tasks must be at least 1, got {tasks}")
    kind = Scenario.parse(scenario)
    data = mnist(root)
    generator = torch.Generator().manual_seed(seed + 1)
    out = []
    for t, perm in enumerate(permutations(tasks, seed, first_identity)):
        classes = tuple(range(10 * t, 10 * t + 10)) if kind is Scenario.CLASS else tuple(range(10))
        pixel_map = None if t == 0 and first_identity else PixelMap(perm.unsqueeze(1))
        train = select(data.x_train, data.y_train, subsample(len(data.y_train), examples, generator))
        out.append(make_task(t, f"perm-{t + 1}", kind, train, (data.x_test, data.y_test), classes,
                             pipeline(normalize, pixel_map)))
    params = dict(tasks=tasks, seed=seed, scenario=kind.value, first_identity=first_identity,
                  examples=examples, normalize=normalize)
    return Stream("permuted-mnist", tuple(out), kind, (784,), params)

