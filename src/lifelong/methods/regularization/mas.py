"""Memory aware synapses (Aljundi et al., arXiv 1711.09601): importance = sensitivity of the output norm."""

from __future__ import annotations

from dataclasses import dataclass

from lifelong.methods.base import register
from lifelong.methods.regularization._importance import Consolidation, output_sensitivity
from lifelong.streams.task import Task


@register("mas", family="regularization")
@dataclass
class MAS(Consolidation):
    """L(θ) = L_n(θ) + λ Σ_i Ω_i (θ_i − θ*_i)²  with  Ω_i = (1/N) Σ_k |∂ ℓ²₂(F(x_k; θ)) / ∂θ_i|.

    arXiv 1711.09601, eqs. 2-4: the per-example absolute gradient of the squared L2 norm of the
    network's output (the logits), averaged over the finished task's training examples; Ω is
    accumulated (summed) over tasks and the anchor is the latest parameters (Sec. 4). No label is
    read, so the importance can be estimated on unlabelled data.
    """

    lam: float = 1.0  # λ
    half: bool = False  # the paper writes λ·Σ Ω(θ−θ*)², no ½
    samples: int | None = None  # N: training examples Ω averages over (None: all)

    paper = "arXiv 1711.09601, eqs. 2-4 (Ω from |∂||F(x)||²/∂θ| per example, accumulated over tasks)"
    positive = ("samples",)

    def after_task(self, task: Task) -> None:
        self.consolidate(self.accumulate(output_sensitivity(self.learner, task, self.samples, self.rng)), keep=False)
