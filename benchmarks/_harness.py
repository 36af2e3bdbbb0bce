"""Shared by the reproduction benchmarks: run a preset's methods over seeds, print ours beside the paper's.

Every benchmark prints the thread count and the machine's load beside its numbers (these machines
are shared: a busy core slows 2-thread training 4x), and compares only within one protocol.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import lifelong  # noqa: F401  (registers everything)
from lifelong._registry import METHODS
from lifelong.presets import Preset, load_preset
from lifelong.result import Result
from lifelong.store import Store

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
# Flags that shorten a published protocol for a reduced real run (then labelled "not comparable"): name -> section.
REDUCTIONS = {"epochs": "train", "iterations": "train", "tasks": "stream", "examples": "stream"}


def arguments(description: str, default_seeds: int = 3) -> argparse.Namespace:
    """Common flags: --seeds N, --quick (a short smoke version of the protocol), --methods a,b."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=default_seeds)
    parser.add_argument("--quick", action="store_true", help="shortened protocol: checks the wiring, not the number")
    parser.add_argument("--methods", help="comma-separated subset of the preset's methods")
    parser.add_argument("--threads", type=int, default=1)
    add_store_flag(parser)
    return parser.parse_args()


def add_store_flag(parser: argparse.ArgumentParser) -> None:
    """--store FILE: keep every run in a results store and read back runs already there."""
    parser.add_argument("--store", help="SQLite results store: runs already there are read back, new ones added "
                                        "(split a table over processes, resume it, or re-print it)")


def add_reduction_flags(parser: argparse.ArgumentParser) -> None:
    """--epochs/--iterations/--tasks/--examples N: shorten the protocol (the run is then not comparable)."""
    for name in REDUCTIONS:
        parser.add_argument(f"--{name}", type=int, help=f"reduce the protocol: {name} (the run is then not comparable)")


def protocol_overrides(args: argparse.Namespace, quick: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stream/train overrides from --quick (``quick``) and the reduction flags; empty for the published protocol.

    Iterations and epochs exclude each other, so giving one drops the preset's other.
    """
    out: dict[str, dict[str, Any]] = {"stream": {}, "train": {}}
    if args.quick:
        for section, values in quick.items():
            out[section].update(values)
    for name, section in REDUCTIONS.items():
        value = getattr(args, name)
        if value is not None:
            out[section][name] = value
            if name == "iterations":
                out["train"].pop("epochs", None)
            if name == "epochs":
                out["train"]["iterations"] = None
    return out


def open_store(args: argparse.Namespace) -> Store | None:
    return Store(args.store) if getattr(args, "store", None) else None


def machine_line(threads: int) -> str:
    load = os.getloadavg()
    return f"threads={threads}  load(1/5/15 min)={load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}  cpus={os.cpu_count()}"


def mean_std(values: Sequence[float]) -> str:
    values = [v for v in values if v == v]  # NaN (a metric undefined for a method, e.g. joint's forgetting)
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def reproduce(
    preset_name: str,
    args: argparse.Namespace,
    *,
    metric: Callable[[Result], float] = lambda r: 100 * r.metrics["acc"],
    reference_key: Callable[[str], Any] = lambda method: method,
    quick_overrides: dict[str, dict[str, Any]] | None = None,
    notes: dict[str, str] | None = None,
) -> dict[str, list[float]]:
    """Run every method of ``configs/<preset_name>.toml`` over ``args.seeds`` seeds and print a table.

    ``quick_overrides`` ({"stream": {...}, "train": {...}}) shrink the protocol under ``--quick``;
    a quick run is labelled as such and its numbers are not comparable with the paper's.
    """
    preset: Preset = load_preset(CONFIGS / f"{preset_name}.toml")
    methods = args.methods.split(",") if args.methods else list(preset.methods)
    quick = quick_overrides if args.quick else None
    print(f"# {preset_name}: {preset.stream} {preset.stream_params}, {preset.model}, {preset.train}")
    print(f"# {machine_line(args.threads)}{'  QUICK (not comparable)' if quick else ''}", flush=True)
    print(f"{'method':<20}{'ours':>18}{'paper':>14}   note")
    scores: dict[str, list[float]] = {}
    store = open_store(args)
    for method in methods:
        if method not in METHODS.names():
            print(f"{method:<20}{'not implemented':>18}")
            continue
        values = []
        for seed in range(args.seeds):
            result = preset.run(method, seed, stream_overrides=(quick or {}).get("stream"),
                                train_overrides={**(quick or {}).get("train", {}), "threads": args.threads},
                                store=store)
            values.append(metric(result))
        scores[method] = values
        paper = preset.reference.get(reference_key(method))
        gap = ""
        if isinstance(paper, int | float) and len(values) > 0:
            gap = f"{statistics.mean(values) - paper:+.2f}"
        paper_text = f"{paper:.2f}" if isinstance(paper, int | float) else "-"
        note = (notes or {}).get(method, "")
        print(f"{method:<20}{mean_std(values):>18}{paper_text:>14}   {gap} {note}".rstrip(), flush=True)
    return scores

