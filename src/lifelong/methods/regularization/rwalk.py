"""Riemannian walk (Chaudhry et al., arXiv 1801.10112): moving-average Fisher plus a KL-normalised path score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from lifelong.methods.base import register
from lifelong.methods.regularization._importance import (
    Consolidation,
    LinearTap,
    Params,
    PathIntegral,
    evaluation,
    fisher_terms,
    gradient_moments,
    minmax,
    snapshot,
    trainable,
    zeros_like,
)
from lifelong.models.learner import Learner
from lifelong.streams.task import Batch, Task


@register("rwalk", family="regularization")
@dataclass
class RWalk(Consolidation):
    """L̃^k(θ) = L^k(θ) + λ Σ_i (F_i^{t_{k−1}} + s_i^{t_{k−1}}) (θ_i − θ_i^{k−1})²  (arXiv 1801.10112, Sec. 4).

    - F: the EWC++ Fisher (Sec. 4.1), a moving average F ← α F_new + (1 − α) F updated every ``every``
      steps (the authors' ``fisher_update_after``), started from the very first step's estimate. A
      step's estimate is the per-example empirical Fisher of its mini-batch at its pre-step
      parameters (squared per-example gradients, never the squared batch gradient), read off the
      training step's own forward and backward (:class:`LinearTap`). ``fisher_steps`` says which steps
      make F_new: ``interval`` (default) the mean over every step of the interval, as the authors'
      code does (facebookresearch/agem ``model/model.py``: ``set_tmp_fisher`` adds each step's
      squared gradients, ``set_running_fisher`` folds in their sum / ``fisher_update_after``); a
      task's last, shorter interval is folded in too. ``last``: the interval's last step alone,
      one estimate per interval (cheaper; what this library did before). F carries over from task to
      task.
    - s: the path score (Sec. 4.2), Σ over intervals of ``every`` steps of
      max(0, Σ_steps −g Δθ) / (½ F (Δθ_interval)² + ε): the task-loss decrease credited to a
      parameter, normalised by the KL divergence ½ F Δθ² its move caused (the Riemannian distance).
      g is the task-loss gradient alone, as the authors' ``vanilla_gradients``.
    - Scores are averaged over tasks, s ← ½ (s + s_task) (Sec. 4.2), so old tasks neither dominate
      nor vanish; the anchor is the latest parameters.
    ``normalize`` scales F and s each to [0, 1] by their min and max before they are added, as the
    authors' released code does (facebookresearch/agem ``normalize_fisher_at_minima``,
    ``normalize_scores``); the paper does not mention it, so it is off by default.
    """

    lam: float = 1.0  # λ
    half: bool = False  # the paper writes λ·Σ (F + s)(θ−θ*)², no ½
    alpha: float = 0.9  # α, weight of the newest Fisher estimate in the moving average
    eps: float = 1e-3  # ε, in the score's denominator ½ F Δθ² + ε
    every: int = 10  # steps per Fisher update and per score interval
    normalize: bool = False  # min-max scale F and s to [0, 1] (the authors' code)
    fisher_steps: Literal["interval", "last"] = "interval"  # F_new: mean over the interval's steps | its last step

    paper = ("arXiv 1801.10112, Sec. 4: λ Σ (F + s)(θ − θ*)², F the EWC++ moving-average Fisher, "
             "s = Σ max(0, −gΔθ)/(½FΔθ² + ε) averaged over tasks")
    positive = ("alpha", "eps", "every")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha (α) must be in (0, 1], got {self.alpha}")
        if self.eps <= 0:
            raise ValueError(f"eps (ε) must be positive, got {self.eps}")
        if self.every < 1:
            raise ValueError(f"every must be at least 1, got {self.every}")
        if self.fisher_steps not in ("interval", "last"):
            raise ValueError(f"fisher_steps must be 'interval' or 'last', got {self.fisher_steps!r}")

    def setup(self, learner: Learner) -> None:
        super().setup(learner)
        self.fisher_: Params = {}  # F, moving average over the whole stream
        self.score_: Params = {}  # s, averaged over the finished tasks
        self.task_score_: Params = {}  # s of the current task so far
        self.window_: Params = {}  # Σ −g Δθ over the current interval
        self.mark_: Params = {}  # θ at the start of the current interval
        self.steps_ = 0  # steps of the current task
        self._path: PathIntegral | None = None
        self._tap: LinearTap | None = None
        self._estimate: Params | None = None  # F_new of the current interval: a sum over its estimated steps
        self._estimated = 0  # steps in that sum

    def before_task(self, task: Task) -> None:
        self.mark_ = snapshot(self.learner)
        self.task_score_ = zeros_like(self.mark_)
        self.window_ = zeros_like(self.mark_)
        self.steps_ = 0
        self._estimate, self._estimated = None, 0
        self._path = PathIntegral(self.learner)
        self._tap = LinearTap(self.learner, set(self.mark_))
        self._tap.armed = self._estimate_due()

    def after_backward(self, batch: Batch) -> None:
        if self._path is None:
            self._path = PathIntegral(self.learner)
        self._path.capture(self)
        if self._estimate_due():
            estimate = self._batch_fisher(batch)
            if self._estimate is None:
                self._estimate, self._estimated = estimate, 1
            else:
                for name, value in estimate.items():
                    self._estimate[name].add_(value)
                self._estimated += 1

    def after_step(self) -> None:
        assert self._path is not None and self._tap is not None
        self._path.step(self.window_)
        self.steps_ += 1
        if not self.fisher_ and self._estimate is not None:  # the very first step: start the average
            self.fisher_ = {name: v.clone() for name, v in self._estimate.items()}
            if self.fisher_steps == "last":
                self._estimate, self._estimated = None, 0
        if self.steps_ % self.every == 0:
            self._close_interval()
        self._tap.armed = self._estimate_due()

    def after_task(self, task: Task) -> None:
        if self._tap is not None:
            self._tap.remove()
            self._tap = None
        if self.steps_ % self.every:
            self._close_interval()
        s = self.task_score_ if not self.score_ else {n: (self.score_[n] + v) / 2 for n, v in self.task_score_.items()}
        self.score_ = s
        fisher = self.fisher_ or zeros_like(s)  # no step taken yet: no Fisher estimate either
        fisher, score = (minmax(fisher), minmax(s)) if self.normalize else (fisher, s)
        self.consolidate({n: fisher[n] + score[n] for n in score}, keep=False)

    def _close_interval(self) -> None:
        """Score the interval with the current F, then fold the newest Fisher estimate into F (in place)."""
        assert self._path is not None
        for name, p in trainable(self.learner).items():
            w, distance = self.window_[name], self._path.delta[name]  # the path's scratch is free here
            torch.sub(p.detach(), self.mark_[name], out=distance)
            distance.square_().mul_(self.fisher_[name]).mul_(0.5).add_(self.eps)  # ½ F Δθ² + ε
            self.task_score_[name].add_(w.div_(distance).clamp_(min=0))
            w.zero_()
            self.mark_[name].copy_(p.detach())
        if self._estimate is not None:
            for n, f in self.fisher_.items():
                f.mul_(1 - self.alpha).add_(self._estimate[n], alpha=self.alpha / self._estimated)
            self._estimate, self._estimated = None, 0

    def _estimate_due(self) -> bool:
        """Estimate the coming step's Fisher: every step with ``interval``; with ``last`` only when it ends
        an interval (or no Fisher exists yet)."""
        return self.fisher_steps == "interval" or not self.fisher_ or (self.steps_ + 1) % self.every == 0

    def _batch_fisher(self, batch: Batch) -> Params:
        """Empirical Fisher of one mini-batch from its per-example gradients, at the pre-step parameters.

        Linear layers come from the tap on the step just taken; anything else (or a layer the tap could
        not factor) from a separate vectorised estimate on the same batch.
        """
        out = {name: torch.zeros_like(p) for name, p in trainable(self.learner).items()}
        done = self._tap.fisher(len(batch), out) if self._tap is not None and self._tap.armed else set()
        rest = {name: v for name, v in out.items() if name not in done}
        if rest:
            with evaluation(self.learner):
                gradient_moments(self.learner, batch.x, batch.task_ids,
                                 fisher_terms(self.learner, batch, "empirical", self.rng), 2, rest)
            for v in rest.values():  # a sum over the batch; the tap's part is already a mean
                v.div_(len(batch))
        return out
