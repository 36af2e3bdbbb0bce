"""Expert Gate: one expert per task, chosen at test time by autoencoder gates (Aljundi et al., arXiv 1611.06194)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.func import functional_call

from lifelong.methods.base import Method, register, require_real_inputs
from lifelong.methods.distillation import _distill
from lifelong.methods.expansion._common import by_task, frozen_copy, head_is_shared, index_batches, new_linear
from lifelong.models.learner import Learner
from lifelong.streams.task import Batch, Task, train_batch


class Autoencoder(nn.Module):
    """An undercomplete gate (Sec. 3.1): input in [0, 1] -> ReLU code -> sigmoid reconstruction.

    ``squash`` passes the input through a sigmoid first, as the paper does with unbounded CNN
    features; inputs already in [0, 1] (MNIST pixels) are better left as they are, since squashing
    compresses their contrast fourfold (on split MNIST it cut routing accuracy from 91% to 77%).
    """

    def __init__(self, features: int, code: int, squash: bool, rng: torch.Generator, device: torch.device) -> None:
        super().__init__()
        self.encoder = new_linear(features, code, rng, device=device)
        self.decoder = new_linear(code, features, rng, device=device)
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


def relatedness(own_error: float, errors: list[float]) -> list[float]:
    """Eq. (2): Rel(T_k, T_a) = 1 − (Er_k − Er_a) / Er_a for every earlier task k, where Er_a is the new
    task's gate's reconstruction error on the new task's validation data and Er_k gate k's on the same
    data (the authors' ``compute_relatedness.m`` computes it the same way round). 1: gate k reconstructs
    the new inputs as well as their own gate; it falls as gate k does worse, and may go below 0."""
    return [1.0 - (e - own_error) / max(own_error, 1e-12) for e in errors]


@register("expert-gate", family="expansion")
@dataclass
class ExpertGate(Method):
    """A network of experts with a gate: an autoencoder per task routes each test input to an expert.

    Before task a is trained, its gate (an undercomplete autoencoder) is trained on the task's inputs
    through ``learner.fit``. Its relatedness to each earlier task k follows eq. (2) (Sec. 3.3,
    :func:`relatedness`), Rel(T_k, T_a) = 1 − (Er_k − Er_a) / Er_a, with Er the reconstruction errors
    of gate k and of the new gate on a validation slice of task a's training data; the new expert
    starts as a copy of the most related expert k* (the earlier experts are frozen). At test time
    (eq. 1) the expert whose gate reconstructs the input best answers, so the task id is not needed.
    The first expert is the learner's own backbone. With a shared head, each expert keeps a frozen
    copy of its output layer.

    How the new expert is trained (Sec. 3.3; the abstract: "with fine-tuning or
    learning-without-forgetting"): the paper trains it with Learning without Forgetting (LwF,
    arXiv 1606.09282) when the tasks are related enough and fine-tunes it otherwise, since keeping
    the old task's outputs helps only when they say something about the new inputs. With
    ``lwf_when_related`` (the default: the paper's behaviour) and Rel(T_k*, T_a) >
    ``relatedness_threshold``, the new expert minimises

        L = L_new(y, ŷ) + λ_o · L_old(y_o, ŷ_o)   (arXiv 1606.09282, eq. 2 for L_old)

    on task a's batches: y_o are expert k*'s logits for task k* on those inputs (fixed), ŷ_o the new
    expert's through task k*'s output layer, L_old knowledge distillation at temperature T
    (``_distill.distillation_loss``, scaled by T²). Otherwise (or with ``lwf_when_related=False``) it
    is fine-tuned: L = L_new. The threshold 0.85 is the one of Avalanche's reproduction
    (ContinualAI/avalanche, ``rel_thresh=0.85``); λ_o = 1 and T = 2 are LwF's own defaults.
    Deviation: LwF also trains the old task's output layer θ_o; here it is held fixed, because that
    layer is still expert k*'s answer for task k* (task-incremental heads are shared with it), so
    training it would change an old task's predictions. The distillation covers the units that output
    layer shows (its classes seen so far in class-incremental learning).

    State: ``expert_task_`` (the task of each expert, in order), ``features_`` (gate input size),
    ``related_`` (the expert each new one started from, -1 for the first), ``relatedness_`` (Rel to
    every earlier task, per task), ``trained_with_lwf_`` (per task: whether its expert was trained
    with LwF), ``routing_accuracy_`` (entry i: fraction of the inputs of trained tasks routed to their
    own task's expert, over everything :meth:`predict` saw while i + 1 experts existed; in a run, the
    test sets evaluated after task i).
    """

    code: int = 100  # autoencoder code size (undercomplete: smaller than the input)
    ae_epochs: int = 2  # epochs of autoencoder training per task
    ae_lr: float = 1e-3  # autoencoder learning rate (Adam)
    batch_size: int = 128  # autoencoder batch size
    validation: float = 0.1  # fraction of a task's training examples kept out of its autoencoder's training
    squash: bool = False  # sigmoid on the gate's input (the paper's step for unbounded features)
    lwf_when_related: bool = True  # train a new expert with LwF when Rel > relatedness_threshold, else fine-tune
    relatedness_threshold: float = 0.85  # Rel of the most related expert above which LwF is used
    lwf_lam: float = 1.0  # λ_o, the weight of LwF's distillation term
    lwf_temperature: float = 2.0  # T, LwF's distillation temperature

    grows = True
    paper = ("arXiv 1611.06194, eq. (1) gate by reconstruction error, eq. (2) task relatedness for the new expert, "
             "Sec. 3.3 LwF when related")
    positive = ("code", "ae_epochs", "ae_lr", "batch_size", "validation", "lwf_temperature")

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
        self.trained_with_lwf_: list[bool] = []
        self.routing_accuracy_: list[float] = []
        self._routing: dict[int, tuple[int, int]] = {}

    def before_task(self, task: Task) -> None:
        require_real_inputs(self.name, task, "gates by how well an autoencoder reconstructs the inputs")
        n = len(task.train)
        held = max(1, round(self.validation * n))
        if held >= n:
            raise ValueError(f"expert-gate: task {task.name!r} has too few training examples for a validation slice")
        order = torch.randperm(n, generator=self.rng, device="cpu")
        validation = train_batch(task, order[:held])
        self.features_ = validation.x.flatten(1).shape[1]
        gate = Autoencoder(self.features_, self.code, self.squash, self.rng, self.device)
        batches = index_batches(task, order[held:], self.batch_size, self.ae_epochs, self.rng)
        self.learner.fit(gate.parameters(), batches, lambda b: gate.error(b.x).mean(), lr=self.ae_lr, optimizer="adam")
        gate.requires_grad_(False)
        if self.expert_task_:
            with torch.no_grad():
                own = float(gate.error(validation.x).mean())
                errors = [float(g.error(validation.x).mean()) for g in self.bank.trained_gates(len(self.expert_task_))]
            rel = relatedness(own, errors)
            best = max(range(len(rel)), key=rel.__getitem__)
            self.bank.requires_grad_(False)
            self.bank.experts.append(copy.deepcopy(self.bank.experts[best]).requires_grad_(True))
            self.bank.active = len(self.bank.experts) - 1
            if head_is_shared(self.learner):
                start = self.bank.heads[str(self.expert_task_[best])].state_dict()
                weights = {k: v for k, v in start.items() if v.is_floating_point()}  # not a class head's record
                self.learner.head.load_state_dict(weights, strict=False)
            self.related_.append(best)
            self.relatedness_.append(rel)
            self.trained_with_lwf_.append(self.lwf_when_related and rel[best] > self.relatedness_threshold)
        else:
            self.related_.append(-1)
            self.relatedness_.append([])
            self.trained_with_lwf_.append(False)
        self.bank.gates.append(gate)

    def parameters(self, learner: Learner) -> list[nn.Parameter]:
        return [*self.bank.experts[self.bank.active].parameters(), *learner.head.parameters()]

    def penalty(self, batch: Batch, logits: Tensor) -> Tensor | None:
        """λ_o · L_old while the new expert is trained with LwF; None while it is fine-tuned."""
        if not self.trained_with_lwf_ or not self.trained_with_lwf_[-1] or self.lwf_lam == 0:
            return None
        return self.lwf_lam * self.lwf_distillation(batch.x)

    def lwf_distillation(self, x: Tensor) -> Tensor:
        """L_old: distillation from the related expert's logits for its task on ``x`` to the new expert's,
        both through that task's output layer, whose weights are passed detached (held fixed)."""
        related = self.related_[-1]
        task = self.expert_task_[related]
        ids = torch.full((len(x),), task, dtype=torch.long, device=x.device)
        output_layer = {f"head.{k}": v for k, v in self._output_layer(task).state_dict().items()}
        current: Tensor = functional_call(self.learner, output_layer, (x, ids))
        related_expert = {f"backbone.experts.{self.bank.active}.{k}": v
                          for k, v in self.bank.experts[related].state_dict().items()}
        target = _distill.previous_logits(self.learner, {**output_layer, **related_expert}, x, ids, None)
        return _distill.distillation_loss(current, target, self.lwf_temperature)

    def _output_layer(self, task: int) -> nn.Module:
        """Task ``task``'s output layer: its frozen copy with a shared head, else the scenario head."""
        return self.bank.heads[str(task)] if str(task) in self.bank.heads else self.learner.head  # noqa: SIM401

    def after_task(self, task: Task) -> None:
        self.expert_task_.append(task.id)
        if head_is_shared(self.learner):
            self.bank.heads[str(task.id)] = frozen_copy(self.learner.head)

    def route(self, x: Tensor) -> Tensor:
        """The task whose gate reconstructs each input best (eq. 1's most probable expert)."""
        errors = torch.stack([g.error(x) for g in self.bank.trained_gates(len(self.expert_task_))], 1)
        return torch.tensor(self.expert_task_, device=errors.device)[errors.argmin(1)]

    def logits(self, x: Tensor, task_ids: Tensor) -> Tensor:
        """Logits of the expert each input is routed to; ``task_ids`` only scores the routing."""
        routed = self.route(x)
        self._score_routing(routed, task_ids)
        return by_task(x, routed, self._expert_logits)

    def _score_routing(self, routed: Tensor, task_ids: Tensor) -> None:
        """Accumulate how often inputs of trained tasks reach their own task's expert."""
        n = len(self.expert_task_)
        known = torch.isin(task_ids, torch.tensor(self.expert_task_, device=task_ids.device))
        hits, total = self._routing.get(n, (0, 0))
        hits, total = hits + int((routed == task_ids)[known].sum()), total + int(known.sum())
        self._routing[n] = (hits, total)
        if total:
            self.routing_accuracy_ += [float("nan")] * (n - len(self.routing_accuracy_))
            self.routing_accuracy_[n - 1] = hits / total

    def _expert_logits(self, x: Tensor, task_ids: Tensor, task: int) -> Tensor:
        expert = max(i for i, t in enumerate(self.expert_task_) if t == task)
        out: Tensor = self._output_layer(task)(self.bank.experts[expert](x), task_ids)
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
            self.bank.gates.append(Autoencoder(self.features_, self.code, self.squash, self.rng, self.device)
                                   .requires_grad_(False))
        self.bank.active = max(len(self.expert_task_) - 1, 0)
        if head_is_shared(self.learner):
            for t in self.expert_task_:
                if str(t) not in self.bank.heads:
                    self.bank.heads[str(t)] = frozen_copy(self.learner.head)
