"""Sliced Cramér preservation (Kolouri et al., ICLR 2020, OpenReview BJge3TNKwH): importance from output slices."""

from __future__ import annotations

from dataclasses import dataclass

from lifelong.methods.base import register
from lifelong.methods.regularization._importance import Consolidation, sliced_sensitivity
from lifelong.streams.task import Task


@register("scp", family="regularization")
@dataclass
class SCP(Consolidation):
    """L(θ) = L_t(θ) + λ Σ_k Γ_k (θ_k − θ*_k)²,  Γ_k = (1/L) Σ_l (∂ ξ_lᵀ φ̄(θ) / ∂θ_k)²  (Alg. 1).

    Preserves the *distribution* of the network's outputs rather than the outputs themselves: the
    sliced Cramér distance between the output distributions before and after, expanded to second
    order around θ*, is a quadratic whose diagonal is Γ, with φ̄ the mean output over a batch of
    the finished task's training examples and ξ_l random unit directions (slices) in output space.
    Γ is averaged over the task's batches and summed over tasks; the anchor is the latest
    parameters. Slices come from the method's own generator.
    """

    lam: float = 1.0  # λ
    half: bool = False  # the homework's λ·Σ Γ(θ−θ*)², no ½
    slices: int = 100  # L, random directions ξ_l per batch
    batch_size: int = 128  # examples per mean output φ̄
    samples: int | None = None  # training examples used (None: all)

    paper = "OpenReview BJge3TNKwH (ICLR 2020), Alg. 1: Γ = (1/L) Σ_l (∇_θ ξ_lᵀ φ̄)², accumulated over tasks"
    positive = ("slices", "batch_size", "samples")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.slices < 1 or self.batch_size < 1:
            raise ValueError(f"slices (L) and batch_size must be at least 1, got {self.slices}, {self.batch_size}")

    def after_task(self, task: Task) -> None:
        new = sliced_sensitivity(self.learner, task, self.slices, self.batch_size, self.samples, self.rng)
        self.consolidate(self.accumulate(new), keep=False)
