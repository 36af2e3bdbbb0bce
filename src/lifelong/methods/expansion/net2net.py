"""Net2Net: function-preserving widening when a task needs more capacity (Chen et al., arXiv 1511.05641)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from lifelong.methods.base import Method, Phase, register
from lifelong.methods.expansion._common import (
    HeldOutPhases,
    accuracy,
    all_batches,
    consumers,
    linears,
    mlp_of,
    replace_linear,
    resize_to,
    sync_widths,
)
from lifelong.models.learner import Learner
from lifelong.streams.stream import Stream
from lifelong.streams.task import Task


def net2wider(learner: Learner, layer: int, width: int, noise: float, rng: torch.Generator) -> None:
    """Net2WiderNet (Sec. 2.2, eq. 6-7) on hidden layer ``layer`` of the learner's MLP.

    With g(j) = j for the old units and a uniformly drawn old unit for each new one, the layer's
    weights become W'[j] = W[g(j)], b'[j] = b[g(j)] and every reading layer's U'[:, j] =
    U[:, g(j)] / |{x : g(x) = g(j)}|: each replicated unit's outgoing weight is shared among its
    copies, so the function is unchanged. ``noise`` > 0 then adds N(0, (noise · std U)²) to the
    copies' outgoing weights to break their symmetry.
    """
    mlp = mlp_of(learner, "net2net")
    target = linears(mlp)[layer]
    old = target.out_features
    if width <= old:
        raise ValueError(f"net2wider: new width {width} must exceed the current {old}")
    g = torch.cat([torch.arange(old, device="cpu"), torch.randint(old, (width - old,), generator=rng, device="cpu")])
    g = g.to(target.weight.device)
    copies = torch.bincount(g, minlength=old).to(target.weight.dtype)[g]
    replace_linear(target, target.weight.detach()[g], target.bias.detach()[g])
    for reader in consumers(learner, layer):
        weight = reader.weight.detach()
        widened = weight[:, g] / copies
        if noise > 0:
            jitter = torch.randn(weight.shape[0], width - old, generator=rng, dtype=weight.dtype,
                                 device="cpu").to(weight.device)
            widened[:, old:] += noise * weight.std() * jitter
        replace_linear(reader, widened, None)
    sync_widths(mlp)


@register("net2net", family="expansion")
@dataclass
class Net2Net(Method):
    """Sequential training that widens every hidden layer by Net2WiderNet when a task's target is missed.

    After the loop trains a task, the accuracy on a held-out slice of the task's training data is
    compared with ``target``; while it falls short (at most ``max_widenings`` times) each hidden layer
    grows by ``widen`` times its initial width through :func:`net2wider` (linear, not compounding,
    growth over a long stream), which keeps the function, and the whole network trains on the task
    again (``learner.fit``, ``epochs`` passes). Only capacity is added: nothing protects old tasks,
    as in the lecture's description of Net2Net as expansion on demand.

    State: ``widths_``/``base_widths_`` (hidden widths now / at the start), ``widenings_`` (per
    task), ``held_out_accuracy_`` (per task, after any widening).
    """

    target: float = 0.95  # accuracy target on held-out training data of the task
    widen: float = 0.5  # units added to each hidden layer per widening, as a fraction of its initial width
    max_widenings: int = 1  # widenings allowed per task
    noise: float = 0.01  # symmetry-breaking noise on the copies' outgoing weights, relative to their std
    epochs: int = 1  # training epochs after each widening
    holdout: float = 0.1  # fraction of each task's training examples held out to measure the target
    lr: float = 1e-3  # learning rate after widening
    optimizer: Literal["adam", "sgd"] = "adam"  # optimizer after widening: adam or sgd
    batch_size: int = 128  # batch size after widening

    grows = True
    paper = "arXiv 1511.05641, Sec. 2.2 (Net2WiderNet, eq. 6-7): copy units, divide outgoing weights, add noise"
    positive = ("widen", "epochs", "holdout", "lr", "batch_size")

    def __post_init__(self) -> None:
        if self.widen <= 0:
            raise ValueError(f"net2net: widen must be positive, got {self.widen}")
        if not 0.0 < self.holdout < 1.0:
            raise ValueError(f"net2net: holdout must be in (0, 1), got {self.holdout}")

    def setup(self, learner: Learner) -> None:
        self.widths_ = list(mlp_of(learner, self.name).hidden)
        self.base_widths_ = list(self.widths_)
        self.widenings_: list[int] = []
        self.held_out_accuracy_: list[float] = []

    def phases(self, stream: Stream) -> Sequence[Phase]:
        self._phases = HeldOutPhases(stream, self.holdout, self.rng)
        return self._phases

    def after_task(self, task: Task) -> None:
        learner = self.learner
        held_out = self._phases.held_out(task.id)
        score, widenings = accuracy(learner, held_out), 0
        while score < self.target and widenings < self.max_widenings:
            for layer, (width, base) in enumerate(zip(self.widths_, self.base_widths_, strict=True)):
                net2wider(learner, layer, width + max(1, math.ceil(self.widen * base)), self.noise, self.rng)
            self.widths_ = list(mlp_of(learner, self.name).hidden)
            learner.fit(learner.parameters(), all_batches(task, self.batch_size, self.epochs, self.rng),
                        lambda b: learner.loss(learner(b.x, b.task_ids), b.y), lr=self.lr, optimizer=self.optimizer)
            score, widenings = accuracy(learner, held_out), widenings + 1
        self.widenings_.append(widenings)
        self.held_out_accuracy_.append(score)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state and the widths it records, so the learner's saved weights can be loaded next."""
        super().load_state_dict(state)
        resize_to(self.learner, self.widths_)
