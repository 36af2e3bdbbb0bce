"""L2: every parameter equally important, b_i = 1 (the lecture's intransigence example)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lifelong.methods.base import register
from lifelong.methods.regularization._importance import Consolidation, snapshot
from lifelong.streams.task import Task


@register("l2", family="regularization")
@dataclass
class L2(Consolidation):
    """λ·Σ_i (θ_i − θ*_i)² with θ* the parameters after the latest task.

    The lecture's L'(θ) = L(θ) + λ Σ_i b_i (θ_i − θ_i^b)² with b_i = 1: every parameter is held
    back equally, so a large λ freezes the network where the first task left it (intransigence)
    and λ = 0 is plain finetuning. Hsu et al. (arXiv 1810.12488) use it as a baseline (Table B).
    """

    lam: float = 1.0  # λ
    half: bool = False  # ½ in front of λ? (the lecture and Hsu et al. write none)

    paper = "the lecture's L'(θ) = L(θ) + λ Σ b_i (θ_i − θ_i^b)² with b_i = 1; arXiv 1810.12488 (L2 baseline)"

    def after_task(self, task: Task) -> None:
        self.consolidate({name: torch.ones_like(p) for name, p in snapshot(self.learner).items()}, keep=False)
