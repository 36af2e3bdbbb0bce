"""Expansion methods: zero forgetting where promised, PackNet's masks, Net2Net's function preservation,
Expert Gate's routing, growth that shows in the parameter counts, and refused scenarios and backbones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import lifelong
from lifelong.config import RunConfig, TrainConfig
from lifelong.errors import OptionError
from lifelong.methods.base import Method, ScenarioError
from lifelong.methods.expansion import CPG, ExpertGate, Net2Net, PackNet, Progressive, expert_gate, net2wider
from lifelong.methods.expansion._common import add_units, linears, mlp_of
from lifelong.methods.expansion.progressive import Columns, LateralAdapter
from lifelong.models.heads import build_head
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.result import Result
from lifelong.streams.scenario import Scenario, targets_for
from lifelong.streams.stream import Stream
from lifelong.streams.task import Split, Task, eval_batch, train_batch
from lifelong.train import train

TRAIN = TrainConfig(epochs=5, batch_size=16, optimizer="sgd", lr=0.1)


def _stream(scenario: str = "task", tasks: int = 3) -> Stream:
    return lifelong.streams.synthetic(tasks=tasks, classes_per_task=2, features=8, examples=128, test_examples=64,
                                      scenario=scenario)


class AfterEachTask(Observer):
    """Calls ``probe`` after every phase (once the row of R is evaluated) and keeps what it returns."""

    def __init__(self, probe: Callable[[], Any]) -> None:
        self.probe = probe
        self.seen: list[Any] = []

    def phase_finished(self, index: int, accuracies: np.ndarray, seconds: float) -> None:
        self.seen.append(self.probe())


def _run(stream: Stream, method: Method, probe: Callable[[Learner], Any] | None = None,
         model: str = "mlp-16x2") -> tuple[Learner, Result, list[Any]]:
    learner = Learner.build(model, stream, 0)
    observer = AfterEachTask(lambda: probe(learner) if probe else None)
    config = RunConfig(stream.name, stream.params, model, method.name, method.hyperparameters(), TRAIN, 0)
    return learner, train(stream, method, learner, config, [observer]), observer.seen


@pytest.mark.parametrize("scenario", ["task", "domain"])
@pytest.mark.parametrize("make", [Progressive, lambda: Progressive(adapters=True), lambda: PackNet(prune=0.6),
                                  lambda: CPG(goal=0.9)], ids=["progressive", "progressive-adapters", "packnet", "cpg"])
def test_old_tasks_outputs_are_bit_identical_after_new_tasks(make: Callable[[], Method], scenario: str) -> None:
    stream = _stream(scenario)
    first = eval_batch(stream[0])
    method = make()
    _, result, logits = _run(stream, method, lambda _: method.logits(first.x, first.task_ids).detach().clone())
    assert torch.equal(logits[0], logits[1]) and torch.equal(logits[0], logits[2])
    assert result.metrics["bwt"] == 0.0
    assert result.matrix.values[1, 0] > 0.9  # the task was learned, not frozen at chance


def test_progressive_adds_a_column_with_laterals_per_task() -> None:
    method = Progressive()
    _, result, _ = _run(_stream("task"), method)
    totals = [p["total"] for p in result.parameters]
    column = 8 * 16 + 16 + 16 * 16 + 16  # two hidden layers of 16 on 8 inputs
    assert totals[2] - totals[1] == column + 16 * 16  # + one lateral block from column 1 into layer 2
    assert totals[3] - totals[2] == column + 2 * 16 * 16  # + laterals from columns 1 and 2
    assert method.column_of_task_ == {0: 0, 1: 1, 2: 2}


@pytest.mark.parametrize(("width", "projected"), [(4, 4), (None, 16)], ids=["width-4", "default-width"])
def test_progressive_adapters_grow_by_eq_2s_parameter_count(width: int | None, projected: int) -> None:
    method = Progressive(adapters=True, adapter_width=width)
    _, result, _ = _run(_stream("task"), method)
    totals = [p["total"] for p in result.parameters]
    column = 8 * 16 + 16 + 16 * 16 + 16
    # into layer 2 of column k: α, V (k · 16 -> projected units), U (projected -> 16 units), no biases
    assert totals[2] - totals[1] == column + 1 + 16 * projected + projected * 16
    assert totals[3] - totals[2] == column + 1 + 2 * 16 * projected + projected * 16
    assert result.matrix.values[3, 2] > 0.9  # the last column learned its task


def test_progressive_adapter_follows_eq_2_on_a_hand_built_two_column_network() -> None:
    """h_2^(2) = relu(W_2^(2) h_1^(2) + b_2^(2) + U relu(V α h_1^(1))), every weight set by hand, x = (1, 2)."""
    net = Columns([nn.Linear(2, 2), nn.Linear(2, 2)])
    net.add_column(torch.Generator().manual_seed(0), adapters=True, adapter_width=2)
    adapter = net.laterals[1][0]
    assert isinstance(adapter, LateralAdapter)
    first, second = net.columns
    with torch.no_grad():
        for layer in (*first, *second):
            layer.bias.zero_()
        first[0].weight.copy_(torch.eye(2))  # h_1^(1) = relu(1, 2) = (1, 2)
        second[0].weight.copy_(torch.tensor([[1.0, 1.0], [-1.0, 0.0]]))  # h_1^(2) = relu(3, -1) = (3, 0)
        second[1].weight.copy_(torch.eye(2))
        second[1].bias.copy_(torch.tensor([0.0, 2.0]))  # W_2^(2) h_1^(2) + b = (3, 2)
        adapter.alpha.fill_(0.5)  # α h_1^(1) = (0.5, 1)
        adapter.project.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, -1.0]]))  # V: (1.5, -0.5), relu: (1.5, 0)
        adapter.combine.weight.copy_(torch.tensor([[2.0, 3.0], [-1.0, 1.0]]))  # U: (3, -1.5)
    assert torch.equal(net.hidden(torch.tensor([[1.0, 2.0]]), 1), torch.tensor([[6.0, 0.5]]))  # relu(3 + 3, 2 - 1.5)


@pytest.mark.parametrize("init", ["default", "trunc-normal-0.1"])
def test_new_columns_and_grown_units_follow_the_runs_init(init: str) -> None:
    """Layers a method adds later (a progressive column, CPG's grown units) are drawn like the first model."""

    def check(weight: torch.Tensor, bias: torch.Tensor) -> None:
        if init == "default":  # U(±1/sqrt(400)): |w| <= 0.05, std 0.05/sqrt(3)
            assert float(weight.abs().max()) <= 0.05 and abs(float(weight.std()) - 0.05 / 3**0.5) < 1e-3
        else:  # N(0, 0.1²) truncated at ±0.2 (std 0.088), biases 0.1
            assert float(weight.abs().max()) <= 0.2 and abs(float(weight.std()) - 0.088) < 2e-3
            assert torch.all(bias == 0.1)

    stream = lifelong.streams.synthetic(tasks=2, classes_per_task=2, features=400, examples=32, scenario="task")
    learner = Learner.build("mlp-300x1", stream, 0, init)
    add_units(learner, 0, 200, torch.Generator().manual_seed(0))  # as CPG grows a layer
    layer = linears(mlp_of(learner, "test"))[0]
    check(layer.weight[300:].detach(), layer.bias[300:].detach())

    learner = Learner.build("mlp-300x1", stream, 0, init)
    method = Progressive()
    method.attach(learner, 0, stream.scenario)
    method.setup(learner)
    method.column_of_task_[0] = 0
    method.before_task(stream[1])
    column = method.net.columns[1][0]
    check(column.weight.detach(), column.bias.detach())


def _owners(method: PackNet) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in method.owner_.items() if k.endswith(".weight")}


