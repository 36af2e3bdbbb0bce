"""Progressive networks: a new column per task, lateral connections from the old (Rusu et al., arXiv 1606.04671)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import Tensor, nn

from lifelong.methods.base import Method, register
from lifelong.methods.expansion._common import by_task, frozen_copy, head_is_shared, linears, mlp_of, new_linear
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario
from lifelong.streams.task import Task


class LateralAdapter(nn.Module):
    """Eq. (2)'s non-linear lateral connection into layer i of a column k from all earlier columns:
    U_i^(k:j) σ(V_i^(k:j) α_{i−1}^(<k) h_{i−1}^(<k)), h_{i−1}^(<k) the concatenated layer i − 1 of columns j < k.

    ``alpha`` (α, a learned scalar drawn small, U(0, 0.1), as the paper initialises it "by a random
    small value") adjusts for the scale of the lateral inputs; ``project`` (V) reduces them to
    ``width`` units, a one-hidden-layer MLP with σ = ReLU; ``combine`` (U) maps those to layer i.
    No biases, as in the equation and the linear laterals.
    """

    def __init__(self, in_features: int, width: int, out_features: int, rng: torch.Generator,
                 init: str = "default") -> None:
        super().__init__()
        self.alpha = nn.Parameter(0.1 * torch.rand((), generator=rng, device="cpu"))
        self.project = new_linear(in_features, width, rng, bias=False, init=init, device="cpu")
        self.combine = new_linear(width, out_features, rng, bias=False, init=init, device="cpu")

    def forward(self, lateral: Tensor) -> Tensor:
        out: Tensor = self.combine(torch.relu(self.project(self.alpha * lateral)))
        return out


class Columns(nn.Module):
    """The progressive backbone: columns of equal widths; column k reads every earlier column (eq. 1,
    or through :class:`LateralAdapter` for eq. 2).

    ``forward`` returns the hidden features of the ``active`` column (the one being trained), so the
    learner's head sits on top as usual; :meth:`hidden` gives any column's features. Frozen output
    layers of earlier tasks live in ``heads`` when the scenario shares one head between tasks, so that
    parameter counts include them.
    """

    def __init__(self, first: list[nn.Linear]) -> None:
        super().__init__()
        self.widths = [layer.out_features for layer in first]
        self.in_features = first[0].in_features
        self.out_features = self.widths[-1]
        self.columns = nn.ModuleList([nn.ModuleList(first)])
        # laterals[k][i - 1]: U_i^(k:j) for all j < k at once (or an adapter), reading the concatenated h_{i-1}^(j<k)
        self.laterals = nn.ModuleList([nn.ModuleList()])
        self.heads = nn.ModuleDict()
        self.active = 0

    def add_column(self, rng: torch.Generator, init: str = "default", adapters: bool = False,
                   adapter_width: int | None = None) -> None:
        """A column with lateral connections from all earlier ones, drawn by the run's ``init`` scheme
        (the authors' code draws every column as its first); it becomes active. ``adapters``: eq. (2)'s
        :class:`LateralAdapter` instead of linear laterals, ``adapter_width`` units wide (None: the width
        n_{i−1} of the layer it reads in one column, eq. 2's V_i^(k:j) ∈ R^(n_{i−1} × n_{i−1}^(<k))).
        The new layers are drawn on the CPU from ``rng``, then moved to the device and dtype of column 1."""
        k = len(self.columns)
        fan_in = [self.in_features, *self.widths[:-1]]
        column = nn.ModuleList(new_linear(a, b, rng, init=init, device="cpu")
                               for a, b in zip(fan_in, self.widths, strict=True))
        laterals = nn.ModuleList(
            LateralAdapter(k * a, adapter_width or a, b, rng, init) if adapters
            else new_linear(k * a, b, rng, bias=False, init=init, device="cpu")
            for a, b in zip(self.widths[:-1], self.widths[1:], strict=True))
        like = next(self.columns[0].parameters())
        self.columns.append(column.to(device=like.device, dtype=like.dtype))
        self.laterals.append(laterals.to(device=like.device, dtype=like.dtype))
        self.active = k

    def column_parameters(self, k: int) -> list[nn.Parameter]:
        return [*self.columns[k].parameters(), *self.laterals[k].parameters()]

    @staticmethod
    def _layer(stack: nn.ModuleList, k: int, i: int) -> nn.Module:
        return cast(nn.Module, cast(nn.ModuleList, stack[k])[i])

    def hidden(self, x: Tensor, column: int) -> Tensor:
        """h_L^(column), computing columns 0..column layer by layer:
        h_i^(k) = relu(W_i^(k) h_{i-1}^(k) + sum_{j<k} U_i^(k:j) h_{i-1}^(j)) (eq. 1), or with adapters
        h_i^(k) = relu(W_i^(k) h_{i-1}^(k) + U_i^(k:j) relu(V_i^(k:j) α_{i-1}^(<k) h_{i-1}^(<k))) (eq. 2)."""
        x = x.flatten(1)
        h = [x] * (column + 1)
        for i in range(len(self.widths)):
            pre = [self._layer(self.columns, k, i)(h[k]) for k in range(column + 1)]
            if i > 0:
                pre[1:] = [pre[k] + self._layer(self.laterals, k, i - 1)(torch.cat(h[:k], 1))
                           for k in range(1, column + 1)]
            h = [torch.relu(a) for a in pre]
        return h[column]

    def forward(self, x: Tensor) -> Tensor:
        return self.hidden(x, self.active)


@register("progressive", family="expansion")
@dataclass
class Progressive(Method):
    """One column per task; earlier columns are frozen and feed the new one through lateral connections.

    Eq. (1) of the paper with linear laterals: h_i^(k) = f(W_i^(k) h_{i-1}^(k) + Σ_{j<k} U_i^(k:j) h_{i-1}^(j)).
    The first task trains the learner's own MLP as column 1; each later task adds a column (drawn
    from the method's generator) and trains only it, its laterals and the output layer. A task is
    always answered by its own column and output layer, so old tasks' outputs are bit-identical
    after any later task: zero forgetting by construction, at the price of parameters that grow
    with the square of the number of tasks (the laterals).

    ``adapters`` (off by default) replaces the linear laterals by eq. (2)'s non-linear adapters, the
    ones the paper's results use (its paragraph "Adapters"): h_i^(k) = f(W_i^(k) h_{i-1}^(k) +
    U_i^(k:j) f(V_i^(k:j) α_{i-1}^(<k) h_{i-1}^(<k))), see :class:`LateralAdapter`. The learned scalar α
    adjusts for the different scales of the lateral inputs, and V projects them onto ``adapter_width``
    units (default: n_{i-1}, one column's width) before U, so the lateral parameters of column k grow as
    1 + k · n_{i-1} · width + width · n_i instead of k · n_{i-1} · n_i. Off by default, so that the
    numbers measured with linear laterals (benchmarks/results, the presets tuned for them) stay
    reproducible, and because on an MLP the default width adds parameters rather than saving them:
    with equal widths n, only a width below k · n / (k + 1) saves any.

    Deviation: the output layer is the scenario head on the column's last hidden layer, without
    laterals into it. With a shared (domain) head, a frozen copy per task keeps each task's own
    output layer, and the next column's starts from the last one.

    State: ``columns_`` (number of columns), ``column_of_task_`` (task id -> its column).
    """

    adapters: bool = False  # eq. (2)'s non-linear lateral adapters (α, V, U) instead of eq. (1)'s linear U
    adapter_width: int | None = None  # units of an adapter's projection V; None: the width n_{i-1} it reads

    scenarios = frozenset({Scenario.TASK, Scenario.DOMAIN})
    grows = True
    uses_task_id_at_test = True
    paper = ("arXiv 1606.04671, eq. (1): a frozen column per task, lateral connections into each new column; "
             "eq. (2) adapters")
    positive = ("adapter_width",)

    def setup(self, learner: Learner) -> None:
        if not isinstance(learner.backbone, Columns):
            learner.backbone = Columns(linears(mlp_of(learner, self.name)))
        self.net: Columns = learner.backbone
        self.columns_ = len(self.net.columns)
        self.column_of_task_: dict[int, int] = {}

    def before_task(self, task: Task) -> None:
        if self.column_of_task_:  # the first task trains column 1; every later one a new column
            self.net.requires_grad_(False)
            self.net.add_column(self.rng, self.learner.init, self.adapters, self.adapter_width)
            self.columns_ = len(self.net.columns)

    def parameters(self, learner: Learner) -> list[nn.Parameter]:
        return [*self.net.column_parameters(self.net.active), *learner.head.parameters()]

    def after_task(self, task: Task) -> None:
        self.column_of_task_[task.id] = self.net.active
        if head_is_shared(self.learner):
            self.net.heads[str(task.id)] = frozen_copy(self.learner.head)

    def logits(self, x: Tensor, task_ids: Tensor) -> Tensor:
        """Each task's logits from its own column and output layer (the newest for a task not yet trained)."""
        return by_task(x, task_ids, self._task_logits)

    def _task_logits(self, x: Tensor, task_ids: Tensor, task: int) -> Tensor:
        features = self.net.hidden(x, self.column_of_task_.get(task, self.net.active))
        head = self.net.heads[str(task)] if str(task) in self.net.heads else self.learner.head  # noqa: SIM401
        out: Tensor = head(features, task_ids)
        return out

    def predict(self, x: Tensor, task_ids: Tensor) -> Tensor | None:
        return self.logits(x, task_ids).argmax(1)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state and regrow the columns and frozen heads it describes, so that the learner's
        saved weights can be loaded next (``learner.load_state_dict``)."""
        super().load_state_dict(state)
        while len(self.net.columns) < self.columns_:
            self.net.requires_grad_(False)
            self.net.add_column(self.rng, self.learner.init, self.adapters, self.adapter_width)
        if head_is_shared(self.learner):
            for t in self.column_of_task_:
                if str(t) not in self.net.heads:
                    self.net.heads[str(t)] = frozen_copy(self.learner.head)
