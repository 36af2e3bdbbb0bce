"""Selective synaptic plasticity: known answers on tiny cases, and the family's contract with the loop."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

import lifelong as ll
from lifelong._registry import METHODS
from lifelong.api import build_method
from lifelong.methods.base import Method
from lifelong.methods.regularization import EWC, L2, MAS, SCP, SI, OnlineEWC, RWalk
from lifelong.methods.regularization._importance import (
    FISHER_KINDS,
    fisher_diagonal,
    fisher_terms,
    gradient_moments,
    output_sensitivity,
    sliced_sensitivity,
    trainable,
)
from lifelong.metrics import intransigence
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.streams.scenario import Scenario
from lifelong.streams.task import Split, train_batch

FAMILY = sorted(e.name for e in METHODS.entries() if e.family == "regularization")
TINY = {"model": "mlp-16x1", "epochs": 2, "batch_size": 16, "seed": 3}


def test_the_family_is_registered() -> None:
    assert FAMILY == ["ewc", "l2", "mas", "online-ewc", "rwalk", "scp", "si"]


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
@pytest.mark.parametrize("name", FAMILY)
def test_zero_strength_reproduces_finetune_exactly(name: str, scenario: str) -> None:
    """λ = 0: importances are still estimated (with the method's own generator) but change nothing."""
    stream = ll.streams.synthetic(tasks=3, scenario=scenario, seed=1)
    finetune = ll.run(stream, "finetune", optimizer="adam", lr=0.01, **TINY)
    method = ll.run(stream, name, method_params={"lam": 0.0}, optimizer="adam", lr=0.01, **TINY)
    assert np.array_equal(method.matrix.values, finetune.matrix.values)


class Snapshots(Observer):
    """Watches a run: after each phase, copies of the method's chosen state and the learner's parameters."""

    def __init__(self, method: Method, attribute: str = "") -> None:
        self.method, self.attribute = method, attribute
        self.states: list[dict[str, torch.Tensor]] = []
        self.params: list[dict[str, torch.Tensor]] = []

    def phase_finished(self, index: int, accuracies: np.ndarray, seconds: float) -> None:
        if self.attribute:
            self.states.append({n: t.clone() for n, t in getattr(self.method, self.attribute).items()})
        self.params.append({n: p.detach().clone() for n, p in self.method.learner.named_parameters()})


@pytest.mark.parametrize("name", FAMILY)
def test_state_round_trips(name: str) -> None:
    """A fresh method given the saved state gives the same penalty (resuming, learning after deployment)."""
    stream = ll.streams.synthetic(tasks=2, scenario="domain", seed=1)
    method = build_method(name, {"lam": 5.0})
    ll.run(stream, method, optimizer="adam", lr=0.01, **TINY)
    learner = method.learner
    with torch.no_grad():  # move away from the latest anchor, where every penalty is zero
        for p in learner.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    batch = train_batch(stream[1], torch.arange(16))
    value = method.penalty(batch, learner(batch.x, batch.task_ids))
    assert value is not None and float(value.detach()) > 0

    twin = copy.deepcopy(learner)
    fresh = build_method(name, {"lam": 5.0})
    fresh.attach(twin, 0, stream.scenario)
    fresh.load_state_dict(copy.deepcopy(method.state_dict()))
    again = fresh.penalty(batch, twin(batch.x, batch.task_ids))
    assert again is not None and float(again.detach()) == pytest.approx(float(value.detach()), rel=1e-6)


# -- EWC ---------------------------------------------------------------------------------------------
class TwoParameters(nn.Module):
    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(b, dtype=torch.float64))

    def set(self, a: float, b: float) -> None:
        with torch.no_grad():
            self.a.fill_(a)
            self.b.fill_(b)


def fisher(a: float, b: float) -> dict[str, torch.Tensor]:
    return {"a": torch.tensor(a, dtype=torch.float64), "b": torch.tensor(b, dtype=torch.float64)}


