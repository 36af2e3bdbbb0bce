"""The method contract, for every registered method in every scenario it declares.

Each method trains two tasks of a tiny seeded synthetic stream with finite losses; the same seed gives
an identical matrix; its state round-trips through a checkpoint to identical predictions; an
undeclared scenario is refused with a message naming the method and the scenario.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lifelong
from lifelong import checkpoint
from lifelong._registry import METHODS
from lifelong.config import RunConfig, TrainConfig
from lifelong.methods.base import Method, ScenarioError
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.streams.scenario import Scenario
from lifelong.train import evaluate, train

MODEL = "mlp-16x1"
TRAIN = TrainConfig(epochs=2, batch_size=16, optimizer="sgd", lr=0.05)


def _stream(scenario: Scenario) -> lifelong.streams.Stream:
    return lifelong.streams.synthetic(tasks=2, classes_per_task=2, features=8, examples=48, test_examples=32,
                                      scenario=scenario.value)


CASES = [(name, s) for name in METHODS.names() for s in sorted(METHODS.get(name).factory.scenarios,
                                                                 key=lambda s: s.value)]
REFUSED = [(name, s) for name in METHODS.names() for s in Scenario if s not in METHODS.get(name).factory.scenarios]


class LossRecorder(Observer):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def step(self, index: int, loss: torch.Tensor) -> None:
        self.losses.append(float(loss))


def _train(name: str, scenario: Scenario, seed: int = 0) -> tuple[Learner, Method, lifelong.Result, list[float]]:
    stream = _stream(scenario)
    method = lifelong.build_method(name)
    learner = Learner.build(MODEL, stream, seed)
    recorder = LossRecorder()
    config = RunConfig(stream.name, stream.params, MODEL, name, method.hyperparameters(), TRAIN, seed)
    result = train(stream, method, learner, config, [recorder])
    return learner, method, result, recorder.losses


@pytest.mark.parametrize(("name", "scenario"), CASES, ids=[f"{n}-{s.value}" for n, s in CASES])
def test_trains_deterministically_and_round_trips(name: str, scenario: Scenario, tmp_path: Path) -> None:
    learner, method, result, losses = _train(name, scenario)
    assert losses and all(math.isfinite(v) for v in losses), f"{name}: non-finite loss"
    assert result.matrix.values.shape[1] == 2
    assert np.all((result.matrix.values >= 0) & (result.matrix.values <= 1))

    _, _, again, _ = _train(name, scenario)
    assert np.array_equal(result.matrix.values, again.matrix.values), f"{name}: same seed, different matrix"

    path = tmp_path / "ckpt.pt"
    checkpoint.save(path, checkpoint.snapshot(learner, method, MODEL, seed=0))
    stream = _stream(scenario)
    restored_learner, restored_method = checkpoint.restore(checkpoint.load(path), stream)
    before = evaluate(learner, method, stream, 1000)
    after = evaluate(restored_learner, restored_method, stream, 1000)
    assert np.array_equal(before, after), f"{name}: restored state predicts differently"


@pytest.mark.parametrize(("name", "scenario"), REFUSED, ids=[f"{n}-{s.value}" for n, s in REFUSED])
def test_undeclared_scenario_is_refused(name: str, scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match=f"method '{name}' does not support the {scenario.value}-incremental"):
        lifelong.run(_stream(scenario), name, MODEL, epochs=1)


SOURCE = re.compile(r"arXiv \d{4}\.\d{4,5}\b|OpenReview \w+ \((?:ICLR|NeurIPS|ICML) \d{4}\)")
CLASSIC = re.compile(r"\b[A-Z][a-z]+(?: (?:&|and) [A-Z][a-z]+| et al\.)? (?:19|20)\d\d\b")  # "Caruana 1997"
NUMBERED = re.compile(r"\b(?:eqs?\.|Alg\.|Algorithm|Sec\.)\s*\(?\d", re.IGNORECASE)  # "eq. 3", "Alg. 1"
FORMULA = re.compile(r"\S\s*(?:=|←)\s*\S.*[θλΣ∑ΩFgℓ]")  # a written update or loss: "F ← α F_new + …"


def _documentation(cls: type) -> str:
    """The class docstring plus those of the module functions and classes it points to with :func: or
    :class: (a method may write its equation where the code computing it lives, e.g. ``net2wider``)."""
    module = sys.modules[cls.__module__]
    parts = [cls.__doc__ or ""]
    for target in re.findall(r":(?:func|class):`~?(?:\w+\.)*(\w+)`", parts[0]):
        parts.append(getattr(getattr(module, target, None), "__doc__", None) or "")
    return "\n".join(parts)


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_cites_its_source_and_names_its_equation(name: str) -> None:
    """``paper`` is an arXiv id (``arXiv 1612.00796``) or an OpenReview id with venue and year; a
    baseline may cite a classic instead (``Caruana 1997``). Every method that is not a baseline also
    points at what it implements, in ``paper`` and in its docstring (an eq./Alg./Sec. number, or the
    formula written out), so a reader can check the code against the paper line by line."""
    cls = METHODS.get(name).factory
    assert cls.family and cls.name == name
    if cls.family == "baseline":
        assert SOURCE.search(cls.paper) or CLASSIC.search(cls.paper), f"{name}: paper = {cls.paper!r} cites no source"
        return
    assert SOURCE.search(cls.paper), f"{name}: paper = {cls.paper!r} has no arXiv or OpenReview id"
    assert NUMBERED.search(cls.paper) or FORMULA.search(cls.paper), f"{name}: paper = {cls.paper!r} names no equation"
    doc = _documentation(cls)
    assert NUMBERED.search(doc) or FORMULA.search(doc), f"{name}: the docstring names no equation"


def test_checkpoint_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(checkpoint.CheckpointError, match="bad.pt: not a readable checkpoint"):
        checkpoint.load(bad)
    with pytest.raises(checkpoint.CheckpointError, match="missing.pt: checkpoint does not exist"):
        checkpoint.load(tmp_path / "missing.pt")
