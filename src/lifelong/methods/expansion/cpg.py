"""CPG: Compacting, Picking and Growing for unforgetting continual learning (Hung et al., arXiv 1910.06562)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.utils import parametrize

from lifelong.methods.base import Phase, register
from lifelong.methods.expansion._common import (
    HeldOutPhases,
    accuracy,
    add_units,
    all_batches,
    by_task,
    head_linears,
    linears,
    mlp_of,
    resize_to,
)
from lifelong.methods.expansion._owners import (
    FreeWeightsTraining,
    Freezer,
    is_weight,
    masked_layers,
    new_owners,
    prune_smallest,
    raw,
    tensors,
    visible,
)
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario
from lifelong.streams.stream import Stream
from lifelong.streams.task import Task


class Pick(nn.Module):
    """Parametrization of a layer's weight: W -> where(old, W ⊙ m, W), m = 1[s > τ].

    The real-valued scores s are learned; the binary mask's gradient passes straight through to them
    (m = hard + s − stop_gradient(s)), as in the piggyback masks CPG picks old weights with.
    """

    old: Tensor

    def __init__(self, old: Tensor, scores: Tensor, threshold: float) -> None:
        super().__init__()
        self.register_buffer("old", old)
        self.scores = nn.Parameter(scores)
        self.threshold = threshold

    def picked(self) -> Tensor:
        return (self.scores > self.threshold) & self.old

    def forward(self, weight: Tensor) -> Tensor:
        hard = (self.scores > self.threshold).to(weight.dtype)
        return torch.where(self.old, weight * (hard + self.scores - self.scores.detach()), weight)


def _pick_of(layer: nn.Linear) -> Pick:
    """The picking parametrization of a layer's weight."""
    return cast(Pick, layer.parametrizations.weight[0])  # type: ignore[index, union-attr]


def _pad(t: Tensor, shape: torch.Size, value: float = 0) -> Tensor:
    """``t`` in the top-left corner of a tensor of ``shape`` filled with ``value`` (widths only grow)."""
    out = torch.full(shape, value, dtype=t.dtype, device=t.device)
    out[tuple(slice(0, s) for s in t.shape)] = t
    return out


