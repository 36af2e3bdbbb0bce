"""The memory family's cost over finetune on Table C's protocol (configs/table-c-memory.toml), measured in one run.

Protocol: permuted MNIST, 17 tasks, one pass, batch 10, plain SGD, MLP 784-256-256-10, 250 memory samples per
task (A-GEM's reference batch 256). By default each task is cut to 1000 examples (100 steps instead of 5,500):
every method's step count shrinks alike and a step costs the same (the memory holds 250 samples per task either
way), so the time ratios are those of the full protocol; ``--examples 55000`` runs it whole (GEM: hours).

Every (method, repeat) runs in a fresh child process, so the child's peak resident memory is that method's; the
order alternates (finetune, gem, agem, er, finetune, ...) so that a change in the shared machine's load hits
every method alike; medians over repeats. Each child first pays the one-time costs of a fresh process on a tiny
run, so they are not charged to the first method's first task. Thread count and load are printed before and
after.

Per method:
    train      seconds of training (every task's steps and ``after_task``; evaluation excluded), its ratio to
               finetune's; the published ratios are the A-GEM paper's (arXiv 1812.00420, Fig. 1 / Table 7:
               training time relative to GEM = 1: finetune 0.05, A-GEM 0.14, i.e. GEM 20x and A-GEM 2.8x
               finetune's); issue 11's targets GEM <= 10x, A-GEM <= 2x were restated by issue 13 as "within 1.4x of
               the method's arithmetic floor" (the last lines)
    last task  seconds of the last task (the largest memory: GEM then has 16 constraints), ratio to finetune
    total      seconds with the evaluation (17 test sets of 10,000 images, 18 times)
    peak       peak resident memory of the child process (MB) and its ratio to finetune's
    state      bytes held by the method's buffers (``train.state_bytes``: the episodic memory, counters), and
               model + state as a ratio to finetune's model, beside the paper's memory ratios (relative to
               PNN = 1: finetune 0.03, GEM 0.49, A-GEM 0.12, i.e. GEM 16x and A-GEM 4x finetune's)

    LIFELONG_DATA_DIR=... python benchmarks/memory_cost.py                 # 17 tasks, 3 repeats (~15 min)
    LIFELONG_DATA_DIR=... python benchmarks/memory_cost.py --repeats 1 --tasks 9
    LIFELONG_DATA_DIR=... python benchmarks/memory_cost.py --quick         # seconds: checks the wiring
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

from _harness import CONFIGS, machine_line

from lifelong.observers import Observer

# Rows of the preset measured here (label -> the row in [benchmark.rows]) plus ER, and the published ratios.
ROWS: dict[str, dict[str, Any]] = {
    "finetune": {"method": "finetune", "train": {"lr": 0.03}},
    "gem": {"method": "gem", "train": {"lr": 0.1}},
    "agem": {"method": "agem", "train": {"lr": 0.1}},
    "er": {"method": "er", "memory": 250 * 17, "replay_batch": 10, "train": {"lr": 0.1}},
}
PUBLISHED_TIME = {"finetune": 1.0, "gem": 1 / 0.05, "agem": 0.14 / 0.05}
PUBLISHED_MEMORY = {"finetune": 1.0, "gem": 0.49 / 0.03, "agem": 0.12 / 0.03}
# Issue 13 restated the targets for a CPU: at batch 10 GEM's and A-GEM's arithmetic alone is about 200x and 25x
# finetune's, so their time is held against their own arithmetic floor, not finetune's time.
TARGET_TIME = {"gem": 10.0, "agem": 2.0}
FLOOR_TARGET = 1.4
QUICK = {"tasks": 3, "examples": 200}
EXAMPLES = 1000  # per task, by default (see the docstring)


class TrainingFlops(Observer):
    """Counts the floating-point operations of the training steps (method hooks included), not of evaluation.

    ``torch.utils.flop_counter`` counts the matrix products (which carry all but a sliver of an MLP's
    arithmetic), through ``torch.func`` transforms too. The count runs from a phase's start to its last
    step, so the evaluation after each task and ``after_task`` are left out, as in the time column.
    """

    def __init__(self) -> None:
        from torch.utils.flop_counter import FlopCounterMode

        self.mode = FlopCounterMode(display=False)
        self.total = 0
        self._start = self._last = 0

    def run_started(self, config: Any, phase_names: list[str]) -> None:
        self.mode.__enter__()

    def phase_started(self, index: int, name: str, steps: int) -> None:
        self._start = self._last = self.mode.get_total_flops()

    def step(self, index: int, loss: Any) -> None:
        self._last = self.mode.get_total_flops()

    def phase_finished(self, index: int, accuracies: Any, seconds: float) -> None:
        self.total += self._last - self._start

    def run_finished(self, result: Any) -> None:
        self.mode.__exit__(None, None, None)


def child(label: str, seed: int, threads: int, stream: dict[str, Any], flops: bool) -> dict[str, Any]:
    """One measured run (in its own process): costs and accuracy as plain numbers; or, with ``flops``, only
    the training arithmetic (counting slows the run, so it is never timed)."""
    from lifelong.presets import load_preset
    from lifelong.train import peak_rss_mb

    preset = load_preset(CONFIGS / "table-c-memory.toml")
    row = dict(ROWS[label])
    method, train = row.pop("method"), row.pop("train")
    overrides = {**train, "threads": threads}
    if flops:
        counter = TrainingFlops()
        preset.run(method, seed, stream_overrides=stream, method_overrides=row, train_overrides=overrides,
                   observers=[counter])
        return {"flops": counter.total}
    # One-time costs of a fresh process (kernel selection, allocator growth: ~2 s on the first task) are not the
    # method's: a tiny finetune run pays them before the measured run.
    preset.run("finetune", seed, stream_overrides={"tasks": 1, "examples": 50}, train_overrides={"threads": threads})
    result = preset.run(method, seed, stream_overrides=stream, method_overrides=row, train_overrides=overrides)
    return {"train": sum(result.seconds), "last": result.seconds[-1], "total": result.total_seconds,
            "peak": peak_rss_mb(), "state": result.method_bytes, "model": result.parameters[-1]["bytes"],
            "acc": 100 * result.metrics["acc"]}


def matmul_peak(threads: int) -> float:
    """FLOP/s of a large fp32 matrix product on ``threads`` threads: what no method's arithmetic can beat."""
    import time

    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default=",".join(ROWS), help="comma-separated subset (finetune is always run)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", type=int, help="reduce the protocol: number of tasks (then not comparable)")
    parser.add_argument("--examples", type=int, default=EXAMPLES, help="training examples per task")
    parser.add_argument("--quick", action="store_true", help="3 tasks of 200 examples: checks the wiring")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--flops", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stream", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.seed, args.threads, json.loads(args.stream), args.flops)))
        return

    stream: dict[str, Any] = dict(QUICK) if args.quick else {"examples": args.examples}
    if args.tasks:
        stream["tasks"] = args.tasks
    methods = ["finetune", *[m for m in args.methods.split(",") if m != "finetune"]]
    print(f"# memory cost on table-c-memory with {stream}, {args.repeats} repeat(s), alternating")
    print(f"# before: {machine_line(args.threads)}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for repeat in range(args.repeats):
        for m in methods:
            out = subprocess.run([sys.executable, __file__, "--child", m, "--seed", str(repeat), "--threads",
                                  str(args.threads), "--stream", json.dumps(stream)],
                                 capture_output=True, text=True, check=True)
            runs[m].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  repeat {repeat} {m:<9} train {runs[m][-1]['train']:7.1f} s", flush=True)
    print(f"# after:  {machine_line(args.threads)}")
    flops = {}
    for m in methods:
        out = subprocess.run([sys.executable, __file__, "--child", m, "--threads", str(args.threads), "--stream",
                              json.dumps(stream), "--flops"], capture_output=True, text=True, check=True)
        flops[m] = json.loads(out.stdout.strip().splitlines()[-1])["flops"]

    def median(m: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[m])

    base = {k: median("finetune", k) for k in ("train", "last", "total", "peak", "model")}
    print(f"\n{'method':<9}{'ACC %':>7}{'train s':>9}{'x ft':>7}{'paper':>7}{'target':>7}{'flops x':>8}"
          f"{'last s':>8}{'x ft':>7}"
          f"{'total s':>9}{'peak MB':>9}{'x ft':>6}{'state MB':>10}{'model+state x':>15}{'paper':>7}")
    for m in methods:
        train, last, total, peak = (median(m, k) for k in ("train", "last", "total", "peak"))
        state = median(m, "state")
        memory_ratio = (base["model"] + state) / base["model"]
        paper_t = PUBLISHED_TIME.get(m)
        paper_m = PUBLISHED_MEMORY.get(m)
        target = TARGET_TIME.get(m)
        print(f"{m:<9}{median(m, 'acc'):7.2f}{train:9.1f}{train / base['train']:7.2f}"
              f"{'-' if paper_t is None else f'{paper_t:.1f}':>7}{'-' if target is None else f'<={target:g}':>7}"
              f"{flops[m] / flops['finetune']:8.1f}"
              f"{last:8.2f}{last / base['last']:7.2f}{total:9.1f}{peak:9.0f}{peak / base['peak']:6.2f}"
              f"{state / 2**20:10.2f}{memory_ratio:15.2f}{'-' if paper_m is None else f'{paper_m:.1f}':>7}")

    rate = {m: flops[m] / median(m, "train") for m in methods}
    print(f"\nflops x = the method's training arithmetic over finetune's ({flops['finetune'] / 1e9:.1f} GFLOP). A "
          f"time ratio below it means the method runs its arithmetic faster than finetune's batch-10 steps, which "
          f"are overhead-bound ({rate['finetune'] / 1e9:.1f} GFLOP/s here):")
    peak = matmul_peak(args.threads)
    for m in methods[1:]:
        floor = flops[m] / peak
        target = f" (target <= {FLOOR_TARGET})" if m in TARGET_TIME else ""
        seconds = median(m, "train")
        print(f"  {m:<9}{rate[m] / 1e9:6.1f} GFLOP/s: {seconds:.1f} s = {seconds / floor:.2f}x its arithmetic floor "
              f"of {floor:.1f} s{target}")
    print(f"  (the floor: the training FLOPs at the matrix-product peak of {args.threads} thread(s) here, "
          f"{peak / 1e9:.0f} GFLOP/s, 2048x2048 fp32)")

if __name__ == "__main__":
    main()
