"""Expert Gate: one expert per task, chosen at test time by autoencoder gates (Aljundi et al., arXiv 1611.06194)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import Tensor, nn

from lifelong.methods.base import Method, register, require_real_inputs
from lifelong.methods.expansion._common import by_task, frozen_copy, head_is_shared, index_batches, new_linear
from lifelong.models.learner import Learner
from lifelong.streams.task import Task, train_batch


class Autoencoder(nn.Module):
    """An undercomplete gate (Sec. 3.1): input in [0, 1] -> ReLU code -> sigmoid reconstruction.

    ``squash`` passes the input through a sigmoid first, as the paper does with unbounded CNN
    features; inputs already in [0, 1] (MNIST pixels) are better left as they are, since squashing
    compresses their contrast fourfold (on split MNIST it cut routing accuracy from 91% to 77%).
    """

    def __init__(self, features: int, code: int, squash: bool, rng: torch.Generator) -> None:
        super().__init__()
        self.encoder = new_linear(features, code, rng)
        self.decoder = new_linear(code, features, rng)
        self.squash = squash

    def error(self, x: Tensor) -> Tensor:
        """Per-example mean squared reconstruction error: low for inputs like the task's own."""
        z = torch.sigmoid(x.flatten(1)) if self.squash else x.flatten(1)
        return (torch.sigmoid(self.decoder(torch.relu(self.encoder(z)))) - z).pow(2).mean(1)


class Experts(nn.Module):
    """The backbone of an Expert Gate learner: every expert, every gate and every task's frozen output layer.

    ``forward`` runs the ``active`` expert (the one being trained). Keeping experts, gates and heads
    here puts them all in the learner's parameter counts.
    """

    def __init__(self, first: nn.Module) -> None:
        super().__init__()
        self.experts = nn.ModuleList([first])
        self.gates = nn.ModuleList()
        self.heads = nn.ModuleDict()
        self.active = 0
        self.out_features: int = first.out_features  # type: ignore[assignment]

    def trained_gates(self, n: int) -> list[Autoencoder]:
        """The first ``n`` gates (those whose experts are trained)."""
        return [cast(Autoencoder, g) for g in self.gates[:n]]

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.experts[self.active](x)
        return out


