"""Independent: one model per task, each trained from the same initial weights; needs the task id."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor
from torch.func import functional_call

from lifelong.methods.base import Method, register
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario
from lifelong.streams.task import Task


@register("independent", family="baseline")
@dataclass
class Independent(Method):
    """Before each task the network is reset to its initial weights; after it, the weights are kept.

    At test time the task id picks that task's weights, so nothing is forgotten and nothing is
    transferred: an untrained task is scored with the initial weights (its FWT is exactly zero).
    """

    scenarios = frozenset({Scenario.TASK, Scenario.DOMAIN})
    uses_task_id_at_test = True
    grows = True
    paper = "one network per task (the lecture's baseline; Rusu et al. arXiv 1606.04671, Sec. 4)"

    def setup(self, learner: Learner) -> None:
        self.initial_ = _snapshot(learner)
        self.models_: dict[int, dict[str, Tensor]] = {}

    def before_task(self, task: Task) -> None:
        self.learner.load_state_dict({**_snapshot(self.learner), **_weights_only(self.initial_)})

    def after_task(self, task: Task) -> None:
        self.models_[task.id] = _weights_only(_snapshot(self.learner))

    def predict(self, x: Tensor, task_ids: Tensor) -> Tensor | None:
        task = int(task_ids[0])
        if not bool((task_ids == task).all()):
            raise ValueError("independent models predict one task at a time")
        weights = self.models_.get(task, _weights_only(self.initial_))
        state = {**_snapshot(self.learner), **weights}
        logits: Tensor = functional_call(self.learner, state, (x, task_ids))
        return logits.argmax(1)


def _snapshot(learner: Learner) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in learner.state_dict().items()}


def _weights_only(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Parameters, not buffers: a class head's record of seen classes belongs to the stream, not the model."""
    return {k: v for k, v in state.items() if v.is_floating_point()}


