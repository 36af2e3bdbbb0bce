"""Sweep scaling: 16 short runs with 1 and 2 local workers and with Ray (2 CPUs); wall time and speedup.

Target (issue #11): >= 1.8x with 2 workers on 2 cores, Ray within 10% of the local pool. Each engine
gets a fresh store, so every run is trained; the runs are the same 16 (one configuration x 16 seeds,
1 thread each). Startup (spawning workers, starting Ray) is part of a sweep's cost, so the wall time
includes it; Ray's own start is also printed apart, because on a cluster it is paid once, not per sweep.

    python benchmarks/sweep_scaling.py            # about 2.5 minutes on 2 idle cores (runs of ~3.5 s each)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

from _harness import machine_line

from lifelong.store import Store
from lifelong.sweep.driver import run_sweep
from lifelong.sweep.engines import Engine, LocalEngine, RayEngine
from lifelong.sweep.grid import load_grid

GRID = """seeds = {seeds}
[stream]
name = "synthetic"
tasks = 3
examples = {examples}
features = 64
[model]
name = "mlp-256x2"
[train]
epochs = 1
threads = 1
[methods.finetune]
"""


def measure(name: str, make: type[Engine] | None, workers: int, runs: list, folder: Path) -> tuple[float, float]:
    """Wall seconds of the whole sweep, and of the engine's start within it."""
    started: list[float] = []

    def engine() -> Engine:
        t0 = time.perf_counter()
        built = RayEngine(workers, None, None, False) if make is RayEngine else LocalEngine(workers, None, False)
        started.append(time.perf_counter() - t0)
        return built

    with Store(folder / f"{name}.db") as store:
        t0 = time.perf_counter()
        tally = run_sweep(runs, store, engine, workers)
        wall = time.perf_counter() - t0
    assert len(tally.finished) == len(runs), f"{name}: {tally.failed}"
    return wall, started[0] if started else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--examples", type=int, default=60000, help="training examples per task (run length)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        grid_file = folder / "grid.toml"
        grid_file.write_text(GRID.format(seeds=list(range(args.runs)), examples=args.examples))
        runs = load_grid(grid_file).runs()
        print(f"sweep scaling: {len(runs)} runs of finetune on synthetic (3 tasks x {args.examples} examples, "
              f"mlp-256x2, 1 epoch), 1 thread each")
        print(f"before: {machine_line(1)}")
        engines: list[tuple[str, type[Engine] | None, int]] = [("local, 1 worker", LocalEngine, 1),
                                                               ("local, 2 workers", LocalEngine, 2)]
        if importlib.util.find_spec("ray") is not None:
            engines.append(("ray, 2 CPUs", RayEngine, 2))
        else:
            print("ray: skipped (not installed; pip install -e '.[ray]')")
        walls: dict[str, float] = {}
        for name, make, workers in engines:
            wall, start = measure(name.split(",")[0] + str(workers), make, workers, runs, folder)
            walls[name] = wall
            print(f"{name:<18} wall {wall:7.1f} s   engine start {start:5.1f} s   "
                  f"speedup vs 1 worker {walls['local, 1 worker'] / wall:4.2f}x   ({machine_line(1)})", flush=True)
        if "ray, 2 CPUs" in walls:
            print(f"ray / local (2 workers): {walls['ray, 2 CPUs'] / walls['local, 2 workers']:.2f} "
                  "(target <= 1.10)")
        print(f"speedup with 2 workers: {walls['local, 1 worker'] / walls['local, 2 workers']:.2f}x (target >= 1.8)")


if __name__ == "__main__":
    main()
