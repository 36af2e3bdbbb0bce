"""What the expansion methods share: the MLP's layers, seeded initialisation, growth, held-out slices.

Every expansion method changes the network through the hooks and keeps what it adds inside the
learner (``learner.backbone`` or the MLP's own layers), so the loop's parameter counts show the
growth. New weights are drawn from the method's own generator (``self.rng``), never the global one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import overload

import torch
from torch import Tensor, nn

from lifelong.errors import OptionError
from lifelong.methods.base import Phase
from lifelong.models.backbones import MLP
from lifelong.models.init import draw_
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario
from lifelong.streams.stream import Stream
from lifelong.streams.task import Batch, Split, Task, train_batch


def mlp_of(learner: Learner, method: str) -> MLP:
    """The learner's MLP backbone; other backbones are refused with a message naming what is needed."""
    backbone = learner.backbone
    if not isinstance(backbone, MLP) or not backbone.hidden:
        raise OptionError(f"--model: method {method!r} grows or masks the layers of an MLP backbone with at least "
                          f"one hidden layer (a model such as 'mlp-400x2'); got {type(backbone).__name__}")
    return backbone


def linears(mlp: MLP) -> list[nn.Linear]:
    """The MLP's hidden layers, input to output."""
    return [m for m in mlp.layers if isinstance(m, nn.Linear)]


def head_linears(head: nn.Module) -> list[nn.Linear]:
    """Every linear layer of a scenario head (one per task for task heads, one otherwise)."""
    return [m for m in head.modules() if isinstance(m, nn.Linear)]


def head_is_shared(learner: Learner) -> bool:
    """Whether tasks share the output layer. Task heads are private (trained only on their task's data),
    so nothing needs protecting there; a shared head must be frozen or masked like the hidden layers."""
    return learner.scenario is not Scenario.TASK


def frozen_copy(module: nn.Module) -> nn.Module:
    """A copy that no optimizer will train (an old task's output layer, kept for its predictions)."""
    return copy.deepcopy(module).requires_grad_(False)


def new_linear(in_features: int, out_features: int, rng: torch.Generator, bias: bool = True,
               init: str = "default", *, device: torch.device | str) -> nn.Linear:
    """A linear layer drawn by the run's ``init`` scheme from ``rng`` (the global generator untouched), on
    ``device``: drawn on the CPU, where ``rng`` is, so every device gets the same weights."""
    layer = nn.utils.skip_init(nn.Linear, in_features, out_features, bias=bias, device="cpu")
    draw_(layer.weight, in_features, init, rng)
    if layer.bias is not None:
        draw_(layer.bias, in_features, init, rng, bias=True)
    return layer.to(device)


def replace_linear(layer: nn.Linear, weight: Tensor, bias: Tensor | None) -> None:
    """Give ``layer`` new (possibly larger) weights; its ``in/out_features`` follow."""
    layer.weight = nn.Parameter(weight.detach().clone())
    if bias is not None:
        layer.bias = nn.Parameter(bias.detach().clone())
    layer.out_features, layer.in_features = weight.shape


def sync_widths(mlp: MLP) -> None:
    """Update the MLP's record of its widths after its layers changed (``out_features`` feeds the head)."""
    mlp.hidden = tuple(layer.out_features for layer in linears(mlp))
    mlp.out_features = mlp.hidden[-1]


def consumers(learner: Learner, layer: int) -> list[nn.Linear]:
    """The layers reading hidden layer ``layer``: the next hidden layer, or every head layer for the last."""
    hidden = linears(mlp_of(learner, "expansion"))
    return [hidden[layer + 1]] if layer + 1 < len(hidden) else head_linears(learner.head)


def add_units(learner: Learner, layer: int, count: int, rng: torch.Generator) -> None:
    """Append ``count`` units to hidden layer ``layer``: random incoming weights, zero outgoing weights.

    Zero outgoing weights leave the function unchanged, so the grown network starts where the old one
    was and every existing output (old tasks' heads included) is untouched until the new units train.
    """
    mlp = mlp_of(learner, "expansion")
    target = linears(mlp)[layer]
    # drawn on the CPU with the method's generator (the same units on every device), then moved
    rows = draw_(torch.empty(count, target.in_features, device="cpu"), target.in_features, learner.init, rng)
    bias = draw_(torch.empty(count, device="cpu"), target.in_features, learner.init, rng, bias=True)
    device = target.weight.device
    replace_linear(target, torch.cat([target.weight.detach(), rows.to(device)]),
                   torch.cat([target.bias.detach(), bias.to(device)]))
    for reader in consumers(learner, layer):
        cols = reader.weight.new_zeros(reader.out_features, count)
        replace_linear(reader, torch.cat([reader.weight.detach(), cols], 1), None)
    sync_widths(mlp)


