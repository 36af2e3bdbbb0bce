"""The accuracy matrix and the lecture's metrics, as pure functions of it.

``R[i, j]`` is the accuracy on task j (0-based column) after training phase i, where row 0 is the
randomly initialised model and row i (1..T) follows task i. Formulas use the lecture's 1-based tasks:

- ACC = (1/T) sum_j R[T, j]
- BWT = (1/(T-1)) sum_{i<T} (R[T, i] - R[i, i])           (Lopez-Paz & Ranzato, arXiv 1706.08840)
- FWT = (1/(T-1)) sum_{i>=2} (R[i-1, i] - R[0, i])         (the lecture: random init as the reference)
- forgetting, intransigence: Chaudhry et al., arXiv 1801.10112, eqs. 7-9.

Metrics that need rows a matrix lacks (joint training has only rows 0 and T) are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AccuracyMatrix:
    """Accuracies in [0, 1]; ``rows_after[r]`` is the 1-based task after which row r was measured (0 = init)."""

    values: np.ndarray  # (rows, T)
    rows_after: tuple[int, ...]
    task_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or len(self.rows_after) != self.values.shape[0]:
            raise ValueError(f"matrix of shape {self.values.shape} with {len(self.rows_after)} row labels")

    @property
    def tasks(self) -> int:
        return int(self.values.shape[1])

    @property
    def is_full(self) -> bool:
        """Rows 0..T all present (a sequential run), so every metric is defined."""
        return self.rows_after == tuple(range(self.tasks + 1))

    def row(self, after: int) -> np.ndarray:
        return self.values[self.rows_after.index(after)]

    def to_list(self) -> list[list[float]]:
        return self.values.tolist()


def acc(m: AccuracyMatrix) -> float:
    """Average accuracy over all tasks after the last one: (1/T) sum_j R[T, j] (NaN before that row)."""
    if m.tasks not in m.rows_after:
        return math.nan
    return float(m.row(m.tasks).mean())


def bwt(m: AccuracyMatrix) -> float:
    """Backward transfer: (1/(T-1)) sum_{i<T} (R[T, i] - R[i, i]); negative means forgetting."""
    if not m.is_full or m.tasks < 2:
        return math.nan
    r, t = m.values, m.tasks
    return float(np.mean([r[t, i - 1] - r[i, i - 1] for i in range(1, t)]))


def fwt(m: AccuracyMatrix) -> float:
    """Forward transfer: (1/(T-1)) sum_{i>=2} (R[i-1, i] - R[0, i]); positive means earlier tasks help."""
    if not m.is_full or m.tasks < 2:
        return math.nan
    r, t = m.values, m.tasks
    # 1-based task i is column i-1; the row after task i-1 is row i-1.
    return float(np.mean([r[i - 1, i - 1] - r[0, i - 1] for i in range(2, t + 1)]))


def forgetting(m: AccuracyMatrix) -> float:
    """Average forgetting (Chaudhry et al. eq. 7-8): mean_{j<T} max_{l<T} R[l, j] - R[T, j].

    The max runs over rows 1..T-1 (after each earlier task), so a task never trained well counts
    as not forgotten. Entries not measured (NaN: a deployed model cannot know R[l, j] before task j
    is near) are left out of the max.
    """
    if not m.is_full or m.tasks < 2:
        return math.nan
    r, t = m.values, m.tasks
    return float(np.mean([np.nanmax(r[1:t, j]) - r[t, j] for j in range(t - 1)]))


def learning_accuracy(m: AccuracyMatrix) -> float:
    """Mean accuracy on each task right after learning it: (1/T) sum_i R[i, i]."""
    if not m.is_full:
        return math.nan
    return float(np.mean([m.values[i, i - 1] for i in range(1, m.tasks + 1)]))


def seen_so_far(m: AccuracyMatrix) -> list[float]:
    """The homework's curve: after task i, the mean accuracy over tasks 1..i (one value per row >= 1)."""
    return [float(m.values[r, :after].mean()) for r, after in enumerate(m.rows_after) if after > 0]


def intransigence(m: AccuracyMatrix, reference: Sequence[float]) -> float:
    """Chaudhry et al. eq. 9: mean_k (a*_k - R[k, k]), with a*_k from a model trained on all data up to k.

    ``reference`` is the diagonal of the ``cumulative`` baseline's matrix on the same stream.
    """
    if not m.is_full or len(reference) != m.tasks:
        return math.nan
    return float(np.mean([reference[k - 1] - m.values[k, k - 1] for k in range(1, m.tasks + 1)]))


def summary(m: AccuracyMatrix) -> dict[str, float]:
    """Every metric that needs only the matrix."""
    return {"acc": acc(m), "bwt": bwt(m), "fwt": fwt(m), "forgetting": forgetting(m),
            "learning_accuracy": learning_accuracy(m)}
