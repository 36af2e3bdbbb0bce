"""Replay family: the episodic-memory buffer, GEM's and A-GEM's projections, generative replay."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import lifelong
from lifelong.config import RunConfig, TrainConfig
from lifelong.methods.replay import _buffer, _qp, _vae, agem, gem, generative
from lifelong.methods.replay._qp import solve_box_qp
from lifelong.methods.replay.er import ER
from lifelong.models.heads import MASKED
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.streams.task import Batch, train_batch
from lifelong.train import train

TRAIN = TrainConfig(epochs=2, batch_size=16, optimizer="sgd", lr=0.05)


def _batch(ids: torch.Tensor, y: torch.Tensor | None = None, task: int = 0) -> Batch:
    """A batch whose input is the sample's id, so what is stored can be traced back."""
    return Batch(ids.float().unsqueeze(1), ids if y is None else y, torch.full((len(ids),), task))


def _chi2_critical(dof: int, z: float = 3.09) -> float:
    """Wilson–Hilferty approximation of the χ² quantile (z = 3.09: upper 0.1%)."""
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


# -- the buffer -----------------------------------------------------------------------------------------


def test_reservoir_keeps_every_sample_with_equal_probability() -> None:
    """After a stream of N samples in uneven batches (one larger than the memory), each sample is
    stored with probability C/N: a χ² test over R repetitions at a fixed seed."""
    n, capacity, repeats = 100, 10, 1000
    sizes = [7, 3, 15, 1, 30, 9, 35]  # sums to 100; 15, 30 and 35 exceed the capacity
    generator = torch.Generator().manual_seed(0)
    counts = torch.zeros(n)
    for _ in range(repeats):
        memory = _buffer.empty()
        start = 0
        for size in sizes:
            _buffer.reservoir_add(memory, _batch(torch.arange(start, start + size)), capacity, generator)
            start += size
        stored = _buffer.contents(memory).y
        assert len(stored) == capacity and len(stored.unique()) == capacity
        counts[stored] += 1
    expected = repeats * capacity / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < _chi2_critical(n - 1), f"χ² = {chi2:.1f}: some positions in the stream are favoured"
    early, late = counts[:50].sum(), counts[50:].sum()
    assert abs(float(early - late)) < 0.1 * float(early + late)


def test_balanced_memory_never_exceeds_its_budget_and_balances_classes() -> None:
    generator = torch.Generator().manual_seed(1)
    labels = torch.cat([torch.zeros(500), torch.ones(100), torch.full((12,), 2)]).long()
    labels = labels[torch.randperm(len(labels), generator=generator)]
    memory = _buffer.empty()
    capacity = 60
    for start in range(0, len(labels), 16):
        y = labels[start:start + 16]
        _buffer.balanced_add(memory, _batch(torch.arange(start, start + len(y)), y), y, capacity, generator)
        assert _buffer.size(memory) <= capacity
        assert len(memory["x"]) == capacity  # preallocated once, never grown
    per_class = torch.bincount(_buffer.contents(memory).y, minlength=3)
    assert per_class.tolist() == [24, 24, 12]  # the rare class keeps all 12, the others split the rest
    # and within a class the stored samples are distinct samples of that class
    stored = _buffer.contents(memory)
    assert torch.equal(labels[stored.x.squeeze(1).long()], stored.y)


def test_water_fill_shares_the_budget() -> None:
    assert _buffer.water_fill(torch.tensor([50, 50, 3]), 20).tolist() == [9, 8, 3]
    assert _buffer.water_fill(torch.tensor([5, 2]), 20).tolist() == [5, 2]


def test_task_memory_trims_earlier_tasks_to_equal_shares(tiny_stream: lifelong.streams.Stream) -> None:
    generator = torch.Generator().manual_seed(0)
    memory = _buffer.empty()
    _buffer.add_task(memory, tiny_stream[0], per_task=None, budget=40, generator=generator)
    assert _buffer.size(memory) == 32  # the whole task fits
    _buffer.add_task(memory, tiny_stream[1], per_task=None, budget=40, generator=generator)
    assert torch.bincount(_buffer.keys(memory)).tolist() == [20, 20]


