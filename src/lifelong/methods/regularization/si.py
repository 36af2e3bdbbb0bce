"""Synaptic intelligence (Zenke, Poole & Ganguli, arXiv 1703.04200): importance from the path integral."""

from __future__ import annotations

from dataclasses import dataclass

from lifelong.methods.base import register
from lifelong.methods.regularization._importance import Consolidation, Params, PathIntegral, snapshot, zeros_like
from lifelong.models.learner import Learner
from lifelong.streams.task import Batch, Task


@register("si", family="regularization")
@dataclass
class SI(Consolidation):
    """L̃_μ = L_μ + c Σ_k Ω_k^μ (θ̃_k − θ_k)²,  Ω_k^μ = Σ_{ν<μ} ω_k^ν / ((Δ_k^ν)² + ξ)  (arXiv 1703.04200, eqs. 4-5).

    ω_k^ν = Σ_steps −g_k Δθ_k accumulates every optimizer step of task ν (eq. 3), with g the
    gradient of the task loss alone (the penalty's own gradient is subtracted, as the authors'
    ``unreg_grads``); Δ_k^ν is the parameter's total change over task ν. Ω is summed over tasks
    and the anchor is the latest parameters. As in the authors' code (ganguli-lab/pathint,
    ``PATH_INT_PROTOCOL``), Ω is clipped at zero: a negative importance would push a parameter away
    from its anchor.
    """

    lam: float = 1.0  # c
    half: bool = False  # the paper writes c·Σ Ω(θ̃−θ)², no ½
    xi: float = 0.1  # ξ, damping of the normalisation (Δ)² + ξ

    paper = "arXiv 1703.04200, eqs. 3-5 (path integral ω, Ω = Σ ω/(Δ² + ξ), surrogate loss c·Σ Ω(θ̃−θ)²)"
    positive = ("xi",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.xi <= 0:
            raise ValueError(f"xi (ξ) must be positive, got {self.xi}")

    def setup(self, learner: Learner) -> None:
        super().setup(learner)
        self.omega_: Params = {}  # ω of the current task
        self.start_: Params = {}  # θ at the start of the current task
        self._path: PathIntegral | None = None

    def before_task(self, task: Task) -> None:
        self.start_ = snapshot(self.learner)
        self.omega_ = zeros_like(self.start_)
        self._path = PathIntegral(self.learner)

    def after_backward(self, batch: Batch) -> None:
        if self._path is None:
            self._path = PathIntegral(self.learner)
        self._path.capture(self)

    def after_step(self) -> None:
        assert self._path is not None
        self._path.step(self.omega_)

    def after_task(self, task: Task) -> None:
        now = snapshot(self.learner)
        new = {n: w / ((now[n] - self.start_[n]).square() + self.xi) for n, w in self.omega_.items()}
        self.consolidate({n: b.clamp_min(0) for n, b in self.accumulate(new).items()}, keep=False)
