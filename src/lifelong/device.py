"""Where a run computes: moving a stream's data to the device, mixed precision, deterministic CUDA, and inputs
prepared once instead of per batch.

The loop keeps everything a step touches on the run's device (network, data, targets, method state), so a step
launches kernels without waiting for the host. Randomness stays on the CPU (the data order and every method's
generator are CPU generators): a CUDA run draws the same batches and the same memory samples as a CPU run,
and its matrix differs from the CPU's only by the arithmetic of the kernels.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from lifelong.config import TrainConfig
from lifelong.streams.stream import Stream
from lifelong.streams.task import Batch, Split, Task, eval_batch

MB = 2**20
PREPARE_CHUNK = 8192  # examples prepared at a time: bounds the temporary float copies of uint8 inputs


def stream_on(stream: Stream, device: torch.device) -> Stream:
    """The stream with every tensor of its tasks on ``device`` (inputs, targets, the prepare step's maps).

    Storage shared between tasks (the one MNIST tensor behind every permuted task) is moved once and stays
    shared. On the CPU the stream itself is returned.
    """
    if all(t.train.y.device == device for t in stream):
        return stream
    moved: dict[int, Any] = {}
    tasks = tuple(Task(t.id, t.name, _split_on(t.train, device, moved), _split_on(t.test, device, moved), t.classes,
                       _on(t.prepare, device, moved)) for t in stream)
    return Stream(stream.name, tasks, stream.scenario, stream.input_shape, stream.params, stream.vocab,
                  stream.label_space)


def tensors_on(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor in it (nested dicts, lists, tuples) on ``device``: method state read from a
    checkpoint or a saved model is loaded on the CPU first."""
    return _on(value, device, {})


def _split_on(split: Split, device: torch.device, moved: dict[int, Any]) -> Split:
    return Split(_on(split.x, device, moved), _on(split.y, device, moved))


def _on(value: Any, device: torch.device, moved: dict[int, Any]) -> Any:
    if isinstance(value, torch.Tensor):
        if id(value) not in moved:
            moved[id(value)] = value.to(device)
        return moved[id(value)]
    if isinstance(value, dict):
        return {k: _on(v, device, moved) for k, v in value.items()}
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return type(value)(_on(v, device, moved) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _on(getattr(value, f.name), device, moved) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


def autocast(tc: TrainConfig) -> torch.autocast:
    """The forward passes' precision: bfloat16 autocast under ``precision = "bf16"``, else a no-op."""
    device = torch.device(tc.device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=tc.precision == "bf16")


@contextmanager
def determinism(tc: TrainConfig) -> Iterator[None]:
    """Deterministic algorithms for the run when asked for on CUDA (restored afterwards).

    cuBLAS needs a fixed workspace for reproducible matrix products; the variable must be set before
    cuBLAS starts, so it is set here unless the user has set it.
    """
    if not (tc.deterministic and torch.device(tc.device).type == "cuda"):
        yield
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    before = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.benchmark = before[1]


def prepared(tasks: Sequence[Task], budget_mb: int) -> tuple[Task, ...]:
    """The phase's tasks with their training inputs prepared once (model inputs, on the data's device), while
    they fit ``budget_mb`` together; a task that does not fit keeps preparing each batch as it is drawn.

    Preparing is row by row (scaling, a fixed pixel map), so a batch gathered from the prepared inputs holds
    exactly the numbers preparing that batch gives: the matrix does not change.
    """
    left = budget_mb * MB
    out = []
    for task in tasks:
        if task.prepare is None or len(task.train) == 0:
            out.append(task)
            continue
        first = task.inputs(task.train.x[:1])
        size = len(task.train) * first.numel() * first.element_size()
        if size > left:
            out.append(task)
            continue
        left -= size
        inputs = torch.empty((len(task.train), *first.shape[1:]), dtype=first.dtype, device=first.device)
        for start in range(0, len(task.train), PREPARE_CHUNK):
            inputs[start:start + PREPARE_CHUNK] = task.inputs(task.train.x[start:start + PREPARE_CHUNK])
        out.append(Task(task.id, task.name, Split(inputs, task.train.y), task.test, task.classes, None))
    return tuple(out)


class TestSets:
    """Each task's whole test set, prepared for the model once and kept while the kept ones fit ``budget_mb``
    (the rest are prepared again for every row of R)."""

    def __init__(self, budget_mb: int) -> None:
        self.left = budget_mb * MB
        self.kept: dict[Task, Batch] = {}

    def __call__(self, task: Task) -> Batch:
        batch = self.kept.get(task)
        if batch is None:
            batch = eval_batch(task)
            size = batch.x.numel() * batch.x.element_size()
            if size <= self.left:
                self.kept[task] = batch
                self.left -= size
        return batch


def describe_device(device: str) -> dict[str, Any]:
    """The accelerator a result was computed on (name, memory, CUDA version), for the environment record."""
    if torch.device(device).type != "cuda":
        return {"device": device}
    index = torch.device(device).index or 0
    props = torch.cuda.get_device_properties(index)
    return {"device": device, "gpu": props.name, "gpu_memory_gb": round(props.total_memory / 2**30, 1),
            "cuda": torch.version.cuda}
