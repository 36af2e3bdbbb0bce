"""``lifelong sweep GRID.toml --store runs.db [--workers N] [--engine local|ray] [--address ADDR] [--dry-run]``.

Expands the grid, says how many runs are stored and how many are to run, runs the rest on the
engine, and prints the statistics of what the grid ran. With ``--tune-on K`` each method's
hyperparameters are chosen first by ACC on the stream's first K tasks only (A-GEM's protocol,
arXiv 1812.00420 §5: no configuration is evaluated on a later task before it is chosen); then the
chosen configurations run over all tasks and seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from lifelong.errors import OptionError
from lifelong.loggers import parse_log
from lifelong.store import Store, check_writable
from lifelong.sweep.driver import SweepProgress, run_sweep
from lifelong.sweep.engines import default_workers, make_engine, require_ray
from lifelong.sweep.grid import Grid, RunSpec, expand, load_grid


def add_sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser("sweep", help="a grid of configurations x seeds, on local processes or Ray; "
                                         "resumable, with statistics",
                           description="Run every configuration x seed of a grid file (the preset format; a list "
                                       "is an axis). Finished runs in the store are not run again.")
    sweep.add_argument("grid", help="the grid file (TOML)")
    sweep.add_argument("--store", help="SQLite results store (required unless --dry-run)")
    sweep.add_argument("--workers", type=int, help=f"runs at once (default: the CPUs, here {default_workers()}; "
                                                   "each run uses [train] threads, default 1)")
    sweep.add_argument("--engine", choices=["local", "ray"], default="local",
                       help="local: a process pool (default); ray: Ray tasks (pip install -e \".[ray]\")")
    sweep.add_argument("--address", help="with --engine ray: an existing Ray cluster (e.g. ray://head:10001 or auto)")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs with their run ids; run nothing")
    sweep.add_argument("--tune-on", type=int, metavar="K",
                       help="choose each method's hyperparameters by ACC on the first K tasks only, then run the "
                            "chosen ones over all tasks")
    sweep.add_argument("--baseline", help="the configuration the paired tests compare against (default the first)")
    sweep.add_argument("--checkpoints", help="folder for per-task checkpoints (default: beside the store)")
    sweep.add_argument("--keep-checkpoints", action="store_true", help="keep checkpoints of finished runs")
    sweep.add_argument("--rerun-stale", action="store_true", help="redo stored runs that other code computed")
    sweep.add_argument("--json", help="write runs, statistics and tuning as JSON to this path")
    sweep.add_argument("--log", action="append", default=[], metavar="KIND=TARGET",
                       help="log each run from its worker: tensorboard=DIR or csv=FILE (shared safely); repeatable")
    sweep.add_argument("--quiet", action="store_true", help="no progress display")
    sweep.add_argument("--debug", action="store_true", help="show the traceback of an error")


def sweep_command(args: argparse.Namespace, extra: list[str]) -> int:
    if extra:
        raise OptionError(f"unexpected arguments: {' '.join(extra)}")
    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        raise OptionError(f"--workers: must be at least 1, got {workers}")
    if args.engine == "ray":
        require_ray()
    elif args.address:
        raise OptionError("--address: only with --engine ray")
    if args.store is None and not args.dry_run:
        raise OptionError("--store: a sweep needs a results store (e.g. --store runs.db): it is how a sweep "
                          "skips what is done and resumes what was cut off")
    if args.json:
        check_writable(args.json, "JSON file")
    for spec in args.log:
        parse_log(spec)  # the targets are checked here, before any run; workers open their own
    grid = load_grid(args.grid)
    if args.tune_on is not None and args.tune_on < 1:
        raise OptionError(f"--tune-on: must be at least 1, got {args.tune_on}")
    if args.dry_run:
        with Store(args.store) if args.store else _NoStore() as listed:
            return _dry_run(grid, listed, args)
    with Store(args.store) as store:
        checkpoints = Path(args.checkpoints) if args.checkpoints else Path(args.store).with_suffix(".checkpoints")

        trained: list[str] = []

        def execute(runs: list[RunSpec], what: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
            return _execute(runs, what, store, args, workers, checkpoints, trained)

        tuning: dict[str, Any] = {}
        configurations = grid.configurations
        try:
            if args.tune_on is not None:
                configurations, tuning = _tune(grid, args.tune_on, execute)
            results, failed = execute(expand(configurations, grid.seeds), "sweep")
        except KeyboardInterrupt:
            print(f"lifelong: sweep interrupted after {len(trained)} run(s) of this call ended; run the same command "
                  "again to go on (each unfinished run resumes from its last finished task)", file=sys.stderr)
            return 130
        finally:
            with contextlib.suppress(OSError):
                checkpoints.rmdir()  # only if empty: nothing left to resume
    payload: dict[str, Any] = {"runs": [_run_entry(r) for r in results], "failed": failed, "tuning": tuning,
                               "trained": trained}
    if results:
        from lifelong.report.tables import statistics_table
        from lifelong.stats import compare

        stats = compare(results, args.baseline)
        print("\n" + statistics_table(stats))
        payload["statistics"] = stats
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return 3 if failed else 0


class _NoStore:
    """Stands in for a store in a dry run without ``--store``: nothing is stored."""

    def __enter__(self) -> _NoStore:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def status(self, run_id: str) -> None:
        return None

    def stale(self, run_ids: Any = None) -> list[str]:
        return []


def _dry_run(grid: Grid, store: Any, args: argparse.Namespace) -> int:
    runs = grid.runs(args.tune_on) if args.tune_on is not None else grid.runs()
    stale = set(store.stale([r.run_id for r in runs]))
    width = max(len(r.label) for r in runs)
    print(f"{'configuration':<{width}}  seed  run id            stored")
    for r in runs:
        state = store.status(r.run_id)
        shown = "-" if state is None else "finished (stale)" if r.run_id in stale else state[0]
        print(f"{r.label:<{width}}  {r.seed:>4}  {r.run_id}  {shown}")
    stored = sum(1 for r in runs if (s := store.status(r.run_id)) is not None and s[0] == "finished"
                 and (args.rerun_stale is False or r.run_id not in stale))
    tuned = f" on the first {args.tune_on} tasks (the tuning stage of --tune-on)" if args.tune_on else ""
    print(f"{len(runs)} runs ({len(grid.configurations)} configurations x {len(grid.seeds)} seeds){tuned}: "
          f"{stored} stored, {len(runs) - stored} to run")
    return 0


def _execute(runs: list[RunSpec], what: str, store: Store, args: argparse.Namespace, workers: int,
             checkpoints: Path, trained: list[str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Run what is not stored; return the finished results (in grid order) and the failures."""
    ids = [r.run_id for r in runs]
    stale = store.stale(ids)
    stored = sum(store.has(i, rerun_stale=args.rerun_stale) for i in ids)
    note = ""
    if stale:
        note = (f" ({len(stale)} stale: computed by other code; they are redone)" if args.rerun_stale else
                f" ({len(stale)} of them stale: computed by other code; --rerun-stale redoes them)")
    print(f"{what}: {len(runs)} runs, {stored} stored, {len(runs) - stored} to run{note}", flush=True)
    tally = run_sweep(runs, store, lambda: make_engine(args.engine, workers, args.address, checkpoints,
                                                       args.keep_checkpoints, tuple(args.log)),
                      workers, rerun_stale=args.rerun_stale,
                      progress=SweepProgress(len(runs), quiet=args.quiet))
    trained += tally.trained
    for run_id, message in tally.failed.items():
        print(f"lifelong: run {run_id} failed: {message}", file=sys.stderr)
    results = []
    for spec in runs:
        if store.has(spec.run_id):
            results.append({**store.get(spec.run_id).to_dict(), "label": spec.label})
    return results, tally.failed