@pytest.mark.parametrize("half", [True, False])
def test_ewc_penalty_equals_the_closed_form_on_two_parameters(half: bool) -> None:
    """Σ_t (λ/2) Σ_i F_{t,i} (θ_i − θ*_{t,i})², one anchor per task, value and gradient."""
    model = TwoParameters(1.0, -2.0)
    ewc = EWC(lam=3.0, half=half)
    ewc.attach(model, 0, Scenario.DOMAIN)  # type: ignore[arg-type]
    ewc.consolidate(fisher(0.5, 2.0), keep=True)  # anchor 1 at (1, -2)
    model.set(0.25, 4.0)
    ewc.consolidate(fisher(1.5, 0.1), keep=True)  # anchor 2 at (0.25, 4)
    model.set(-1.0, 0.5)
    s = 1.5 if half else 3.0
    expected = s * (0.5 * (-1 - 1) ** 2 + 2.0 * (0.5 + 2) ** 2 + 1.5 * (-1 - 0.25) ** 2 + 0.1 * (0.5 - 4) ** 2)
    value = ewc.penalty(None, None)  # type: ignore[arg-type]
    assert value is not None
    assert float(value.detach()) == pytest.approx(expected, rel=1e-12)
    value.backward()
    assert float(model.a.grad) == pytest.approx(2 * s * (0.5 * (-1 - 1) + 1.5 * (-1 - 0.25)), rel=1e-12)
    assert float(model.b.grad) == pytest.approx(2 * s * (2.0 * (0.5 + 2) + 0.1 * (0.5 - 4)), rel=1e-12)
    # The task gradient (for path integrals) removes exactly the penalty's gradient.
    buffers = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    assert all(float(g) == pytest.approx(0.0, abs=1e-12) for g in ewc.task_gradients(buffers) if g is not None)


def test_ewc_keeps_one_anchor_per_task_online_ewc_one_running_fisher() -> None:
    stream = ll.streams.synthetic(tasks=3, scenario="task", seed=2)
    ewc = EWC(lam=0.0)
    online = OnlineEWC(lam=0.0, gamma=0.5)
    ll.run(stream, ewc, optimizer="adam", lr=0.01, **TINY)
    ll.run(stream, online, optimizer="adam", lr=0.01, **TINY)  # λ = 0: the same trajectory, same Fishers
    assert len(ewc.anchors_) == 3 and len(online.anchors_) == 1
    f1, f2, f3 = ewc.importances_
    for name, running in online.running_.items():
        torch.testing.assert_close(running, 0.25 * f1[name] + 0.5 * f2[name] + f3[name])
        torch.testing.assert_close(online.importances_[0][name], 0.5 * running)


def test_true_fisher_of_a_softmax_regression_equals_its_closed_form() -> None:
    """Linear softmax model z = Wx + b: F_{W_c} = mean_n p_c(1 − p_c) x_n², F_{b_c} = mean_n p_c(1 − p_c)."""
    stream = ll.streams.synthetic(tasks=1, features=3, classes_per_task=3, scenario="domain", seed=0)
    learner = Learner.build("mlp", stream, 0)  # no hidden layer: the head is the whole model
    task = stream[0]
    out = fisher_diagonal(learner, task, "true", None, torch.Generator())
    with torch.no_grad():
        p = learner(task.train.x, torch.zeros(len(task.train), dtype=torch.long)).softmax(1)
    v = p * (1 - p)
    torch.testing.assert_close(out["head.linear.weight"], (v.T @ task.train.x.square()) / len(p))
    torch.testing.assert_close(out["head.linear.bias"], v.mean(0))


