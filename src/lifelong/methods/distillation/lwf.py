"""Learning without forgetting (Li & Hoiem, arXiv 1606.09282): keep the old outputs on the new inputs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lifelong.methods.base import Method, register
from lifelong.methods.distillation import _distill
from lifelong.models.learner import Learner
from lifelong.streams.task import Batch, Task


@register("lwf", family="distillation")
@dataclass
class LwF(Method):
    """Distil the previous model's outputs on the new task's inputs while learning the new task.

    L = L_new(y, ŷ) + λ_o Σ_{k<t} L_old(y_o^k, ŷ_o^k)  (arXiv 1606.09282, Sec. 3, eq. 2 for L_old).

    y_o^k are the previous model's outputs for earlier task k on the *current* inputs, recorded
    before the task (here: the snapshot taken after the previous task, the same network), ŷ_o^k
    the current model's; L_old is knowledge distillation at temperature T (scaled by T²). Earlier
    tasks are each head of task-incremental learning, the shared head of domain-incremental, the
    units of earlier classes in class-incremental (``_distill``). The sum over the t−1 earlier
    tasks is written λ_o·(t−1)·mean: with λ_o = 1 the new and old terms weigh 1 : t−1, which under
    Adam gives the steps of van de Ven & Tolias's 1/t : 1−1/t weighting (arXiv 1904.07734; Adam
    ignores the loss's overall scale up to its ε and its running averages across a task boundary).
    """

    lam: float = 1.0  # λ_o, per earlier task
    temperature: float = 2.0  # T

    paper = "arXiv 1606.09282, Sec. 3 (L_old eq. 2, knowledge distillation at temperature T)"
    strength = "lam"
    positive = ("temperature",)

    def setup(self, learner: Learner) -> None:
        self.previous_: dict[str, Tensor] = {}
        self.earlier_tasks_ = torch.zeros(0, dtype=torch.long, device=self.device)
        self.earlier_classes_ = torch.zeros(0, dtype=torch.long, device=self.device)

    def penalty(self, batch: Batch, logits: Tensor) -> Tensor | None:
        if not self.previous_ or self.lam == 0:
            return None
        scenario = self.learner.scenario
        x, ids = _distill.ask_earlier_tasks(batch.x, batch.task_ids, self.earlier_tasks_, scenario)
        current = logits if x is batch.x else self.learner(x, ids)
        target = _distill.previous_logits(self.learner, self.previous_, x, ids,
                                          _distill.old_class_ids(self.earlier_classes_, scenario))
        loss = _distill.distillation_loss(current, target, self.temperature)
        return self.lam * len(self.earlier_tasks_) * loss

    def after_task(self, task: Task) -> None:
        self.previous_ = _distill.snapshot(self.learner)
        self.earlier_tasks_ = torch.cat([self.earlier_tasks_, torch.tensor([task.id], device=self.device)])
        self.earlier_classes_ = torch.cat([self.earlier_classes_, torch.tensor(task.classes, device=self.device)])