def _tune(grid: Grid, k: int, execute: Any) -> tuple[list[RunSpec], dict[str, Any]]:
    """Each method's configuration with the best mean ACC over the grid's seeds on the first ``k`` tasks.

    A method with one configuration has nothing to choose and is not tuned. Ties go to the first in
    the file. Returns the chosen configurations (file order) and the record of the choice.
    """
    by_method: dict[str, list[RunSpec]] = {}
    for c in grid.configurations:
        by_method.setdefault(c.method, []).append(c)
    to_tune = [c for group in by_method.values() if len(group) > 1 for c in group]
    record: dict[str, Any] = {}
    if not to_tune:
        return grid.configurations, record
    results, _ = execute(expand(to_tune, grid.seeds, first_tasks=k), f"tuning on the first {k} tasks")
    chosen: dict[str, RunSpec] = {}
    for method, group in by_method.items():
        if len(group) == 1:
            chosen[method] = group[0]
            continue
        candidates = []
        for c in group:
            accs = [r["metrics"]["acc"] for r in results if r["label"] == c.label and r["metrics"]["acc"] is not None]
            candidates.append({"label": c.label, "method_params": c.method_params, "stream_params": c.stream_params,
                               "model": c.model, "train": vars(c.train), "n": len(accs),
                               "acc": statistics.mean(accs) if accs else None,
                               "runs": [r["config"]["run_id"] for r in results if r["label"] == c.label]})
        scored = [(cand["acc"], -i) for i, cand in enumerate(candidates) if cand["acc"] is not None]
        if not scored:
            raise OptionError(f"--tune-on {k}: every configuration of {method} failed on the first {k} tasks; "
                              "nothing to choose from")
        best = -max(scored)[1]
        chosen[method] = group[best]
        record[method] = {"on_tasks": k, "seeds": grid.seeds, "metric": "acc (mean over seeds)",
                          "candidates": candidates, "chosen": group[best].label}
    lines = [f"tuned on the first {k} tasks (ACC, mean over seeds {grid.seeds}):"]
    for rec in record.values():
        for cand in rec["candidates"]:
            mark = "  <- chosen" if cand["label"] == rec["chosen"] else ""
            acc = "failed" if cand["acc"] is None else f"{100 * cand['acc']:.2f}"
            lines.append(f"  {cand['label']:<30} {acc:>7}  (n={cand['n']}){mark}")
    print("\n".join(lines), flush=True)
    return [chosen[c.method] for c in grid.configurations if chosen.get(c.method) is c], record


def _run_entry(result: dict[str, Any]) -> dict[str, Any]:
    c = result["config"]
    return {"run_id": c["run_id"], "label": result.get("label", c["method"]), "method": c["method"],
            "seed": c["seed"], "metrics": result["metrics"], "matrix": result["matrix"]}