@pytest.mark.parametrize("fast", [True, False], ids=["linear-identity", "torch.func"])
@pytest.mark.parametrize("kind", ["true", "predicted", "empirical"])
@pytest.mark.parametrize("scenario", ["task", "class"])
def test_per_sample_fisher_equals_a_slow_loop_over_examples(kind: str, fast: bool, scenario: str) -> None:
    stream = ll.streams.synthetic(tasks=2, scenario=scenario, seed=4)
    learner = Learner.build("mlp-8x2", stream, 1)
    learner.begin_task(stream[0])
    learner.begin_task(stream[1])
    batch = train_batch(stream[1], torch.arange(12))
    terms = fisher_terms(learner, batch, kind, torch.Generator())
    out = {n: torch.zeros_like(p) for n, p in trainable(learner).items()}
    gradient_moments(learner, batch.x, batch.task_ids, terms, 2, out, fast=fast)

    slow = {n: torch.zeros_like(p) for n, p in trainable(learner).items()}
    params = list(trainable(learner).items())
    for i in range(len(batch)):
        logp = learner(batch.x[i:i + 1], batch.task_ids[i:i + 1]).log_softmax(1)[0]
        p = logp.exp().detach()
        labels = {"true": range(len(p)), "predicted": [int(p.argmax())], "empirical": [int(batch.y[i])]}[kind]
        for c in labels:
            weight = float(p[c]) if kind == "true" else 1.0
            if weight == 0.0:
                continue
            grads = torch.autograd.grad(-logp[c], [q for _, q in params], retain_graph=True, allow_unused=True)
            for (name, _), g in zip(params, grads, strict=True):
                if g is not None:
                    slow[name] += weight * g.square()
    for name in slow:
        torch.testing.assert_close(out[name], slow[name], rtol=1e-4, atol=1e-7)
    assert sum(float(v.sum()) for v in out.values()) > 0


# -- SI ----------------------------------------------------------------------------------------------
class OneParameter(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([value], dtype=torch.float64))


def test_si_importance_on_a_quadratic_with_sgd_equals_the_closed_form() -> None:
    """L = a/2 (θ − θ0)², SGD step η, T steps from θ0 + D: r = 1 − ηa, θ_t − θ0 = r^t D.

    ω = Σ_t −g_t Δθ_t = η Σ_t g_t² = η a² D² (1 − r^{2T}) / (1 − r²);  Δ = (r^T − 1) D;  Ω = ω / (Δ² + ξ).
    """
    a, theta0, d, lr, steps, xi = 2.0, 0.5, 3.0, 0.1, 7, 0.1
    model = OneParameter(theta0 + d)
    si = SI(lam=1.0, xi=xi)
    si.attach(model, 0, Scenario.DOMAIN)  # type: ignore[arg-type]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    si.before_task(None)  # type: ignore[arg-type]
    for _ in range(steps):
        loss = 0.5 * a * (model.theta - theta0).square().sum()
        optimizer.zero_grad()
        loss.backward()
        si.after_backward(None)  # type: ignore[arg-type]
        optimizer.step()
        si.after_step()
    si.after_task(None)  # type: ignore[arg-type]
    r = 1 - lr * a
    omega = lr * a**2 * d**2 * (1 - r ** (2 * steps)) / (1 - r**2)
    delta = (r**steps - 1) * d
    assert float(si.importances_[0]["theta"]) == pytest.approx(omega / (delta**2 + xi), rel=1e-12)
    assert float(si.anchors_[0]["theta"]) == pytest.approx(theta0 + r**steps * d, rel=1e-12)


def test_si_path_integral_ignores_the_penalty_gradient() -> None:
    """On the second task the path integral credits only the task loss: here the task loss is flat."""
    model = OneParameter(1.0)
    si = SI(lam=10.0)
    si.attach(model, 0, Scenario.DOMAIN)  # type: ignore[arg-type]
    si.consolidate({"theta": torch.ones(1, dtype=torch.float64)}, keep=False)
    with torch.no_grad():
        model.theta.fill_(2.0)
    si.before_task(None)  # type: ignore[arg-type]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(3):
        loss = si.penalty(None, None)  # type: ignore[arg-type]
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        si.after_backward(None)  # type: ignore[arg-type]
        optimizer.step()
        si.after_step()
    assert float(si.omega_["theta"]) == pytest.approx(0.0, abs=1e-12)
    assert float(model.theta.detach()) < 2.0  # the penalty did pull θ back


