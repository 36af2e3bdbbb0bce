"""Rotated MNIST (each task rotates every digit by a fixed angle; used in GEM, arXiv 1706.08840).

A rotation with bilinear interpolation is a fixed linear map on pixels, so it is precomputed as a
4-tap :class:`PixelMap` and applied per batch: the tasks share one copy of MNIST.
"""

from __future__ import annotations

import math

import torch

from lifelong._registry import STREAMS
from lifelong.streams._mnist_tasks import make_task, mnist, pipeline, select, subsample
from lifelong.streams.scenario import Scenario, ScenarioName
from lifelong.streams.stream import Stream
from lifelong.streams.task import PixelMap


def rotation_map(degrees: float, side: int = 28) -> PixelMap | None:
    """Bilinear rotation by ``degrees`` (counter-clockwise) about the image centre; None for 0 degrees.

    For every output pixel the inverse rotation gives a source point; its four neighbours and their
    bilinear weights form the map. Neighbours outside the image get weight 0 (black border).
    """
    if degrees % 360 == 0:
        return None
    theta = math.radians(degrees)
    centre = (side - 1) / 2
    rows, cols = torch.meshgrid(torch.arange(side, dtype=torch.float64), torch.arange(side, dtype=torch.float64),
                                indexing="ij")
    dy, dx = rows - centre, cols - centre
    # inverse rotation (image rows grow downwards, so a visual counter-clockwise turn flips the sign)
    src_x = math.cos(theta) * dx - math.sin(theta) * dy + centre
    src_y = math.sin(theta) * dx + math.cos(theta) * dy + centre
    x0, y0 = src_x.floor(), src_y.floor()
    fx, fy = src_x - x0, src_y - y0
    taps = []
    weights = []
    for oy, ox, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        ty, tx = y0 + oy, x0 + ox
        inside = (ty >= 0) & (ty < side) & (tx >= 0) & (tx < side)
        taps.append(torch.where(inside, ty * side + tx, torch.zeros_like(tx)).long().flatten())
        weights.append(torch.where(inside, w, torch.zeros_like(w)).float().flatten())
    return PixelMap(torch.stack(taps, 1), torch.stack(weights, 1))


@STREAMS.register("rotated-mnist", family="mnist")
def rotated_mnist(
    angles: tuple[float, ...] = (0.0, 20.0, 40.0, 60.0, 80.0),
    seed: int = 0,
    scenario: ScenarioName = "domain",
    examples: int | None = None,
    normalize: bool = False,
    root: str | None = None,
) -> Stream:
    """MNIST rotated by a fixed angle per task (default 0/20/40/60/80 degrees, the lecture's homework).

    Args:
        angles: one task per angle, in degrees.
        seed: draws any subsample.
        scenario: ``domain``, ``task`` or ``class`` (10 classes per task).
        examples: training examples per task; None for all 60,000.
        normalize: standardise with MNIST's mean and std before rotating.
        root: a directory with MNIST files instead of the default source.
    """
    if not angles or not all(math.isfinite(a) for a in angles):
        raise ValueError(f"rotated-mnist needs one or more finite angles, got {list(angles)}")
    kind = Scenario.parse(scenario)
    data = mnist(root)
    generator = torch.Generator().manual_seed(seed + 1)
    out = []
    for t, angle in enumerate(angles):
        classes = tuple(range(10 * t, 10 * t + 10)) if kind is Scenario.CLASS else tuple(range(10))
        train = select(data.x_train, data.y_train, subsample(len(data.y_train), examples, generator))
        out.append(make_task(t, f"rot-{angle:g}", kind, train, (data.x_test, data.y_test), classes,
                             pipeline(normalize, rotation_map(angle))))
    params = dict(angles=list(angles), seed=seed, scenario=kind.value, examples=examples, normalize=normalize)
    return Stream("rotated-mnist", tuple(out), kind, (784,), params)