@register("expert-gate", family="expansion")
@dataclass
class ExpertGate(Method):
    """A network of experts with a gate: an autoencoder per task routes each test input to an expert.

    Before task a is trained, its gate (an undercomplete autoencoder) is trained on the task's inputs
    through ``learner.fit``. Its relatedness to each earlier task k follows eq. (2),
    Rel(T_k, T_a) = 1 − (Er_k − Er_a) / Er_a, with Er the reconstruction errors of gate k and of the
    new gate on a validation slice of task a's training data; the new expert starts as a copy of the
    most related expert and is fine-tuned on task a (the earlier experts are frozen). At test time
    (eq. 1) the expert whose gate reconstructs the input best answers, so the task id is not needed.
    The first expert is the learner's own backbone. With a shared head, each expert keeps a frozen
    copy of its output layer.

    State: ``expert_task_`` (the task of each expert, in order), ``features_`` (gate input size),
    ``related_`` (the expert each new one started from, -1 for the first), ``relatedness_`` (Rel to
    every earlier task, per task), ``routing_accuracy_`` (entry i: fraction of the inputs of trained
    tasks routed to their own task's expert, over everything :meth:`predict` saw while i + 1 experts
    existed; in a run, the test sets evaluated after task i).
    """

    code: int = 100  # autoencoder code size (undercomplete: smaller than the input)
    ae_epochs: int = 2  # epochs of autoencoder training per task
    ae_lr: float = 1e-3  # autoencoder learning rate (Adam)
    batch_size: int = 128  # autoencoder batch size
    validation: float = 0.1  # fraction of a task's training examples kept out of its autoencoder's training
    squash: bool = False  # sigmoid on the gate's input (the paper's step for unbounded features)

    grows = True
    paper = "arXiv 1611.06194, eq. (1) gate by reconstruction error, eq. (2) task relatedness for the new expert"
    positive = ("code", "ae_epochs", "ae_lr", "batch_size", "validation")

    def __post_init__(self) -> None:
        if not 0.0 < self.validation < 1.0:
            raise ValueError(f"expert-gate: validation must be in (0, 1), got {self.validation}")

    def setup(self, learner: Learner) -> None:
        if not isinstance(learner.backbone, Experts):
            learner.backbone = Experts(learner.backbone)
        self.bank: Experts = learner.backbone
        self.expert_task_: list[int] = []
        self.features_ = 0
        self.related_: list[int] = []
        self.relatedness_: list[list[float]] = []
        self.routing_accuracy_: list[float] = []
        self._routing: dict[int, tuple[int, int]] = {}

    def before_task(self, task: Task) -> None:
        require_real_inputs(self.name, task, "gates by how well an autoencoder reconstructs the inputs")
        n = len(task.train)
        held = max(1, round(self.validation * n))
        if held >= n:
            raise ValueError(f"expert-gate: task {task.name!r} has too few training examples for a validation slice")
        order = torch.randperm(n, generator=self.rng)
        validation = train_batch(task, order[:held])
        self.features_ = validation.x.flatten(1).shape[1]
        gate = Autoencoder(self.features_, self.code, self.squash, self.rng)
        batches = index_batches(task, order[held:], self.batch_size, self.ae_epochs, self.rng)
        self.learner.fit(gate.parameters(), batches, lambda b: gate.error(b.x).mean(), lr=self.ae_lr, optimizer="adam")
        gate.requires_grad_(False)
        if self.expert_task_:
            with torch.no_grad():
                own = float(gate.error(validation.x).mean())
                errors = [float(g.error(validation.x).mean()) for g in self.bank.trained_gates(len(self.expert_task_))]
            relatedness = [1.0 - (e - own) / max(own, 1e-12) for e in errors]
            best = max(range(len(relatedness)), key=relatedness.__getitem__)
            self.bank.requires_grad_(False)
            self.bank.experts.append(copy.deepcopy(self.bank.experts[best]).requires_grad_(True))
            self.bank.active = len(self.bank.experts) - 1
            if head_is_shared(self.learner):
                start = self.bank.heads[str(self.expert_task_[best])].state_dict()
                weights = {k: v for k, v in start.items() if v.is_floating_point()}  # not a class head's record
                self.learner.head.load_state_dict(weights, strict=False)
            self.related_.append(best)
            self.relatedness_.append(relatedness)
        else:
            self.related_.append(-1)
            self.relatedness_.append([])
        self.bank.gates.append(gate)

    def parameters(self, learner: Learner) -> list[nn.Parameter]:
        return [*self.bank.experts[self.bank.active].parameters(), *learner.head.parameters()]

    def after_task(self, task: Task) -> None:
        self.expert_task_.append(task.id)
        if head_is_shared(self.learner):
            self.bank.heads[str(task.id)] = frozen_copy(self.learner.head)

    def route(self, x: Tensor) -> Tensor:
        """The task whose gate reconstructs each input best (eq. 1's most probable expert)."""
        errors = torch.stack([g.error(x) for g in self.bank.trained_gates(len(self.expert_task_))], 1)
        return torch.tensor(self.expert_task_)[errors.argmin(1)]

    def logits(self, x: Tensor, task_ids: Tensor) -> Tensor:
        """Logits of the expert each input is routed to; ``task_ids`` only scores the routing."""
        routed = self.route(x)
        self._score_routing(routed, task_ids)
        return by_task(x, routed, self._expert_logits)

    def _score_routing(self, routed: Tensor, task_ids: Tensor) -> None:
        """Accumulate how often inputs of trained tasks reach their own task's expert."""
        n = len(self.expert_task_)
        known = torch.isin(task_ids, torch.tensor(self.expert_task_))
        hits, total = self._routing.get(n, (0, 0))
        hits, total = hits + int((routed == task_ids)[known].sum()), total + int(known.sum())
        self._routing[n] = (hits, total)
        if total:
            self.routing_accuracy_ += [float("nan")] * (n - len(self.routing_accuracy_))
            self.routing_accuracy_[n - 1] = hits / total

    def _expert_logits(self, x: Tensor, task_ids: Tensor, task: int) -> Tensor:
        expert = max(i for i, t in enumerate(self.expert_task_) if t == task)
        head = self.bank.heads[str(task)] if str(task) in self.bank.heads else self.learner.head  # noqa: SIM401
        out: Tensor = head(self.bank.experts[expert](x), task_ids)
        return out

    def predict(self, x: Tensor, task_ids: Tensor) -> Tensor | None:
        if not self.expert_task_:
            return None
        return self.logits(x, task_ids).argmax(1)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state and regrow the experts, gates and heads it describes, so that the learner's
        saved weights can be loaded next (``learner.load_state_dict``)."""
        super().load_state_dict(state)
        while len(self.bank.experts) < len(self.expert_task_):
            self.bank.experts.append(frozen_copy(self.bank.experts[0]))
        while len(self.bank.gates) < len(self.expert_task_):
            self.bank.gates.append(Autoencoder(self.features_, self.code, self.squash, self.rng).requires_grad_(False))
        self.bank.active = max(len(self.expert_task_) - 1, 0)
        if head_is_shared(self.learner):
            for t in self.expert_task_:
                if str(t) not in self.bank.heads:
                    self.bank.heads[str(t)] = frozen_copy(self.learner.head)
