"""Each method's cost over finetune on the same protocol, measured in one run: time and peak memory.

Every (method, repeat) runs in a fresh child process, so the child's peak resident memory is that
method's peak; the order alternates (finetune, ewc, si, ..., finetune, ewc, si, ...) so that a change
in the shared machine's load hits every method alike, and medians are taken over repeats. Thread count
and load are printed before and after.

Per method it reports, on the last task (anchors exist, so every penalty is active):
    step       milliseconds per training step, and its ratio to finetune's
    consol.    seconds per task of consolidation (``after_task``: Fisher, MAS, SCP importances)
    task       seconds per task as run here, and its ratio to finetune's
    full task  the ratio projected to the protocol's full number of epochs or iterations
               (steps × step time + consolidation), the number the family's 1.5x target is about
    peak       peak resident memory (MB) of the process, its ratio to finetune's, and the method's
               own state (anchors, importances, buffers) in MB

Extending: add a family's methods to METHODS (name -> hyperparameters beyond the preset's) and, if
needed, a protocol to PROTOCOLS; nothing else changes.

    LIFELONG_DATA_DIR=... python benchmarks/method_cost.py                      # Table F, 2 tasks, 1 epoch
    LIFELONG_DATA_DIR=... python benchmarks/method_cost.py --methods finetune,ewc --repeats 3
    LIFELONG_DATA_DIR=... python benchmarks/method_cost.py --quick              # seconds: checks wiring
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from _harness import CONFIGS, machine_line

# Methods measured, with hyperparameters beyond (or instead of) the preset's. Families add theirs here.
METHODS: dict[str, dict[str, Any]] = {
    "finetune": {},
    "l2": {"lam": 1.0},
    "ewc": {},
    "online-ewc": {"lam": 100.0, "half": False, "fisher": "predicted"},
    "si": {},
    "mas": {},
    "rwalk": {},
    "scp": {},
}


@dataclass(frozen=True)
class Protocol:
    """A preset, the reductions that make one measurement affordable, and the full length to project to."""

    preset: str
    stream: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    quick_stream: dict[str, Any] = field(default_factory=dict)
    quick_train: dict[str, Any] = field(default_factory=dict)


PROTOCOLS = {
    # Table F: the homework's network and training, 2 tasks so that the second has an anchor, 1 epoch each;
    # importances are estimated on the full training set as in the full protocol.
    "table-f": Protocol("hw14-permuted", stream={"tasks": 2}, train={"epochs": 1},
                        quick_stream={"tasks": 2, "examples": 1000}, quick_train={"epochs": 1}),
    "table-c": Protocol("agem-permuted-mnist", stream={"tasks": 3}, quick_stream={"tasks": 2, "examples": 200}),
}


def child(name: str, protocol: Protocol, quick: bool, threads: int) -> dict[str, Any]:
    """One run of one method; returns its costs (runs inside the child process)."""
    import torch

    from lifelong.api import build_method, build_stream, run
    from lifelong.presets import load_preset
    from lifelong.streams.sampler import steps_per_epoch

    preset = load_preset(CONFIGS / f"{protocol.preset}.toml")
    stream_params = {**preset.stream_params, **protocol.stream, **(protocol.quick_stream if quick else {})}
    train = replace(preset.train, **{**protocol.train, **(protocol.quick_train if quick else {}), "threads": threads})
    stream = build_stream(preset.stream, stream_params, 0)
    method = build_method(name, {**preset.methods.get(name, {}), **METHODS.get(name, {})})
    consolidation: list[float] = []
    after_task = method.after_task

    def timed_after_task(task: Any) -> None:  # measures; changes nothing
        started = time.perf_counter()
        after_task(task)
        consolidation.append(time.perf_counter() - started)

    method.after_task = timed_after_task  # type: ignore[method-assign]
    result = run(stream, method, preset.model, seed=0, train=train)
    last = stream[len(stream) - 1]
    steps = train.iterations or train.epochs * steps_per_epoch([last], train.batch_size)
    full_steps = preset.train.iterations or preset.train.epochs * steps_per_epoch([last], train.batch_size)
    return {
        "task_seconds": result.seconds[-1],
        "consolidation": consolidation[-1],
        "step_ms": 1e3 * (result.seconds[-1] - consolidation[-1]) / steps,
        "full_steps": full_steps,
        "peak_mb": result.peak_rss_mb,
        "state_mb": result.method_bytes / 2**20,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="table-f", choices=sorted(PROTOCOLS))
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated; finetune is always added")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny protocol: checks the wiring, not the numbers")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    protocol = PROTOCOLS[args.protocol]
    if args.child:
        print(json.dumps(child(args.child, protocol, args.quick, args.threads)))
        return

    names = ["finetune", *[m for m in args.methods.split(",") if m and m != "finetune"]]
    print(f"# method cost on {args.protocol} ({protocol}){'  QUICK' if args.quick else ''}")
    print(f"# before: {machine_line(args.threads)}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    script = Path(__file__).resolve()
    for _ in range(args.repeats):
        for name in names:  # alternating order: load drifts hit every method alike
            command = [sys.executable, str(script), "--child", name, "--protocol", args.protocol,
                       "--threads", str(args.threads), *(["--quick"] if args.quick else [])]
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)
            if done.returncode != 0:
                print(f"{name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"# after:  {machine_line(args.threads)}  (threads in the children: "
          f"{sorted({r['threads'] for rs in runs.values() for r in rs})})")

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name]) if runs[name] else float("nan")

    def projected(name: str) -> float:
        return median(name, "full_steps") * median(name, "step_ms") / 1e3 + median(name, "consolidation")

    print(f"{'method':<12}{'step ms':>9}{'x':>6}{'consol. s':>11}{'task s':>9}{'x':>6}{'full task x':>13}"
          f"{'peak MB':>9}{'x':>6}{'state MB':>10}")
    def ratio(name: str, key: str) -> float:
        return median(name, key) / median("finetune", key)

    for name in names:
        print(f"{name:<12}{median(name, 'step_ms'):>9.1f}{ratio(name, 'step_ms'):>6.2f}"
              f"{median(name, 'consolidation'):>11.2f}{median(name, 'task_seconds'):>9.1f}"
              f"{ratio(name, 'task_seconds'):>6.2f}{projected(name) / projected('finetune'):>13.2f}"
              f"{median(name, 'peak_mb'):>9.0f}{ratio(name, 'peak_mb'):>6.2f}{median(name, 'state_mb'):>10.1f}")


if __name__ == "__main__":
    main()
