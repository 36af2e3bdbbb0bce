"""Defaults that learn: what `lifelong run --stream X --method M` gives with nothing else set.

Part 1 (ceilings): finetune with every built-in MNIST stream's defaults at full size, each task's
accuracy right after training it (R[i, i]) against the target of the first-contact issue: ≥ 97 % on
a permuted-, rotated- or split-MNIST task with the default MLP, ≥ 88 % on the noisy task of
noisy-mnist with its suited mlp-50x3 (the lecture reports 90 %). Also the bAbI stream's suited
defaults on its first three tasks.

Part 2 (stability): every registered method with its own defaults under the training defaults on
every built-in stream (a slice: ``--examples`` training examples a task; bAbI 3 tasks of 200
questions), in the stream's default scenario or, where the method does not declare it, the first
one it does. Prints the smallest R[i, i] and whether the run finished, diverged or was refused.

    python benchmarks/defaults.py [--part 1|2] [--examples 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _harness import machine_line

import lifelong
from lifelong._registry import METHODS
from lifelong.errors import DivergedError, LifelongError
from lifelong.streams.scenario import Scenario

TARGETS = {"permuted-mnist": 97.0, "rotated-mnist": 97.0, "split-mnist": 97.0, "noisy-mnist": 88.0}
STREAMS: dict[str, dict[str, Any]] = {
    "permuted-mnist": {}, "rotated-mnist": {}, "split-mnist": {}, "noisy-mnist": {},
    "babi": {"tasks": (1, 2, 3), "examples": 200, "test_examples": 200},
}


def learned(result: lifelong.Result) -> list[float]:
    """R[i, i] in percent: each task right after it was trained (joint: after all tasks)."""
    rows = dict(zip(result.matrix.rows_after, result.matrix.values, strict=True))
    last = max(rows)
    return [100 * rows[t if t in rows else last][t - 1] for t in range(1, result.matrix.tasks + 1)]


def ceilings(threads: int) -> None:
    print(f"# part 1: finetune at the defaults, full size; {machine_line(threads)}")
    print(f"{'stream':<16}{'model':<12}{'training':<40}{'R[i,i] %':<36}{'target':>7}{'met':>5}{'s':>6}")
    for name, target in (*TARGETS.items(), ("babi", None)):
        params = {"tasks": (1, 2, 3)} if name == "babi" else {}
        start = time.perf_counter()
        result = lifelong.run(name, "finetune", stream_params=params, threads=threads)
        values = learned(result)
        noisy_only = values[:1] if name == "noisy-mnist" else values
        met = "-" if target is None else "yes" if min(noisy_only) >= target else "NO"
        train = result.config["train"]
        training = f"{train['optimizer']} {train['lr']:g}, {train['epochs']} ep, batch {train['batch_size']}"
        print(f"{name:<16}{result.config['model']:<12}{training:<40}{', '.join(f'{v:.1f}' for v in values):<36}"
              f"{'-' if target is None else f'{target:.0f}':>7}{met:>5}{time.perf_counter() - start:>6.0f}",
              flush=True)


def stability(examples: int, threads: int) -> None:
    print(f"\n# part 2: every method's defaults on every built-in stream ({examples} examples a task, "
          f"bAbI 3 tasks x 200); {machine_line(threads)}")
    print(f"{'method':<18}" + "".join(f"{s:>17}" for s in STREAMS))
    for method in METHODS.names():
        declared = METHODS.get(method).factory.scenarios
        cells = []
        for stream_name, extra in STREAMS.items():
            params = dict(extra) if stream_name == "babi" else {"examples": examples}
            default = Scenario("domain" if stream_name != "split-mnist" else "task")
            scenario = default if default in declared else sorted(declared, key=lambda s: s.value)[0]
            params["scenario"] = scenario.value
            try:
                result = lifelong.run(stream_name, method, stream_params=params, threads=threads)
                cells.append(f"{scenario.value[0]} {min(learned(result)):5.1f}")
            except DivergedError:
                cells.append(f"{scenario.value[0]} DIVERGED")
            except LifelongError as err:
                cells.append(f"{scenario.value[0]} refused")
                print(f"  {method} on {stream_name}: {err}", flush=True)
            except Exception as err:  # a bug, not a user's mistake: shown, and the table goes on
                cells.append(f"{scenario.value[0]} ERROR")
                print(f"  {method} on {stream_name}: {type(err).__name__}: {err}", flush=True)
        print(f"{method:<18}" + "".join(f"{c:>17}" for c in cells), flush=True)
    print("cells: scenario initial, then the smallest R[i, i] in % (chance: 50 % for a split task in task-IL, "
          "10 % for MNIST's digits, 1/answers for bAbI)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", type=int, choices=(1, 2), help="run one part only")
    parser.add_argument("--examples", type=int, default=1000, help="training examples a task in part 2")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.part in (None, 1):
        ceilings(args.threads)
    if args.part in (None, 2):
        stability(args.examples, args.threads)


if __name__ == "__main__":
    main()
