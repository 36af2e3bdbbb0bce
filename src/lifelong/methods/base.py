"""The method contract: hyperparameters as dataclass fields, behaviour as hooks with do-nothing defaults.

The loop (``train.py``) calls the hooks by name; a method overrides only what it changes.
State learned from data lives in attributes whose names end in ``_``; :meth:`Method.state_dict`
collects exactly those, so resuming a run and "keep learning after deployment" work for every method.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lifelong.errors import OptionError
from lifelong.models.learner import Learner
from lifelong.streams.scenario import ALL_SCENARIOS, Scenario
from lifelong.streams.stream import Stream
from lifelong.streams.task import Batch, Task


class ScenarioError(OptionError):
    """A method was asked to run in a scenario it does not declare."""


@dataclass(frozen=True)
class Phase:
    """One training phase: the tasks trained on together, then one row of the accuracy matrix.

    Most methods have one phase per task; ``joint`` one phase over all tasks; ``cumulative`` phase i
    over tasks 0..i. ``task`` is the newest task, the one hooks are told about.
    """

    tasks: tuple[Task, ...]

    @property
    def task(self) -> Task:
        return self.tasks[-1]


class Method:
    """Base class of every method: hooks with do-nothing defaults.

    Class-level declarations:
        name, family: the registry name and family (set by :func:`lifelong.methods.register`).
        scenarios: the scenarios the method supports; the loop refuses others.
        grows: the method adds parameters as tasks arrive (results then report parameters per task).
        uses_task_id_at_test: predictions need the task id (one model per task, expert routing aside).
        paper: arXiv id (or venue) and the equation the implementation follows.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    scenarios: ClassVar[frozenset[Scenario]] = ALL_SCENARIOS
    grows: ClassVar[bool] = False
    uses_task_id_at_test: ClassVar[bool] = False
    paper: ClassVar[str] = ""
    strength: ClassVar[str | None] = None  # the hyperparameter that sets how hard old tasks are held (λ)
    positive: ClassVar[tuple[str, ...]] = ()  # hyperparameters that must be above zero (rates, sizes)

    learner: Learner
    rng: torch.Generator

    # -- wiring (called by the loop, not overridden) ------------------------------------------------
    def attach(self, learner: Learner, seed: int, scenario: Scenario) -> None:
        """Check the scenario, keep the learner, and seed the method's own generator.

        The method's sampling (Fisher samples, buffer draws) uses ``self.rng``, never the global
        generator, so it cannot shift the data order: with a zero penalty a method reproduces
        finetune's matrix exactly.
        """
        if scenario not in self.scenarios:
            supported = ", ".join(sorted(s.value for s in self.scenarios))
            raise ScenarioError(
                f"method {self.name!r} does not support the {scenario.value}-incremental scenario; "
                f"it supports: {supported}"
            )
        self.learner = learner
        self.rng = torch.Generator().manual_seed(seed + 7919)
        self.setup(learner)

    @property
    def device(self) -> torch.device:
        """Where the learner's parameters are (the run's device): the method creates its state there."""
        return next(self.learner.parameters()).device

    def validate(self) -> None:
        """Refuse numbers no method can train with, before any training: every numeric hyperparameter
        must be finite and at least 0 (no method here takes a negative one), and those in ``positive``
        above 0. Raises :class:`OptionError` naming ``--method.KEY``."""
        for key, value in self.hyperparameters().items():
            numbers = value if isinstance(value, tuple) else (value,)
            for number in numbers:
                if isinstance(number, bool) or not isinstance(number, int | float):
                    continue
                if not math.isfinite(number) or number < 0 or (key in self.positive and number <= 0):
                    bound = "above 0" if key in self.positive else "at least 0"
                    raise OptionError(f"--method.{key}: {self.name} needs a finite number {bound}, got {value!r}")

    def hyperparameters(self) -> dict[str, Any]:
        """The dataclass fields and their values, as recorded in every result."""
        if not dataclasses.is_dataclass(self):
            return {}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def state_dict(self) -> dict[str, Any]:
        """Everything learned from data: the attributes whose names end in ``_``."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if not key.endswith("_"):
                raise KeyError(f"{key!r} is not method state (state names end in '_')")
            setattr(self, key, value)

    # -- hooks ----------------------------------------------------------------------------------------
    def setup(self, learner: Learner) -> None:
        """Once, before anything: create buffers, keep references. Must not train."""

    def phases(self, stream: Stream) -> Sequence[Phase]:
        """How the stream is trained: by default one phase per task, in order."""
        return [Phase((task,)) for task in stream]

    def before_task(self, task: Task) -> None:
        """Each task: grow or freeze the network, snapshot the old model. Must not touch the optimizer."""

    def parameters(self, learner: Learner) -> Iterable[nn.Parameter]:
        """What is trained this task (the loop builds the optimizer from it); default: everything."""
        return [p for p in learner.parameters() if p.requires_grad]

    def batch(self, batch: Batch) -> Batch:
        """Each step: return the batch to train on (replay mixes memory in). Must not mutate ``batch``."""
        return batch

    def loss(self, batch: Batch, logits: Tensor) -> Tensor | None:
        """Each step: replace the task loss (iCaRL's binary cross-entropy), or None for the learner's."""
        return None

    def penalty(self, batch: Batch, logits: Tensor) -> Tensor | None:
        """Each step: an extra loss term, or None. Must not call backward."""
        return None

    def after_backward(self, batch: Batch) -> None:
        """Each step, gradients ready: edit ``.grad`` (projections, masks). Must not step."""

    def after_step(self) -> None:
        """Each step, after the update: observe the parameter change, re-apply masks."""

    def after_task(self, task: Task) -> None:
        """Each task, after training: consolidate (importances, exemplars, pruning, anchors)."""

    def predict(self, x: Tensor, task_ids: Tensor) -> Tensor | None:
        """Evaluation: predicted targets to replace ``argmax`` of the learner's logits, or None."""
        return None


def require_real_inputs(method: str, task: Task, why: str) -> None:
    """Refuse a stream of token ids (bAbI) for a method that models the inputs themselves."""
    if not task.inputs(task.train.x[:1]).is_floating_point():
        raise OptionError(f"--method: {method} {why}, but task {task.name!r} holds token ids; "
                          "use it on real-valued inputs (MNIST, your own arrays)")


def register(name: str, family: str) -> Any:
    """Class decorator: set ``name``/``family`` and add the method to the registry (duplicates raise)."""
    from lifelong._registry import METHODS

    def decorate(cls: type[Method]) -> type[Method]:
        cls.name, cls.family = name, family
        METHODS.register(name, family=family)(cls)
        return cls

    return decorate
