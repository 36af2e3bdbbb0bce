"""Resume mid-run: for every method in every scenario it declares, a run interrupted after a task and
continued from its checkpoint by fresh objects ends with the matrix of an uninterrupted run, bit for bit;
a corrupt checkpoint is reported and its task redone from the one before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import lifelong
from lifelong import resume
from lifelong._registry import METHODS
from lifelong.config import RunConfig, TrainConfig
from lifelong.errors import CheckpointError
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.resume import RunCheckpoints
from lifelong.streams.scenario import Scenario
from lifelong.train import train

MODEL = "mlp-16x1"
# The optimizer is kept across tasks (momentum state must travel through the checkpoint too).
TRAIN = TrainConfig(epochs=2, batch_size=16, optimizer="sgd", lr=0.05, momentum=0.5, reset_optimizer=False)
CASES = [(name, s) for name in METHODS.names() for s in sorted(METHODS.get(name).factory.scenarios,
                                                                 key=lambda s: s.value)]


class Interrupt(Observer):
    """Stops the run (as Ctrl-C would) when phase ``at`` starts, and records which phases started."""

    def __init__(self, at: int | None = None) -> None:
        self.at = at
        self.started: list[int] = []
        self.resumed: int | None = None

    def run_resumed(self, done: int, rows: list[np.ndarray]) -> None:
        self.resumed = done

    def phase_started(self, index: int, name: str, steps: int) -> None:
        self.started.append(index)
        if index == self.at:
            raise KeyboardInterrupt


def _stream(scenario: Scenario) -> lifelong.streams.Stream:
    return lifelong.streams.synthetic(tasks=3, classes_per_task=2, features=8, examples=48, test_examples=32,
                                      scenario=scenario.value)


def _run(name: str, scenario: Scenario, checkpoints: RunCheckpoints | None, observer: Observer) -> lifelong.Result:
    stream = _stream(scenario)
    method = lifelong.build_method(name)
    config = RunConfig(stream.name, stream.params, MODEL, name, method.hyperparameters(), TRAIN, 0)
    return train(stream, method, Learner.build(MODEL, stream, 0), config, [observer], checkpoints)


@pytest.mark.parametrize(("name", "scenario"), CASES, ids=[f"{n}-{s.value}" for n, s in CASES])
def test_interrupted_run_resumes_bit_identical(name: str, scenario: Scenario, tmp_path: Path) -> None:
    straight = _run(name, scenario, None, Interrupt())
    phases = len(straight.matrix.rows_after) - 1
    at = 1 if phases > 1 else None  # joint and cumulative pool tasks: one phase, nothing to cut
    checkpoints = RunCheckpoints(tmp_path, "run", keep=True)
    if at is not None:
        with pytest.raises(KeyboardInterrupt):
            _run(name, scenario, checkpoints, Interrupt(at))
        assert checkpoints.saved() == [1]
    torch.manual_seed(12345)  # the resumed run must not depend on the global generator's state at its start
    observer = Interrupt()
    resumed = _run(name, scenario, checkpoints, observer)
    if at is not None:
        assert observer.resumed == 1 and observer.started == list(range(1, phases))
    assert np.array_equal(resumed.matrix.values, straight.matrix.values), f"{name}: resumed matrix differs"
    assert resumed.metrics == straight.metrics or all(
        (np.isnan(a) and np.isnan(b)) or a == b for a, b in zip(resumed.metrics.values(), straight.metrics.values(),
                                                                 strict=True))
    assert resumed.parameters == straight.parameters


def test_a_corrupt_checkpoint_is_reported_and_its_task_redone(tmp_path: Path) -> None:
    straight = _run("ewc", Scenario.TASK, None, Interrupt())
    warnings: list[str] = []
    checkpoints = RunCheckpoints(tmp_path, "run", keep=True, warn=warnings.append)
    with pytest.raises(KeyboardInterrupt):
        _run("ewc", Scenario.TASK, checkpoints, Interrupt(2))
    assert checkpoints.saved() == [2, 1]
    newest = checkpoints.path(2)
    data = bytearray(newest.read_bytes())
    data[-10] ^= 0xFF  # one flipped byte in the payload
    newest.write_bytes(bytes(data))
    observer = Interrupt()
    resumed = _run("ewc", Scenario.TASK, checkpoints, observer)
    assert warnings == [f"{newest}: run checkpoint is corrupt (checksum mismatch: truncated or altered); "
                        "redoing task 2 from the checkpoint after task 1"]
    assert observer.resumed == 1 and observer.started == [1, 2]
    assert np.array_equal(resumed.matrix.values, straight.matrix.values)
    assert newest.with_name(newest.name + ".corrupt").exists()


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "not a lifelong run checkpoint (no header)"),
    (resume.MAGIC + b"0" * 64 + b"\npayload", "run checkpoint is corrupt (checksum mismatch: truncated or altered)"),
])
def test_bad_checkpoint_files_are_one_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "after-001.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as caught:
        resume.read(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_checkpoints_of_other_code_are_not_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    checkpoints = RunCheckpoints(tmp_path, "run", warn=warnings.append)
    with pytest.raises(KeyboardInterrupt):
        _run("finetune", Scenario.TASK, checkpoints, Interrupt(1))
    monkeypatch.setattr(resume, "code_fingerprint", lambda: "0000000000000000")
    assert checkpoints.latest() is None
    assert len(warnings) == 1 and "made by other code" in warnings[0] and "starts over" in warnings[0]


def test_only_the_two_newest_are_kept_and_a_finished_run_removes_them(tmp_path: Path) -> None:
    checkpoints = RunCheckpoints(tmp_path, "run")
    _run("finetune", Scenario.TASK, checkpoints, Interrupt())
    assert checkpoints.saved() == [3, 2]
    checkpoints.finish()
    assert not (tmp_path / "run").exists()
