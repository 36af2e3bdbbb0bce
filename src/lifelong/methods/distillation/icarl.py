"""iCaRL (Rebuffi et al., arXiv 1611.07725): exemplars by herding, nearest-mean-of-exemplars classification."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lifelong.methods.base import Method, register
from lifelong.methods.distillation import _distill
from lifelong.methods.replay import _buffer
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario
from lifelong.streams.task import Batch, Task, train_batch


@register("icarl", family="distillation")
@dataclass
class ICaRL(Method):
    """Class-incremental learning with a fixed budget of K exemplars (arXiv 1611.07725).

    - Classification (Alg. 1): y* = argmin_y ‖φ(x) − μ_y‖, μ_y the mean of class y's exemplars'
      features; features and means are L2-normalised, as everywhere in the paper (Sec. 2.1).
    - Representation learning (Alg. 3): the new classes' data plus the exemplars (mixed into each
      batch in the proportion they have in the union, as if drawn from it), trained with the
      binary cross-entropy over the classes seen so far: one-hot targets for the new classes,
      σ(z_old/T) of the previous network for the old ones (distillation), returned by the ``loss``
      hook in place of the cross-entropy. T = 1 in the paper; arXiv 1904.07734's code
      (Table A) uses T = 2.
    - Exemplar management: m = K / (classes seen) per class; old sets keep their first m
      (Alg. 5); a new class gets m exemplars chosen by herding (Alg. 4, :func:`herding`).
    """

    memory: int = 2000  # K, exemplars in total
    temperature: float = 1.0  # T on the previous network's logits in the distillation targets

    scenarios = frozenset({Scenario.CLASS})
    paper = "arXiv 1611.07725, Alg. 1 (nearest mean of exemplars), 3 (update), 4 (herding), 5 (reduction)"
    positive = ("temperature",)

    def setup(self, learner: Learner) -> None:
        self.exemplars_ = _buffer.empty()
        self.previous_: dict[str, Tensor] = {}
        self.earlier_classes_ = torch.zeros(0, dtype=torch.long, device=self.device)
        self.means_ = torch.zeros(0, device=self.device)
        self.mean_classes_ = torch.zeros(0, dtype=torch.long, device=self.device)
        self._ratio = 0.0

    def before_task(self, task: Task) -> None:
        self._ratio = _buffer.size(self.exemplars_) / len(task.train)

    def batch(self, batch: Batch) -> Batch:
        replayed = _buffer.sample(self.exemplars_, round(len(batch) * self._ratio), self.rng)
        return batch if replayed is None else Batch.concat([batch, replayed])

    def loss(self, batch: Batch, logits: Tensor) -> Tensor:
        targets = F.one_hot(batch.y, logits.shape[1]).to(logits.dtype)
        if self.previous_:
            old = self.earlier_classes_
            previous = _distill.previous_logits(self.learner, self.previous_, batch.x, batch.task_ids, old)
            targets[:, old] = torch.sigmoid(previous[:, old] / self.temperature)
        return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(1).mean()

    def after_task(self, task: Task) -> None:
        new_classes = torch.tensor(task.classes, device=self.device)
        seen = len(self.earlier_classes_) + len(new_classes)
        per_class = self.memory // seen
        _buffer.trim_groups(self.exemplars_, per_class)
        for c in task.classes:
            candidates = torch.nonzero(task.train.y == c).squeeze(1)
            chosen = candidates[herding(self._features(train_batch(task, candidates).x), per_class)]
            _buffer.append(self.exemplars_, train_batch(task, chosen), torch.full((len(chosen),), c, device="cpu"))
        self.mean_classes_, self.means_ = self._class_means()
        self.previous_ = _distill.snapshot(self.learner)
        self.earlier_classes_ = torch.cat([self.earlier_classes_, new_classes])

    def predict(self, x: Tensor, task_ids: Tensor) -> Tensor | None:
        if len(self.mean_classes_) == 0:
            return None
        distances = torch.cdist(self._features(x), self.means_)
        return self.mean_classes_[distances.argmin(1)]

    @torch.no_grad()
    def _features(self, x: Tensor) -> Tensor:
        was_training = self.learner.training
        self.learner.eval()
        out = torch.cat([self.learner.features(chunk) for chunk in x.split(8192)])
        self.learner.train(was_training)
        return F.normalize(out, dim=1)

    def _class_means(self) -> tuple[Tensor, Tensor]:
        stored = _buffer.contents(self.exemplars_)
        features = self._features(stored.x)
        classes, means = [], []
        for c, rows in _buffer.groups(self.exemplars_):
            classes.append(c)
            means.append(F.normalize(features[rows].mean(0), dim=0))
        return torch.tensor(classes, device=features.device), torch.stack(means)


def herding(features: Tensor, m: int) -> Tensor:
    """iCaRL's Alg. 4: indices p_1..p_m, each p_k = argmin_x ‖μ − (φ(x) + Σ_{j<k} φ(p_j)) / k‖
    over the rows not chosen yet, μ the mean of all rows.

    With S the sum of the chosen rows, ‖μ − (φ + S)/k‖² = ‖μ‖² − 2μ·(φ + S)/k + ‖φ + S‖²/k², and
    φ·S is kept up to date with one matrix-vector product per pick: O(n·d) per exemplar.
    """
    n = len(features)
    m = min(m, n)
    mu = features.mean(0)
    mu_dot = features @ mu
    sq = (features * features).sum(1)
    s = torch.zeros_like(mu)
    s_dot = torch.zeros(n, dtype=features.dtype, device=features.device)  # φ(x)·S for every row
    taken = torch.zeros(n, dtype=torch.bool, device=features.device)
    chosen = torch.empty(m, dtype=torch.long, device=features.device)
    for k in range(1, m + 1):
        score = (sq + 2 * s_dot + (s * s).sum()) / k**2 - 2 * (mu_dot + mu @ s) / k
        i = int(score.masked_fill(taken, torch.inf).argmin())
        chosen[k - 1], taken[i] = i, True
        s = s + features[i]
        s_dot += features @ features[i]
    return chosen
