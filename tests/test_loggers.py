"""The loggers: what a tiny real run leaves in TensorBoard event files and in a CSV file, read back and
checked against the run's own result; their one-line errors; and that they never change learning."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from torch import Tensor

import lifelong
from conftest import one_line_error
from lifelong.config import RunConfig, TrainConfig
from lifelong.errors import OptionError
from lifelong.loggers import CSV_COLUMNS, CsvLogger, TensorBoardLogger, parse_log
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.resume import RunCheckpoints
from lifelong.train import train

needs_tensorboard = pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                                       reason='no tensorboard package (pip install -e ".[tensorboard]")')

MODEL = "mlp-16x1"
TRAIN = TrainConfig(epochs=2, batch_size=16, optimizer="sgd", lr=0.05)


class Losses(Observer):
    """Every loss the loop hands out, in order; optionally stops the run (as Ctrl-C) at a phase's step."""

    def __init__(self, stop_at: tuple[int, int] | None = None) -> None:
        self.values: list[float] = []
        self.stop_at = stop_at
        self._phase = 0

    def phase_started(self, index: int, name: str, steps: int) -> None:
        self._phase = index

    def step(self, index: int, loss: Tensor) -> None:
        self.values.append(float(loss))
        if (self._phase, index) == self.stop_at:
            raise KeyboardInterrupt


def _stream() -> lifelong.streams.Stream:
    return lifelong.streams.synthetic(tasks=3, classes_per_task=2, features=8, examples=48, test_examples=32)


def _run(*observers: Observer, method: str = "finetune", seed: int = 0,
         checkpoints: RunCheckpoints | None = None) -> lifelong.Result:
    stream = _stream()
    built = lifelong.build_method(method)
    config = RunConfig(stream.name, stream.params, MODEL, method, built.hyperparameters(), TRAIN, seed)
    return train(stream, built, Learner.build(MODEL, stream, seed), config, list(observers), checkpoints)


def _events(folder: Path) -> Any:
    from tensorboard.backend.event_processing import event_accumulator

    events = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return events


def _scalars(events: Any, tag: str, in_file_order: bool = False) -> tuple[list[int], list[float]]:
    """A tag's steps and values, by step (row 0 comes last in the file until the loop reports it first)."""
    points = events.Scalars(tag) if in_file_order else sorted(events.Scalars(tag), key=lambda p: p.step)
    return [p.step for p in points], [p.value for p in points]


def _text(events: Any, tag: str) -> str:
    return str(events.Tensors(f"{tag}/text_summary")[-1].tensor_proto.string_val[0].decode())


def _run_folder(root: Path, result: lifelong.Result) -> Path:
    config = result.config
    return root / f"{config['method']}-seed{config['seed']}-{result.run_id}"


@needs_tensorboard
def test_tensorboard_holds_every_loss_each_row_of_r_the_metrics_and_the_config(tmp_path: Path) -> None:
    losses = Losses()
    result = _run(parse_log(f"tensorboard={tmp_path / 'tb'}"), losses)
    assert [p.name for p in (tmp_path / "tb").iterdir()] == [_run_folder(tmp_path / "tb", result).name]
    events = _events(_run_folder(tmp_path / "tb", result))
    steps, values = _scalars(events, "loss", in_file_order=True)
    assert steps == list(range(1, len(losses.values) + 1))  # one curve across the three phases
    assert values == pytest.approx(losses.values, rel=1e-6)  # stored as float32
    for j, name in enumerate(result.matrix.task_names):
        steps, values = _scalars(events, f"accuracy/{name}")
        assert steps == [0, 1, 2, 3]
        assert values == pytest.approx(result.matrix.values[:, j].tolist(), rel=1e-6)
    for name in ("acc", "bwt", "fwt", "forgetting"):
        steps, values = _scalars(events, f"metrics/{name}")
        assert steps == [3] and values == pytest.approx([result.metrics[name]], rel=1e-6)
    config = json.loads(_text(events, "config").removeprefix("```json\n").removesuffix("\n```"))
    assert config["run_id"] == result.run_id and config["train"]["lr"] == 0.05