def test_memory_stores_prepared_inputs_of_permuted_tasks(fake_mnist: Path) -> None:
    """A permuted task's samples are stored after its permutation, with their task ids."""
    stream = lifelong.streams.permuted_mnist(tasks=2, examples=50, first_identity=False)
    memory = _buffer.empty()
    generator = torch.Generator().manual_seed(0)
    for task in stream:
        _buffer.add_task(memory, task, per_task=10, budget=None, generator=generator)
    stored = _buffer.contents(memory)
    for task in stream:
        prepared = task.inputs(task.train.x)
        rows = stored.x[stored.task_ids == task.id]
        assert len(rows) == 10
        matches = (rows.unsqueeze(1) == prepared.unsqueeze(0)).all(-1).any(1)
        assert bool(matches.all())
    assert not torch.equal(stream[0].inputs(stream[0].train.x[:1]), stream[1].inputs(stream[1].train.x[:1]))


class _MemoryWatch(Observer):
    """Records the largest number of stored samples seen after any step."""

    def __init__(self, read: object) -> None:
        self.read = read
        self.largest = 0

    def step(self, index: int, loss: torch.Tensor) -> None:
        self.largest = max(self.largest, self.read())  # type: ignore[operator]


@pytest.mark.parametrize(("name", "params", "budget", "per_task"), [
    ("er", {"memory": 20, "policy": "reservoir"}, 20, None),
    ("er", {"memory": 20, "policy": "balanced"}, 20, None),
    ("er", {"memory": 20, "policy": "task"}, 20, None),
    ("gem", {"memory": 7}, 7 * 3, 7),
    ("gem", {"memory": 50, "budget": 30}, 30, None),
    ("agem", {"memory": 9}, 9 * 3, 9),
])
def test_memory_budget_is_honoured(name: str, params: dict[str, object], budget: int, per_task: int | None) -> None:
    """At no step does a method hold more samples than its budget (nor more than m per task)."""
    stream = lifelong.streams.synthetic(tasks=3, examples=48, scenario="class")
    method = lifelong.build_method(name, params)
    watch = _MemoryWatch(lambda: _buffer.size(method.memory_))  # type: ignore[attr-defined]
    result = lifelong.run(stream, method, "mlp-16x1", epochs=2, batch_size=16, lr=0.05, optimizer="sgd",
                          observers=[watch])
    memory = method.memory_  # type: ignore[attr-defined]
    assert 0 < watch.largest <= budget and _buffer.size(memory) <= budget
    assert len(memory["x"]) <= budget  # not even preallocated beyond it
    if per_task is not None:
        assert int(torch.bincount(_buffer.keys(memory)).max()) <= per_task
    assert result.method_bytes >= _buffer.size(memory) * 8 * 4  # the stored inputs are counted


SPLIT = {"epochs": 2, "batch_size": 16, "lr": 0.05, "optimizer": "sgd"}


@pytest.mark.parametrize(("name", "params"), [("er", {"policy": "task"}), ("gem", {}), ("agem", {}),
                                              ("generative-replay", {"hidden": (32,), "latent": 8})])
@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_split_mnist_first_task_is_finetune_and_replay_acts_from_the_second(
        name: str, params: dict[str, object], scenario: str, fake_mnist: Path) -> None:
    """On split MNIST in every scenario: while there is no earlier task, a method that replays or
    constrains by earlier tasks only must train exactly as finetune (rows R[0] and R[1] equal, bit for
    bit: memory written after a task, no generator or previous solver yet, and its own generator kept
    apart from the data order); from task 2 on it must act (the final weights differ from finetune's)."""
    stream = lifelong.streams.split_mnist(scenario=scenario)
    finetune, method = lifelong.build_method("finetune"), lifelong.build_method(name, params)
    reference = lifelong.run(stream, finetune, "mlp-16x1", **SPLIT)  # type: ignore[arg-type]
    result = lifelong.run(stream, method, "mlp-16x1", **SPLIT)  # type: ignore[arg-type]
    assert result.matrix.values.shape == (6, 5)
    assert np.array_equal(result.matrix.values[:2], reference.matrix.values[:2])
    final = dict(method.learner.named_parameters())
    assert any(not torch.equal(p, final[n]) for n, p in finetune.learner.named_parameters())


