"""The device path, tested on the CPU: no hidden allocation on another device, the faster input pipeline
changes no number, and a device that is not there is one line.

Hidden allocations are caught with PyTorch's default device set to ``meta`` while the run trains: a tensor
created without naming its device (``torch.zeros(n)``) then lands on ``meta`` and either fails when it meets
the run's CPU tensors or stays in the method's state, where the test finds it. On a GPU the same tensor would
silently be a CPU tensor in a CUDA run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

import lifelong
from lifelong._registry import METHODS
from lifelong.cli import main
from lifelong.config import RunConfig, TrainConfig, identity
from lifelong.errors import OptionError
from lifelong.models.learner import Learner
from lifelong.resume import RunCheckpoints
from lifelong.streams.scenario import Scenario
from lifelong.train import state_tensors, train
from test_resume import Interrupt

MODEL = "mlp-16x1"
TRAIN = TrainConfig(epochs=1, batch_size=16, optimizer="sgd", lr=0.05, momentum=0.5, reset_optimizer=False,
                    device="cpu")
CASES = [(name, s) for name in METHODS.names() for s in sorted(METHODS.get(name).factory.scenarios,
                                                                 key=lambda s: s.value)]


def _run(name: str, scenario: Scenario, checkpoints: RunCheckpoints | None = None,
         observer: Interrupt | None = None) -> tuple[lifelong.Result, lifelong.Method, Learner]:
    """A short run built on the CPU, trained with every unnamed allocation going to ``meta``."""
    stream = lifelong.streams.synthetic(tasks=3, classes_per_task=2, features=8, examples=48, test_examples=32,
                                        scenario=scenario.value)
    method = lifelong.build_method(name)
    learner = Learner.build(MODEL, stream, 0)
    config = RunConfig(stream.name, stream.params, MODEL, name, method.hyperparameters(), TRAIN, 0)
    torch.set_default_device("meta")
    try:
        result = train(stream, method, learner, config, [observer or Interrupt()], checkpoints)
    finally:
        torch.set_default_device(None)
    return result, method, learner


def _off_device(method: lifelong.Method, learner: Learner) -> list[str]:
    held = [*learner.named_parameters(), *learner.named_buffers(), *state_tensors(method)]
    return [name for name, t in held if t.device.type != "cpu"]


@pytest.mark.parametrize(("name", "scenario"), CASES, ids=[f"{n}-{s.value}" for n, s in CASES])
def test_every_method_allocates_on_the_run_device_and_resumes_there(name: str, scenario: Scenario,
                                                                     tmp_path: Path) -> None:
    straight, method, learner = _run(name, scenario)
    assert _off_device(method, learner) == []
    phases = len(straight.matrix.rows_after) - 1
    checkpoints = RunCheckpoints(tmp_path, "run", keep=True)
    if phases > 1:  # the restore path too: a checkpoint read back and continued by fresh objects
        with pytest.raises(KeyboardInterrupt):
            _run(name, scenario, checkpoints, Interrupt(1))
    resumed, method, learner = _run(name, scenario, checkpoints)
    assert _off_device(method, learner) == []
    assert np.array_equal(resumed.matrix.values, straight.matrix.values)


@pytest.mark.parametrize("stream_name, params", [
    ("permuted-mnist", {"tasks": 2, "examples": 300}),
    ("rotated-mnist", {"angles": "0,45", "examples": 300}),
    ("split-mnist", {"examples": 300, "normalize": True, "pad": 2}),
    ("noisy-mnist", {"examples": 300}),
])
def test_inputs_prepared_once_give_the_matrix_of_inputs_prepared_per_batch(stream_name: str,
                                                                           params: dict[str, object]) -> None:
    """The training inputs prepared once per phase and the test sets kept from row to row (the default) must
    give the matrix that preparing every batch and every test set again gives (``input_cache_mb = 0``),
    bit for bit: joint pools two tasks, ER replays stored prepared inputs, EWC reads its task's data."""
    for method in ("finetune", "joint", "er", "ewc"):
        runs = [lifelong.run(stream_name, method, "mlp-32", stream_params=params, epochs=1, batch_size=32,
                             input_cache_mb=budget) for budget in (1024, 0)]
        assert np.array_equal(runs[0].matrix.values, runs[1].matrix.values), f"{stream_name}, {method}"
        assert runs[0].config["run_id"] == runs[1].config["run_id"]


