"""Observers watch a run (progress, logging, storage); they get plain values and never change learning."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import numpy as np
from torch import Tensor


class Observer:
    """Do-nothing base: override the events you care about."""

    def run_started(self, config: Any, phase_names: list[str]) -> None:
        """Before row 0 is evaluated."""

    def initial_row(self, accuracies: np.ndarray) -> None:
        """Row 0 of R (the untrained network on every task), before the first phase starts."""

    def run_resumed(self, done: int, rows: list[np.ndarray]) -> None:
        """After ``run_started``, when the run continues from a checkpoint: ``done`` phases finished
        before, ``rows`` the rows of R they left (row 0 first)."""

    def phase_started(self, index: int, name: str, steps: int) -> None:
        """Before the first step of a phase; ``steps`` is how many will follow."""

    def step(self, index: int, loss: Tensor) -> None:
        """After each optimizer step (``loss`` is detached-safe to read; reading it syncs)."""

    def phase_finished(self, index: int, accuracies: np.ndarray, seconds: float) -> None:
        """After the row of R that follows the phase was evaluated."""

    def run_finished(self, result: Any) -> None:
        """After the result is assembled."""

    def run_failed(self, result: Any, message: str) -> None:
        """The run stopped early: ``message`` is its one-line cause; ``result`` holds the rows of R it
        finished (a divergence), or is None."""


class Progress(Observer):
    """A one-line progress display on a stream (stderr by default), redrawn a few times a second.

    Shows the phase, its steps, the loss and an ETA for the whole run: the phase's own rate for what
    is left of it, and the mean time of the finished phases (training and evaluation) for those still
    to come. On a file instead of a terminal it writes one line per phase.
    """

    def __init__(self, label: str = "", out: TextIO | None = None, interval: float = 0.25) -> None:
        self.label = label
        self.out = out or sys.stderr
        self.interval = interval
        self._phases: list[str] = []
        self._steps = 0
        self._name = ""
        self._index = 0
        self._skipped = 0  # phases finished before a resume: not timed by this process
        self._last = 0.0
        self._started = self._run_started = time.perf_counter()
        self._tty = bool(getattr(self.out, "isatty", lambda: False)())

    def run_started(self, config: Any, phase_names: list[str]) -> None:
        self._phases = phase_names
        self._run_started = time.perf_counter()

    def run_resumed(self, done: int, rows: list[np.ndarray]) -> None:
        self._skipped = done
        self.out.write(f"{self.label} resumed from its checkpoint after task {done} of {len(self._phases)}\n")
        self.out.flush()

    def phase_started(self, index: int, name: str, steps: int) -> None:
        self._index, self._name, self._steps = index, name, steps
        self._started = time.perf_counter()

    def eta(self, done_steps: int, now: float) -> float:
        """Seconds left in the run: this phase at its rate so far, later phases at the finished ones' mean."""
        elapsed = now - self._started
        left_here = elapsed / done_steps * (self._steps - done_steps) if done_steps else 0.0
        finished = self._index - self._skipped
        per_phase = (self._started - self._run_started) / finished if finished else elapsed + left_here
        return left_here + per_phase * (len(self._phases) - self._index - 1)

    def step(self, index: int, loss: Tensor) -> None:
        now = time.perf_counter()
        if now - self._last < self.interval and index + 1 < self._steps:
            return
        self._last = now
        if not self._tty and index + 1 < self._steps:
            return
        done = (index + 1) / max(self._steps, 1)
        bar = "#" * int(done * 20)
        line = (f"{self.label} phase {self._index + 1}/{len(self._phases)} ({self._name}) "
                f"[{bar:<20}] {index + 1}/{self._steps} loss {float(loss):.3f} {now - self._started:.0f}s"
                f", ETA {_clock(self.eta(index + 1, now))}")
        self.out.write(("\r" + line + "\x1b[K") if self._tty else line + "\n")
        self.out.flush()

    def phase_finished(self, index: int, accuracies: np.ndarray, seconds: float) -> None:
        if self._tty:
            self.out.write("\n")
            self.out.flush()


def _clock(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