@pytest.mark.parametrize("name", ["er", "gem"])
def test_split_mnist_class_incremental_replay_keeps_what_finetune_forgets(name: str, fake_mnist: Path) -> None:
    """Class-incremental split MNIST, 5 epochs a task: finetune's final model never predicts an earlier
    task's classes (its last task's cross-entropy pushes every earlier unit down and nothing pushes
    back), so R[5, j] = 0 exactly for j < 4 — the known answer of catastrophic forgetting. Replaying
    stored samples (ER, one per incoming sample) or projecting away from every stored task's loss
    increase (GEM) keeps those tasks: mean R[5, j<4] ≥ 0.9 on these well-separated fake digits."""
    stream = lifelong.streams.split_mnist(scenario="class")
    options: dict[str, object] = {"epochs": 5, "batch_size": 16, "lr": 0.01, "optimizer": "adam"}
    finetune = lifelong.run(stream, "finetune", "mlp-16x1", **options)  # type: ignore[arg-type]
    assert finetune.matrix.values[5, :4].tolist() == [0.0] * 4
    result = lifelong.run(stream, name, "mlp-16x1", **options)  # type: ignore[arg-type]
    assert float(result.matrix.values[5, :4].mean()) >= 0.9


def test_er_without_memory_is_finetune() -> None:
    stream = lifelong.streams.synthetic(tasks=3, examples=48, scenario="domain")
    ft = lifelong.run(stream, "finetune", "mlp-16x1", epochs=2, batch_size=16, lr=0.05, optimizer="sgd")
    er = lifelong.run(stream, "er", "mlp-16x1", method_params={"memory": 0}, epochs=2, batch_size=16, lr=0.05,
                      optimizer="sgd")
    assert np.array_equal(ft.matrix.values, er.matrix.values)


def test_unknown_replay_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="method_params.policy: 'fifo' is not one of reservoir, balanced, task"):
        lifelong.build_method("er", {"policy": "fifo"}, where="method_params.")


# -- A-GEM -----------------------------------------------------------------------------------------------


def test_agem_projection_satisfies_the_constraint_and_leaves_agreeing_gradients_alone() -> None:
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        g = [torch.randn(3, 4, generator=generator), torch.randn(5, generator=generator)]
        ref = [torch.randn(3, 4, generator=generator), torch.randn(5, generator=generator)]
        dot = sum(float((a * b).sum()) for a, b in zip(g, ref, strict=True))
        out = agem.project(g, ref)
        new_dot = sum(float((a * b).sum()) for a, b in zip(out, ref, strict=True))
        if dot >= 0:
            assert out is g
        else:
            assert abs(new_dot) < 1e-5  # projected exactly onto g·g_ref = 0 ...
            flat = torch.cat([t.flatten() for t in g])
            flat_ref = torch.cat([t.flatten() for t in ref])
            expected = flat - (flat @ flat_ref) / (flat_ref @ flat_ref) * flat_ref  # ... as eq. 11 says
            assert torch.allclose(torch.cat([t.flatten() for t in out]), expected, atol=1e-6)


# -- GEM -------------------------------------------------------------------------------------------------


