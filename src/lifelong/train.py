"""The training loop: the method contract's hooks, written out by name, and the lecture's evaluation.

No method is named here. Evaluation runs on every task before training (row 0 of R) and after
every phase, on whole test sets.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from lifelong.config import RunConfig, TrainConfig
from lifelong.device import TestSets, autocast, describe_device, determinism, prepared, stream_on, tensors_on
from lifelong.environment import describe_environment
from lifelong.errors import CheckpointError, DivergedError, LifelongError, OptionError, one_line
from lifelong.methods.base import Method, Phase
from lifelong.metrics import AccuracyMatrix
from lifelong.models.learner import Learner, make_optimizer
from lifelong.observers import Observer
from lifelong.result import Result
from lifelong.resume import RunCheckpoints
from lifelong.streams.sampler import batches, steps_per_epoch
from lifelong.streams.stream import Stream
from lifelong.streams.task import Batch, Task, eval_batch


def train(
    stream: Stream,
    method: Method,
    learner: Learner,
    config: RunConfig,
    observers: Sequence[Observer] = (),
    checkpoints: RunCheckpoints | None = None,
) -> Result:
    """Train ``learner`` through ``stream`` with ``method``; return the accuracy matrix and costs.

    With ``checkpoints``, the state after every phase is saved, and a run that finds one of its
    own checkpoints (the same run id, made by the same code) continues after the last finished
    phase instead of starting at task 1: ``learner`` and ``method`` must then be freshly built, as
    for a new run. The result is bit-identical to an uninterrupted run's.

    A non-finite loss stops the run at that step, non-finite parameters or method state (an
    importance, an anchor) at the end of the task that produced them: a :class:`DivergedError` names
    method, task, step, value and the knobs that usually cause it, and carries the rows of R finished
    so far. Observers hear ``run_failed`` with it (or with any other error) before it propagates.
    """
    method.validate()
    tc = config.train
    if tc.linear_start_epochs and not linear_modes(learner):
        raise OptionError(f"--train.linear_start_epochs: model {config.model} has no linear mode to start in "
                          "(memn2n has)")
    with determinism(tc):
        return _train(stream, method, learner, config, observers, checkpoints)


def _train(
    stream: Stream, method: Method, learner: Learner, config: RunConfig, observers: Sequence[Observer],
    checkpoints: RunCheckpoints | None,
) -> Result:
    tc = config.train
    torch.set_num_threads(tc.threads)
    torch.manual_seed(config.seed)
    data_order = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    device = torch.device(tc.device)
    learner.to(device)
    stream = stream_on(stream, device)
    test_sets = TestSets(tc.input_cache_mb)
    method.attach(learner, config.seed, stream.scenario)
    phases = method.phases(stream)
    for o in observers:
        o.run_started(config, [p.task.name for p in phases])
    rows: list[np.ndarray] = []
    sizes: list[dict[str, int]] = []
    seconds: list[float] = []
    optimizer: torch.optim.Optimizer | None = None
    saved = checkpoints.latest() if checkpoints is not None else None
    if saved is not None:
        optimizer = restore_training_state(saved, learner, method, data_order, tc,
                                           f"checkpoint of run {config.run_id} after task {saved['done']}")
        rows, sizes, seconds = [r.numpy() for r in saved["rows"]], saved["sizes"], saved["seconds"]
        started -= saved["elapsed"]
        for o in observers:
            o.run_resumed(saved["done"], rows)

    def result() -> Result:
        """The run so far: every finished row of R (row 0 first), costs, the method's report."""
        matrix = AccuracyMatrix(np.stack(rows) if rows else np.zeros((0, len(stream))),
                                (0, *(p.task.id + 1 for p in phases))[:len(rows)], tuple(t.name for t in stream))
        return Result({**config.to_dict(), "run_id": config.run_id, "stream_params": stream.params}, matrix, seconds,
                      time.perf_counter() - started, sizes, state_bytes(method), peak_rss_mb(),
                      {**describe_environment(tc.threads), **describe_device(tc.device)}, plain_state(method))

    try:
        if not rows:
            rows.append(evaluate(learner, method, stream, tc.eval_batch_size, test_sets, tc))
            sizes.append(parameter_counts(learner))
            for o in observers:
                o.initial_row(rows[0])
        for i, phase in enumerate(phases):
            if i < len(rows) - 1:
                continue  # finished before the run was interrupted: restored from its checkpoint
            t0 = time.perf_counter()
            try:
                optimizer = learn_phase(i, phase, learner, method, tc, optimizer, data_order, observers)
            except NonFinite as bad:
                raise _diverged(method, config, phase, f"task {i + 1}/{len(phases)}", bad, result) from None
            seconds.append(time.perf_counter() - t0)
            rows.append(evaluate(learner, method, stream, tc.eval_batch_size, test_sets, tc))
            sizes.append(parameter_counts(learner))
            for o in observers:
                o.phase_finished(i, rows[-1], seconds[-1])
            if checkpoints is not None:
                checkpoints.save(i + 1, _run_state(learner, method, optimizer, data_order, rows, sizes, seconds,
                                                   time.perf_counter() - started))
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


