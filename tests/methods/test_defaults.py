"""Every method's defaults learn under the training defaults, on a small slice of real MNIST.

The contract a new user relies on: `lifelong run --method X` with nothing else trains. Each
registered method runs with its own defaults and `TrainConfig()`'s (Adam 1e-3, batch 128, 4 epochs)
on split MNIST (2000 training digits a task, the whole test split) in the first scenario it declares
of task, then class; every loss must be finite and every task learned above chance (by 10 points)
right after it was trained (R[i, i]; chance is 1/2 in task-IL, 1/(classes seen) in class-IL). And
the CLI resolves exactly the configuration `ll.run` does.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import lifelong
from lifelong._registry import METHODS
from lifelong.cli import main
from lifelong.config import TrainConfig
from lifelong.observers import Observer
from lifelong.streams.scenario import Scenario

EXAMPLES = 2000  # expert-gate's autoencoders (2 epochs) route well from about this many a task


class Losses(Observer):
    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, index: int, loss: torch.Tensor) -> None:
        self.values.append(float(loss))


def _scenario(name: str) -> Scenario:
    declared = METHODS.get(name).factory.scenarios
    return Scenario.TASK if Scenario.TASK in declared else Scenario.CLASS


@pytest.fixture(scope="module")
def slices() -> dict[Scenario, lifelong.streams.Stream]:
    return {s: lifelong.streams.split_mnist(scenario=s.value, examples=EXAMPLES, seed=0)
            for s in (Scenario.TASK, Scenario.CLASS)}


@pytest.mark.parametrize("name", METHODS.names())
def test_defaults_train_every_task_above_chance(name: str, slices: dict[Scenario, lifelong.streams.Stream]) -> None:
    stream = slices[_scenario(name)]
    losses = Losses()
    result = lifelong.run(stream, name, observers=[losses])
    assert result.config["train"] == vars(TrainConfig())  # nothing but the defaults
    assert losses.values and all(math.isfinite(v) for v in losses.values), f"{name}: non-finite loss"
    values = result.matrix.values
    rows = dict(zip(result.matrix.rows_after, values, strict=True))
    for task in range(1, len(stream) + 1):
        after = task if task in rows else len(stream)  # joint has one row, after all tasks
        open_classes = 2 if stream.scenario is Scenario.TASK else 2 * after  # a class-IL head grows by two a task
        chance = 1 / open_classes
        accuracy = rows[after][task - 1]
        assert accuracy > chance + 0.1, f"{name}: task {task} at {accuracy:.3f} right after training (chance {chance})"


def test_the_cli_resolves_the_configuration_ll_run_does(fake_mnist: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["run", "--stream", "split-mnist", "--method", "ewc", "--stream.examples", "50", "--epochs", "1",
                 "--json", str(out), "--quiet"]) == 0
    from_cli = json.loads(out.read_text())["config"]
    from_api = lifelong.run("split-mnist", "ewc", stream_params={"examples": 50}, epochs=1).config
    assert json.loads(json.dumps(from_api, default=str)) == from_cli
    assert from_cli["method_params"] == {"lam": 100.0, "half": True, "fisher": "true", "samples": 1000}


def test_a_stream_keeps_its_suited_defaults_in_both(fake_mnist: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["run", "--stream", "noisy-mnist", "--stream.examples", "50", "--epochs", "1", "--json", str(out),
                 "--quiet"]) == 0
    from_cli = json.loads(out.read_text())["config"]
    from_api = lifelong.run("noisy-mnist", stream_params={"examples": 50}, epochs=1).config
    assert from_cli["model"] == from_api["model"] == "mlp-50x3"
    assert from_cli["train"]["lr"] == from_api["train"]["lr"] == 0.003 and from_cli["train"]["epochs"] == 1