@register("cpg", family="expansion")
@dataclass
class CPG(FreeWeightsTraining):
    """Compact by gradual pruning, pick old weights with a learned mask, grow when the goal is missed.

    Task k trains the free (released or new) weights together with a learnable mask that picks the
    earlier tasks' frozen weights it reuses (Sec. 3.2, "picking"): the layer computes with
    where(old, W ⊙ m_k, W). If the accuracy on a held-out slice of the task's training data misses
    ``goal``, every hidden layer grows by ``grow`` times its initial width (new units: random
    incoming, zero outgoing weights) and the task trains again, up to ``max_grow`` times
    ("growing"). Then the task's own weights are pruned gradually by magnitude, on the cubic schedule
    of gradual pruning up to the fraction ``prune``, retraining after each step and stopping before
    the held-out accuracy drops below min(goal, accuracy before pruning) ("compacting"); the pruned
    weights are released to later tasks. Task k then owns the kept weights and its binary mask; at
    test time it uses its own weights, the old weights its mask picks, and the widths it was trained
    with, so later tasks never change its outputs. Inner phases go through ``learner.fit``. As in
    PackNet, biases train with the task that first uses them.

    State: ``owner_`` (per entry: 0 free, k = the k-th task's), ``picks_`` (task id -> binary mask
    per layer), ``widths_``/``base_widths_``/``widths_of_task_`` (hidden widths now / at the start /
    per task), ``trained_``, ``free_capacity_`` (fraction of weights free after each task),
    ``grown_`` (growth steps per task), ``held_out_accuracy_`` (per task, after compaction).
    """

    goal: float = 0.95  # accuracy goal on held-out training data of the task
    prune: float = 0.5  # largest fraction of a task's new weights released by compaction
    prune_steps: int = 4  # steps of gradual pruning (cubic schedule), each followed by retraining
    grow: float = 0.25  # units added to each hidden layer when the goal is missed, per initial unit
    max_grow: int = 2  # growth steps allowed per task
    threshold: float = 5e-3  # τ, binarisation threshold of the picking mask
    mask_init: float = 1e-2  # initial real-valued mask (above τ: every old weight picked at first)
    epochs: int = 1  # epochs of each inner phase (after growing, after each pruning step)
    holdout: float = 0.1  # fraction of each task's training examples held out to measure the goal
    lr: float = 1e-3  # learning rate of the inner phases
    optimizer: Literal["adam", "sgd"] = "adam"  # optimizer of the inner phases: adam or sgd
    batch_size: int = 128  # batch size of the inner phases

    scenarios = frozenset({Scenario.TASK, Scenario.DOMAIN})
    grows = True
    uses_task_id_at_test = True
    paper = "arXiv 1910.06562, Sec. 3: gradual pruning (compacting), learned binary masks (picking), growing"
    positive = ("prune_steps", "grow", "threshold", "mask_init", "holdout", "lr", "batch_size")

    def __post_init__(self) -> None:
        if not 0.0 <= self.prune < 1.0:
            raise ValueError(f"cpg: prune must be in [0, 1), got {self.prune}")
        if not 0.0 < self.holdout < 1.0:
            raise ValueError(f"cpg: holdout must be in (0, 1), got {self.holdout}")
        if self.grow <= 0:
            raise ValueError(f"cpg: grow must be positive, got {self.grow}")

    def setup(self, learner: Learner) -> None:
        self._mlp = mlp_of(learner, self.name)
        self.owner_ = new_owners(masked_layers(learner, self.name))
        self.picks_: dict[int, dict[str, Tensor]] = {}
        self.widths_ = list(self._mlp.hidden)
        self.base_widths_ = list(self.widths_)
        self.widths_of_task_: dict[int, list[int]] = {}
        self.trained_: list[int] = []
        self.free_capacity_: list[float] = []
        self.grown_: list[int] = []
        self.held_out_accuracy_: list[float] = []

    def phases(self, stream: Stream) -> Sequence[Phase]:
        self._phases = HeldOutPhases(stream, self.holdout, self.rng)
        return self._phases

    # -- the loop's training of a task: free weights plus the picking mask -----------------------------
    def before_task(self, task: Task) -> None:
        if self.trained_:
            for name, layer in masked_layers(self.learner, self.name):
                old = self.owner_[f"{name}.weight"] > 0
                parametrize.register_parametrization(
                    layer, "weight",
                    Pick(old, torch.full(old.shape, self.mask_init, device=old.device), self.threshold))
        self._freeze({k: o == 0 for k, o in self.owner_.items()})

    def _freeze(self, trainable: dict[str, Tensor]) -> None:
        self._freezer = Freezer(tensors(masked_layers(self.learner, self.name)), trainable)

    # -- growing, compacting, and keeping the task's mask ---------------------------------------------
    def after_task(self, task: Task) -> None:
        held_out = self._phases.held_out(task.id)
        score, grown = accuracy(self.learner, held_out), 0
        while score < self.goal and grown < self.max_grow:
            self._grow()
            self._train(task, {k: o == 0 for k, o in self.owner_.items()})
            score, grown = accuracy(self.learner, held_out), grown + 1
        mine = {k: o == 0 for k, o in self.owner_.items()}
        kept, floor = mine, min(self.goal, score)
        for step in range(1, self.prune_steps + 1):
            saved = {k: p.detach().clone() for k, p in self._tensors().items()}
            fraction = self.prune * (1 - (1 - step / self.prune_steps) ** 3)
            trial = {k: prune_smallest(p, mine[k], fraction) if is_weight(k) else mine[k]
                     for k, p in tensors(masked_layers(self.learner, self.name)).items()}
            self._train(task, trial, released={k: mine[k] & ~trial[k] for k in trial})
            trial_score = accuracy(self.learner, held_out)
            if trial_score < floor:
                with torch.no_grad():
                    for k, p in self._tensors().items():
                        p.copy_(saved[k])
                break
            kept, score = trial, trial_score
        self._keep(task, kept)
        self.grown_.append(grown)
        self.held_out_accuracy_.append(score)

    def _tensors(self) -> dict[str, nn.Parameter]:
        """Everything the inner phases change in the masked layers: weights, biases and mask scores."""
        out = tensors(masked_layers(self.learner, self.name))
        for name, layer in masked_layers(self.learner, self.name):
            if parametrize.is_parametrized(layer, "weight"):
                out[f"{name}.scores"] = _pick_of(layer).scores
        return out

    def _train(self, task: Task, trainable: dict[str, Tensor], released: dict[str, Tensor] | None = None) -> None:
        """Zero the ``released`` weights, then train the ``trainable`` entries (and the mask) on the task."""
        with torch.no_grad():
            for k, p in tensors(masked_layers(self.learner, self.name)).items():
                if released is not None:
                    p.masked_fill_(released[k], 0.0)
        self._freeze(trainable)
        learner = self.learner
        learner.fit(self.parameters(learner), all_batches(task, self.batch_size, self.epochs, self.rng),
                    lambda b: learner.loss(learner(b.x, b.task_ids), b.y), lr=self.lr, optimizer=self.optimizer,
                    after_step=self._freezer.restore)

    def _unpick(self) -> dict[str, Pick]:
        """Remove the picking parametrizations (the stored weights stay), returning them by layer name."""
        picks = {}
        for name, layer in masked_layers(self.learner, self.name):
            if parametrize.is_parametrized(layer, "weight"):
                picks[name] = _pick_of(layer)
                parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
        return picks

    def _grow(self) -> None:
        """Add ``grow`` times each hidden layer's initial width as new free units; masks and owners follow."""
        picks = self._unpick()
        for index, base in enumerate(self.base_widths_):
            add_units(self.learner, index, max(1, math.ceil(self.grow * base)), self.rng)
        self.widths_ = list(self._mlp.hidden)
        for name, layer in masked_layers(self.learner, self.name):
            for attr in ("weight", "bias"):
                key = f"{name}.{attr}"
                self.owner_[key] = _pad(self.owner_[key], raw(layer, attr).shape)
            if name in picks:
                shape = layer.weight.shape
                parametrize.register_parametrization(layer, "weight", Pick(
                    _pad(picks[name].old, shape, False), _pad(picks[name].scores.detach(), shape, self.mask_init),
                    self.threshold))

    def _keep(self, task: Task, kept: dict[str, Tensor]) -> None:
        """Freeze the kept weights as the task's, store its binary mask, release the rest."""
        picks = self._unpick()
        self.picks_[task.id] = {f"{name}.weight": pick.picked() for name, pick in picks.items()}
        rank = len(self.trained_) + 1
        for k in self.owner_:
            self.owner_[k][kept[k]] = rank
        self.trained_.append(task.id)
        self.widths_of_task_[task.id] = list(self.widths_)
        weights = [o for k, o in self.owner_.items() if is_weight(k)]
        self.free_capacity_.append(sum(int((o == 0).sum()) for o in weights) / sum(o.numel() for o in weights))

    # -- test time: each task through its own mask and widths ---------------------------------------------
    def task_weights(self, task: int) -> dict[str, Tensor]:
        """The weights task ``task`` computes with: its own, the old ones it picked, at its widths."""
        rank, widths = self.trained_.index(task) + 1, self.widths_of_task_[task]
        picks = self.picks_.get(task, {})
        names = {id(m): n for n, m in self.learner.named_modules()}
        hidden = linears(self._mlp)
        views: list[tuple[nn.Linear, str, tuple[slice, ...]]] = []
        for layer, out, inp in zip(hidden, widths, [hidden[0].in_features, *widths[:-1]], strict=True):
            views += [(layer, "weight", (slice(0, out), slice(0, inp))), (layer, "bias", (slice(0, out),))]
        for layer in head_linears(self.learner.head):
            views += [(layer, "weight", (slice(None), slice(0, widths[-1]))), (layer, "bias", (slice(None),))]
        weights: dict[str, Tensor] = {}
        for layer, attr, where in views:
            key = f"{names[id(layer)]}.{attr}"
            value = raw(layer, attr)[where]
            if key in self.owner_:
                owner = self.owner_[key][where]
                earlier = visible(owner, rank - 1)
                if is_weight(key):
                    earlier &= picks.get(key, torch.zeros_like(earlier))
                value = torch.where((owner == rank) | earlier, value, 0.0)
            weights[key] = value
        return weights

    def logits(self, x: Tensor, task_ids: Tensor) -> Tensor:
        """Each trained task's logits through :meth:`task_weights`; other tasks see the whole network."""
        return by_task(x, task_ids, self._task_logits)

    def _task_logits(self, x: Tensor, task_ids: Tensor, task: int) -> Tensor:
        if task not in self.trained_:
            out: Tensor = self.learner(x, task_ids)
            return out
        masked: Tensor = functional_call(self.learner, self.task_weights(task), (x, task_ids))
        return masked

    def predict(self, x: Tensor, task_ids: Tensor) -> Tensor | None:
        return self.logits(x, task_ids).argmax(1)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state and the widths it records, so the learner's saved weights can be loaded next."""
        super().load_state_dict(state)
        resize_to(self.learner, self.widths_)
