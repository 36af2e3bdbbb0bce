"""Loggers: observers that write a run where people watch it — TensorBoard event files, a CSV file.

``--log tensorboard=DIR`` and ``--log csv=FILE`` (the flag repeats) build them with :func:`parse_log`,
which checks the target before any training. Like every observer they only watch: they read the
values the loop hands them (``float(loss)`` once a step, a row of R per phase) and never touch the
model, the optimizer or a random generator.

Both count optimizer steps across phases (the loop restarts its step index every phase), so a run's
loss is one curve. A resumed run (``run_resumed``) continues the count where its finished phases
left it, read back from what the earlier process logged. Row 0 of R (the untrained model) is not an
event of its own: it is logged from the rows a resume hands over, or from the result at the end (see
:meth:`_RunLog.initial_row`).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from lifelong.errors import OptionError, StoreError
from lifelong.observers import Observer
from lifelong.store import check_writable

VALID = "tensorboard=DIR, csv=FILE"
TENSORBOARD_INSTALL = ('needs the tensorboard package; install it with pip install -e ".[tensorboard]" '
                       "(or pip install tensorboard)")
CSV_COLUMNS = ("run_id", "method", "seed", "event", "phase", "step", "name", "value")


def parse_log(spec: str) -> Observer:
    """The logger a ``--log KIND=TARGET`` value asks for, its target checked now rather than after training.

    Raises:
        OptionError: an unknown kind, a missing ``=`` or target, a target that cannot be written, or
            TensorBoard asked for without the tensorboard package.
    """
    kind, sep, target = spec.partition("=")
    if not sep or not target:
        raise OptionError(f"--log {spec}: expected KIND=TARGET; valid: {VALID}")
    if kind == "tensorboard":
        return TensorBoardLogger(target)
    if kind == "csv":
        return CsvLogger(target)
    raise OptionError(f"--log {spec}: unknown logger {kind!r}; valid: {VALID}")


class _RunLog(Observer):
    """What both loggers share: the run's identity, one step count across phases, the tasks' names.

    The columns of a row of R are the stream's tasks. When the phases are one per task (most methods)
    their names are the tasks' names and rows are written as they come; otherwise (``joint``: one
    phase over all tasks) rows wait for the result, which names the tasks, so every row of a run is
    logged under the same names. Subclasses write; this class decides what and when.
    """

    def run_started(self, config: Any, phase_names: list[str]) -> None:
        self.config = config
        self._phase_names = list(phase_names)
        self._names: list[str] | None = None
        self._steps = 0  # optimizer steps so far in the whole run
        self._phase = 0  # the phase being trained (0-based)
        self._waiting: list[tuple[int, int | None, np.ndarray]] = []  # rows until the tasks' names are known
        self._row0 = False
        self._begin()

    def run_resumed(self, done: int, rows: list[np.ndarray]) -> None:
        before = self._steps_before(done)
        self._steps = before or 0
        self._resumed(done, before is not None)
        self._write_row(0, 0, rows[0])
        if before is None:  # nothing logged by the earlier process: log the rows it left, their steps unknown
            for k in range(1, len(rows)):
                self._write_row(k, None, rows[k])

    def initial_row(self, accuracies: np.ndarray) -> None:
        """Row 0 of R, the untrained model, evaluated before the first phase (not on a resume).

        Not yet an event of :class:`Observer`: until the loop sends it, row 0 is logged from the
        result at the end, after the rows that follow it.
        """
        self._write_row(0, 0, accuracies)

    def phase_started(self, index: int, name: str, steps: int) -> None:
        self._phase = index

    def step(self, index: int, loss: Tensor) -> None:
        self._steps += 1
        self._loss(self._steps, float(loss))

    def phase_finished(self, index: int, accuracies: np.ndarray, seconds: float) -> None:
        self._write_row(index + 1, self._steps, accuracies)
        self._phase_done(index + 1)

    def run_finished(self, result: Any) -> None:
        self._settle(result)
        self._final(len(self._phase_names), {k: float(v) for k, v in result.metrics.items()})
        self._close()

    def run_failed(self, result: Any, message: str) -> None:
        if result is not None:
            self._settle(result)
        self._failed(message)
        self._close()

    def _settle(self, result: Any) -> None:
        """At the end: the tasks' names from the result, the rows that waited for them, and row 0."""
        if self._names is None:
            self._names = _distinct(list(result.matrix.task_names))
        if not self._row0 and len(result.matrix.values):
            self._write_row(0, 0, result.matrix.values[0])
        for row, steps, values in self._waiting:
            self._row(row, steps, dict(zip(self._names, map(float, values), strict=True)))
        self._waiting.clear()

    def _write_row(self, row: int, steps: int | None, accuracies: np.ndarray) -> None:
        self._row0 = self._row0 or row == 0
        if self._names is None and len(self._phase_names) == len(accuracies):
            self._names = _distinct(self._phase_names)
        if self._names is None:
            self._waiting.append((row, steps, np.array(accuracies)))
        else:
            self._row(row, steps, dict(zip(self._names, map(float, accuracies), strict=True)))

    # -- what a subclass writes ------------------------------------------------------------------------
    def _begin(self) -> None:
        """At the start of a run."""

    def _resumed(self, done: int, traced: bool) -> None:
        """The run continues after ``done`` phases, ``traced`` if the earlier process logged them."""

    def _steps_before(self, done: int) -> int | None:
        """The optimizer steps of the first ``done`` phases, as the earlier process logged them; None if it didn't."""
        return None

    def _loss(self, step: int, value: float) -> None: ...

    def _row(self, row: int, steps: int | None, accuracies: dict[str, float]) -> None: ...

    def _phase_done(self, phases: int) -> None:
        """After the row of phase ``phases`` (1-based) was handed over."""

    def _final(self, phases: int, metrics: dict[str, float]) -> None: ...

    def _failed(self, message: str) -> None: ...

    def _close(self) -> None: ...


