"""Averaged GEM (Chaudhry et al., arXiv 1812.00420): one constraint, on the average episodic-memory loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lifelong.methods.base import Method, register
from lifelong.methods.replay import _buffer
from lifelong.models.learner import Learner
from lifelong.streams.task import Batch, Task


@register("agem", family="replay")
@dataclass
class AGEM(Method):
    """Project the batch gradient when it would increase the average loss on the episodic memory.

    Each step draws a reference batch from the episodic memory of all earlier tasks and takes its
    gradient g_ref (every sample through its own task's head). The batch gradient g is used
    unless it increases that loss (gᵀg_ref < 0); then it is projected (eq. 11):

        g̃ = g − (gᵀg_ref / g_refᵀg_ref) g_ref,   so that g̃ᵀg_ref = 0.

    Memory as in GEM: ``memory`` samples per task, drawn uniformly after the task (or an equal
    share of ``budget``). The reference gradient is one extra forward/backward of ``reference``
    samples per step; the projection works parameter by parameter, with no flattening.
    """

    memory: int = 250  # samples per task in the episodic memory
    budget: int | None = None  # total memory shared equally by the tasks seen (overrides memory when smaller)
    reference: int = 256  # |B_ref|, memory samples behind g_ref

    paper = "arXiv 1812.00420, eq. 10-11 (the A-GEM constraint and projection), Alg. 1"
    positive = ("reference",)

    def __post_init__(self) -> None:
        if self.memory < 0 or self.reference < 1 or (self.budget is not None and self.budget < 0):
            raise ValueError("memory and budget must be at least 0, reference at least 1")

    def setup(self, learner: Learner) -> None:
        self.memory_ = _buffer.empty()
        self.projections_ = torch.zeros((), dtype=torch.long, device="cpu")  # a host counter

    def after_backward(self, batch: Batch) -> None:
        ref = _buffer.sample(self.memory_, self.reference, self.rng)
        if ref is None:
            return
        params = [p for p in self.learner.parameters() if p.requires_grad]
        loss = self.learner.loss(self.learner(ref.x, ref.task_ids), ref.y)
        found = torch.autograd.grad(loss, params, allow_unused=True)
        g = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        g_ref = [torch.zeros_like(p) if r is None else r for p, r in zip(params, found, strict=True)]
        projected = project(g, g_ref)
        if projected is g:
            return
        self.projections_ += 1
        for p, new in zip(params, projected, strict=True):
            p.grad = new

    def after_task(self, task: Task) -> None:
        _buffer.add_task(self.memory_, task, self.memory, self.budget, self.rng)


def project(g: list[Tensor], g_ref: list[Tensor]) -> list[Tensor]:
    """Eq. 11 on gradients given as pieces: ``g`` itself when gᵀg_ref ≥ 0 (or g_ref = 0)."""
    dot = torch.stack([(a * b).sum() for a, b in zip(g, g_ref, strict=True)]).sum()
    norm = torch.stack([(b * b).sum() for b in g_ref]).sum()
    if not bool(dot < 0) or not bool(norm > 0):
        return g
    scale = dot / norm
    return [a - scale * b for a, b in zip(g, g_ref, strict=True)]
