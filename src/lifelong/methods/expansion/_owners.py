"""Per-entry task ownership of the masked layers (PackNet, CPG): who trained each weight, what is frozen.

An owner tensor per weight and bias holds 0 for a free entry (never trained, or released by
pruning, and then exactly zero) and ``k`` for the entry trained by the k-th task learned. A task at
test time sees the entries of its own and earlier tasks only, so later tasks cannot change it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from lifelong.methods.base import Method
from lifelong.methods.expansion._common import head_is_shared, head_linears, linears, mlp_of
from lifelong.models.learner import Learner
from lifelong.streams.task import Batch

Layers = list[tuple[str, nn.Linear]]


def masked_layers(learner: Learner, method: str) -> Layers:
    """(name, layer) of every layer shared between tasks: the MLP's, and the head when it is shared."""
    shared = linears(mlp_of(learner, method)) + (head_linears(learner.head) if head_is_shared(learner) else [])
    names = {id(m): n for n, m in learner.named_modules()}
    return [(names[id(m)], m) for m in shared]


def raw(layer: nn.Linear, attr: str) -> nn.Parameter:
    """The stored tensor of ``layer.weight``/``layer.bias``, beneath any parametrization (CPG's picking)."""
    if parametrize.is_parametrized(layer, attr):
        stored: nn.Parameter = getattr(layer.parametrizations, attr).original
        return stored
    value: nn.Parameter = getattr(layer, attr)
    return value


def tensors(layers: Layers) -> dict[str, nn.Parameter]:
    """``{"backbone.layers.0.weight": parameter, ...}`` for the masked layers."""
    return {f"{name}.{attr}": raw(layer, attr) for name, layer in layers for attr in ("weight", "bias")}


def new_owners(layers: Layers) -> dict[str, Tensor]:
    return {key: torch.zeros(p.shape, dtype=torch.int16, device=p.device) for key, p in tensors(layers).items()}


def is_weight(key: str) -> bool:
    return key.endswith(".weight")


class Freezer:
    """Keeps every entry outside ``trainable`` at its present value during a training phase.

    Gradients of frozen entries are zeroed (the paper's masking) and, after each step, frozen entries
    are written back, so neither momentum nor an optimizer carried over from an earlier task can move them.
    """

    def __init__(self, params: dict[str, nn.Parameter], trainable: dict[str, Tensor]) -> None:
        self.params = params
        self.keep = {k: trainable[k].to(p.dtype) for k, p in params.items()}
        self.fixed = {k: torch.where(trainable[k], 0.0, p.detach()) for k, p in params.items()}

    def trainable(self) -> list[nn.Parameter]:
        """The parameters with at least one entry free to train."""
        return [p for k, p in self.params.items() if bool(self.keep[k].any())]

    def mask_grads(self) -> None:
        for k, p in self.params.items():
            if p.grad is not None:
                p.grad.mul_(self.keep[k])

    @torch.no_grad()
    def restore(self) -> None:
        for k, p in self.params.items():
            p.mul_(self.keep[k]).add_(self.fixed[k])


class FreeWeightsTraining(Method):
    """The loop's hooks of a method that trains only the free entries of its owned layers (PackNet,
    CPG): ``self._freezer``, set by the method before each training phase, says which entries are free;
    the optimizer gets every parameter with a free entry (and the rest of the model), gradients of owned
    entries are zeroed and, after each step, owned entries are written back.
    """

    _freezer: Freezer

    def parameters(self, learner: Learner) -> list[nn.Parameter]:
        frozen = {id(p) for p in self._freezer.params.values()} - {id(p) for p in self._freezer.trainable()}
        return [p for p in learner.parameters() if id(p) not in frozen]

    def after_backward(self, batch: Batch) -> None:
        self._freezer.mask_grads()

    def after_step(self) -> None:
        self._freezer.restore()


def visible(owner: Tensor, rank: int) -> Tensor:
    """Entries a task learned ``rank``-th (1-based) may use: its own and those of earlier tasks."""
    return (owner > 0) & (owner <= rank)


def prune_smallest(weight: Tensor, candidates: Tensor, fraction: float) -> Tensor:
    """The candidates kept after releasing ``round(fraction * #candidates)`` of them with the smallest |w|.

    Ties are broken by position (a stable sort), so the count released is exact and reproducible.
    """
    released = round(fraction * int(candidates.sum()))
    scores = torch.where(candidates, weight.detach().abs(), torch.inf).flatten()
    kept = candidates.flatten().clone()
    kept[torch.argsort(scores, stable=True)[:released]] = False
    return kept.view_as(candidates)