@needs_tensorboard
def test_row_0_reported_before_the_first_phase_comes_first(tmp_path: Path) -> None:
    """The loop reports row 0 as it is evaluated (``initial_row``): TensorBoard gets the rows of R in step order."""
    logger = TensorBoardLogger(tmp_path)
    result = _run(logger)
    events = _events(_run_folder(tmp_path, result))
    for j, name in enumerate(result.matrix.task_names):
        steps, values = _scalars(events, f"accuracy/{name}", in_file_order=True)
        assert steps == [0, 1, 2, 3] and values == pytest.approx(result.matrix.values[:, j].tolist(), rel=1e-6)


@needs_tensorboard
def test_joint_rows_are_named_by_the_streams_tasks(tmp_path: Path) -> None:
    """One phase over three tasks: its row still lands under each task's name, beside row 0."""
    result = _run(TensorBoardLogger(tmp_path), method="joint")
    events = _events(_run_folder(tmp_path, result))
    assert sorted(t for t in events.Tags()["scalars"] if t.startswith("accuracy/")) == \
        [f"accuracy/{n}" for n in result.matrix.task_names]
    for j, name in enumerate(result.matrix.task_names):
        assert _scalars(events, f"accuracy/{name}") == ([0, 1], pytest.approx(result.matrix.values[:, j].tolist()))
    assert "metrics/bwt" not in events.Tags()["scalars"]  # undefined for one phase (NaN): left out


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_csv_rows_match_the_result_and_two_runs_share_one_header(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    losses = [Losses(), Losses()]
    results = [_run(parse_log(f"csv={path}"), losses[seed], seed=seed) for seed in (0, 1)]
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS) and lines.count(lines[0]) == 1
    rows = _csv(path)
    for result, seen in zip(results, losses, strict=True):
        mine = [r for r in rows if r["run_id"] == result.run_id]
        assert {r["seed"] for r in mine} == {str(result.config["seed"])} and {r["method"] for r in mine} == {"finetune"}
        steps = [r for r in mine if r["event"] == "step"]
        assert [int(r["step"]) for r in steps] == list(range(1, len(seen.values) + 1))
        assert [float(r["value"]) for r in steps] == seen.values  # written exactly
        assert {r["phase"] for r in steps} == {"1", "2", "3"}
        matrix = np.zeros_like(result.matrix.values)
        for r in mine:
            if r["event"] == "row":
                matrix[int(r["phase"]), result.matrix.task_names.index(r["name"])] = float(r["value"])
        assert np.array_equal(matrix, result.matrix.values)
        final = {r["name"]: float(r["value"]) for r in mine if r["event"] == "final"}
        assert final["acc"] == result.metrics["acc"] and final["bwt"] == result.metrics["bwt"]


@needs_tensorboard
def test_loggers_do_not_change_learning(tmp_path: Path) -> None:
    plain = _run()
    logged = _run(TensorBoardLogger(tmp_path / "tb"), CsvLogger(tmp_path / "log.csv"))
    assert np.array_equal(plain.matrix.values, logged.matrix.values)


@needs_tensorboard
def test_a_failed_run_logs_its_cause_and_the_rows_it_finished(tmp_path: Path) -> None:
    stream = lifelong.streams.synthetic(tasks=2, classes_per_task=2, features=8, examples=32, test_examples=32)
    loggers = [TensorBoardLogger(tmp_path / "tb"), CsvLogger(tmp_path / "log.csv")]
    with pytest.raises(lifelong.errors.DivergedError) as raised:
        lifelong.run(stream, "finetune", MODEL, optimizer="sgd", lr=1e30, batch_size=16, observers=loggers)
    failed = raised.value.result
    events = _events(_run_folder(tmp_path / "tb", failed))
    assert _text(events, "failed").startswith("training diverged")
    assert _scalars(events, f"accuracy/{failed.matrix.task_names[0]}")[0] == list(range(len(failed.matrix.values)))
    rows = _csv(tmp_path / "log.csv")
    assert [r["name"] for r in rows if r["event"] == "failed"] == [str(raised.value)]
    assert {int(r["phase"]) for r in rows if r["event"] == "row"} == set(range(len(failed.matrix.values)))