# -- MAS ---------------------------------------------------------------------------------------------
def test_mas_importance_needs_no_labels() -> None:
    stream = ll.streams.synthetic(tasks=2, scenario="task", seed=5)
    learner = Learner.build("mlp-16x1", stream, 0)
    task = stream[1]
    shuffled = dataclasses.replace(task, train=Split(task.train.x, task.train.y[torch.randperm(len(task.train))]))
    assert not torch.equal(shuffled.train.y, task.train.y)
    original = output_sensitivity(learner, task, None, torch.Generator())
    relabelled = output_sensitivity(learner, shuffled, None, torch.Generator())
    for name in original:
        assert torch.equal(original[name], relabelled[name])
    assert float(original["backbone.layers.0.weight"].sum()) > 0
    # And through the method: its whole state is label-free.
    methods = []
    for t in (task, shuffled):
        mas = MAS(lam=1.0)
        mas.attach(learner, 0, stream.scenario)
        mas.after_task(t)
        methods.append(mas)
    for name, omega in methods[0].importances_[0].items():
        assert torch.equal(omega, methods[1].importances_[0][name])


def test_mas_importance_equals_a_slow_loop() -> None:
    stream = ll.streams.synthetic(tasks=1, scenario="domain", seed=6, examples=10)
    learner = Learner.build("mlp-8x1", stream, 0)
    out = output_sensitivity(learner, stream[0], None, torch.Generator())
    x = stream[0].train.x
    params = list(trainable(learner).items())
    slow = {n: torch.zeros_like(p) for n, p in params}
    for i in range(len(x)):
        norm = learner(x[i:i + 1], torch.zeros(1, dtype=torch.long)).square().sum()
        for (name, _), g in zip(params, torch.autograd.grad(norm, [p for _, p in params]), strict=True):
            slow[name] += g.abs() / len(x)
    for name in slow:
        torch.testing.assert_close(out[name], slow[name])


# -- SCP ---------------------------------------------------------------------------------------------
def test_scp_importance_equals_its_definition_slice_by_slice() -> None:
    """Γ = mean_B (1/L) Σ_l (∂ ξ_lᵀ φ̄_B/∂θ)², with the same slices drawn from the same generator."""
    stream = ll.streams.synthetic(tasks=1, scenario="domain", seed=7, examples=20, classes_per_task=3)
    learner = Learner.build("mlp-8x1", stream, 0)
    task = stream[0]
    out = sliced_sensitivity(learner, task, slices=5, batch_size=8, samples=None, rng=torch.Generator().manual_seed(9))
    rng = torch.Generator().manual_seed(9)
    params = list(trainable(learner).items())
    slow = {n: torch.zeros_like(p) for n, p in params}
    starts = range(0, len(task.train), 8)
    for start in starts:
        batch = train_batch(task, torch.arange(start, min(start + 8, len(task.train))))
        phi = learner(batch.x, batch.task_ids).mean(0)
        xi = torch.nn.functional.normalize(torch.randn(5, 3, generator=rng), dim=1)
        for direction in xi:
            grads = torch.autograd.grad(direction @ phi, [p for _, p in params], retain_graph=True)
            for (name, _), g in zip(params, grads, strict=True):
                slow[name] += g.square() / 5 / len(starts)
    for name in slow:
        torch.testing.assert_close(out[name], slow[name], rtol=1e-4, atol=1e-8)