def test_a_phase_that_does_not_fit_the_budget_prepares_each_batch() -> None:
    from lifelong.device import prepared

    stream = lifelong.streams.permuted_mnist(tasks=2, examples=1000)
    kept = prepared(stream.tasks, budget_mb=4)  # one task's 1000 x 784 floats: 3.0 MiB; two do not fit
    assert kept[0].prepare is None and kept[0].train.x.dtype == torch.float32
    assert kept[1] is stream.tasks[1]
    assert torch.equal(kept[0].train.x[:10], stream[0].inputs(stream[0].train.x[:10]))


def test_run_id_is_unchanged_on_the_cpu_and_names_cuda_by_kind() -> None:
    """Runs stored before devices existed keep their id; a CUDA run differs from a CPU run, not by GPU index."""
    base = RunConfig("permuted-mnist", train=TrainConfig(device="cpu"))
    assert base.run_id == "418be3e0c9d2911a"  # the id this configuration had before the device field
    assert RunConfig("permuted-mnist", train=TrainConfig(device="cpu", input_cache_mb=0)).run_id == base.run_id
    assert RunConfig("permuted-mnist", train=TrainConfig(device="cpu", precision="bf16")).run_id != base.run_id
    settings = dataclasses.asdict(base.train)
    on = {device: identity({**settings, "device": device}) for device in ("cpu", "cuda", "cuda:1")}
    assert on["cuda"] == on["cuda:1"] != on["cpu"] and "device" not in on["cpu"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_one_line(device: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(OptionError, match=f"--train.device: {device} asked for, but this machine has no usable CUDA"):
        TrainConfig(device=device)
    code = main(["run", "--stream", "synthetic", "--device", device, "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "no usable CUDA device" in err and "Traceback" not in err


def test_unknown_device_and_precision_are_refused() -> None:
    with pytest.raises(OptionError, match="--train.device: 'gpu' is not one of auto, cpu, cuda, cuda:N"):
        TrainConfig(device="gpu")
    with pytest.raises(OptionError, match="--train.precision: 'fp16' is not one of fp32, bf16"):
        TrainConfig(precision="fp16")  # type: ignore[arg-type]


def test_auto_resolves_where_the_config_is_made_and_is_recorded() -> None:
    result = lifelong.run("synthetic", "finetune", "mlp-16x1", epochs=1)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert result.config["train"]["device"] == expected and result.environment["device"] == expected


def test_bf16_trains_close_to_fp32() -> None:
    """bfloat16 autocast runs the forward passes at 8 bits of mantissa: the matrix moves, by little."""
    runs = {p: lifelong.run("permuted-mnist", "finetune", "mlp-32", stream_params={"tasks": 2, "examples": 500},
                            epochs=1, precision=p, device="cpu") for p in ("fp32", "bf16")}
    assert runs["bf16"].config["train"]["precision"] == "bf16"
    assert not np.array_equal(runs["fp32"].matrix.values, runs["bf16"].matrix.values)
    assert np.abs(runs["fp32"].matrix.values - runs["bf16"].matrix.values).max() <= 0.02


def test_the_gpu_check_script_runs_its_checks_on_the_cpu(tmp_path: Path) -> None:
    """benchmarks/device_check.py is run by hand on a GPU when one is lent; its CPU mode keeps it from rotting:
    every family agrees with itself exactly and Table C's cost lines come out."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "device_check.py"
    out = tmp_path / "check.txt"
    done = subprocess.run([sys.executable, str(script), "--device", "cpu", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = out.read_text().splitlines()
    agreement = [line for line in lines if line.startswith("agreement")]
    assert len(agreement) == 6 and all("= 0.0000" in line for line in agreement)
    assert [line.split()[2] for line in lines if line.startswith("table C")] == ["finetune", "agem", "gem"]
