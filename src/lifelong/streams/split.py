"""Split MNIST (Zenke et al., arXiv 1703.04200): the ten digits in five tasks of two.

Task-incremental: a 2-way head per task. Domain-incremental: one 2-way head ("first or second digit
of the pair"). Class-incremental: one 10-way head over the digits themselves.
"""

from __future__ import annotations

from typing import Literal

import torch

from lifelong._registry import STREAMS
from lifelong.streams._mnist_tasks import make_task, mnist, pipeline, subsample
from lifelong.streams.scenario import Scenario, ScenarioName
from lifelong.streams.stream import Stream


@STREAMS.register("split-mnist", family="mnist")
def split_mnist(
    tasks: int = 5,
    seed: int = 0,
    scenario: ScenarioName = "task",
    class_order: Literal["fixed", "random"] = "fixed",
    examples: int | None = None,
    normalize: bool = False,
    pad: int = 0,
    root: str | None = None,
) -> Stream:
    """The digits split into ``tasks`` groups of ``10 // tasks``.

    Args:
        tasks: number of tasks (5 gives the standard pairs 0/1, 2/3, ...).
        seed: draws the class order when ``class_order="random"`` and any subsample.
        scenario: ``task``, ``domain`` or ``class``.
        class_order: ``fixed`` (0..9, Hsu et al.) or ``random`` (redrawn per seed, van de Ven & Tolias).
        examples: training examples per task; None for all of the task's digits.
        normalize: standardise with MNIST's mean and std (over the padded image when ``pad``).
        pad: black pixels added on each side (2 gives the 32×32 inputs of Hsu et al.'s code).
        root: a directory with MNIST files instead of the default source.
    """
    if tasks < 1 or 10 % tasks:
        raise ValueError(f"split-mnist needs a number of tasks that divides 10, got {tasks}")
    if class_order not in ("fixed", "random"):
        raise ValueError(f"class_order must be 'fixed' or 'random', got {class_order!r}")
    kind = Scenario.parse(scenario)
    data = mnist(root)
    generator = torch.Generator().manual_seed(seed)
    order = torch.arange(10) if class_order == "fixed" else torch.randperm(10, generator=generator)
    per_task = 10 // tasks
    prepare = pipeline(normalize, pad=pad)
    out = []
    for t in range(tasks):
        digits = tuple(int(d) for d in order[t * per_task:(t + 1) * per_task])
        train = _digits(digits, data.x_train, data.y_train, examples, generator)
        test = _digits(digits, data.x_test, data.y_test, None, generator)
        out.append(make_task(t, "digits " + ",".join(map(str, digits)), kind, train, test, digits, prepare))
    params = dict(tasks=tasks, seed=seed, scenario=kind.value, class_order=class_order, examples=examples,
                  normalize=normalize, order=order.tolist())
    if pad:  # recorded only when used, so runs stored before the option existed keep their ids
        params["pad"] = pad
    return Stream("split-mnist", tuple(out), kind, ((28 + 2 * pad) ** 2,), params)


def _digits(
    digits: tuple[int, ...], x: torch.Tensor, y: torch.Tensor, limit: int | None, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The examples of ``digits`` (optionally ``limit`` of them), labelled by position in ``digits``."""
    lookup = torch.full((10,), -1, dtype=torch.long)
    lookup[list(digits)] = torch.arange(len(digits))
    index = torch.nonzero(lookup[y] >= 0).squeeze(1)
    chosen = subsample(len(index), limit, generator)
    index = index if chosen is None else index[chosen]
    return x[index], lookup[y[index]]
