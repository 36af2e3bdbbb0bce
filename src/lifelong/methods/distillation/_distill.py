"""What LwF, iCaRL and generative replay share: the previous model, asked about the earlier tasks.

The previous model is a snapshot of the learner's state (weights *and* buffers) taken after the last
task, evaluated with ``torch.func.functional_call`` on the live learner, so it costs no second
network object and is saved with the method's state like any other tensor.

"About the earlier tasks" depends on the scenario:

- task-incremental: every earlier task has its own head, so inputs are asked once per earlier
  task, with that task's id (van de Ven & Tolias, arXiv 1904.07734, average over earlier tasks);
- domain-incremental: the one shared head;
- class-incremental: the units of the classes of earlier tasks only. The previous model's logits
  of any other unit are set to ``MASKED`` (softmax gives them exactly zero), which is the zero
  padding of the targets over the current task's classes in arXiv 1904.07734's code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call

from lifelong.models.heads import MASKED
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario


def snapshot(learner: Learner) -> dict[str, Tensor]:
    """The learner's full state, detached and copied: the "previous model" from now on."""
    return {k: v.detach().clone() for k, v in learner.state_dict().items()}


def ask_earlier_tasks(x: Tensor, current: Tensor, earlier: Tensor, scenario: Scenario) -> tuple[Tensor, Tensor]:
    """Inputs and task ids that put ``x`` to every earlier task: one copy per earlier task's head in
    task-incremental learning, else ``x`` itself with the current task ids ``current``."""
    if scenario is not Scenario.TASK:
        return x, current
    copies = x.repeat(len(earlier), *([1] * (x.dim() - 1)))
    return copies, earlier.repeat_interleave(len(x))


@torch.no_grad()
def previous_logits(learner: Learner, previous: dict[str, Tensor], x: Tensor, task_ids: Tensor,
                    old_classes: Tensor | None) -> Tensor:
    """The previous model's logits; with ``old_classes`` (class-incremental) only those units are open."""
    logits: Tensor = functional_call(learner, previous, (x, task_ids))
    if old_classes is None:
        return logits
    closed = torch.ones(logits.shape[1], dtype=torch.bool, device=logits.device)
    closed[old_classes] = False
    return logits.masked_fill(closed, MASKED)


def distillation_loss(logits: Tensor, target_logits: Tensor, temperature: float) -> Tensor:
    """Knowledge distillation (Hinton et al., arXiv 1503.02531; LwF's L_old, arXiv 1606.09282 eq. 2):
    T² · mean over samples of −Σ_c softmax(z_old/T)_c log softmax(z/T)_c. The T² keeps its gradient
    on the scale of the hard-label loss whatever T."""
    targets = F.softmax(target_logits / temperature, dim=1)
    log_probs = F.log_softmax(logits / temperature, dim=1)
    return -(targets * log_probs).sum(1).mean() * temperature**2


def old_class_ids(classes: Tensor, scenario: Scenario) -> Tensor | None:
    """The class-incremental units to distil (None in the other scenarios: every unit of a head)."""
    return classes if scenario is Scenario.CLASS else None