def test_packnet_masks_never_overlap_and_the_pruning_fraction_is_honoured() -> None:
    prune = 0.6
    method = PackNet(prune=prune)
    _, _, weights = _run(_stream("domain"), method,
                         lambda m: {k: p.detach().clone() for k, p in m.named_parameters()})
    owners = _owners(method)
    free = {k: o.numel() for k, o in owners.items()}
    for rank in (1, 2, 3):  # each task keeps exactly the unpruned share of what was free for it
        for k, o in owners.items():
            assert int((o == rank).sum()) == free[k] - round(prune * free[k])
            free[k] -= int((o == rank).sum())
    total = sum(o.numel() for o in owners.values())
    assert method.free_capacity_[-1] == pytest.approx(sum(free.values()) / total)
    assert method.free_capacity_ == sorted(method.free_capacity_, reverse=True)
    for t in (1, 2):  # what task t+1 changed lies outside every earlier task's mask
        for k, o in owners.items():
            changed = weights[t][k] != weights[t - 1][k]
            assert changed.any()
            assert not (changed & (o > 0) & (o <= t)).any()


def test_packnet_refuses_a_task_when_no_weight_is_free() -> None:
    with pytest.raises(OptionError, match="--method.prune: packnet has no free weights left"):
        _run(_stream("task", tasks=2), PackNet(prune=0.0))


