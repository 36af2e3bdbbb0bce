"""Frozen run configuration; its canonical JSON hash is the run id (a re-run of a sweep skips what is done)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
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

    def __post_init__(self) -> None:
        """Refuse what cannot train (a NaN rate trains to chance and exits 0 otherwise), naming the field."""
        if self.optimizer not in ("adam", "sgd"):
            raise OptionError(f"--train.optimizer: {self.optimizer!r} is not one of adam, sgd")
        for name in ("epochs", "batch_size", "eval_batch_size", "threads", "iterations"):
            value = getattr(self, name)
            if value is None and name == "iterations":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(f"--train.{name}: must be a whole number of at least 1, got {value!r}")
        if not _finite(self.lr) or self.lr <= 0:
            raise OptionError(f"--train.lr: must be a positive finite number, got {self.lr!r}")
        if not _finite(self.momentum) or not 0 <= self.momentum < 1:
            raise OptionError(f"--train.momentum: must be in [0, 1), got {self.momentum!r}")
        if len(self.betas) != 2 or not all(_finite(b) and 0 <= b < 1 for b in self.betas):
            raise OptionError(f"--train.betas: must be two numbers in [0, 1), got {self.betas!r}")


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
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
