"""Experience replay: a fixed budget of stored samples, mixed into every training batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lifelong.methods.base import Method, register
from lifelong.methods.replay import _buffer
from lifelong.models.learner import Learner
from lifelong.streams.task import Batch, Task

POLICIES = ("reservoir", "balanced", "task")


@register("er", family="replay")
@dataclass
class ER(Method):
    """Each step trains on the incoming batch plus samples replayed from a memory of fixed budget.

    The step's batch is B_t ∪ B_M, ``replay_batch`` samples drawn uniformly from the memory M
    (Chaudhry et al., arXiv 1902.10486, Alg. 1: the loss is the mean cross-entropy over both; M is
    sampled *before* the incoming batch is written).

    ``policy`` decides what M holds, never more than ``memory`` samples:

    - ``reservoir`` (the paper's Alg. 3): every sample seen so far is in M with probability |M|/n,
      updated online, so M includes the task being learned;
    - ``balanced``: the budget is shared equally by the (task, label) classes seen so far (a class
      with fewer samples keeps them all), reservoir sampling within each class; also online;
    - ``task``: after each task a uniform random subset of it is stored and earlier tasks are cut
      to equal shares, so only earlier tasks are replayed: Hsu et al.'s "naive rehearsal"
      (arXiv 1810.12488, Sec. 4), whose 1:1 old:new data ratio is ``replay_batch = None``.

    M stores prepared inputs with their targets and task ids, so permuted tasks replay permuted and
    task-incremental heads pick each replayed sample's own head.
    """

    memory: int = 1000  # |M|, samples stored in total
    policy: Literal["reservoir", "balanced", "task"] = "reservoir"  # reservoir | balanced | task
    replay_batch: int | None = None  # |B_M|, replayed samples per step (None: as many as the incoming batch)

    paper = "arXiv 1902.10486, Alg. 1 (ER) with reservoir sampling (Alg. 3); balanced and task-end variants"
    positive = ("replay_batch",)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown replay policy {self.policy!r}; valid: {', '.join(POLICIES)}")
        if self.memory < 0:
            raise ValueError(f"memory must be at least 0, got {self.memory}")

    def setup(self, learner: Learner) -> None:
        self.memory_ = _buffer.empty()

    def batch(self, batch: Batch) -> Batch:
        replayed = _buffer.sample(self.memory_, self.replay_batch or len(batch), self.rng)
        if self.policy == "reservoir":
            _buffer.reservoir_add(self.memory_, batch, self.memory, self.rng)
        elif self.policy == "balanced":
            group = (batch.task_ids << 32) | batch.y  # a class is a (task, label) pair in every scenario
            _buffer.balanced_add(self.memory_, batch, group, self.memory, self.rng)
        return batch if replayed is None else Batch.concat([batch, replayed])

    def after_task(self, task: Task) -> None:
        if self.policy == "task":
            _buffer.add_task(self.memory_, task, per_task=None, budget=self.memory, generator=self.rng)
