"""Frozen run configuration; its canonical JSON hash is the run id (a re-run of a sweep skips what is done)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    """How each phase is trained and evaluated.

    Attributes:
        epochs: passes over a task's training data; ignored when ``iterations`` is set.
        iterations: mini-batches per task (iteration-based protocols, e.g. 2000 in arXiv 1904.07734).
            A phase over k pooled tasks (joint, cumulative) gets k times the budget, so every task's
            data is seen as often as in sequential training.
        batch_size: examples per step.
        optimizer: ``sgd`` or ``adam``; lr, momentum, betas as usual.
        reset_optimizer: build a fresh optimizer for every task (the lecture's homework does);
            otherwise the optimizer state carries over while the trained parameters stay the same.
        eval_batch_size: test examples per forward pass during evaluation.
        threads: torch intra-op threads; recorded in every result (2 threads slow 4x when the
            machine is busy, 1 thread is stable).
    """

    epochs: int = 1
    iterations: int | None = None
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    reset_optimizer: bool = True
    eval_batch_size: int = 10000
    threads: int = 1

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid: adam, sgd")
        for name in ("epochs", "batch_size", "eval_batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if self.iterations is not None and self.iterations < 1:
            raise ValueError(f"train.iterations must be at least 1, got {self.iterations}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be positive, got {self.lr}")


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
