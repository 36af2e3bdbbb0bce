"""The device path on a GPU, in one script that finishes in a few minutes: run it once whenever a GPU is at hand
and keep its output in benchmarks/results/ (the tests stay CPU-only: CI has no GPU).

1. Contract: every method, in every scenario it declares, trains a short run on the device, every tensor of the
   network and of the method's state ends there, and a run interrupted after task 1 and resumed from its
   checkpoint by fresh objects ends with the uninterrupted run's matrix.
2. Agreement: one short run per family on the CPU and on the device from the same seed (same batches: the
   data order is drawn on the CPU); the largest difference of R's entries is printed (kernels round
   differently, so it need not be 0; a bug shows as a difference of whole percents).
3. Cost: Table C's protocol (configs/table-c-memory.toml: permuted MNIST, 17 tasks, one pass at batch 10, SGD,
   MLP 784-256-256-10, 250 samples a task) for finetune, A-GEM and GEM, training time as ratios to finetune's
   (targets A-GEM <= 2, GEM <= 4; published, A-GEM paper Fig. 1: A-GEM 2.8, GEM 20). Tasks are cut to
   ``--examples`` (default 5000 of 55,000, so the check stays short; every method's steps shrink alike).

    python benchmarks/device_check.py                      # on the GPU: --device cuda
    python benchmarks/device_check.py --out benchmarks/results/device_check.txt
    python benchmarks/device_check.py --device cpu --quick # seconds: checks the script itself (a test runs it)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _harness import CONFIGS, machine_line

import lifelong
from lifelong._registry import METHODS
from lifelong.config import RunConfig, TrainConfig, resolve_device
from lifelong.device import describe_device
from lifelong.errors import OptionError
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.presets import load_preset
from lifelong.resume import RunCheckpoints
from lifelong.train import state_tensors, train

FAMILIES = {"baseline": "finetune", "regularization": "ewc", "replay": "er", "gem": "agem",
            "distillation": "lwf", "expansion": "progressive"}


class StopAt(Observer):
    """Interrupts a run (as Ctrl-C would) when phase ``at`` starts."""

    def __init__(self, at: int) -> None:
        self.at = at

    def phase_started(self, index: int, name: str, steps: int) -> None:
        if index == self.at:
            raise KeyboardInterrupt


def contract(device: str) -> list[str]:
    """Every method x declared scenario on ``device``: tensors stay there; resuming is bit-identical."""
    failures = []
    tc = TrainConfig(epochs=1, batch_size=16, optimizer="sgd", lr=0.05, momentum=0.5, reset_optimizer=False,
                     device=device)
    for name in METHODS.names():
        for scenario in sorted(METHODS.get(name).factory.scenarios, key=lambda s: s.value):
            def run(checkpoints: RunCheckpoints | None = None, observer: Observer | None = None,
                    method_name: str = name, kind: str = scenario.value) -> tuple[Any, Any, Learner]:
                stream = lifelong.streams.synthetic(tasks=3, classes_per_task=2, features=8, examples=48,
                                                    test_examples=32, scenario=kind)
                method = lifelong.build_method(method_name)
                learner = Learner.build("mlp-16x1", stream, 0)
                config = RunConfig(stream.name, stream.params, "mlp-16x1", method_name, method.hyperparameters(), tc)
                return train(stream, method, learner, config, [observer] if observer else [], checkpoints), method, \
                    learner

            label = f"{name}/{scenario.value}"
            try:
                straight, method, learner = run()
                held = [*learner.named_parameters(), *learner.named_buffers(), *state_tensors(method)]
                elsewhere = [n for n, t in held if t.device.type != torch.device(device).type]
                if elsewhere:
                    failures.append(f"{label}: not on {device}: {', '.join(elsewhere[:4])}")
                with tempfile.TemporaryDirectory() as folder:
                    checkpoints = RunCheckpoints(Path(folder), "run", keep=True)
                    if len(straight.matrix.rows_after) > 2:
                        with contextlib.suppress(KeyboardInterrupt):
                            run(checkpoints, StopAt(1))
                    resumed = run(checkpoints)[0]
                if not np.array_equal(resumed.matrix.values, straight.matrix.values):
                    failures.append(f"{label}: the resumed matrix differs")
            except Exception as err:  # a check script reports every failure, not the first
                failures.append(f"{label}: {type(err).__name__}: {str(err).splitlines()[0][:160]}")
    return failures


def agreement(device: str, examples: int) -> Iterator[tuple[str, float, float]]:
    """(method, largest |R_cpu − R_device|, seconds on the device) for one method per family."""
    for method in FAMILIES.values():
        params = {"tasks": 2, "examples": examples}
        runs = {d: lifelong.run("permuted-mnist", method, "mlp-100x2", stream_params=params, epochs=1,
                                device=d, seed=0) for d in ("cpu", device)}
        gap = float(np.abs(runs["cpu"].matrix.values - runs[device].matrix.values).max())
        yield method, gap, runs[device].total_seconds


def table_c_costs(device: str, examples: int, tasks: int) -> dict[str, dict[str, float]]:
    """Training seconds (evaluation excluded) and ACC of finetune, A-GEM and GEM on Table C's protocol."""
    preset = load_preset(CONFIGS / "table-c-memory.toml")
    rates = {"finetune": 0.03, "agem": 0.1, "gem": 0.1}
    out = {}
    for method, lr in rates.items():
        result = preset.run(method, 0, stream_overrides={"examples": examples, "tasks": tasks},
                            train_overrides={"lr": lr, "device": device})
        out[method] = {"train": sum(result.seconds), "acc": 100 * result.metrics["acc"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--examples", type=int, default=5000, help="examples per task for the cost check")
    parser.add_argument("--quick", action="store_true", help="a few seconds: the script's own check")
    parser.add_argument("--out", help="also write the output to this file")
    args = parser.parse_args()
    try:
        resolve_device(args.device)
    except OptionError as err:  # no GPU here: one line, as the CLI says it
        sys.exit(f"device_check: {err}")
    buffer = io.StringIO()

    def say(line: str) -> None:
        print(line, flush=True)
        buffer.write(line + "\n")

    torch.set_num_threads(1)
    started = time.perf_counter()
    say(f"# device check on {args.device}: {describe_device(resolve_device(args.device))}")
    say(f"# torch {torch.__version__}, CUDA {torch.version.cuda}; {machine_line(1)}")
    failures = [] if args.quick else contract(args.device)
    say(f"contract: {'skipped (--quick)' if args.quick else 'all methods pass' if not failures else ''}")
    for failure in failures:
        say(f"  FAIL {failure}")
    for method, gap, seconds in agreement(args.device, 200 if args.quick else 2000):
        say(f"agreement {method:<12} max |R_cpu - R_{args.device}| = {gap:.4f}  ({seconds:.1f} s on {args.device})")
    costs = table_c_costs(args.device, 50 if args.quick else args.examples, 2 if args.quick else 17)
    base = costs["finetune"]["train"]
    for method, c in costs.items():
        target = {"agem": "<= 2 (published 2.8)", "gem": "<= 4 (published 20)"}.get(method, "")
        say(f"table C {method:<9} train {c['train']:7.1f} s  x finetune {c['train'] / base:5.2f} {target:<22} "
            f"ACC {c['acc']:.2f}")
    say(f"# {time.perf_counter() - started:.0f} s in all; after: {machine_line(1)}")
    if args.out:
        Path(args.out).write_text(buffer.getvalue())
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
