"""A task: training and test examples plus the on-the-fly input transform that defines it.

A task never copies its inputs: permuted and rotated tasks share one uint8 MNIST tensor and carry
an index map applied to each batch as it is drawn. Inputs are returned as float32 in the stream's
normalisation; targets are already in the scenario's target space (see ``scenario.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PixelMap:
    """A fixed linear resampling of flattened pixels: out[:, p] = sum_k weight[p, k] * x[:, index[p, k]].

    A permutation is the special case of one tap with weight 1; a rotation with bilinear
    interpolation uses four taps. Precomputing the map makes the transform a single gather.
    """

    index: torch.Tensor  # (P, K) int64
    weight: torch.Tensor | None = None  # (P, K) float32; None means K == 1 and weight 1

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight is None:
            return x[:, self.index[:, 0]]
        return (x[:, self.index] * self.weight).sum(-1)


@dataclass(frozen=True)
class Split:
    """Examples of one split of one task: inputs stored raw (often shared), targets mapped."""

    x: torch.Tensor  # (N, ...) raw storage, uint8 or float
    y: torch.Tensor  # (N,) int64 targets in the scenario's space

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class ImagePipeline:
    """Stored uint8 images -> model inputs: zero-pad, flatten, ``x * scale - shift``, then the pixel map.

    ``scale`` and ``shift`` fold the [0, 1] scaling and the optional mean/std normalisation into
    one fused operation on the batch. ``pad`` adds that many black pixels on each side of the
    (square) image before normalising, as codes that feed 32×32 MNIST to their networks do.
    """

    scale: float = 1.0 / 255.0
    shift: float = 0.0
    pixel_map: PixelMap | None = None
    pad: int = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad:
            side = math.isqrt(x[0].numel())
            x = torch.nn.functional.pad(x.reshape(len(x), side, side), (self.pad,) * 4)
        out = x.reshape(len(x), -1).float().mul_(self.scale)
        if self.shift:
            out.sub_(self.shift)
        return out if self.pixel_map is None else self.pixel_map(out)


@dataclass(frozen=True, eq=False)
class Task:
    """One task of a stream.

    Attributes:
        id: position in the stream (0-based), the task id given to task-incremental heads.
        name: human-readable, e.g. ``"perm-3"`` or ``"digits 4,5"``.
        train, test: the examples; ``x`` may be storage shared with other tasks.
        classes: global class ids of this task's labels (``classes[target]`` for task/domain targets).
        prepare: stored inputs -> model inputs, applied to each drawn batch (scaling, permutation,
            rotation); ``None`` when the stored inputs are already model inputs (token ids, floats).
    """

    id: int
    name: str
    train: Split
    test: Split
    classes: tuple[int, ...]
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Stored inputs -> model inputs."""
        return x if self.prepare is None else self.prepare(x)


@dataclass(frozen=True)
class Batch:
    """What one training step sees: model inputs, targets in the scenario's space, each sample's task id.

    Methods that replay return a *new* Batch (see :meth:`concat`); they never edit the tensors of
    the one they were given.
    """

    x: torch.Tensor
    y: torch.Tensor
    task_ids: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    @staticmethod
    def concat(batches: list[Batch]) -> Batch:
        return Batch(torch.cat([b.x for b in batches]), torch.cat([b.y for b in batches]),
                     torch.cat([b.task_ids for b in batches]))


def train_batch(task: Task, index: torch.Tensor) -> Batch:
    """The task's training examples at ``index`` (on any device), prepared for the model, on the data's device."""
    device = task.train.y.device
    index = index.to(device)
    return Batch(task.inputs(task.train.x[index]), task.train.y[index],
                 torch.full((len(index),), task.id, dtype=torch.long, device=device))


def eval_batch(task: Task) -> Batch:
    """The task's whole test set, prepared for the model."""
    return Batch(task.inputs(task.test.x), task.test.y,
                 torch.full((len(task.test),), task.id, dtype=torch.long, device=task.test.y.device))
