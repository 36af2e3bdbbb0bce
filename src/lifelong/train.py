"""The training loop: the method contract's hooks, written out by name, and the lecture's evaluation.

No method is named here. Evaluation runs on every task before training (row 0 of R) and after
every phase, on whole test sets.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from lifelong.config import RunConfig, TrainConfig
from lifelong.environment import describe_environment
from lifelong.errors import DivergedError, LifelongError, one_line
from lifelong.methods.base import Method, Phase
from lifelong.metrics import AccuracyMatrix
from lifelong.models.learner import Learner, make_optimizer
from lifelong.observers import Observer
from lifelong.result import Result
from lifelong.streams.sampler import batches, steps_per_epoch
from lifelong.streams.stream import Stream
from lifelong.streams.task import Batch, eval_batch


def train(
    stream: Stream,
    method: Method,
    learner: Learner,
    config: RunConfig,
    observers: Sequence[Observer] = (),
) -> Result:
    """Train ``learner`` through ``stream`` with ``method``; return the accuracy matrix and costs.

    A non-finite loss stops the run at that step, non-finite parameters or method state (an
    importance, an anchor) at the end of the task that produced them: a :class:`DivergedError` names
    method, task, step, value and the knobs that usually cause it, and carries the rows of R finished
    so far. Observers hear ``run_failed`` with it (or with any other error) before it propagates.
    """
    method.validate()
    tc = config.train
    torch.set_num_threads(tc.threads)
    torch.manual_seed(config.seed)
    data_order = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    method.attach(learner, config.seed, stream.scenario)
    phases = method.phases(stream)
    for o in observers:
        o.run_started(config, [p.task.name for p in phases])
    rows: list[np.ndarray] = []
    sizes: list[dict[str, int]] = []
    seconds: list[float] = []

    def result() -> Result:
        """The run so far: every finished row of R (row 0 first), costs, the method's report."""
        matrix = AccuracyMatrix(np.stack(rows) if rows else np.zeros((0, len(stream))),
                                (0, *(p.task.id + 1 for p in phases))[:len(rows)], tuple(t.name for t in stream))
        return Result({**config.to_dict(), "run_id": config.run_id, "stream_params": stream.params}, matrix, seconds,
                      time.perf_counter() - started, sizes, state_bytes(method), peak_rss_mb(),
                      describe_environment(tc.threads), plain_state(method))

    try:
        rows.append(evaluate(learner, method, stream, tc.eval_batch_size))
        sizes.append(parameter_counts(learner))
        optimizer = None
        for i, phase in enumerate(phases):
            t0 = time.perf_counter()
            try:
                optimizer = learn_phase(i, phase, learner, method, tc, optimizer, data_order, observers)
            except NonFinite as bad:
                raise _diverged(method, config, phase, f"task {i + 1}/{len(phases)}", bad, result) from None
            seconds.append(time.perf_counter() - t0)
            rows.append(evaluate(learner, method, stream, tc.eval_batch_size))
            sizes.append(parameter_counts(learner))
            for o in observers:
                o.phase_finished(i, rows[-1], seconds[-1])
    except BaseException as err:
        failed = err.result if isinstance(err, DivergedError) else None
        if failed is not None:
            failed.status, failed.message = "failed", str(err)
        message = str(err) if isinstance(err, LifelongError) else (
            "interrupted" if isinstance(err, KeyboardInterrupt) else f"{type(err).__name__}: {one_line(err)}")
        for o in observers:
            o.run_failed(failed, message)
        raise
    final = result()
    for o in observers:
        o.run_finished(final)
    return final


class NonFinite(Exception):
    """Raised inside a phase where a value stopped being finite; :func:`train` turns it into a DivergedError."""

    def __init__(self, step: int | None, what: str) -> None:
        super().__init__(what)
        self.step, self.what = step, what