class LossWatch:
    """Finds a phase's first non-finite loss. On the CPU every step is checked as it happens (the check is
    free there, and the message can say whether the previous update overflowed); on an accelerator a read
    would make the host wait for the device at every step, so the first bad step and its loss are kept on
    the device and read every ``ACCELERATOR_CHECK_EVERY`` steps and at the end of the phase."""

    ACCELERATOR_CHECK_EVERY = 64

    def __init__(self, device: torch.device) -> None:
        self.immediate = device.type == "cpu"
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)
        self.bad_loss = torch.zeros((), device=device)

    def check(self, step: int, loss: torch.Tensor, learner: Learner) -> None:
        if self.immediate:
            if not torch.isfinite(loss):
                overflowed = "" if _finite_parameters(learner) else \
                    " because the parameters are no longer finite (the previous update overflowed)"
                raise NonFinite(step, f"the loss is {float(loss)}{overflowed}")
            return
        new = (self.first_bad < 0) & ~torch.isfinite(loss)
        self.first_bad = torch.where(new, step, self.first_bad)
        self.bad_loss = torch.where(new, loss.float(), self.bad_loss)
        if (step + 1) % self.ACCELERATOR_CHECK_EVERY == 0:
            self.finish(learner)

    def finish(self, learner: Learner) -> None:
        if not self.immediate and int(self.first_bad) >= 0:
            raise NonFinite(int(self.first_bad), f"the loss is {float(self.bad_loss)}")


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
    pool = prepared(phase.tasks, tc.input_cache_mb)
    method.before_task(phase.task)
    params = list(method.parameters(learner))
    if optimizer is None or tc.reset_optimizer or not _same_params(optimizer, params):
        optimizer = make_optimizer(params, tc.optimizer, tc.lr, tc.momentum, betas=tc.betas)
    for o in observers:
        o.phase_started(index, phase.task.name, _phase_steps(phase, tc))
    learner.train()
    watch = LossWatch(torch.device(tc.device))
    schedule = EpochSchedule(tc, learner, pool) if tc.iterations is None else None
    step = -1
    for step, batch in enumerate(_phase_batches(pool, tc, data_order)):
        if schedule is not None:
            schedule.at(step, optimizer)
        batch = method.batch(batch)
        with autocast(tc):
            logits = learner(batch.x, batch.task_ids)
            loss = method.loss(batch, logits)
            if loss is None:
                loss = learner.loss(logits, batch.y)
            extra = method.penalty(batch, logits)
            if extra is not None:
                loss = loss + extra
        watch.check(step, loss.detach(), learner)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        method.after_backward(batch)
        if tc.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, tc.clip_norm)
        optimizer.step()
        method.after_step()
        for o in observers:
            o.step(step, loss.detach())
    watch.finish(learner)
    if schedule is not None:
        schedule.finish()
    if not _finite_parameters(learner):
        raise NonFinite(step, "the parameters are no longer finite (a non-finite gradient or update)")
    method.after_task(phase.task)
    bad = next((name for name, t in state_tensors(method) if t.is_floating_point() and not bool(t.isfinite().all())),
               None)
    if bad is not None:
        raise NonFinite(None, f"its state {bad} is not finite")
    return optimizer


