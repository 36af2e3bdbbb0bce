"""PackNet: pack several tasks into one network by iterative pruning (Mallya & Lazebnik, arXiv 1711.05769)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor
from torch.func import functional_call

from lifelong.errors import OptionError
from lifelong.methods.base import register
from lifelong.methods.expansion._common import all_batches, by_task
from lifelong.methods.expansion._owners import (
    FreeWeightsTraining,
    Freezer,
    is_weight,
    masked_layers,
    new_owners,
    prune_smallest,
    tensors,
    visible,
)
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario
from lifelong.streams.task import Task


@register("packnet", family="expansion")
@dataclass
class PackNet(FreeWeightsTraining):
    """Train on the free weights, prune by magnitude, retrain, freeze; each task owns a binary mask.

    After task k is trained on the weights still free (Sec. 3), the fraction ``prune`` of those with
    the smallest magnitude is set to zero and released for later tasks; the rest are retrained
    (through ``learner.fit``) and frozen as task k's. At test time task k computes with
    W ⊙ M_k, M_k = 1[owner ∈ {1..k}]: its own and earlier tasks' weights. Nothing a later task
    trains is visible to task k, so its outputs never change. As in the paper, biases train with
    the first task and stay fixed. A task-incremental head is private to its task; a shared
    (domain) head is masked like the hidden layers.

    State: ``owner_`` (per entry: 0 free, k = trained by the k-th task), ``trained_`` (task ids in
    training order), ``free_capacity_`` (fraction of weights still free after each task).
    """

    prune: float = 0.5  # fraction of a task's free weights released after it (the paper's pruning ratio)
    retrain_epochs: int = 1  # epochs of retraining after pruning
    lr: float = 1e-3  # retraining learning rate
    optimizer: Literal["adam", "sgd"] = "adam"  # retraining optimizer: adam or sgd
    batch_size: int = 128  # retraining batch size

    scenarios = frozenset({Scenario.TASK, Scenario.DOMAIN})
    grows = True
    uses_task_id_at_test = True
    paper = "arXiv 1711.05769, Sec. 3: prune p of the free weights by |w|, retrain, freeze; test with W ⊙ M_k"
    positive = ("lr", "batch_size")

    def __post_init__(self) -> None:
        if not 0.0 <= self.prune < 1.0:
            raise ValueError(f"packnet: prune must be in [0, 1), got {self.prune}")
        if self.retrain_epochs < 0:
            raise ValueError(f"packnet: retrain_epochs must be at least 0, got {self.retrain_epochs}")

    def setup(self, learner: Learner) -> None:
        self._layers = masked_layers(learner, self.name)
        self.owner_ = new_owners(self._layers)
        self.trained_: list[int] = []
        self.free_capacity_: list[float] = []

    def before_task(self, task: Task) -> None:
        params = tensors(self._layers)
        if not any(bool((self.owner_[k] == 0).any()) for k in params if is_weight(k)):
            raise OptionError(f"--method.prune: packnet has no free weights left for task {task.name!r}; raise "
                              "`prune` so that each task releases more, or use a wider model")
        self._freezer = Freezer(params, {k: self.owner_[k] == 0 for k in params})

    def after_task(self, task: Task) -> None:
        params = self._freezer.params
        mine = {k: self.owner_[k] == 0 for k in params}
        kept = {k: prune_smallest(p, mine[k], self.prune) if is_weight(k) else mine[k] for k, p in params.items()}
        with torch.no_grad():
            for k, p in params.items():
                p.masked_fill_(mine[k] & ~kept[k], 0.0)
        if self.retrain_epochs:
            self._freezer = Freezer(params, kept)
            learner = self.learner
            learner.fit(self.parameters(learner), all_batches(task, self.batch_size, self.retrain_epochs, self.rng),
                        lambda b: learner.loss(learner(b.x, b.task_ids), b.y), lr=self.lr,
                        optimizer=self.optimizer, after_step=self._freezer.restore)
        rank = len(self.trained_) + 1
        for k in params:
            self.owner_[k][kept[k]] = rank
        self.trained_.append(task.id)
        weights = [self.owner_[k] for k in params if is_weight(k)]
        self.free_capacity_.append(sum(int((o == 0).sum()) for o in weights) / sum(o.numel() for o in weights))

    def logits(self, x: Tensor, task_ids: Tensor) -> Tensor:
        """Each task's logits through its own mask; a task not trained yet sees the whole network."""
        return by_task(x, task_ids, self._task_logits)

    def _task_logits(self, x: Tensor, task_ids: Tensor, task: int) -> Tensor:
        if task not in self.trained_:
            out: Tensor = self.learner(x, task_ids)
            return out
        rank = self.trained_.index(task) + 1
        weights = {k: torch.where(visible(self.owner_[k], rank), p, 0.0) for k, p in tensors(self._layers).items()}
        masked: Tensor = functional_call(self.learner, weights, (x, task_ids))
        return masked

    def predict(self, x: Tensor, task_ids: Tensor) -> Tensor | None:
        return self.logits(x, task_ids).argmax(1)
