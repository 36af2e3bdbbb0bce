"""Output heads, one per scenario: the ONLY place logits are masked.

- :class:`TaskHeads` (task-incremental): a linear head per task, chosen by each sample's task id.
- :class:`SharedHead` (domain-incremental): one linear head for every task.
- :class:`ClassHead` (class-incremental): one unit per class of the stream; units of classes not
  yet seen are masked, so adding a task's classes leaves the old units' outputs untouched and
  untrained units never steal a prediction. The task id is not used to choose among seen classes.

Each head's layers are ``nn.Linear`` unless the backbone ties the answer layer to its own word embedding
(MemN2N's W^T = C^K): then they are :class:`TiedAnswers`, whose weight rows are embedding rows.

Masked logits hold :data:`MASKED`, a large finite negative (not -inf) so that softmax gives exactly
zero and distillation losses stay finite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from lifelong.streams.scenario import Scenario
from lifelong.streams.stream import Stream
from lifelong.streams.task import Task

MASKED = -1e9

#: Builds a head's layer: (in_features, the global class ids of its outputs, in order) -> a module.
LayerFactory = Callable[[int, Sequence[int]], nn.Module]


def linear_layer(in_features: int, classes: Sequence[int]) -> nn.Module:
    return nn.Linear(in_features, len(classes))


class TiedAnswers(nn.Module):
    """An answer layer without bias whose weight row for a class is the word embedding of its answer token.

    MemN2N's adjacent tying (arXiv 1503.08895, Sec. 2.2: W^T = C^K): logits = u · C^K[token(a)] for every
    answer a. ``embedding`` returns the backbone's current C^K (looked up at every call, so a gradient on
    the logits reaches C^K and ``torch.func.functional_call``'s swapped weights are the ones used); it is a
    callable, not a submodule, so C^K is counted once among the learner's parameters. Answers that are no
    input word (token 0: "yes", "apple,football") get rows of their own, as the authors' dictionary gives
    them rows that only the answer layer reads.
    """

    index: Tensor

    def __init__(self, embedding: Callable[[], Tensor], tokens: Sequence[int]) -> None:
        super().__init__()
        self.embedding, self.out_features = embedding, len(tokens)
        vocab, dim = embedding().shape
        own = [i for i, token in enumerate(tokens) if token == 0]
        self.own = nn.Parameter(torch.randn(len(own), dim) * 0.1)
        rows = list(tokens)
        for j, i in enumerate(own):
            rows[i] = vocab + j
        self.register_buffer("index", torch.tensor(rows, dtype=torch.long))

    def forward(self, features: Tensor) -> Tensor:
        weight = torch.cat([self.embedding(), self.own])[self.index]
        return features @ weight.T


class TaskHeads(nn.Module):
    """One linear head per task; outputs padded to the widest head with :data:`MASKED`."""

    def __init__(self, in_features: int, classes: Sequence[Sequence[int]], layer: LayerFactory = linear_layer) -> None:
        super().__init__()
        self.heads = nn.ModuleList(layer(in_features, c) for c in classes)
        self.width = max(len(c) for c in classes)

    def forward(self, features: Tensor, task_ids: Tensor) -> Tensor:
        present = task_ids.unique()
        if len(present) == 1:
            out = self.heads[int(present)](features)
            return out if out.shape[1] == self.width else _pad(out, self.width)
        logits = features.new_full((len(features), self.width), MASKED)
        for t in present.tolist():
            rows = task_ids == t
            head_out = self.heads[t](features[rows])
            logits[rows, : head_out.shape[1]] = head_out
        return logits

    def observe(self, task: Task) -> None:
        """Nothing to do: every head exists from the start and is chosen by task id."""

    def stacked(self, tasks: Sequence[int], weights: Mapping[str, Tensor]) -> tuple[Tensor, Tensor] | None:
        """The heads of ``tasks`` as one (tasks, width, features) weight and (tasks, width) bias, so a
        batched computation (``torch.func.vmap`` over tasks) can pick a task's head by index instead of
        branching on its id; ``weights`` (named as in ``named_parameters``) replace the module's own, as in
        ``functional_call``. None when the heads differ in width or are not linear (they cannot be stacked).
        """
        heads = [self.heads[t] for t in tasks]
        if not all(isinstance(h, nn.Linear) for h in heads) or len({h.out_features for h in heads}) != 1:
            return None

        def param(t: int, name: str) -> Tensor:
            own: Tensor = getattr(self.heads[t], name)
            return weights.get(f"heads.{t}.{name}", own)

        return torch.stack([param(t, "weight") for t in tasks]), torch.stack([param(t, "bias") for t in tasks])


class SharedHead(nn.Module):
    """One linear head shared by all tasks (domain-incremental)."""

    def __init__(self, in_features: int, classes: Sequence[int], layer: LayerFactory = linear_layer) -> None:
        super().__init__()
        self.linear = layer(in_features, classes)

    def forward(self, features: Tensor, task_ids: Tensor) -> Tensor:
        return self.linear(features)

    def observe(self, task: Task) -> None:
        """Nothing to do: the label set is the same in every task."""


class ClassHead(nn.Module):
    """One unit per class, masked to the classes seen so far (class-incremental)."""

    seen: Tensor
    task_classes: Tensor

    def __init__(self, in_features: int, tasks: tuple[Task, ...], n_classes: int,
                 layer: LayerFactory = linear_layer) -> None:
        super().__init__()
        self.linear = layer(in_features, range(n_classes))
        task_classes = torch.zeros(len(tasks), n_classes, dtype=torch.bool)
        for task in tasks:
            task_classes[task.id, list(task.classes)] = True
        self.register_buffer("task_classes", task_classes)
        self.register_buffer("seen", torch.zeros(n_classes, dtype=torch.bool))

    def forward(self, features: Tensor, task_ids: Tensor) -> Tensor:
        """Logits over seen classes; a not-yet-seen task's own classes are opened only for its samples,
        so the random-init row and forward transfer can be measured, and seen-task predictions are
        unaffected by task identity."""
        visible = self.seen | self.task_classes[task_ids]
        return self.linear(features).masked_fill(~visible, MASKED)

    def observe(self, task: Task) -> None:
        """The task's classes become outputs from now on."""
        self.seen |= self.task_classes[task.id]


def _pad(logits: Tensor, width: int) -> Tensor:
    return torch.nn.functional.pad(logits, (0, width - logits.shape[1]), value=MASKED)


def build_head(stream: Stream, in_features: int, layer: LayerFactory = linear_layer) -> nn.Module:
    """The head that goes with the stream's scenario, its layers made by ``layer``."""
    if stream.scenario is Scenario.TASK:
        return TaskHeads(in_features, [t.classes for t in stream.tasks], layer)
    if stream.scenario is Scenario.DOMAIN:
        return SharedHead(in_features, stream.tasks[0].classes, layer)
    return ClassHead(in_features, stream.tasks, stream.n_classes, layer)
