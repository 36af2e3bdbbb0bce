"""What a run returns: the accuracy matrix, its metrics, costs, and the fully resolved config."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lifelong.metrics import AccuracyMatrix, seen_so_far, summary


@dataclass
class Result:
    """One run.

    Attributes:
        config: the resolved run configuration (``RunConfig.to_dict()``), with ``run_id``.
        matrix: the accuracy matrix R (row 0 = random init).
        metrics: ACC, BWT, FWT, forgetting, learning accuracy (NaN where undefined).
        seconds: wall time of each training phase; ``total_seconds`` includes evaluation.
        parameters: after each row, total and trainable parameter counts and bytes (growth of
            expansion methods shows here).
        method_bytes: bytes of tensors the method holds as state (anchors, importances, buffers).
        peak_rss_mb: the process's peak resident memory at the end of the run.
        environment: library and torch versions, thread count, machine load.
        method_report: the method's learned state that is plain numbers or text (free capacity,
            routing accuracy, widths...), so what a method reports about itself lands in results.
        status: ``finished``, or ``failed`` for a run that stopped early (its matrix then holds the
            rows it finished, and ``message`` the one-line cause).
    """

    config: dict[str, Any]
    matrix: AccuracyMatrix
    seconds: list[float]
    total_seconds: float
    parameters: list[dict[str, int]]
    method_bytes: int
    peak_rss_mb: float
    environment: dict[str, Any]
    method_report: dict[str, Any] = field(default_factory=dict)
    status: str = "finished"
    message: str | None = None
    metrics: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = summary(self.matrix)

    @property
    def run_id(self) -> str:
        return str(self.config.get("run_id", ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "matrix": self.matrix.to_list(),
            "rows_after": list(self.matrix.rows_after),
            "task_names": list(self.matrix.task_names),
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
            "seen_so_far": seen_so_far(self.matrix),
            "seconds": self.seconds,
            "total_seconds": self.total_seconds,
            "parameters": self.parameters,
            "method_bytes": self.method_bytes,
            "peak_rss_mb": self.peak_rss_mb,
            "environment": self.environment,
            "method_report": self.method_report,
            "status": self.status,
            "message": self.message,
        }

    def save_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        matrix = AccuracyMatrix(np.asarray(data["matrix"], dtype=float), tuple(data["rows_after"]),
                                tuple(data.get("task_names", ())))
        return cls(data["config"], matrix, data["seconds"], data["total_seconds"], data["parameters"],
                   data["method_bytes"], data["peak_rss_mb"], data["environment"], data.get("method_report", {}),
                   data.get("status", "finished"), data.get("message"))


def _json_float(value: float) -> float | None:
    """NaN is not JSON: undefined metrics are written as null."""
    return None if math.isnan(value) else value