class TensorBoardLogger(_RunLog):
    """TensorBoard event files, one sub-folder per run: ``DIR/<method>-seed<seed>-<run id>``.

    A sweep's runs then sit side by side in TensorBoard's run list, each named by what differs. Written:
    ``loss`` at every optimizer step (counted across phases), ``accuracy/<task>`` — the row of R after
    phase k at step k, row 0 at step 0 (written last until the loop reports it first, see
    :meth:`_RunLog.initial_row`) —, ``metrics/<name>`` (ACC, BWT, FWT, forgetting, learning
    accuracy; undefined ones, NaN, are left out) at step T, the resolved config as JSON text, and a
    failure's one-line cause as text.

    The same configuration run again lands in the same folder (the run id is the config's hash): a
    fresh start tells TensorBoard to drop what the folder held (``purge_step=0``), and a resume to drop
    the steps of the unfinished phase, which are redone. ``steps.json`` beside the event files records
    the step count after each phase for that.

    Args:
        folder: the log directory (``tensorboard --logdir DIR``); created if missing, its parent must exist.

    Raises:
        OptionError: the tensorboard package is missing, or the folder cannot be made or written.
    """

    def __init__(self, folder: str | Path) -> None:
        where = f"--log tensorboard={folder}"
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise OptionError(f"{where}: {TENSORBOARD_INSTALL}") from None
        self._writer_class = SummaryWriter
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise OptionError(f"{where}: {self.folder} is not a folder")
        if not self.folder.parent.is_dir():
            raise OptionError(f"{where}: folder {self.folder.parent} does not exist")
        try:
            self.folder.mkdir(exist_ok=True)
        except OSError as err:
            raise OptionError(f"{where}: cannot create {self.folder}: {err.strerror}") from None
        if not os.access(self.folder, os.W_OK | os.X_OK) or not self.folder.stat().st_mode & 0o222:
            raise OptionError(f"{where}: folder {self.folder} is read-only")
        self._writer: Any = None

    @property
    def run_folder(self) -> Path:
        """The current run's sub-folder (set from ``run_started``)."""
        name = f"{self.config.method}-seed{self.config.seed}-{self.config.run_id}"
        return self.folder / re.sub(r"[^\w.+-]", "_", name)

    def _begin(self) -> None:
        self._ends: list[int] = []  # optimizer steps after each finished phase
        self._purge = 0  # a fresh start replaces whatever an earlier run of this config left in its folder
        self._config_text = True

    def _resumed(self, done: int, traced: bool) -> None:
        if traced:  # keep what the earlier process logged, but for the steps of the phase it did not finish
            self._purge = self._steps + 1
            self._config_text = False  # its event file has the config

    @property
    def _out(self) -> Any:
        """The run's writer, opened at the first write: after ``run_resumed``, which decides what it purges."""
        if self._writer is None:
            # A long queue: with the default 10, every 10th step waits for the writer thread (~50 µs a step here).
            self._writer = self._writer_class(str(self.run_folder), purge_step=self._purge, max_queue=1000)
            if self._config_text:
                config = json.dumps({**self.config.to_dict(), "run_id": self.config.run_id}, indent=2, default=str)
                self._writer.add_text("config", f"```json\n{config}\n```", 0)
        return self._writer

    def _steps_before(self, done: int) -> int | None:
        try:
            ends = json.loads((self.run_folder / "steps.json").read_text())["after_phase"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if len(ends) < done:
            return None
        self._ends = [int(e) for e in ends[:done]]
        return self._ends[-1] if self._ends else 0

    def _loss(self, step: int, value: float) -> None:
        self._out.add_scalar("loss", value, step)

    def _row(self, row: int, steps: int | None, accuracies: dict[str, float]) -> None:
        for name, value in accuracies.items():
            self._out.add_scalar(f"accuracy/{name}", value, row)

    def _phase_done(self, phases: int) -> None:
        # phases before a resume that found no trace of them count no steps, as the count started after them
        self._ends = [*(self._ends + [0] * phases)[:phases - 1], self._steps]
        self._out.flush()
        _write_atomically(self.run_folder / "steps.json", json.dumps({"after_phase": self._ends}) + "\n")

    def _final(self, phases: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            if math.isfinite(value):
                self._out.add_scalar(f"metrics/{name}", value, phases)

    def _failed(self, message: str) -> None:
        self._out.add_text("failed", message, self._steps)

    def _close(self) -> None:
        self._out.close()
        self._writer = None


class CsvLogger(_RunLog):
    """One CSV file in long format, appended by every run that logs to it (a sweep's runs, several processes).

    Columns: ``run_id, method, seed, event, phase, step, name, value``; ``pandas.read_csv`` reads it
    as it is. Events:

    - ``step``: after each optimizer step; ``phase`` 1-based, ``step`` counted across phases, ``name`` ``loss``.
    - ``row``: a row of R, one line per task; ``phase`` is the row (0 = untrained), ``step`` the steps so far.
    - ``final``: one line per metric (NaN where undefined), ``phase`` the number of phases.
    - ``failed``: the run stopped; ``name`` holds its one-line cause, ``value`` is empty.
    - ``resumed``: the run continued from a checkpoint after ``phase`` phases, at ``step``.

    The header is written once, when the file is new or empty. Lines are buffered and appended per
    phase and when the run ends or fails, under a file lock, so runs writing at once never interleave
    their lines or write two headers, and a killed process loses only the phase it was in. A resumed
    run's lines follow its earlier ones; where a phase was cut (Ctrl-C, then resumed) and redone, its
    steps appear twice and the later lines count.

    Args:
        path: the file; its folder must exist and be writable.

    Raises:
        OptionError: the file or its folder cannot be written.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            check_writable(self.path, "CSV log")
        except StoreError as err:
            message = str(err).removeprefix(f"{self.path}: ")
            raise OptionError(f"--log csv={path}: {message}") from None
        self._lines: list[tuple[Any, ...]] = []

    def _resumed(self, done: int, traced: bool) -> None:
        self._add("resumed", done, self._steps if traced else None, "", "")

    def _steps_before(self, done: int) -> int | None:
        """The steps logged with row ``done`` of this run in the file, if an earlier process logged it."""
        before: int | None = None
        try:
            with self.path.open(newline="") as f:
                for line in csv.DictReader(f):
                    if line["run_id"] == self.config.run_id and line["event"] == "row" and line["phase"] == str(done):
                        before = int(line["step"])
        except (OSError, ValueError, KeyError, csv.Error):
            return None
        return before

    def _add(self, event: str, phase: int, step: int | None, name: str, value: float | str) -> None:
        self._lines.append((self.config.run_id, self.config.method, self.config.seed, event, phase,
                            "" if step is None else step, name,
                            repr(value) if isinstance(value, float) else value))

    def _loss(self, step: int, value: float) -> None:
        self._add("step", self._phase + 1, step, "loss", value)

    def _row(self, row: int, steps: int | None, accuracies: dict[str, float]) -> None:
        for name, value in accuracies.items():
            self._add("row", row, steps, name, value)

    def _phase_done(self, phases: int) -> None:
        self._flush()

    def _final(self, phases: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self._add("final", phases, self._steps, name, value)

    def _failed(self, message: str) -> None:
        self._add("failed", self._phase + 1, self._steps, message, "")

    def _close(self) -> None:
        self._flush()

    def _flush(self) -> None:
        """Append the buffered lines in one write, with the header if the file is empty, under an exclusive lock."""
        if not self._lines:
            return
        text = io.StringIO()
        writer = csv.writer(text)
        with self.path.open("a", newline="") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            if f.seek(0, os.SEEK_END) == 0:
                writer.writerow(CSV_COLUMNS)
            writer.writerows(self._lines)
            f.write(text.getvalue())
        self._lines.clear()


def _distinct(names: Sequence[str]) -> list[str]:
    """Task names as tags: prefixed by their position when two tasks share a name."""
    return list(names) if len(set(names)) == len(names) else [f"{j + 1} {n}" for j, n in enumerate(names)]


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary name and rename, so a kill leaves the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