@needs_tensorboard
def test_a_resumed_run_continues_the_step_count_and_drops_the_redone_steps(tmp_path: Path) -> None:
    straight = Losses()
    _run(straight)
    checkpoints = RunCheckpoints(tmp_path / "ckpt", "run", keep=True)
    tb, path = tmp_path / "tb", tmp_path / "log.csv"
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C in the middle of phase 2
        _run(TensorBoardLogger(tb), CsvLogger(path), Losses(stop_at=(1, 2)), checkpoints=checkpoints)
    time.sleep(1.1)  # event files are ordered by their names, which start with the second they were made
    result = _run(TensorBoardLogger(tb), CsvLogger(path), checkpoints=checkpoints)
    steps, values = _scalars(_events(_run_folder(tb, result)), "loss", in_file_order=True)
    assert steps == list(range(1, len(straight.values) + 1))
    assert values == pytest.approx(straight.values, rel=1e-6)
    rows = _csv(path)
    assert [(r["phase"], r["step"]) for r in rows if r["event"] == "resumed"] == \
        [("1", next(r["step"] for r in rows if r["event"] == "row" and r["phase"] == "1"))]
    last = {int(r["step"]): float(r["value"]) for r in rows if r["event"] == "step"}  # later lines count
    assert list(last) == list(range(1, len(straight.values) + 1)) and list(last.values()) == straight.values


@pytest.mark.parametrize(("spec", "message"), [
    ("tensorboard", "--log tensorboard: expected KIND=TARGET; valid: tensorboard=DIR, csv=FILE"),
    ("csv=", "--log csv=: expected KIND=TARGET; valid: tensorboard=DIR, csv=FILE"),
    ("wandb=proj", "--log wandb=proj: unknown logger 'wandb'; valid: tensorboard=DIR, csv=FILE"),
    ("csv={tmp}/missing/log.csv", "--log csv={tmp}/missing/log.csv: folder {tmp}/missing does not exist"),
    ("csv={tmp}", "--log csv={tmp}: is a folder, not a CSV log"),
    pytest.param("tensorboard={tmp}/missing/tb", "--log tensorboard={tmp}/missing/tb: folder {tmp}/missing does not "
                 "exist", marks=needs_tensorboard),
    pytest.param("tensorboard={tmp}/file", "--log tensorboard={tmp}/file: {tmp}/file is not a folder",
                 marks=needs_tensorboard),
])
def test_bad_specs_are_refused_in_one_line_before_training(spec: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert one_line_error(OptionError, lambda: parse_log(spec.format(tmp=tmp_path))) == message.format(tmp=tmp_path)


@needs_tensorboard
def test_tensorboard_creates_its_folder(tmp_path: Path) -> None:
    parse_log(f"tensorboard={tmp_path / 'tb'}")
    assert (tmp_path / "tb").is_dir()


def test_without_tensorboard_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # an import of it fails, as when it is not installed
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    assert one_line_error(OptionError, lambda: parse_log(f"tensorboard={tmp_path}")) == (
        f'--log tensorboard={tmp_path}: needs the tensorboard package; install it with pip install -e ".[tensorboard]" '
        "(or pip install tensorboard)")
    assert isinstance(parse_log(f"csv={tmp_path / 'log.csv'}"), CsvLogger)  # the CSV logger needs nothing


def test_run_logs_through_the_cli_and_a_bad_target_stops_before_training(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from lifelong.cli import main

    log = tmp_path / "runs.csv"
    argv = ["run", "--stream", "synthetic", "--model", "mlp-8x1", "--epochs", "1", "--quiet", "--method",
            "finetune,ewc", "--log", f"csv={log}", "--json", str(tmp_path / "r.json")]
    assert main(argv) == 0
    results = json.loads((tmp_path / "r.json").read_text())
    finals = [line.split(",") for line in log.read_text().splitlines() if ",final," in line and ",acc," in line]
    assert [(f[1], float(f[-1])) for f in finals] == [(r["config"]["method"], r["metrics"]["acc"]) for r in results]
    assert main([*argv[:-4], "--log", f"csv={tmp_path / 'missing' / 'x.csv'}"]) == 2
    assert "--log csv=" in capsys.readouterr().err
