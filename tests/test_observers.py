"""The progress display: its ETA from the phase's own rate and the finished phases' mean time."""

from __future__ import annotations

import io

import pytest
import torch

from lifelong import observers
from lifelong.observers import Progress


def test_eta_counts_this_phase_at_its_rate_and_later_phases_at_the_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 0.0, 10.0])  # created, run start, phase 2 after a 10 s phase 1 (training + evaluation)
    monkeypatch.setattr(observers.time, "perf_counter", lambda: next(clock))
    out = io.StringIO()
    progress = Progress("ewc", out=out)
    progress.run_started(None, ["a", "b", "c"])
    progress.phase_started(1, "b", 100)
    assert progress.eta(50, now=15.0) == pytest.approx(5.0 + 10.0)  # 5 s left here, one 10 s phase to come
    monkeypatch.setattr(observers.time, "perf_counter", lambda: 20.0)
    progress.step(99, torch.tensor(0.25))  # the last step of a phase is always shown
    assert out.getvalue() == "ewc phase 2/3 (b) [####################] 100/100 loss 0.250 10s, ETA 0:10\n"


def test_first_phase_estimates_the_rest_from_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observers.time, "perf_counter", lambda: 0.0)
    progress = Progress(out=io.StringIO())
    progress.run_started(None, ["a", "b"])
    progress.phase_started(0, "a", 10)
    assert progress.eta(2, now=4.0) == pytest.approx(16.0 + 20.0)  # 2 s a step: 16 s left, then one 20 s phase
    assert observers._clock(3725) == "1:02:05" and observers._clock(75) == "1:15"
