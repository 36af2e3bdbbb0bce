"""A tiny seeded synthetic stream: Gaussian class blobs, each task a fresh random rotation of them.

Trains in milliseconds, so tests and examples can exercise every method and scenario; the tasks
genuinely interfere (the same class lives in a different place in each task), so forgetting shows.
"""

from __future__ import annotations

import math

import torch

from lifelong._registry import STREAMS
from lifelong.streams.scenario import Scenario, ScenarioName, targets_for
from lifelong.streams.stream import Stream
from lifelong.streams.task import Split, Task


@STREAMS.register("synthetic", family="synthetic")
def synthetic(
    tasks: int = 3,
    classes_per_task: int = 2,
    features: int = 8,
    examples: int = 64,
    test_examples: int = 64,
    spread: float = 0.5,
    seed: int = 0,
    scenario: ScenarioName = "task",
) -> Stream:
    """Gaussian blobs: class centres on a sphere, spread ``spread``; each task rotates the space.

    Args:
        tasks: number of tasks.
        classes_per_task: labels per task.
        features: input dimension.
        examples: training examples per task; test_examples: test examples per task.
        spread: within-class standard deviation (the centres have norm 2).
        seed: fixes centres, rotations and samples.
        scenario: ``task``, ``domain`` or ``class``.
    """
    for name, value in (("tasks", tasks), ("classes_per_task", classes_per_task), ("features", features),
                        ("examples", examples), ("test_examples", test_examples)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if not math.isfinite(spread) or spread < 0:
        raise ValueError(f"spread must be a finite number of at least 0, got {spread}")
    kind = Scenario.parse(scenario)
    g = torch.Generator().manual_seed(seed)
    centres = torch.nn.functional.normalize(torch.randn(classes_per_task, features, generator=g), dim=1) * 2
    out = []
    for t in range(tasks):
        rotation, _ = torch.linalg.qr(torch.randn(features, features, generator=g))

        def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
            local = torch.arange(n) % classes_per_task
            x = (centres[local] + spread * torch.randn(n, features, generator=g)) @ rotation  # noqa: B023
            return x, local

        x, y = draw(examples)
        xt, yt = draw(test_examples)
        classes = tuple(range(t * classes_per_task, (t + 1) * classes_per_task)) if kind is Scenario.CLASS \
            else tuple(range(classes_per_task))
        out.append(Task(t, f"blobs-{t + 1}", Split(x, targets_for(kind, y, classes)),
                        Split(xt, targets_for(kind, yt, classes)), classes))
    params = dict(tasks=tasks, classes_per_task=classes_per_task, features=features, examples=examples,
                  test_examples=test_examples, spread=spread, seed=seed, scenario=kind.value)
    return Stream("synthetic", tuple(out), kind, (features,), params)