class EpochSchedule:
    """What changes from epoch to epoch of a phase: the models' linear mode for the first
    ``linear_start_epochs`` (then off for good), and the rate, ``lr`` annealed by ``lr_step_factor`` after
    every ``lr_step_epochs`` epochs that follow the linear start (the MemN2N authors' recipe restarts the
    schedule when the softmax is put back)."""

    def __init__(self, tc: TrainConfig, learner: Learner, pool: Sequence[Task]) -> None:
        self.tc, self.steps = tc, steps_per_epoch(pool, tc.batch_size)
        self.switches = linear_modes(learner) if tc.linear_start_epochs else []

    def at(self, step: int, optimizer: torch.optim.Optimizer) -> None:
        if step % self.steps:
            return
        epoch, tc = step // self.steps - self.tc.linear_start_epochs, self.tc
        for module in self.switches:
            module.linear_start = epoch < 0
        if tc.lr_step_epochs is not None:
            for group in optimizer.param_groups:
                group["lr"] = tc.lr * tc.lr_step_factor ** (max(epoch, 0) // tc.lr_step_epochs)

    def finish(self) -> None:
        for module in self.switches:
            module.linear_start = False


def linear_modes(learner: Learner) -> list[Any]:
    """The modules with a linear mode (a ``linear_start`` switch, e.g. MemN2N's memory layers without softmax)."""
    return [m for m in learner.modules() if hasattr(m, "linear_start")]


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


def _run_state(
    learner: Learner, method: Method, optimizer: torch.optim.Optimizer | None, data_order: torch.Generator,
    rows: list[np.ndarray], sizes: list[dict[str, int]], seconds: list[float], elapsed: float,
) -> dict[str, Any]:
    """A run checkpoint: the training state, the rows of R so far and the timings."""
    return {**training_state(learner, method, optimizer, data_order), "rows": [torch.from_numpy(r) for r in rows],
            "sizes": sizes, "seconds": seconds, "elapsed": elapsed}


def training_state(
    learner: Learner, method: Method, optimizer: torch.optim.Optimizer | None, data_order: torch.Generator,
) -> dict[str, Any]:
    """Everything the next phase depends on, as tensors and plain containers (a weights-only load reads it):
    the network, the method's ``_`` state, every generator, the optimizer.

    The optimizer is saved with its parameters' names in the learner. One that holds a parameter the
    learner no longer has (a method rebuilt a layer after the task) cannot be reused by the next phase
    (``learn_phase`` builds a new one), so it is saved as none.
    """
    names = {id(p): name for name, p in learner.named_parameters()}
    held = [] if optimizer is None else [p for group in optimizer.param_groups for p in group["params"]]
    if any(id(p) not in names for p in held):
        optimizer = None
    return {
        "learner": learner.state_dict(),
        "method_state": method.state_dict(),
        "method_rng": method.rng.get_state(),
        "data_order": data_order.get_state(),
        "torch_rng": torch.get_rng_state(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "optimizer_params": [] if optimizer is None else [names[id(p)] for p in held],
    }


def restore_training_state(
    saved: dict[str, Any], learner: Learner, method: Method, data_order: torch.Generator, tc: TrainConfig,
    where: str, *, new_task: bool = False,
) -> torch.optim.Optimizer | None:
    """Put a freshly built learner and method (and the generators) where :func:`training_state` left them.

    The method's state goes first (an expansion method re-grows the network it had), then the
    weights; the optimizer is rebuilt over the same parameters and given its saved state. With
    ``new_task`` the learner was built with one task more than the state knows: that task's head
    keeps its initial weights (the ones a run over all tasks gives it), the head's record of the
    stream's tasks is the new one's, and method state kept per parameter (importances, path
    integrals, snapshots) gets entries for the new head's parameters (see :func:`_with_new_parameters`).

    Raises:
        CheckpointError: ``where`` and what does not fit (another method, model or scenario).
    """
    try:
        state = saved["method_state"]
        if new_task:
            new = {n: p for n, p in learner.named_parameters() if n not in saved["learner"]}
            state = _with_new_parameters(_replaced(state, TASK_RECORD, getattr(learner.head, TASK_RECORD, None)),
                                         method.state_dict(), new, {n for n, _ in learner.named_parameters()})
        method.load_state_dict(tensors_on(state, next(learner.parameters()).device))
        weights = {k: v for k, v in saved["learner"].items() if not (new_task and k.endswith(TASK_RECORD))}
        missing, unexpected = learner.load_state_dict(weights, strict=False)
        fresh = [k for k in missing if not (new_task and (k.endswith(TASK_RECORD) or k.startswith("head.heads.")))]
        if unexpected or fresh:
            raise RuntimeError(f"missing {missing[:3]}, unexpected {unexpected[:3]}")
        method.rng.set_state(saved["method_rng"])
        data_order.set_state(saved["data_order"])
        torch.set_rng_state(saved["torch_rng"])
        if saved["optimizer"] is None:
            return None
        by_name = dict(learner.named_parameters())
        optimizer = make_optimizer([by_name[n] for n in saved["optimizer_params"]], tc.optimizer, tc.lr, tc.momentum,
                                   betas=tc.betas)
        optimizer.load_state_dict(saved["optimizer"])
        return optimizer
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, RuntimeError) as err:
        raise CheckpointError(f"{where}: does not fit this method and model ({one_line(err)})") from None


# A class-incremental head's record of the stream's tasks and their classes (a buffer, not learned): with a
# task more, it is the new stream's, wherever it appears (the head itself, a copy a method keeps).
TASK_RECORD = "task_classes"


def _replaced(state: Any, suffix: str, value: Any) -> Any:
    """``state`` with every dictionary entry whose name ends in ``suffix`` set to ``value`` (None: left as
    it is), recursively: a snapshot of the network a method keeps (LwF's teacher) holds the head's too."""
    if value is None:
        return state
    if isinstance(state, dict):
        return {k: value if isinstance(k, str) and k.endswith(suffix) else _replaced(v, suffix, value)
                for k, v in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(_replaced(v, suffix, value) for v in state)
    return state


def _with_new_parameters(state: Any, fresh: Any, new: dict[str, torch.nn.Parameter], names: set[str]) -> Any:
    """``state`` with an entry for each ``new`` parameter in every dictionary kept per parameter (its keys
    all parameter names: importances, anchors, snapshots), recursively: the entry the method's ``setup``
    made for it (``fresh``, walked alongside: an initial snapshot), else zero (an importance, a path
    integral: a head not trained yet has none). A run over all tasks holds those entries from the start."""
    if isinstance(state, dict):
        fresh_dict = fresh if isinstance(fresh, dict) else {}
        if state and all(isinstance(k, str) and k in names for k in state):
            made = {n: fresh_dict[n] if isinstance(fresh_dict.get(n), torch.Tensor) else torch.zeros_like(p.detach())
                    for n, p in new.items() if n not in state}
            return {**state, **made}
        return {k: _with_new_parameters(v, fresh_dict.get(k), new, names) for k, v in state.items()}
    if isinstance(state, list | tuple):
        fresh_list = fresh if isinstance(fresh, list | tuple) else ()
        return type(state)(_with_new_parameters(v, fresh_list[i] if i < len(fresh_list) else None, new, names)
                           for i, v in enumerate(state))
    return state


def _finite_parameters(learner: Learner) -> bool:
    """One read from the device for all parameters."""
    return bool(torch.stack([torch.isfinite(p).all() for p in learner.parameters()]).all())


@torch.no_grad()
def evaluate(
    learner: Learner, method: Method, stream: Iterable[Task], batch_size: int, test_sets: TestSets | None = None,
    tc: TrainConfig | None = None,
) -> np.ndarray:
    """Accuracy on every task's whole test set (chunks of ``batch_size``), in eval mode; ``stream`` is a
    stream or any of its tasks (a deployed model evaluates one new task before learning it).

    ``test_sets`` keeps each test set prepared from row to row; counts stay on the device until the row is
    done (one read per row); ``tc`` gives the precision of the forward passes.
    """
    was_training = learner.training
    learner.eval()
    prepare = test_sets if test_sets is not None else eval_batch
    correct, sizes = [], []
    for task in stream:
        full = prepare(task)
        count = torch.zeros((), dtype=torch.long, device=full.y.device)
        for start in range(0, len(full), batch_size):
            x, y, ids = (t[start:start + batch_size] for t in (full.x, full.y, full.task_ids))
            with autocast(tc) if tc is not None else nullcontext():
                predicted = method.predict(x, ids)
                if predicted is None:
                    predicted = learner(x, ids).argmax(1)
            count += (predicted == y).sum()
        correct.append(count)
        sizes.append(len(full))
    learner.train(was_training)
    return torch.stack(correct).cpu().numpy() / np.asarray(sizes)


def _phase_steps(phase: Phase, tc: TrainConfig) -> int:
    if tc.iterations is not None:
        return tc.iterations * len(phase.tasks)
    return (tc.epochs + tc.linear_start_epochs) * steps_per_epoch(phase.tasks, tc.batch_size)


def _phase_batches(tasks: Sequence[Task], tc: TrainConfig, generator: torch.Generator) -> Iterator[Batch]:
    if tc.iterations is not None:
        return batches(tasks, tc.batch_size, generator, iterations=tc.iterations * len(tasks))
    return batches(tasks, tc.batch_size, generator, epochs=tc.epochs + tc.linear_start_epochs)


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
