"""Distillation family: LwF's targets, iCaRL's herding, exemplar budget, loss and nearest-mean classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lifelong
from lifelong.config import RunConfig, TrainConfig
from lifelong.methods.base import ScenarioError
from lifelong.methods.distillation import _distill, herding, icarl, lwf
from lifelong.methods.replay import _buffer
from lifelong.models.heads import MASKED
from lifelong.models.learner import Learner
from lifelong.streams.scenario import Scenario
from lifelong.streams.task import train_batch
from lifelong.train import train

TRAIN = TrainConfig(epochs=2, batch_size=16, optimizer="sgd", lr=0.05)


def _run(name: str, scenario: str, params: dict[str, object] | None = None,
         tasks: int = 3) -> tuple[Learner, lifelong.methods.Method, lifelong.streams.Stream]:
    stream = lifelong.streams.synthetic(tasks=tasks, examples=48, scenario=scenario)
    method = lifelong.build_method(name, params)
    learner = Learner.build("mlp-16x1", stream, 0)
    train(stream, method, learner, RunConfig(stream.name, stream.params, "mlp-16x1", name, {}, TRAIN, 0))
    return learner, method, stream


def test_herding_picks_the_exemplars_whose_running_mean_is_closest_to_the_class_mean() -> None:
    generator = torch.Generator().manual_seed(0)
    features = F.normalize(torch.randn(12, 3, generator=generator), dim=1)
    mu = features.mean(0)
    expected: list[int] = []
    for k in range(1, 7):  # iCaRL Alg. 4, literally
        def distance(i: int, k: int = k) -> float:
            return float((mu - (features[i] + features[expected].sum(0)) / k).norm())
        expected.append(min((i for i in range(12) if i not in expected), key=distance))
    assert herding(features, 6).tolist() == expected
    assert herding(features, 50).sort().values.tolist() == list(range(12))  # never more than there are


def test_distillation_loss_is_the_tempered_cross_entropy() -> None:
    logits = torch.tensor([[2.0, 0.0]])
    target = torch.tensor([[0.0, 2.0]])
    p = torch.softmax(target / 2, 1)
    log_q = torch.log_softmax(logits / 2, 1)
    assert torch.isclose(_distill.distillation_loss(logits, target, 2.0), -(p * log_q).sum() * 4)
    # masked units carry no target probability and add nothing (not NaN)
    masked = torch.tensor([[0.0, 2.0, MASKED]])
    value = _distill.distillation_loss(torch.tensor([[2.0, 0.0, MASKED]]), masked, 2.0)
    assert torch.isclose(value, -(p * log_q).sum() * 4)


def test_lwf_without_distillation_is_finetune() -> None:
    stream = lifelong.streams.synthetic(tasks=3, examples=48, scenario="task")
    ft = lifelong.run(stream, "finetune", "mlp-16x1", epochs=2, batch_size=16, lr=0.05, optimizer="sgd")
    zero = lifelong.run(stream, "lwf", "mlp-16x1", method_params={"lam": 0.0}, epochs=2, batch_size=16, lr=0.05,
                        optimizer="sgd")
    assert np.array_equal(ft.matrix.values, zero.matrix.values)


def _between_tasks(name: str, scenario: str, params: dict[str, object] | None = None, done: int = 1,
                   ) -> tuple[Learner, lifelong.methods.Method, lifelong.streams.Stream]:
    """Tasks 0 … done−1 finished (a snapshot taken after each, the weights moved after each), task
    ``done`` begun: the penalty then distils the snapshot taken after task done−1."""
    stream = lifelong.streams.synthetic(tasks=3, examples=48, scenario=scenario)
    method = lifelong.build_method(name, params)
    learner = Learner.build("mlp-16x1", stream, 0)
    method.attach(learner, 0, stream.scenario)
    for k in range(done):
        learner.begin_task(stream[k])
        method.before_task(stream[k])
        method.after_task(stream[k])
        with torch.no_grad():
            for p in learner.parameters():
                p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1 + k)))
    learner.begin_task(stream[done])
    method.before_task(stream[done])
    return learner, method, stream


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_lwf_distils_the_previous_model_on_every_earlier_task(scenario: str) -> None:
    """The penalty is λ(t−1)·T²·KD against the snapshot taken after the last task: through each
    earlier head in task-IL, the shared head in domain-IL, earlier classes only in class-IL."""
    learner, method, stream = _between_tasks("lwf", scenario, {"lam": 0.7})
    assert isinstance(method, lwf.LwF)
    batch = train_batch(stream[1], torch.arange(16))
    logits = learner(batch.x, batch.task_ids)
    previous = Learner.build("mlp-16x1", stream, 0)
    previous.load_state_dict(method.previous_)
    ids = torch.zeros(16, dtype=torch.long) if scenario == "task" else batch.task_ids
    with torch.no_grad():
        target = previous(batch.x, ids)
    if scenario == "class":
        target[:, 2:] = MASKED  # task 0's classes are units 0 and 1
    current = learner(batch.x, ids)
    expected = 0.7 * _distill.distillation_loss(current, target, 2.0)
    value = method.penalty(batch, logits)
    assert value is not None and torch.isclose(value, expected)
    assert float(value.detach()) > 0


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_lwf_weighs_the_old_term_by_the_number_of_earlier_tasks(scenario: str) -> None:
    """On the third task the penalty is λ_o Σ_{k<3} L_old^k (arXiv 1606.09282 eq. 2-3; the weighting
    of LwF's docstring): with λ = 0.7 and T = 2,

    - task-IL: 0.7 · (KD(head 0) + KD(head 1)), each against the snapshot taken after task 1 through
      that task's own head, each a batch mean;
    - domain-IL: 0.7 · 2 · KD on the shared head (both earlier tasks share it, so the sum is twice one term);
    - class-IL: 0.7 · 2 · KD over the four units of tasks 0 and 1 (task 2's units closed in the target).

    With two tasks (one earlier task) λ·(t−1) = λ, so only a third task tells the two apart.
    """
    learner, method, stream = _between_tasks("lwf", scenario, {"lam": 0.7}, done=2)
    assert isinstance(method, lwf.LwF)
    batch = train_batch(stream[2], torch.arange(16))
    previous = Learner.build("mlp-16x1", stream, 0)
    previous.load_state_dict(method.previous_)
    heads = [torch.full((16,), k) for k in (0, 1)] if scenario == "task" else [batch.task_ids] * 2
    expected = torch.zeros(())
    for ids in heads:
        with torch.no_grad():
            target = previous(batch.x, ids)
        if scenario == "class":
            target[:, 4:] = MASKED
        expected = expected + 0.7 * _distill.distillation_loss(learner(batch.x, ids), target, 2.0)
    value = method.penalty(batch, learner(batch.x, batch.task_ids))
    assert value is not None and torch.isclose(value, expected, rtol=1e-5)
    one_term = 0.7 * _distill.distillation_loss(learner(batch.x, heads[1]), previous(batch.x, heads[1]), 2.0)
    assert not torch.isclose(value, one_term, rtol=1e-2)  # the λ-only reading differs here


def test_lwf_in_class_incremental_learning_gives_new_classes_no_target_mass() -> None:
    learner, method, stream = _between_tasks("lwf", "class")
    assert isinstance(method, lwf.LwF)
    batch = train_batch(stream[1], torch.arange(16))
    target = _distill.previous_logits(learner, method.previous_, batch.x, batch.task_ids, method.earlier_classes_)
    probs = torch.softmax(target / 2, 1)
    assert float(probs[:, list(stream[1].classes)].max()) == 0.0
    assert torch.allclose(probs.sum(1), torch.ones(16))


def test_icarl_keeps_its_exemplar_budget_and_classifies_by_the_nearest_mean() -> None:
    learner, method, stream = _run("icarl", "class", {"memory": 30})
    assert isinstance(method, icarl.ICaRL)
    per_class = torch.bincount(_buffer.keys(method.exemplars_))
    assert per_class.tolist() == [5] * 6  # K / classes seen = 30 / 6
    assert _buffer.size(method.exemplars_) <= 30
    # the classifier: distances to the stored means, nearest wins
    x = train_batch(stream[0], torch.arange(8)).x
    features = F.normalize(learner.features(x), dim=1)
    expected = method.mean_classes_[torch.cdist(features, method.means_).argmin(1)]
    assert torch.equal(method.predict(x, torch.zeros(8, dtype=torch.long)), expected)  # type: ignore[arg-type]
    assert torch.allclose(method.means_.norm(dim=1), torch.ones(6))


def test_icarl_mixes_exemplars_into_each_batch_in_their_share_of_the_union() -> None:
    """Alg. 3 trains on the new data ∪ exemplars; drawn per batch, a batch of B new samples carries
    round(B · |P| / |X_new|) exemplars. K = 30 over task 0's 2 classes keeps 15 + 15 = 30 exemplars, task 1
    has 48 training samples, so a batch of 16 gets round(16 · 30 / 48) = 10 exemplar rows, all of task 0's
    classes, after the 16 incoming rows."""
    _, method, stream = _between_tasks("icarl", "class", {"memory": 30})
    assert isinstance(method, icarl.ICaRL) and _buffer.size(method.exemplars_) == 30
    incoming = train_batch(stream[1], torch.arange(16))
    mixed = method.batch(incoming)
    assert len(mixed) == 26 and torch.equal(mixed.y[:16], incoming.y)
    assert set(mixed.y[16:].tolist()) <= {0, 1}
    stored = _buffer.contents(method.exemplars_).x
    assert bool((mixed.x[16:].unsqueeze(1) == stored.unsqueeze(0)).all(-1).any(1).all())


def test_icarl_trains_on_its_binary_cross_entropy_with_distillation() -> None:
    """iCaRL's loss hook is exactly the BCE of iCaRL's Alg. 3 (it replaces the cross-entropy): σ of
    the previous network as targets for the earlier classes, one-hot for the new ones, over the
    classes seen so far (the masked future units contribute exactly zero)."""
    learner, method, stream = _between_tasks("icarl", "class", {"memory": 30})
    assert isinstance(method, icarl.ICaRL)
    batch = train_batch(stream[1], torch.arange(10))
    logits = learner(batch.x, batch.task_ids)
    total = method.loss(batch, logits)
    assert method.penalty(batch, logits) is None
    previous = Learner.build("mlp-16x1", stream, 0)
    previous.load_state_dict(method.previous_)
    with torch.no_grad():
        old = torch.sigmoid(previous(batch.x, batch.task_ids)[:, :2])
    targets = torch.cat([old, F.one_hot(batch.y - 2, 2).float()], dim=1)
    expected = F.binary_cross_entropy_with_logits(logits[:, :4], targets, reduction="none").sum(1).mean()
    assert torch.isclose(total, expected, atol=1e-5)


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_split_mnist_lwf_first_task_is_finetune_and_distils_from_the_second(scenario: str, fake_mnist: Path) -> None:
    """LwF on split MNIST in every scenario: with no previous model yet, task 1 is learned exactly as
    finetune learns it (R[0] and R[1] equal bit for bit: the snapshot is taken *after* a task); from
    task 2 on the distillation term moves the weights away from finetune's."""
    stream = lifelong.streams.split_mnist(scenario=scenario)
    options: dict[str, object] = {"epochs": 2, "batch_size": 16, "lr": 0.05, "optimizer": "sgd"}
    finetune, method = lifelong.build_method("finetune"), lifelong.build_method("lwf")
    reference = lifelong.run(stream, finetune, "mlp-16x1", **options)  # type: ignore[arg-type]
    result = lifelong.run(stream, method, "mlp-16x1", **options)  # type: ignore[arg-type]
    assert result.matrix.values.shape == (6, 5)
    assert np.array_equal(result.matrix.values[:2], reference.matrix.values[:2])
    final = dict(method.learner.named_parameters())
    assert any(not torch.equal(p, final[n]) for n, p in finetune.learner.named_parameters())


def test_split_mnist_icarl_keeps_the_classes_finetune_forgets(fake_mnist: Path) -> None:
    """Class-incremental split MNIST, 5 epochs a task: finetune's final model scores exactly 0 on every
    earlier task (nothing opposes the last task's cross-entropy on the earlier units), while iCaRL's
    exemplars, distillation and nearest-mean classifier keep mean R[5, j<4] ≥ 0.9 on these
    well-separated fake digits (K = 2000 holds every training sample of the small fake set)."""
    stream = lifelong.streams.split_mnist(scenario="class")
    options: dict[str, object] = {"epochs": 5, "batch_size": 16, "lr": 0.01, "optimizer": "adam"}
    finetune = lifelong.run(stream, "finetune", "mlp-16x1", **options)  # type: ignore[arg-type]
    assert finetune.matrix.values[5, :4].tolist() == [0.0] * 4
    result = lifelong.run(stream, "icarl", "mlp-16x1", **options)  # type: ignore[arg-type]
    assert float(result.matrix.values[5, :4].mean()) >= 0.9


def test_icarl_refuses_task_and_domain_incremental_learning() -> None:
    for scenario in (Scenario.TASK, Scenario.DOMAIN):
        stream = lifelong.streams.synthetic(tasks=2, examples=16, scenario=scenario.value)
        with pytest.raises(ScenarioError, match="'icarl' does not support .* it supports: class"):
            lifelong.run(stream, "icarl", "mlp-16x1")