def _widened_logits(noise: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    stream = _stream("task", tasks=2)
    learner = Learner.build("mlp-16x2", stream, 0).double()
    x = eval_batch(stream[1]).x.double()
    ids = torch.ones(len(x), dtype=torch.long)
    before = learner(x, ids).detach()
    head_std = float(learner.head.heads[1].weight.detach().std())
    rng = torch.Generator().manual_seed(0)
    net2wider(learner, 0, 29, noise, rng)
    net2wider(learner, 1, 23, noise, rng)
    assert learner.backbone.hidden == (29, 23) and learner.backbone.out_features == 23
    assert all(h.in_features == 23 for h in learner.head.heads)
    after = learner(x, ids).detach()
    features = learner.features(x).detach()
    # noise only on the 7 new units' outgoing weights into the head: |Δ| <= Σ_j |ε_kj| |h_j|
    bound = 6 * noise * head_std * float(features[:, 16:].abs().sum(1).max())
    return before, after, bound


def test_net2wider_preserves_the_function_without_noise_and_within_a_bound_with_it() -> None:
    before, after, _ = _widened_logits(noise=0.0)
    assert torch.allclose(before, after, rtol=0, atol=1e-12)  # float64: equal up to rounding
    before, after, bound = _widened_logits(noise=0.01)
    gap = float((before - after).abs().max())
    assert 0 < gap <= bound


def test_net2net_widens_only_when_the_target_is_missed() -> None:
    stream = _stream("class", tasks=2)
    _, result, _ = _run(stream, Net2Net(target=0.0))
    assert [p["total"] for p in result.parameters] == [result.parameters[0]["total"]] * 3
    method = Net2Net(target=1.01, max_widenings=2, widen=0.5)
    _, result, _ = _run(stream, method)
    assert method.widenings_ == [2, 2] and method.widths_ == [16 + 4 * 8] * 2  # + half the initial width each time
    totals = [p["total"] for p in result.parameters]
    assert totals[1] > totals[0]


def _two_domains(scenario: str) -> Stream:
    """Two clearly different tasks: class blobs live in the first half of the features, then the second."""
    g = torch.Generator().manual_seed(0)
    kind = Scenario.parse(scenario)
    tasks = []
    for t in range(2):
        def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
            y = torch.arange(n) % 2
            x = 0.05 * torch.randn(n, 16, generator=g)
            x[:, 8 * t: 8 * t + 8] += torch.where(y[:, None] == 0, 2.0, -2.0) + 0.5 * torch.randn(n, 8, generator=g)  # noqa: B023
            return x, y

        classes = (2 * t, 2 * t + 1) if kind is Scenario.CLASS else (0, 1)
        (x, y), (xt, yt) = draw(128), draw(64)
        tasks.append(Task(t, f"half-{t}", Split(x, targets_for(kind, y, classes)),
                          Split(xt, targets_for(kind, yt, classes)), classes))
    return Stream("two-halves", tuple(tasks), kind, (16,))


@pytest.mark.parametrize("scenario", ["class", "task"])
def test_expert_gate_routes_each_input_to_its_tasks_expert(scenario: str) -> None:
    stream = _two_domains(scenario)
    method = ExpertGate(code=4, ae_epochs=40, batch_size=32, ae_lr=1e-2)
    _, result, _ = _run(stream, method)
    assert method.routing_accuracy_ == [1.0, 1.0]  # recorded while the loop evaluated rows 1 and 2
    for task in stream:
        test = eval_batch(task)
        assert float((method.route(test.x) == task.id).float().mean()) == 1.0
        wrong_ids = torch.full_like(test.task_ids, 1 - task.id)  # the given task id is not used
        assert torch.equal(method.predict(test.x, wrong_ids), method.predict(test.x, test.task_ids))
    assert result.metrics["acc"] > 0.95
    totals = [p["total"] for p in result.parameters]
    assert totals[0] < totals[1] < totals[2]  # a gate, then a second expert and gate


def test_expert_gate_starts_a_new_expert_from_the_most_related_one() -> None:
    stream = _two_domains("task")
    stream = Stream(stream.name, (*stream.tasks, Task(2, "half-0 again", stream[0].train, stream[0].test, (0, 1))),
                    stream.scenario, stream.input_shape)
    method = ExpertGate(code=4, ae_epochs=40, batch_size=32, ae_lr=1e-2)
    _run(stream, method)
    assert method.related_ == [-1, 0, 0]
    rel = method.relatedness_[2]
    assert rel[0] > rel[1]  # eq. 2: task 1's gate reconstructs task 0's inputs badly


def _three_tasks_third_like_first() -> Stream:
    stream = _two_domains("task")
    return Stream(stream.name, (*stream.tasks, Task(2, "half-0 again", stream[0].train, stream[0].test, (0, 1))),
                  stream.scenario, stream.input_shape)


@pytest.mark.parametrize(("threshold", "when_related", "lwf"), [(0.85, True, [False, False, True]),
                                                                 (0.75, True, [False, True, True]),
                                                                 (0.85, False, [False, False, False])])
def test_expert_gate_relatedness_from_fixed_errors_chooses_lwf_or_finetuning(
        threshold: float, when_related: bool, lwf: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    """Gates 0, 1, 2 reconstruct every input with errors 0.132, 0.11, 0.1. Eq. 2, Rel = 1 − (Er_k − Er_a) / Er_a:
    task 1: 1 − (0.132 − 0.11) / 0.11 = 0.8; task 2: 1 − (0.132 − 0.1) / 0.1 = 0.68 and 1 − (0.11 − 0.1) / 0.1 = 0.9,
    so task 2 starts from expert 1; LwF where the best Rel is above the threshold."""
    errors = iter([0.132, 0.11, 0.1])

    class FixedError(expert_gate.Autoencoder):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.value = next(errors)

        def error(self, x: torch.Tensor) -> torch.Tensor:
            return self.encoder.weight.sum() * 0 + torch.full((len(x),), self.value)  # trainable, constant

    monkeypatch.setattr(expert_gate, "Autoencoder", FixedError)
    method = ExpertGate(code=4, ae_epochs=1, lwf_when_related=when_related, relatedness_threshold=threshold)
    _run(_three_tasks_third_like_first(), method)
    assert method.relatedness_ == [[], pytest.approx([0.8]), pytest.approx([0.68, 0.9])]
    assert method.related_ == [-1, 0, 1]
    assert method.trained_with_lwf_ == lwf


def test_expert_gate_lwf_loss_is_task_loss_plus_lambda_distillation_by_hand() -> None:
    """Under LwF the new expert's loss is CE(new task) + λ_o · T² · mean −Σ_c p_old,c log q_new,c at temperature T,
    both through the related task's output layer, which gets no gradient (held fixed)."""
    two = _two_domains("task")
    stream = Stream(two.name, (two[0], Task(1, "half-0 again", two[0].train, two[0].test, (0, 1))), two.scenario,
                    two.input_shape)
    learner = Learner.build("mlp-16x1", stream, 0)
    lam, temperature = 0.5, 3.0
    method = ExpertGate(code=4, ae_epochs=40, batch_size=32, ae_lr=1e-2, relatedness_threshold=0.5, lwf_lam=lam,
                        lwf_temperature=temperature)
    method.attach(learner, 0, stream.scenario)
    for task in stream:
        method.before_task(task)
        if task.id == 0:
            method.after_task(task)
    assert method.related_ == [-1, 0] and method.trained_with_lwf_ == [False, True]
    old, new = method.bank.experts
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # the new expert has moved away from the related one it was copied from
        for p in new.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    batch = train_batch(stream[1], torch.arange(3))
    logits = learner(batch.x, batch.task_ids)
    penalty = method.penalty(batch, logits)
    assert penalty is not None
    loss = learner.loss(logits, batch.y) + penalty  # what the loop minimises

    z_new = learner.head.heads[0](new(batch.x)) / temperature  # the related task's (task 0's) outputs
    z_old = learner.head.heads[0](old(batch.x)) / temperature
    p_old = z_old.exp() / z_old.exp().sum(1, keepdim=True)
    log_q_new = z_new - z_new.exp().sum(1, keepdim=True).log()
    distillation = temperature**2 * -(p_old * log_q_new).sum(1).mean()
    z = learner.head.heads[1](new(batch.x))
    cross_entropy = (z.exp().sum(1).log() - z[torch.arange(3), batch.y]).mean()
    assert torch.allclose(loss, cross_entropy + lam * distillation, rtol=0, atol=1e-6)
    assert float(distillation.detach()) > 0.1  # not a vanishing term

    learner.zero_grad(set_to_none=True)
    loss.backward()
    assert learner.head.heads[0].weight.grad is None and all(p.grad is None for p in old.parameters())
    assert all(p.grad is not None for p in new.parameters())


def test_cpg_grows_when_the_goal_is_missed_and_stays_unforgetting() -> None:
    stream = _stream("task")
    first = eval_batch(stream[0])
    method = CPG(goal=1.01, max_grow=1, grow=0.5, prune_steps=2)
    _, result, logits = _run(stream, method, lambda _: method.logits(first.x, first.task_ids).detach().clone())
    assert method.grown_ == [1, 1, 1]
    assert method.widths_ == [16 + 3 * 8] * 2  # grows by half the initial width each time
    assert method.widths_of_task_[0] == [24, 24]
    totals = [p["total"] for p in result.parameters]
    assert totals[0] < totals[1] < totals[2] < totals[3]
    assert torch.equal(logits[0], logits[2]) and result.metrics["bwt"] == 0.0
    # the picked old weights are a subset of the weights earlier tasks own
    for key, pick in method.picks_[2].items():
        rows, cols = pick.shape
        owned = method.owner_[key][:rows, :cols]
        assert not (pick & ~((owned > 0) & (owned <= 2))).any()


@pytest.mark.parametrize("name", ["progressive", "packnet", "cpg"])
def test_methods_needing_the_task_id_refuse_class_incremental(name: str) -> None:
    with pytest.raises(ScenarioError, match=f"method '{name}' does not support the class-incremental .*"
                                            "it supports: domain, task"):
        lifelong.run(_stream("class", tasks=2), name, "mlp-16x1", epochs=1)


@pytest.mark.parametrize("make", [Progressive, PackNet, CPG, Net2Net], ids=["progressive", "packnet", "cpg", "net2net"])
def test_layer_methods_refuse_a_backbone_that_is_not_an_mlp(make: Callable[[], Method]) -> None:
    stream = _stream("task", tasks=2)
    backbone = nn.Linear(8, 16)  # has out_features, but no hidden layers to grow or mask
    learner = Learner(backbone, build_head(stream, 16), stream)
    with pytest.raises(OptionError, match="--model: method '.*' grows or masks the layers of an MLP backbone"):
        make().attach(learner, 0, stream.scenario)
