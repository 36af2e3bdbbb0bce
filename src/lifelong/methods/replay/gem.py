"""Gradient episodic memory (Lopez-Paz & Ranzato, arXiv 1706.08840): never increase an old task's loss."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from lifelong.methods.base import Method, register
from lifelong.methods.replay import _buffer
from lifelong.methods.replay._qp import solve_box_qp
from lifelong.models.heads import TaskHeads
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario
from lifelong.streams.task import Batch, Task


@register("gem", family="replay")
@dataclass
class GEM(Method):
    """Project the batch gradient so that no earlier task's episodic-memory loss increases.

    Each step, with g the batch gradient and g_k the gradient of the loss on task k's episodic
    memory (k < t, each through its own head in task-incremental learning):

    - if g·g_k ≥ 0 for every k, the step uses g (eq. 7's constraints already hold);
    - otherwise it uses the closest g̃ to g with g̃·g_k ≥ 0 for all k (eq. 8–10), found from the
      dual (eq. 11–12): v* = argmin_{v ≥ γ} ½ vᵀGGᵀv + gᵀGᵀv, g̃ = Gᵀv* + g.

    γ and ε follow the authors' code, which produced every published number: γ (their "memory
    strength", biasing steps towards backward transfer) is a lower bound v ≥ γ where the paper's
    text adds γ to v*; ε·I is added to GGᵀ so the dual is strictly convex (it lets a constraint be
    missed by at most ε·v_k; ε = 0 is the exact projection). The dual is solved exactly by an
    active-set method with a projected-gradient fallback (``_qp``), so numerically collinear task
    gradients never stop the run; how many steps needed the fallback is kept in ``qp_counts_`` and
    warned about at the end of the task.

    Memory: ``memory`` samples per task, drawn uniformly from the task after it is trained (the
    paper keeps the last ones of a one-pass stream, the same distribution), or with ``budget`` an
    equal share of a fixed total (Hsu et al., arXiv 1810.12488). The memory gradients of all past
    tasks are computed at once with ``torch.func.vmap`` (one call, batched matrix products). In
    task-incremental learning each task's own head is picked from the heads stacked by task
    (``TaskHeads.stacked``), as the head's usual choice by task id is a branch vmap cannot batch;
    only tasks of unequal sizes or head widths are looped over.
    """

    memory: int = 256  # m, episodic memory per task
    budget: int | None = None  # total memory shared equally by the tasks seen (overrides m when smaller)
    margin: float = 0.5  # γ, lower bound on the dual variables
    eps: float = 1e-3  # ε, ridge added to GGᵀ

    paper = "arXiv 1706.08840, eq. 6-7 (constraints), 8-10 (projection), 11-12 (dual QP); γ, ε as the authors' code"

    def __post_init__(self) -> None:
        if self.memory < 0 or (self.budget is not None and self.budget < 0):
            raise ValueError("memory and budget must be at least 0")
        if self.eps < 0:
            raise ValueError(f"eps must be at least 0, got {self.eps}")

    def setup(self, learner: Learner) -> None:
        self.memory_ = _buffer.empty()
        # steps projected, solved by the fallback, left as g: host counters (no device read to count)
        self.qp_counts_ = torch.zeros(3, dtype=torch.long, device="cpu")
        self._groups: list[Batch] = []
        self._stacked: Batch | None = None
        self._head_tasks: list[int] = []  # task-IL: the stored tasks, in the order of the stacked heads
        self._counts_at_start = self.qp_counts_.clone()

    def before_task(self, task: Task) -> None:
        self._counts_at_start = self.qp_counts_.clone()
        self._groups = [_buffer.contents(self.memory_, rows) for _, rows in _buffer.groups(self.memory_)]
        self._stacked = None
        self._head_tasks = []
        if not self._groups or len({len(b) for b in self._groups}) != 1:
            return
        stacked = Batch(*(torch.stack([getattr(b, f) for b in self._groups]) for f in ("x", "y", "task_ids")))
        if self.learner.scenario is Scenario.TASK:
            tasks = [int(b.task_ids[0]) for b in self._groups]  # a group holds one task's samples
            if not isinstance(self.learner.head, TaskHeads) or self.learner.head.stacked(tasks, {}) is None:
                return
            self._head_tasks = tasks
            stacked = Batch(stacked.x, stacked.y, torch.eye(len(tasks), device=self.device))  # each group's head
        self._stacked = stacked

    def after_backward(self, batch: Batch) -> None:
        if not self._groups:
            return
        params = [p for p in self.learner.parameters() if p.requires_grad]
        memory_grads = self._memory_gradients(params)
        g = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        projected, status = project(g, memory_grads, self.margin, self.eps)
        if status == "none":
            return
        self.qp_counts_[0] += 1
        self.qp_counts_[1] += status == "fallback"
        self.qp_counts_[2] += status == "skipped"
        for p, new in zip(params, projected, strict=True):
            p.grad = new

    def after_task(self, task: Task) -> None:
        _buffer.add_task(self.memory_, task, self.memory, self.budget, self.rng)
        new = self.qp_counts_ - self._counts_at_start
        if int(new[1]) or int(new[2]):
            warnings.warn(f"GEM, task {task.id}: of {int(new[0])} projected steps, {int(new[1])} needed the "
                          f"projected-gradient fallback and {int(new[2])} were left unprojected (non-finite "
                          "gradients)", RuntimeWarning, stacklevel=2)

    def _memory_gradients(self, params: list[nn.Parameter]) -> list[Tensor]:
        """∇ℓ(f(·, k), M_k) for every stored task k: one (tasks, *shape) tensor per parameter."""
        if self._stacked is not None:
            names = [n for n, p in self.learner.named_parameters() if p.requires_grad]
            detached = {n: p.detach() for n, p in zip(names, params, strict=True)}

            def task_loss(weights: dict[str, Tensor], x: Tensor, y: Tensor, ids: Tensor) -> Tensor:
                if not self._head_tasks:
                    return self.learner.loss(functional_call(self.learner, weights, (x, ids)), y)
                return self.learner.loss(self._own_head_logits(weights, x, ids), y)

            grads = vmap(grad(task_loss), in_dims=(None, 0, 0, 0))(detached, *_fields(self._stacked))
            return [grads[n] for n in names]
        per_task = []
        for b in self._groups:
            loss = self.learner.loss(self.learner(b.x, b.task_ids), b.y)
            found = torch.autograd.grad(loss, params, allow_unused=True)
            per_task.append([torch.zeros_like(p) if d is None else d for p, d in zip(params, found, strict=True)])
        return [torch.stack(column) for column in zip(*per_task, strict=True)]

    def _own_head_logits(self, weights: dict[str, Tensor], x: Tensor, slot: Tensor) -> Tensor:
        """Task-IL logits of one stored task's samples through its own head, picked from the stacked heads
        by ``slot`` (one-hot over them: a product, where indexing or the head's own choice by task id
        would be data-dependent control flow, which vmap cannot batch)."""
        learner = self.learner
        assert isinstance(learner.head, TaskHeads)
        backbone = {n.removeprefix("backbone."): w for n, w in weights.items() if n.startswith("backbone.")}
        head = {n.removeprefix("head."): w for n, w in weights.items() if n.startswith("head.")}
        stacked = learner.head.stacked(self._head_tasks, head)
        assert stacked is not None
        weight, bias = stacked
        features = functional_call(learner.backbone, backbone, (x,))
        return features @ torch.tensordot(slot, weight, dims=1).T + slot @ bias


def project(g: Sequence[Tensor], memory_grads: Sequence[Tensor], margin: float = 0.0,
            eps: float = 0.0) -> tuple[list[Tensor], str]:
    """GEM's projection of a gradient given as pieces (one per parameter), the memory gradients
    as matching (tasks, *shape) pieces. Returns the new pieces and what happened: ``none`` (no
    conflict, g returned), ``exact``, ``fallback`` (projected-gradient dual) or ``skipped``."""
    flat = [m.flatten(1) for m in memory_grads]
    dots = sum(m @ gi.flatten() for m, gi in zip(flat, g, strict=True))
    assert isinstance(dots, Tensor)
    if not bool((dots < 0).any()):
        return list(g), "none"
    gram = sum(m.double() @ m.double().T for m in flat)
    assert isinstance(gram, Tensor)
    # The dual has one variable per earlier task: solved on the host, where its many small steps do not wait
    # for the device (the one read GEM must make per step: whether any constraint is violated, above).
    gram = gram.cpu()
    ridge = eps * torch.eye(len(gram), dtype=gram.dtype, device="cpu")
    solution = solve_box_qp(gram + ridge, dots.double().cpu(), margin)
    if not bool(torch.isfinite(solution.v).all()):
        return list(g), "skipped"
    v = solution.v.to(g[0].device, g[0].dtype)
    return ([gi + torch.tensordot(v, m, dims=1) for gi, m in zip(g, memory_grads, strict=True)],
            "exact" if solution.exact else "fallback")


def _fields(batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
    return batch.x, batch.y, batch.task_ids