def _brute_force_projection(g: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """The closest g' to g with G g' ≥ 0, by trying every set of active constraints."""
    best: torch.Tensor | None = None
    for r in range(len(G) + 1):
        for active in itertools.combinations(range(len(G)), r):
            if active:
                A = G[list(active)]
                candidate = g - A.T @ torch.linalg.solve(A @ A.T, A @ g)
            else:
                candidate = g
            if bool((G @ candidate >= -1e-9).all()) and (best is None or (candidate - g).norm() < (best - g).norm()):
                best = candidate
    assert best is not None
    return best


@pytest.mark.parametrize("constraints", [2, 3])
def test_gem_projection_satisfies_every_constraint_and_matches_brute_force(constraints: int) -> None:
    generator = torch.Generator().manual_seed(constraints)
    projected_cases = 0
    for _ in range(30):
        g = torch.randn(6, generator=generator, dtype=torch.float64)
        G = torch.randn(constraints, 6, generator=generator, dtype=torch.float64)
        (out,), status = gem.project([g], [G])
        assert bool((G @ out >= -1e-9).all())
        assert torch.allclose(out, _brute_force_projection(g, G), atol=1e-8)
        if status != "none":
            assert status == "exact"
            projected_cases += 1
        else:
            assert torch.equal(out, g)
    assert projected_cases > 5


def test_gem_survives_numerically_inconsistent_constraints() -> None:
    """Duplicated, opposite and parallel task gradients make GGᵀ singular (quadprog's failure): the
    projection must still return a finite update that satisfies every constraint."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(50, generator=generator, dtype=torch.float64)
    b = torch.randn(50, generator=generator, dtype=torch.float64)
    G = torch.stack([a, a, -a, 3 * a, b, b + 1e-13])
    g = -(a + b)
    (out,), status = gem.project([g], [G], margin=0.0, eps=0.0)
    assert status in ("exact", "fallback") and bool(torch.isfinite(out).all())
    assert bool((G @ out >= -1e-8 * g.norm() * G.norm(dim=1)).all())
    solution = solve_box_qp(G @ G.T, G @ g, 0.5)
    assert bool((solution.v >= 0.5).all())


def test_gem_falls_back_and_reports_when_the_exact_solver_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_qp, "_active_set", lambda P, c: None)
    generator = torch.Generator().manual_seed(3)
    g = torch.randn(8, generator=generator, dtype=torch.float64)
    G = torch.stack([-g + 0.1 * torch.randn(8, generator=generator, dtype=torch.float64) for _ in range(3)])
    (out,), status = gem.project([g], [G])
    assert status == "fallback"
    assert torch.allclose(out, _brute_force_projection(g, G), atol=1e-6)
    stream = lifelong.streams.synthetic(tasks=3, examples=48, scenario="domain")
    with pytest.warns(RuntimeWarning, match=r"needed the projected-gradient fallback"):
        lifelong.run(stream, "gem", "mlp-16x1", epochs=2, batch_size=16, lr=0.05, optimizer="sgd")


def _trained(name: str, scenario: str) -> tuple[Learner, lifelong.methods.Method, lifelong.streams.Stream]:
    stream = lifelong.streams.synthetic(tasks=3, examples=48, scenario=scenario)
    method = lifelong.build_method(name, {"memory": 12})
    learner = Learner.build("mlp-16x1", stream, 0)
    train(stream, method, learner, RunConfig(stream.name, stream.params, "mlp-16x1", name, {}, TRAIN, 0))
    return learner, method, stream


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_gem_step_satisfies_every_past_task_constraint(scenario: str) -> None:
    """After GEM's after_backward the gradient agrees (g̃·g_k ≥ 0) with every stored task's
    gradient, computed independently with each task's own ids (its own head in task-IL)."""
    learner, method, stream = _trained("gem", scenario)
    assert isinstance(method, gem.GEM)
    method.margin, method.eps = 0.0, 0.0  # the paper's exact projection (the ridge allows a violation of ε·v)
    method.before_task(stream[2])
    assert method._stacked is not None  # every scenario's memory gradients are batched
    params = [p for p in learner.parameters() if p.requires_grad]
    batch = train_batch(stream[2], torch.arange(16))
    conflicts = 0
    for sign in (1.0, -1.0):  # the opposite gradient is sure to conflict somewhere
        learner.zero_grad()
        (sign * learner.loss(learner(batch.x, batch.task_ids), batch.y)).backward()
        method.after_backward(batch)
        new = torch.cat([p.grad.flatten() for p in params])  # type: ignore[union-attr]
        for k, rows in _buffer.groups(method.memory_):
            b = _buffer.contents(method.memory_, rows)
            found = torch.autograd.grad(learner.loss(learner(b.x, b.task_ids), b.y), params, allow_unused=True)
            g_k = torch.cat([(torch.zeros_like(p) if d is None else d).flatten() for p, d in zip(params, found,
                                                                                                  strict=True)])
            assert float(new @ g_k) >= -1e-5 * float(new.norm() * g_k.norm()), f"task {k} loss would increase"
        conflicts = int(method.qp_counts_[0])
    assert conflicts >= 1


@pytest.mark.parametrize("scenario", ["task", "class"])
def test_gem_batched_memory_gradients_equal_the_per_task_loop(scenario: str) -> None:
    """vmap over the stored tasks (through each task's own head in task-IL) gives the loop's gradients."""
    learner, method, stream = _trained("gem", scenario)
    assert isinstance(method, gem.GEM)
    method.before_task(stream[2])
    params = [p for p in learner.parameters() if p.requires_grad]
    batched = method._memory_gradients(params)
    method._stacked = None
    looped = method._memory_gradients(params)
    assert len(batched) == len(looped) and batched[0].shape[0] == 3  # every stored task
    for a, b in zip(batched, looped, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


# -- generative replay -------------------------------------------------------------------------------


def test_generative_replay_without_replay_is_finetune() -> None:
    """r = 0: the generator is still trained (through learner.fit, on its own generator) but the
    solver must learn exactly as finetune does."""
    stream = lifelong.streams.synthetic(tasks=2, examples=48, scenario="class")
    ft = lifelong.run(stream, "finetune", "mlp-16x1", epochs=2, batch_size=16, lr=0.05, optimizer="sgd")
    method = lifelong.build_method("generative-replay", {"r": 0.0, "hidden": (16,), "latent": 4})
    dgr = lifelong.run(stream, method, "mlp-16x1", epochs=2, batch_size=16, lr=0.05, optimizer="sgd")
    assert np.array_equal(ft.matrix.values, dgr.matrix.values)
    assert method.generator_ and dgr.method_bytes > 0  # type: ignore[attr-defined]


def test_vae_learns_to_generate_the_data() -> None:
    """Trained on a tight cloud around a point of [0, 1]^4, the VAE's samples gather near it."""
    generator = torch.Generator().manual_seed(0)
    centre = torch.tensor([0.9, 0.1, 0.8, 0.2])
    data = (centre + 0.02 * torch.randn(256, 4, generator=generator)).clamp(0, 1)
    weights = _vae.init(4, (32,), 2, generator, torch.device("cpu"))
    optimizer = torch.optim.Adam(list(weights.values()), lr=1e-2)
    for _ in range(300):
        loss = _vae.loss(weights, data, "bernoulli", generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    dreamed = _vae.sample(weights, 500, "bernoulli", generator)
    assert float((dreamed.mean(0) - centre).abs().max()) < 0.1


def test_bernoulli_generator_refuses_inputs_outside_the_unit_interval() -> None:
    stream = lifelong.streams.synthetic(tasks=2, examples=16)
    with pytest.raises(ValueError, match=r"inputs outside \[0, 1\]"):
        lifelong.run(stream, "generative-replay", "mlp-16x1", method_params={"likelihood": "bernoulli"})


def _dgr_on_third_task(scenario: str, **params: object) -> tuple[Learner, generative.GenerativeReplay,
                                                                  lifelong.streams.Stream]:
    """Generative replay with tasks 0 and 1 finished (generator trained, solver snapshot taken after
    each; the solver's weights moved after each), task 2 begun."""
    stream = lifelong.streams.synthetic(tasks=3, examples=48, scenario=scenario)
    method = generative.GenerativeReplay(hidden=(8,), latent=2, generator_iterations=1, **params)  # type: ignore[arg-type]
    learner = Learner.build("mlp-16x1", stream, 0)
    method.attach(learner, 0, stream.scenario)
    for k in (0, 1):
        learner.begin_task(stream[k])
        method.before_task(stream[k])
        method.after_task(stream[k])
        with torch.no_grad():
            for p in learner.parameters():
                p.add_(0.5 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1 + k)))
    learner.begin_task(stream[2])
    method.before_task(stream[2])
    return learner, method, stream


DREAMED = torch.randn(6, 8, generator=torch.Generator().manual_seed(5))


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
@pytest.mark.parametrize("distill", [False, True], ids=["hard-labels", "distill"])
def test_generative_replay_loss_on_known_dreams(scenario: str, distill: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The solver's replay term on the third task (arXiv 1705.08690 eq. 2; DGR + distill as arXiv 1904.07734),
    with the generator's samples replaced by six fixed inputs x':

        r · Σ_{k<3} L(ŷ_k(x'), y'_k),   y'_k = argmax of the *previous* solver's logits on x' (DGR), or
        its softened outputs at T = 2 with T²·KD (distill), through task k's head in task-IL, over the
        four units of tasks 0 and 1 in class-IL (the previous solver is made to prefer task 2's units,
        which must not become labels), the shared head in domain-IL (where the sum is twice one term).

    r = 0.6. The expected value uses a separate network loaded with the snapshot and plain cross-entropy.
    """
    learner, method, stream = _dgr_on_third_task(scenario, r=0.6, replay_batch=6, distill=distill)
    if scenario == "class":
        method.previous_["head.linear.bias"][4:] += 50.0  # task 2's units dominate the previous solver
    monkeypatch.setattr(_vae, "sample", lambda weights, n, likelihood, rng: DREAMED[:n].clone())
    batch = train_batch(stream[2], torch.arange(16))
    previous = Learner.build("mlp-16x1", stream, 0)
    previous.load_state_dict(method.previous_)
    heads = [torch.full((6,), k) for k in (0, 1)] if scenario == "task" else [torch.full((6,), 2)] * 2
    expected = torch.zeros(())
    for ids in heads:
        with torch.no_grad():
            target = previous(DREAMED, ids)
        if scenario == "class":
            assert set(target.argmax(1).tolist()) <= {4, 5}  # unmasked, the labels would be task 2's classes
            target[:, 4:] = MASKED
        current = learner(DREAMED, ids)
        if distill:
            term = 4.0 * -(torch.softmax(target / 2, 1) * torch.log_softmax(current / 2, 1)).sum(1).mean()
        else:
            labels = target.argmax(1)
            assert not torch.equal(labels, current.argmax(1))  # the previous solver's labels, not the current's
            term = torch.nn.functional.cross_entropy(current, labels)
        expected = expected + 0.6 * term
    value = method.penalty(batch, learner(batch.x, batch.task_ids))
    assert value is not None and torch.isclose(value, expected, rtol=1e-5), (float(value), float(expected))


def test_generative_replay_generator_mixes_its_own_dreams_one_to_r_per_earlier_task(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator's loss on the third task (eq. 1 with the solver's mixing): L_VAE(task batch) +
    r·(t−1)·L_VAE(inputs dreamed by the generator's previous copy). With L_VAE replaced by the sum of
    its inputs and the previous copy's dreams by ones, the loss of a batch is Σ x + 0.6 · 2 · (n · 8)."""
    learner, method, stream = _dgr_on_third_task("domain", r=0.6)
    seen: list[torch.Tensor] = []

    def fit(params: object, batches: object, loss: Callable[[Batch], torch.Tensor], **kwargs: object) -> float:
        batch = train_batch(stream[2], torch.arange(5))
        seen.append(loss(batch) - batch.x.sum())
        return 0.0

    monkeypatch.setattr(_vae, "sample", lambda weights, n, likelihood, rng: torch.ones(n, 8))
    monkeypatch.setattr(_vae, "loss", lambda weights, x, likelihood, rng: x.sum())
    monkeypatch.setattr(learner, "fit", fit)
    method.after_task(stream[2])
    assert len(seen) == 1 and float(seen[0]) == pytest.approx(0.6 * 2 * 5 * 8)


def test_er_step_is_the_incoming_batch_plus_a_replay_drawn_before_it_is_stored() -> None:
    """ER's step batch is B_t ∪ B_M with |B_M| = ``replay_batch`` drawn from M *before* B_t is written
    (arXiv 1902.10486, Alg. 1), so the very first batch replays nothing and a later one replays only
    samples of earlier batches, never its own. Inputs are sample ids, so every row can be traced.

    Reservoir (|M| = 4, |B_M| = 3): batch 0…4 comes back unchanged (M was empty); batch 10…14 comes back
    followed by 3 distinct ids out of the 4 stored, all from 0…4. Task policy: nothing is replayed
    during task 0 (M is written after the task), and in task 1 every replayed row is a task-0 sample
    carrying task id 0 (so task-IL sends it through its own head).
    """
    stream = lifelong.streams.synthetic(tasks=2, examples=16, features=1, scenario="task")
    er = ER(memory=4, policy="reservoir", replay_batch=3)
    er.attach(Learner.build("mlp", stream, 0), 0, stream.scenario)
    first = _batch(torch.arange(5))
    assert er.batch(first) is first
    assert _buffer.size(er.memory_) == 4
    stored = set(_buffer.contents(er.memory_).y.tolist())
    second = er.batch(_batch(torch.arange(10, 15)))
    assert second.y[:5].tolist() == list(range(10, 15)) and len(second) == 8
    replayed = second.y[5:].tolist()
    assert len(set(replayed)) == 3 and set(replayed) <= stored <= set(range(5))
    assert torch.equal(second.x[5:].squeeze(1).long(), second.y[5:])  # inputs travel with their targets

    er = ER(memory=8, policy="task", replay_batch=5)
    er.attach(Learner.build("mlp", stream, 0), 0, stream.scenario)
    incoming = train_batch(stream[0], torch.arange(6))
    assert er.batch(incoming) is incoming
    er.after_task(stream[0])
    mixed = er.batch(train_batch(stream[1], torch.arange(6)))
    assert len(mixed) == 11 and mixed.task_ids[:6].tolist() == [1] * 6 and mixed.task_ids[6:].tolist() == [0] * 5
    task0 = stream[0].inputs(stream[0].train.x)
    assert bool((mixed.x[6:].unsqueeze(1) == task0.unsqueeze(0)).all(-1).any(1).all())


def test_generative_replay_with_shins_ratio_splits_the_loss_ratio_to_one_minus_ratio(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Shin et al.'s eq. 2 with their r (``ratio`` = 0.25): on the third task the current term is 0.25·CE and
    the replayed term 0.75·L_replay, L_replay the mean over the dreams asked of both earlier tasks (task-IL:
    through head 0 and head 1) — not r·(t−1) as with the per-task weight ``r``."""
    learner, method, stream = _dgr_on_third_task("task", ratio=0.25, replay_batch=6)
    monkeypatch.setattr(_vae, "sample", lambda weights, n, likelihood, rng: DREAMED[:n].clone())
    batch = train_batch(stream[2], torch.arange(16))
    logits = learner(batch.x, batch.task_ids)
    previous = Learner.build("mlp-16x1", stream, 0)
    previous.load_state_dict(method.previous_)
    terms = []
    for k in (0, 1):
        ids = torch.full((6,), k)
        with torch.no_grad():
            labels = previous(DREAMED, ids).argmax(1)
        terms.append(torch.nn.functional.cross_entropy(learner(DREAMED, ids), labels))
    current = method.loss(batch, logits)
    replayed = method.penalty(batch, logits)
    assert current is not None and torch.isclose(current, 0.25 * torch.nn.functional.cross_entropy(logits, batch.y))
    assert replayed is not None and torch.isclose(replayed, 0.75 * (terms[0] + terms[1]) / 2, rtol=1e-5)
    with pytest.raises(ValueError, match=r"ratio .* must be in \(0, 1\], got 1.5"):
        generative.GenerativeReplay(ratio=1.5)
