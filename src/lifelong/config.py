"""Frozen run configuration; its canonical JSON hash is the run id (a re-run of a sweep skips what is done)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from lifelong.errors import OptionError


@dataclass(frozen=True)
class TrainConfig:
    """How each phase is trained and evaluated.

    Attributes:
        epochs: passes over a task's training data; ignored when ``iterations`` is set.
        iterations: mini-batches per task (iteration-based protocols, e.g. 2000 in arXiv 1904.07734).
            A phase over k pooled tasks (joint, cumulative) gets k times the budget, so every task's
            data is seen as often as in sequential training.
        batch_size: examples per step.
        optimizer: ``adam`` (default) or ``sgd``; lr, momentum, betas as usual. The defaults (Adam at
            1e-3, batch 128, 4 epochs) train every built-in MNIST task near its single-task ceiling
            (measured in benchmarks/defaults.py); SGD at a fixed rate needs tuning per stream.
        reset_optimizer: build a fresh optimizer for every task (the lecture's homework does);
            otherwise the optimizer state carries over while the trained parameters stay the same.
        eval_batch_size: test examples per forward pass during evaluation.
        threads: torch intra-op threads; recorded in every result (2 threads slow 4x when the
            machine is busy, 1 thread is stable).
        device: where the network, the data, the method's state and its buffers live: ``auto`` (CUDA
            when present, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``. Resolved when the config is
            made, so a result records the device it ran on; part of the run id only as ``cuda`` (a
            CUDA run's matrix differs from the CPU's in the last digits; which GPU does not matter).
        precision: ``fp32`` (default) or ``bf16``: the forward passes of training and evaluation in
            bfloat16 autocast, parameters, gradients and method state in float32. Part of the run id
            when not fp32.
        deterministic: on CUDA, deterministic algorithms only (``torch.use_deterministic_algorithms``
            with cuBLAS's fixed workspace): the same matrix from run to run, a little slower. The CPU
            is deterministic anyway. Part of the run id when set.
        clip_norm: the largest L2 norm of a step's gradient over all trained parameters (after the method's
            own gradient work, e.g. GEM's projection); a larger one is scaled down to it. ``None``: no clipping.
        lr_step_epochs, lr_step_factor: anneal the rate by ``lr_step_factor`` after every ``lr_step_epochs``
            epochs of a phase (the MemN2N recipe halves it every 25); ``None``: a constant rate.
        linear_start_epochs: epochs at the start of each phase in the model's linear mode, before the
            ``epochs`` in its normal one and before any annealing (MemN2N's linear start, LS: no softmax
            over memories); only for models that have such a mode.
        input_cache_mb: memory for the inputs of the phase's training examples, prepared once
            (scaled, permuted, rotated) instead of per batch; a phase whose prepared inputs do not
            fit prepares each batch as it is drawn. Only speed and memory change, never a number, so
            it is not part of the run id.
    """

    epochs: int = 4
    iterations: int | None = None
    batch_size: int = 128
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    reset_optimizer: bool = True
    eval_batch_size: int = 10000
    threads: int = 1
    device: str = "auto"
    precision: Literal["fp32", "bf16"] = "fp32"
    deterministic: bool = False
    input_cache_mb: int = 1024
    clip_norm: float | None = None
    lr_step_epochs: int | None = None
    lr_step_factor: float = 0.5
    linear_start_epochs: int = 0

    def __post_init__(self) -> None:
        """Refuse what cannot train (a NaN rate trains to chance and exits 0 otherwise), naming the field."""
        if self.optimizer not in ("adam", "sgd"):
            raise OptionError(f"--train.optimizer: {self.optimizer!r} is not one of adam, sgd")
        object.__setattr__(self, "device", resolve_device(self.device))
        if self.precision not in ("fp32", "bf16"):
            raise OptionError(f"--train.precision: {self.precision!r} is not one of fp32, bf16")
        cache = self.input_cache_mb
        if isinstance(cache, bool) or not isinstance(cache, int) or cache < 0:
            raise OptionError(f"--train.input_cache_mb: must be a whole number of at least 0, got {cache!r}")
        for name in ("epochs", "batch_size", "eval_batch_size", "threads", "iterations", "lr_step_epochs"):
            value = getattr(self, name)
            if value is None and name in ("iterations", "lr_step_epochs"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(f"--train.{name}: must be a whole number of at least 1, got {value!r}")
        if not _finite(self.lr) or self.lr <= 0:
            raise OptionError(f"--train.lr: must be a positive finite number, got {self.lr!r}")
        starts = self.linear_start_epochs
        if isinstance(starts, bool) or not isinstance(starts, int) or starts < 0:
            raise OptionError(f"--train.linear_start_epochs: must be a whole number of at least 0, got {starts!r}")
        if self.iterations is not None:
            for name in ("lr_step_epochs", "linear_start_epochs"):
                if getattr(self, name):
                    raise OptionError(f"--train.{name}: counts epochs, but this run counts --train.iterations")
        if self.clip_norm is not None and (not _finite(self.clip_norm) or self.clip_norm <= 0):
            raise OptionError(f"--train.clip_norm: must be a positive finite number or none, got {self.clip_norm!r}")
        if not _finite(self.lr_step_factor) or not 0 < self.lr_step_factor <= 1:
            raise OptionError(f"--train.lr_step_factor: must be in (0, 1], got {self.lr_step_factor!r}")
        if not _finite(self.momentum) or not 0 <= self.momentum < 1:
            raise OptionError(f"--train.momentum: must be in [0, 1), got {self.momentum!r}")
        if len(self.betas) != 2 or not all(_finite(b) and 0 <= b < 1 for b in self.betas):
            raise OptionError(f"--train.betas: must be two numbers in [0, 1), got {self.betas!r}")


# Fields that change how fast a run goes, never its numbers: left out of the run id.
RESULT_NEUTRAL = ("input_cache_mb",)
# Fields added after run ids were first made, with the value every earlier run had: left out of the run id at
# that value, so an earlier run keeps its id (and a sweep still finds it stored).
NEW_FIELD_DEFAULTS = {"device": "cpu", "precision": "fp32", "deterministic": False, "clip_norm": None,
                      "lr_step_epochs": None, "lr_step_factor": 0.5, "linear_start_epochs": 0}


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``; ``cpu``, ``cuda`` and ``cuda:N`` are checked.

    Raises:
        OptionError: not a device name, or CUDA asked for where there is none (one line, no traceback).
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    m = re.fullmatch(r"cuda(?::(\d+))?", device) if isinstance(device, str) else None
    if m is None:
        raise OptionError(f"--train.device: {device!r} is not one of auto, cpu, cuda, cuda:N")
    if not torch.cuda.is_available():
        raise OptionError(f"--train.device: {device} asked for, but this machine has no usable CUDA device "
                          f"(torch {torch.__version__}, built for CUDA: {torch.version.cuda or 'no'}); "
                          "use --device cpu or auto")
    if m[1] is not None and int(m[1]) >= torch.cuda.device_count():
        raise OptionError(f"--train.device: {device} asked for, but this machine has {torch.cuda.device_count()} "
                          "CUDA device(s) (numbered from 0)")
    return device


def identity(train: dict[str, Any]) -> dict[str, Any]:
    """The training settings that decide a run's numbers, as the run id hashes them: result-neutral fields out,
    new fields at their earlier value out, and the device as its kind (``cuda:1`` computes what ``cuda`` does)."""
    out = {k: v for k, v in train.items() if k not in RESULT_NEUTRAL}
    if isinstance(out.get("device"), str):
        out["device"] = out["device"].split(":")[0]
    return {k: v for k, v in out.items() if not (k in NEW_FIELD_DEFAULTS and v == NEW_FIELD_DEFAULTS[k])}


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's result (given the machine)."""

    stream: str
    stream_params: dict[str, Any] = field(default_factory=dict)
    model: str = "mlp-400x2"
    method: str = "finetune"
    method_params: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    init: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def run_id(self) -> str:
        """Hash of the canonical JSON of the fully resolved config."""
        settings = self.to_dict()
        text = json.dumps({**settings, "train": identity(settings["train"])}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
