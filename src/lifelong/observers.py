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

    def phase_started(self, index: int, name: str, steps: int) -> None:
        """Before the first step of a phase; ``steps`` is how many will follow."""

    def step(self, index: int, loss: Tensor) -> None:
        """After each optimizer step (``loss`` is detached-safe to read; reading it syncs)."""

    def phase_finished(self, index: int, accuracies: np.ndarray, seconds: float) -> None:
        """After the row of R that follows the phase was evaluated."""

    def run_finished(self, result: Any) -> None:
        """After the result is assembled."""


class Progress(Observer):
    """A one-line progress display on a stream (stderr by default), redrawn a few times a second."""

    def __init__(self, label: str = "", out: TextIO | None = None, interval: float = 0.25) -> None:
        self.label = label
        self.out = out or sys.stderr
        self.interval = interval
        self._phases: list[str] = []
        self._steps = 0
        self._name = ""
        self._index = 0
        self._last = 0.0
        self._tty = bool(getattr(self.out, "isatty", lambda: False)())

    def run_started(self, config: Any, phase_names: list[str]) -> None:
        self._phases = phase_names

    def phase_started(self, index: int, name: str, steps: int) -> None:
        self._index, self._name, self._steps = index, name, steps
        self._started = time.perf_counter()

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
                f"[{bar:<20}] {index + 1}/{self._steps} loss {float(loss):.3f} {now - self._started:.0f}s")
        self.out.write(("\r" + line) if self._tty else line + "\n")
        self.out.flush()

    def phase_finished(self, index: int, accuracies: np.ndarray, seconds: float) -> None:
        if self._tty:
            self.out.write("\n")
            self.out.flush()
