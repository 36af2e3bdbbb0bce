"""Online EWC (Schwarz et al., Progress & Compress, arXiv 1805.06370): one running Fisher with decay γ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lifelong.methods.base import register
from lifelong.methods.regularization._importance import FISHER_KINDS, Consolidation, Params, fisher_diagonal
from lifelong.models.learner import Learner
from lifelong.streams.task import Task


@register("online-ewc", family="regularization")
@dataclass
class OnlineEWC(Consolidation):
    """(λ/2)·||θ − θ*_{i−1}||²_{γ F*_{i−1}} with F*_i = γ F*_{i−1} + F_i  (arXiv 1805.06370, online EWC).

    A single anchor (the parameters after the latest task) and a single running Fisher, so memory
    and cost stay constant however many tasks pass; γ < 1 lets old tasks fade. F_i is the same
    per-example diagonal Fisher as :class:`~lifelong.methods.regularization.ewc.EWC` (``fisher``
    chooses which; ``true`` by default for the same reason).
    """

    lam: float = 100.0  # λ
    half: bool = True  # ½ of the paper's (λ/2)
    gamma: float = 1.0  # γ, decay of the running Fisher
    fisher: Literal["true", "sample", "predicted", "empirical"] = "true"  # F: true | sample | predicted | empirical
    samples: int | None = None  # N: training examples the Fisher averages over (None: all)

    paper = "arXiv 1805.06370, online EWC: (λ/2)||θ − θ*||²_{γF*}, F* ← γF* + F (one anchor, one running Fisher)"
    positive = ("samples",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fisher not in FISHER_KINDS:
            raise ValueError(f"unknown Fisher kind {self.fisher!r}; valid: {', '.join(FISHER_KINDS)}")
        if not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma (γ) must be in [0, 1], got {self.gamma}")

    def setup(self, learner: Learner) -> None:
        super().setup(learner)
        self.running_: Params = {}

    def after_task(self, task: Task) -> None:
        new = fisher_diagonal(self.learner, task, self.fisher, self.samples, self.rng)
        self.running_ = {n: self.gamma * self.running_[n] + f if self.running_ else f for n, f in new.items()}
        self.consolidate({n: self.gamma * f for n, f in self.running_.items()}, keep=False)
