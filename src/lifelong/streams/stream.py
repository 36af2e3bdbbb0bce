"""A stream: the ordered tasks a learner meets, in one scenario."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from lifelong.errors import DataError
from lifelong.streams.scenario import Scenario
from lifelong.streams.task import Split, Task


class StreamError(DataError):
    """A stream's data are unusable (an empty task, labels out of range, NaN inputs)."""


@dataclass(frozen=True, eq=False)
class Stream:
    """Tasks in training order, the scenario they are learned in, and the shape of an input.

    Attributes:
        name: registry name or a user label; appears in results.
        tasks: in order; ``tasks[i].id == i``.
        scenario: decides heads and target spaces.
        input_shape: shape of one model input (``(784,)`` for flattened MNIST).
        params: the builder's arguments, recorded in every result.
        vocab: number of token ids when inputs are tokens (bAbI), else 0.
        label_space: the number of classes when declared up front (a user's named classes), so a
            class-incremental head has its final width before every class has appeared; 0: the
            classes the tasks hold.
        answer_tokens: for token streams whose answers are words (bAbI), each class's token id in the
            input vocabulary, 0 where the answer never occurs as an input word ("yes", a list such as
            "apple,football"); what a model needs to tie its answer layer to its word embedding. Empty
            otherwise.
    """

    name: str
    tasks: tuple[Task, ...]
    scenario: Scenario
    input_shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    vocab: int = 0
    label_space: int = 0
    answer_tokens: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.tasks:
            raise StreamError(f"stream {self.name!r} has no tasks")
        for i, task in enumerate(self.tasks):
            if task.id != i:
                raise StreamError(f"stream {self.name!r}: task at position {i} has id {task.id}")
            for split_name, split in (("train", task.train), ("test", task.test)):
                _check_split(self, task, split_name, split)
        if self.scenario is Scenario.DOMAIN and len({len(t.classes) for t in self.tasks}) != 1:
            raise StreamError(f"stream {self.name!r}: domain-incremental needs the same number of labels per task")

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __getitem__(self, i: int) -> Task:
        return self.tasks[i]

    @property
    def n_classes(self) -> int:
        return max(self.label_space, max(max(t.classes) for t in self.tasks) + 1)

    def reordered(self, order: Sequence[int]) -> Stream:
        """The same tasks in another order (for curriculum studies); ids are renumbered."""
        if sorted(order) != list(range(len(self.tasks))):
            raise StreamError(f"task order {list(order)} is not a permutation of 0..{len(self.tasks) - 1}")
        tasks = tuple(_with_id(self.tasks[j], i) for i, j in enumerate(order))
        return dataclasses.replace(self, tasks=tasks, params={**self.params, "order": list(order)})


def _with_id(task: Task, new_id: int) -> Task:
    return Task(new_id, task.name, task.train, task.test, task.classes, task.prepare)


def _check_split(stream: Stream, task: Task, split_name: str, split: Split) -> None:
    where = f"stream {stream.name!r}, task {task.id} ({task.name}), {split_name}"
    if len(split) == 0:
        raise StreamError(f"{where}: the task is empty")
    if len(split.x) != len(split.y):
        raise StreamError(f"{where}: {len(split.x)} inputs but {len(split.y)} targets")
    width = len(task.classes) if stream.scenario is not Scenario.CLASS else None
    lo, hi = int(split.y.min()), int(split.y.max())
    if lo < 0 or (width is not None and hi >= width):
        raise StreamError(f"{where}: targets span {lo}..{hi}, outside 0..{(width or 0) - 1}")
    if width is None and not set(split.y.unique().tolist()) <= set(task.classes):
        raise StreamError(f"{where}: class-incremental targets outside the task's classes {task.classes}")
    if split.x.is_floating_point() and not torch.isfinite(split.x).all():
        raise StreamError(f"{where}: inputs contain NaN or infinity")