def resize_to(learner: Learner, widths: Sequence[int]) -> None:
    """Zero-pad the hidden layers to ``widths`` (restoring a grown model before loading its weights)."""
    mlp = mlp_of(learner, "expansion")
    for i, width in enumerate(widths):
        extra = width - linears(mlp)[i].out_features
        if extra > 0:
            layer = linears(mlp)[i]
            replace_linear(layer, nn.functional.pad(layer.weight.detach(), (0, 0, 0, extra)),
                           nn.functional.pad(layer.bias.detach(), (0, extra)))
            for reader in consumers(learner, i):
                replace_linear(reader, nn.functional.pad(reader.weight.detach(), (0, extra)), None)
    sync_widths(mlp)


def index_batches(task: Task, index: Tensor, batch_size: int, epochs: int, rng: torch.Generator) -> Iterator[Batch]:
    """Shuffled mini-batches of the task's training examples at ``index`` (inner phases through ``fit``)."""
    for _ in range(epochs):
        order = index[torch.randperm(len(index), generator=rng, device="cpu").to(index.device)]
        for start in range(0, len(order), batch_size):
            yield train_batch(task, order[start:start + batch_size])


def all_batches(task: Task, batch_size: int, epochs: int, rng: torch.Generator) -> Iterator[Batch]:
    return index_batches(task, torch.arange(len(task.train), device="cpu"), batch_size, epochs, rng)


@torch.no_grad()
def accuracy(learner: Learner, batch: Batch) -> float:
    """Accuracy of the learner's current forward pass on ``batch`` (held-out training data)."""
    return float((learner(batch.x, batch.task_ids).argmax(1) == batch.y).float().mean())


class HeldOutPhases(Sequence[Phase]):
    """One phase per task, trained on all but a seeded slice of the task's training examples.

    The slice measures an accuracy goal (CPG) or target (Net2Net) on data the network never trained
    on, without touching test data. Tasks are built on access, so only the phase being trained holds
    a copy of its examples (permuted tasks otherwise share one copy of MNIST).
    """

    def __init__(self, stream: Stream, fraction: float, rng: torch.Generator) -> None:
        self.tasks = stream.tasks
        self.kept: list[Tensor] = []
        self.held: list[Tensor] = []
        for task in stream:
            n = len(task.train)
            held = max(1, round(fraction * n))
            if held >= n:
                raise ValueError(f"task {task.name!r} has {n} training examples: too few to hold out {fraction:.0%}")
            order = torch.randperm(n, generator=rng, device="cpu")
            self.held.append(order[:held].sort().values)
            self.kept.append(order[held:].sort().values)

    def __len__(self) -> int:
        return len(self.tasks)

    @overload
    def __getitem__(self, i: int) -> Phase: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Phase]: ...

    def __getitem__(self, i: int | slice) -> Phase | Sequence[Phase]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        task, index = self.tasks[i], self.kept[i]
        train = Split(task.train.x[index], task.train.y[index])
        return Phase((Task(task.id, task.name, train, task.test, task.classes, task.prepare),))

    def held_out(self, task_id: int) -> Batch:
        """The held-out training examples of a task, prepared for the model."""
        return train_batch(self.tasks[task_id], self.held[task_id])


def by_task(x: Tensor, task_ids: Tensor, logits: Callable[[Tensor, Tensor, int], Tensor]) -> Tensor:
    """Logits assembled from ``logits(x_t, ids_t, t)`` for each task ``t`` present in the batch."""
    parts = {t: logits(x[task_ids == t], task_ids[task_ids == t], t) for t in task_ids.unique().tolist()}
    first = next(iter(parts.values()))
    out = first.new_empty(len(x), first.shape[1])
    for t, part in parts.items():
        out[task_ids == t] = part
    return out