# -- RWalk -------------------------------------------------------------------------------------------
def test_rwalk_averages_task_scores_over_tasks() -> None:
    """s after task 2 = ½ (s after task 1 + task 2's own score); importance = F + s at the anchor."""
    stream = ll.streams.synthetic(tasks=2, scenario="domain", seed=8)
    rwalk = RWalk(lam=1.0, every=3)
    watch = Snapshots(rwalk, "score_")
    ll.run(stream, rwalk, observers=[watch], optimizer="sgd", lr=0.1, **TINY)
    first = watch.states[0]
    assert sum(float(s.sum()) for s in first.values()) > 0
    for name, s in rwalk.score_.items():
        torch.testing.assert_close(s, (first[name] + rwalk.task_score_[name]) / 2)
        torch.testing.assert_close(rwalk.importances_[0][name], rwalk.fisher_[name] + s)


@pytest.mark.parametrize("scenario", ["task", "class"])
def test_rwalk_reads_the_per_example_fisher_off_the_training_step(scenario: str) -> None:
    """The tap on the loop's own forward/backward gives the same Fisher as a separate per-example estimate."""
    stream = ll.streams.synthetic(tasks=2, scenario=scenario, seed=3)
    learner = Learner.build("mlp-8x2", stream, 0)
    rwalk = RWalk(lam=1.0, every=1)
    rwalk.attach(learner, 0, stream.scenario)
    learner.begin_task(stream[0])
    rwalk.before_task(stream[0])
    batch = train_batch(stream[0], torch.arange(24))
    learner.loss(learner(batch.x, batch.task_ids), batch.y).backward()
    tapped = rwalk._batch_fisher(batch)
    separate = {n: torch.zeros_like(p) for n, p in trainable(learner).items()}
    gradient_moments(learner, batch.x, batch.task_ids, fisher_terms(learner, batch, "empirical", torch.Generator()),
                     2, separate)
    for name, value in tapped.items():
        torch.testing.assert_close(value, separate[name] / len(batch))
    assert sum(float(v.sum()) for v in tapped.values()) > 0


def test_rwalk_through_the_loop_scores_parameters_that_reduced_the_loss() -> None:
    stream = ll.streams.synthetic(tasks=2, scenario="domain", seed=8)
    rwalk = RWalk(lam=1.0, every=2)
    ll.run(stream, rwalk, optimizer="sgd", lr=0.1, **TINY)
    total = sum(float(s.sum()) for s in rwalk.score_.values())
    fisher_total = sum(float(f.sum()) for f in rwalk.fisher_.values())
    assert total > 0 and fisher_total > 0
    assert all(float(s.min()) >= 0 for s in rwalk.score_.values())


# -- L2: intransigence -------------------------------------------------------------------------------
def test_l2_with_a_huge_strength_stays_where_the_first_task_left_it() -> None:
    """b_i → ∞: the parameters cannot leave the first task's solution, so the second is not learned."""
    stream = ll.streams.synthetic(tasks=2, scenario="domain", seed=1, examples=128)
    options = {"model": "mlp-16x1", "epochs": 10, "batch_size": 16, "seed": 0, "optimizer": "adam", "lr": 0.01}
    moved, results = {}, {}
    for name, method in (("finetune", ll.methods.Finetune()), ("l2", L2(lam=1e6))):
        watch = Snapshots(method)
        results[name] = ll.run(stream, method, observers=[watch], **options)
        first, second = watch.params
        moved[name] = max(float((second[n] - first[n]).abs().max()) for n in first)
    assert moved["l2"] < 0.05 * moved["finetune"]
    cumulative = ll.run(stream, "cumulative", **options)
    reference = [cumulative.matrix.values[k, k - 1] for k in (1, 2)]
    assert intransigence(results["l2"].matrix, reference) > intransigence(results["finetune"].matrix, reference) + 0.1