def learn_phase(
    index: int, phase: Phase, learner: Learner, method: Method, tc: TrainConfig,
    optimizer: torch.optim.Optimizer | None, data_order: torch.Generator, observers: Sequence[Observer],
) -> torch.optim.Optimizer:
    """One phase: the hooks and steps of the method contract, up to its consolidation (``after_task``).

    Returns the optimizer, kept for the next phase unless ``reset_optimizer``. Raises
    :class:`NonFinite` at the first non-finite loss (one scalar read per step), or after training
    when the parameters or the method's learned state hold NaN or infinity.
    """
    for task in phase.tasks:
        learner.begin_task(task)
    method.before_task(phase.task)
    params = list(method.parameters(learner))
    if optimizer is None or tc.reset_optimizer or not _same_params(optimizer, params):
        optimizer = make_optimizer(params, tc.optimizer, tc.lr, tc.momentum, betas=tc.betas)
    for o in observers:
        o.phase_started(index, phase.task.name, _phase_steps(phase, tc))
    learner.train()
    step = -1
    for step, batch in enumerate(_phase_batches(phase, tc, data_order)):
        batch = method.batch(batch)
        logits = learner(batch.x, batch.task_ids)
        loss = method.loss(batch, logits)
        if loss is None:
            loss = learner.loss(logits, batch.y)
        extra = method.penalty(batch, logits)
        if extra is not None:
            loss = loss + extra
        if not torch.isfinite(loss.detach()):
            overflowed = "" if _finite_parameters(learner) else \
                " because the parameters are no longer finite (the previous update overflowed)"
            raise NonFinite(step, f"the loss is {float(loss.detach())}{overflowed}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        method.after_backward(batch)
        optimizer.step()
        method.after_step()
        for o in observers:
            o.step(step, loss.detach())
    if not _finite_parameters(learner):
        raise NonFinite(step, "the parameters are no longer finite (a non-finite gradient or update)")
    method.after_task(phase.task)
    bad = next((name for name, t in state_tensors(method) if t.is_floating_point() and not bool(t.isfinite().all())),
               None)
    if bad is not None:
        raise NonFinite(None, f"its state {bad} is not finite")
    return optimizer


def _diverged(
    method: Method, config: RunConfig, phase: Phase, where: str, bad: NonFinite, result: Callable[[], Result],
) -> DivergedError:
    """The one-line divergence report: where, what, and the knobs that usually cause it."""
    at = f", step {bad.step + 1}" if bad.step is not None else ", after training"
    knobs = [f"--lr (now {config.train.lr:g})"]
    if method.strength is not None:
        knobs.append(f"--method.{method.strength} (now {getattr(method, method.strength)!r})")
    message = (f"training diverged: method {method.name}, {where} ({phase.task.name}){at}: {bad.what}; "
               f"the run stopped. Lower {' or '.join(knobs)}")
    return DivergedError(message, result())


def _finite_parameters(learner: Learner) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in learner.parameters())


@torch.no_grad()
def evaluate(learner: Learner, method: Method, stream: Stream, batch_size: int) -> np.ndarray:
    """Accuracy on every task's whole test set (chunks of ``batch_size``), in eval mode."""
    was_training = learner.training
    learner.eval()
    accuracies = []
    for task in stream:
        full = eval_batch(task)
        correct = 0
        for start in range(0, len(full), batch_size):
            x, y, ids = (t[start:start + batch_size] for t in (full.x, full.y, full.task_ids))
            predicted = method.predict(x, ids)
            if predicted is None:
                predicted = learner(x, ids).argmax(1)
            correct += int((predicted == y).sum())
        accuracies.append(correct / len(full))
    learner.train(was_training)
    return np.asarray(accuracies)


def _phase_steps(phase: Phase, tc: TrainConfig) -> int:
    if tc.iterations is not None:
        return tc.iterations * len(phase.tasks)
    return tc.epochs * steps_per_epoch(phase.tasks, tc.batch_size)


def _phase_batches(phase: Phase, tc: TrainConfig, generator: torch.Generator) -> Iterator[Batch]:
    if tc.iterations is not None:
        return batches(phase.tasks, tc.batch_size, generator, iterations=tc.iterations * len(phase.tasks))
    return batches(phase.tasks, tc.batch_size, generator, epochs=tc.epochs)


def _same_params(optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> bool:
    current = [p for group in optimizer.param_groups for p in group["params"]]
    return len(current) == len(params) and all(a is b for a, b in zip(current, params, strict=True))


def parameter_counts(learner: Learner) -> dict[str, int]:
    """Total and trainable parameters and their bytes (expansion methods must show their growth)."""
    params = list(learner.parameters())
    return {
        "total": sum(p.numel() for p in params),
        "trainable": sum(p.numel() for p in params if p.requires_grad),
        "bytes": sum(p.numel() * p.element_size() for p in params),
    }


def state_tensors(method: Method) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor in the method's learned state, under the name of the ``_`` attribute holding it."""
    stack: list[tuple[str, object]] = list(method.state_dict().items())
    while stack:
        name, item = stack.pop()
        if isinstance(item, torch.Tensor):
            yield name, item
        elif isinstance(item, dict):
            stack.extend((name, v) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((name, v) for v in item)


def state_bytes(method: Method) -> int:
    """Bytes of the tensors in the method's learned state (anchors, importances, memories)."""
    return sum(t.numel() * t.element_size() for _, t in state_tensors(method))


def plain_state(method: Method) -> dict[str, Any]:
    """The method's ``_`` state that is JSON-ready (numbers, text, and lists/dicts of them)."""

    def plain(value: object) -> bool:
        if isinstance(value, bool | int | float | str) or value is None:
            return True
        if isinstance(value, list | tuple):
            return all(plain(v) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str | int) and plain(v) for k, v in value.items())
        return False

    return {k: v for k, v in method.state_dict().items() if plain(v)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
