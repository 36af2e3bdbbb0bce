"""A run that diverges stops at the first non-finite value, says where in one line, and keeps its finished rows."""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import lifelong
from lifelong.cli import main
from lifelong.errors import DivergedError, OptionError
from lifelong.methods.base import Method
from lifelong.observers import Observer
from lifelong.streams.task import Task


class Losses(Observer):
    def __init__(self) -> None:
        self.losses: list[float] = []
        self.failed: list[str] = []

    def step(self, index: int, loss: torch.Tensor) -> None:
        self.losses.append(float(loss))

    def run_failed(self, result: object, message: str) -> None:
        self.failed.append(message)


def _stream() -> lifelong.streams.Stream:
    return lifelong.streams.synthetic(tasks=3, classes_per_task=2, features=8, examples=64, test_examples=32)


def test_a_huge_rate_stops_at_the_first_non_finite_loss() -> None:
    watch = Losses()
    with pytest.raises(DivergedError) as caught:
        lifelong.run(_stream(), "ewc", "mlp-16x1", optimizer="sgd", lr=1e30, batch_size=16, observers=[watch])
    assert watch.losses and all(math.isfinite(v) for v in watch.losses)  # every step before it was finite
    step = len(watch.losses) + 1  # the first non-finite loss is the step after the last observed one
    message = str(caught.value)
    assert message == (f"training diverged: method ewc, task 1/3 (blobs-1), step {step}: the loss is nan; the run "
                       "stopped. Lower --lr (now 1e+30) or --method.lam (now 100.0)")
    assert watch.failed == [message]
    partial = caught.value.result
    assert partial.status == "failed" and partial.message == message
    assert partial.matrix.rows_after == (0,) and partial.matrix.values.shape == (1, 3)  # row 0, measured before
    assert math.isnan(partial.metrics["acc"])


def test_rows_finished_before_the_divergence_are_kept() -> None:
    """Task 1 trains normally; the method's strength blows up only in task 2."""
    stream = _stream()
    with pytest.raises(DivergedError, match=r"method l2, task 2/3 \(blobs-2\), step \d+: the loss is (inf|nan)") as c:
        lifelong.run(stream, "l2", "mlp-16x1", method_params={"lam": 1e308}, optimizer="sgd", lr=0.1, batch_size=16)
    assert c.value.result.matrix.rows_after == (0, 1)
    assert c.value.result.matrix.values[1, 0] > 0.6  # task 1 was learned before it diverged


@dataclass
class PoisonedImportance(Method):
    """Test double: a consolidation step that produces a NaN importance after task 1."""

    def after_task(self, task: Task) -> None:
        self.importance_ = torch.tensor([1.0, float("nan")])


def test_a_non_finite_importance_stops_after_the_task_that_made_it() -> None:
    method = PoisonedImportance()
    method.name = "poisoned"
    with pytest.raises(DivergedError) as caught:
        lifelong.run(_stream(), method, "mlp-16x1", epochs=1)
    assert str(caught.value) == ("training diverged: method poisoned, task 1/3 (blobs-1), after training: its state "
                                 "importance_ is not finite; the run stopped. Lower --lr (now 0.001)")
    assert caught.value.result.matrix.rows_after == (0,)


def test_non_finite_hyperparameters_are_refused_in_the_api_before_training() -> None:
    watch = Losses()
    with pytest.raises(OptionError, match=r"--method.lam: ewc needs a finite number at least 0, got nan"):
        lifelong.run(_stream(), lifelong.methods.EWC(lam=float("nan")), "mlp-16x1", observers=[watch])
    with pytest.raises(OptionError, match=r"^lr: must be a finite number, got inf$"):
        lifelong.run(_stream(), "finetune", "mlp-16x1", lr=float("inf"))
    with pytest.raises(OptionError, match=r"method_params.lam: must be a finite number, got nan"):
        lifelong.run(_stream(), "ewc", "mlp-16x1", method_params={"lam": float("nan")})
    assert watch.losses == []


def test_cli_divergence_exit_code_json_and_failed_store_row(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out, db = tmp_path / "r.json", tmp_path / "runs.db"
    code = main(["run", "--stream", "synthetic", "--model", "mlp-16x1", "--method", "ewc", "--optimizer", "sgd",
                 "--lr", "1e30", "--stream.tasks", "3", "--json", str(out), "--store", str(db), "--quiet"])
    assert code == 3
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("lifelong: error: training diverged: method ewc, task 1/3 (blobs-1), ")
    assert err[0].endswith("the loss is nan; the run stopped. Lower --lr (now 1e+30) or --method.lam (now 100.0)")
    data = json.loads(out.read_text())
    assert data["status"] == "failed" and data["message"] == err[0].removeprefix("lifelong: error: ")
    assert len(data["matrix"]) == 1 and data["rows_after"] == [0]
    status, message, result = sqlite3.connect(db).execute("SELECT status, message, result FROM runs").fetchone()
    assert status == "failed" and message == data["message"]
    assert np.array_equal(json.loads(result)["matrix"], data["matrix"])
    # a failed run is not a result: running again trains it again (and fails again)
    assert main(["run", "--stream", "synthetic", "--model", "mlp-16x1", "--method", "ewc", "--optimizer", "sgd",
                 "--lr", "1e30", "--stream.tasks", "3", "--store", str(db), "--quiet"]) == 3
    assert "skipped" not in capsys.readouterr().out