# -- validation --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("cls", "params", "message"), [
    (EWC, {"fisher": "fast"}, "unknown Fisher kind 'fast'"),
    (EWC, {"lam": -1.0}, "lam"),
    (OnlineEWC, {"gamma": 1.5}, "gamma"),
    (SI, {"xi": 0.0}, "xi"),
    (RWalk, {"alpha": 0.0}, "alpha"),
    (SCP, {"slices": 0}, "slices"),
])
def test_bad_hyperparameters_are_refused_by_name(cls: type, params: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls(**params)


def test_fisher_kinds_are_documented_choices() -> None:
    assert set(FISHER_KINDS) == {"true", "sample", "predicted", "empirical"}
    stream = ll.streams.synthetic(tasks=1, scenario="domain", seed=0)
    learner = Learner.build("mlp-8x1", stream, 0)
    sample = fisher_diagonal(learner, stream[0], "sample", 32, torch.Generator().manual_seed(0))
    true = fisher_diagonal(learner, stream[0], "true", 32, torch.Generator().manual_seed(0))
    # A one-label Monte Carlo estimate of the same expectation: same order of magnitude, not equal.
    ratio = float(sample["head.linear.weight"].sum() / true["head.linear.weight"].sum())
    assert 0.3 < ratio < 3 and not math.isclose(ratio, 1.0, rel_tol=1e-6)


def _softmax_regression_steps(w: torch.Tensor, b: torch.Tensor, batches: list[tuple[torch.Tensor, torch.Tensor]],
                              lr: float, momentum: float) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """SGD with heavy-ball momentum (torch's: v ← μv + g, θ ← θ − ηv) on a linear softmax model z = Wx + b,
    by hand (float64, analytic gradients, no autograd).

    For example n, ∂ℓ_n/∂(W, b) = (p_n − e_{y_n}) ⊗ (x_n, 1). Returns, per step, the flattened parameters
    before the step, the mean gradient g and the per-example empirical Fisher mean_n (∂ℓ_n/∂θ)²; then the
    final parameters.
    """
    theta = torch.cat([w.flatten(), b]).double()
    velocity = torch.zeros_like(theta)
    out = []
    classes = len(b)
    for x, y in batches:
        x = x.double()
        weight, bias = theta[:-classes].reshape(classes, -1), theta[-classes:]
        error = torch.softmax(x @ weight.T + bias, 1) - torch.nn.functional.one_hot(y, classes).double()
        per_example = torch.cat([(error.unsqueeze(2) * x.unsqueeze(1)).flatten(1), error], 1)
        g = per_example.mean(0)
        out.append((theta.clone(), g, per_example.square().mean(0)))
        velocity = momentum * velocity + g
        theta = theta - lr * velocity
    out.append((theta, torch.zeros_like(theta), torch.zeros_like(theta)))
    return out


def _rwalk_on_softmax_regression(fisher_steps: str) -> tuple[RWalk, list[tuple[torch.Tensor, ...]], dict[str, float]]:
    """RWalk driven by hand for seven SGD-with-momentum steps of one task on a linear softmax model."""
    stream = ll.streams.synthetic(tasks=1, features=3, classes_per_task=3, examples=40, scenario="domain", seed=0)
    learner = Learner.build("mlp", stream, 0)
    task = stream[0]
    h = {"alpha": 0.7, "eps": 1e-3, "every": 3, "lr": 0.5, "momentum": 0.9, "steps": 7}
    rwalk = RWalk(lam=1.0, alpha=h["alpha"], eps=h["eps"], every=int(h["every"]),
                  fisher_steps=fisher_steps)  # type: ignore[arg-type]
    rwalk.attach(learner, 0, stream.scenario)
    learner.begin_task(task)
    rwalk.before_task(task)
    optimizer = torch.optim.SGD(learner.parameters(), lr=h["lr"], momentum=h["momentum"])
    batches = [train_batch(task, torch.arange(5 * s, 5 * s + 5)) for s in range(int(h["steps"]))]
    start = (learner.head.linear.weight.detach().clone(), learner.head.linear.bias.detach().clone())
    for batch in batches:
        loss = learner.loss(learner(batch.x, batch.task_ids), batch.y)
        optimizer.zero_grad()
        loss.backward()
        rwalk.after_backward(batch)
        optimizer.step()
        rwalk.after_step()
    rwalk.after_task(task)
    return rwalk, _softmax_regression_steps(*start, [(b.x, b.y) for b in batches], h["lr"], h["momentum"]), h


def _flat(params: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([params["head.linear.weight"].flatten(), params["head.linear.bias"]]).double()


@pytest.mark.parametrize("fisher_steps", ["interval", "last"])
def test_rwalk_fisher_and_score_equal_a_hand_computation_on_softmax_regression(fisher_steps: str) -> None:
    """F and s of arXiv 1801.10112 Sec. 4, recomputed by hand on a linear softmax model trained by SGD.

    Seven steps, ``every`` = 3: intervals {1,2,3}, {4,5,6} and the partial {7}, closed at the task's end.
    - F (EWC++, Sec. 4.1): F = F_new(step 1) after the first step; at the end of each interval, once the
      interval is scored, F ← α F_new + (1 − α) F with F_new(step) the per-example empirical Fisher of
      that step's batch at its pre-step parameters, and the interval's F_new either the mean over all
      of its steps, the partial last one included (``interval``, the authors' code), or its last step
      alone (``last``; a partial interval whose last step is not an interval end folds nothing).
    - s (Sec. 4.2): Σ_intervals max(0, Σ_steps −g Δθ) / (½ F (θ_end − θ_start)² + ε), with the F in force
      when the interval closes (before that interval's Fisher update).
    - importance = F + s (one task: no averaging with an earlier score).
    The gradients are the analytic (p − e_y) ⊗ (x, 1), so nothing of the library's machinery is reused.
    Momentum makes Δθ differ from −ηg, so some intervals raise a parameter's share of the loss
    (Σ −gΔθ < 0) and the max(0, ·) is exercised, not only the denominator.
    """
    rwalk, trace, h = _rwalk_on_softmax_regression(fisher_steps)
    alpha, eps, every, steps = h["alpha"], h["eps"], int(h["every"]), int(h["steps"])
    fisher = trace[0][2]  # the first step starts the moving average
    score = torch.zeros_like(fisher)
    window = torch.zeros_like(fisher)
    mark = trace[0][0]
    negative = 0
    interval: list[torch.Tensor] = []
    for s in range(1, steps + 1):
        interval.append(trace[s - 1][2])
        before, g, _ = trace[s - 1]
        after = trace[s][0]
        window -= g * (after - before)
        if s % every == 0 or s == steps:
            negative += int((window < 0).sum())
            score += (window / (0.5 * fisher * (after - mark).square() + eps)).clamp(min=0)
            window, mark = torch.zeros_like(window), after
            if fisher_steps == "interval":
                fisher = alpha * torch.stack(interval).mean(0) + (1 - alpha) * fisher
            elif s % every == 0:
                fisher = alpha * interval[-1] + (1 - alpha) * fisher
            interval = []
    classes = 3
    assert float(score.sum()) > 0 and int((score > 0).sum()) > classes and negative > 0  # not a degenerate case
    torch.testing.assert_close(_flat(rwalk.fisher_), fisher, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(_flat(rwalk.score_), score, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(_flat(rwalk.importances_[0]), fisher + score, rtol=1e-4, atol=1e-6)


def test_rwalk_defaults_to_the_authors_interval_mean_fisher() -> None:
    """The default F_new is the authors' mean over every step of an interval; the one-batch reading
    gives a different F on the same trajectory (same data, same steps: F does not feed back into
    training on the first task), so the two options are really distinct."""
    assert RWalk().fisher_steps == "interval"
    interval, _, _ = _rwalk_on_softmax_regression("interval")
    last, _, _ = _rwalk_on_softmax_regression("last")
    assert not torch.allclose(_flat(interval.fisher_), _flat(last.fisher_), rtol=1e-2)
    with pytest.raises(ValueError, match="fisher_steps"):
        RWalk(fisher_steps="all")  # type: ignore[arg-type]
