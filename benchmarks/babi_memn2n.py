"""MemN2N on the 20 generated bAbI 1k tasks by the paper's recipe: error per task and jointly, beside Table 1.

Reference: Sukhbaatar et al., "End-To-End Memory Networks" (arXiv 1503.08895), Table 1 (1k training
questions per task), columns "PE LS RN" (3 hops, each task trained alone: mean error 13.9 %, 11 failed
tasks) and "PE LS RN joint" (one model for all 20 tasks: 12.4 %, 11 failed). The recipe is
configs/memn2n-paper.toml (per task) and configs/memn2n-paper-joint.toml (joint): position and temporal
encoding, adjacent tying, random noise, linear start, SGD annealed, clipped (see those files for the
loss scaling). As in the paper, 10 % of each task's training questions are held out for validation
(900 train), every task is trained ``--restarts`` times (10) from different initialisations, and one
restart is kept: the paper keeps the lowest *training* error; we keep the lowest *validation* error
(ties: training error), as the issue asked, and print both errors of the one kept.

The presets tie the answer layer to the last output embedding (W^T = C^K, ``memn2n-...-tied``), as the
paper's adjacent scheme does; ``--answer-layer linear`` runs the scenario's linear head instead (what this
file measured before the tie was built). Where we still differ from the paper: *generated* stories
(lifelong.data.babi; the release cannot be downloaded here). ``--recipe adam`` runs the stream's suited
defaults instead (Adam 0.01, 20 epochs, no LS/RN: Table 1's "PE" column, 20.3 %).

Measured 2026-12-03 (benchmarks/results/babi_memn2n.txt), the presets with the tied answer layer and the empty
memory slots in the softmax (``-empty``, as the authors' code): per task 16.7 % (14 tasks within 3 points of "PE LS
RN" or better), jointly 16.6 % (best of 3; 14 tasks within 3 points). With the empty slots masked (``--empty-slots
masked``): 17.7 % and 16.9 %; with the linear head as well (2026-12-02): 21.5 % (task 16 at chance) and 18.2 %.

    python benchmarks/babi_memn2n.py [--restarts 10] [--tasks 1,2,...] [--joint] [--recipe paper|adam]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import torch
from _harness import machine_line

import lifelong
from lifelong.api import build_learner, build_method, run_config
from lifelong.config import TrainConfig
from lifelong.presets import load_preset
from lifelong.streams.stream import Stream
from lifelong.streams.task import Split, Task
from lifelong.train import evaluate, train

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
# Table 1 of arXiv 1503.08895 (1k), error % for tasks 1..20.
TABLE_1 = {
    "PE": (0.1, 21.6, 64.2, 3.8, 14.1, 7.9, 21.6, 12.6, 23.3, 17.4, 4.3, 0.3, 9.9, 1.8, 0.0, 52.1, 50.1, 13.6, 87.4,
           0.0),
    "PE LS RN": (0.0, 8.3, 40.3, 2.8, 13.1, 7.6, 17.3, 10.0, 13.2, 15.1, 0.9, 0.2, 0.4, 1.7, 0.0, 1.3, 51.0, 11.1,
                 82.8, 0.0),
    "PE LS RN joint": (0.0, 11.4, 21.9, 13.4, 14.4, 2.8, 18.3, 9.3, 1.9, 6.5, 0.3, 0.1, 0.2, 6.9, 0.0, 2.7, 40.4,
                       9.4, 88.0, 0.0),
}
LSTM = 51.3  # Table 1's LSTM baseline (Weston et al., arXiv 1502.05698), mean error %


def hold_out(stream: Stream, fraction: float, seed: int) -> tuple[Stream, list[Task]]:
    """The stream with ``fraction`` of each task's training questions removed, and those questions as tasks of
    their own (their test split) for validation; drawn by ``seed``."""
    fit, validation = [], []
    generator = torch.Generator().manual_seed(seed)
    for task in stream.tasks:
        order = torch.randperm(len(task.train), generator=generator)
        cut = len(order) - round(fraction * len(order))
        keep, held = order[:cut].sort().values, order[cut:].sort().values
        fit.append(dataclasses.replace(task, train=Split(task.train.x[keep], task.train.y[keep])))
        validation.append(dataclasses.replace(task, test=Split(task.train.x[held], task.train.y[held])))
    return dataclasses.replace(stream, tasks=tuple(fit)), validation


def best_of(stream: Stream, validation: list[Task], model: str, method_name: str, tc: TrainConfig,
            seeds: range, verbose: bool = False) -> dict[str, object]:
    """Train once per seed (the restarts) and keep the lowest mean validation error (ties: training error)."""
    kept: dict[str, object] | None = None
    tests = []
    for seed in seeds:
        method = build_method(method_name)
        learner = build_learner(model, stream, seed)
        result = train(stream, method, learner, run_config(stream, method, model, seed, tc))
        val = 1 - evaluate(learner, method, validation, tc.eval_batch_size, tc=tc)
        fit = 1 - evaluate(learner, method, [dataclasses.replace(t, test=t.train) for t in stream.tasks],
                           tc.eval_batch_size, tc=tc)
        test = 1 - result.matrix.values[-1]
        tests.append(test)
        key = (float(val.mean()), float(fit.mean()))
        if verbose:
            print(f"  restart {seed}: train {100 * key[1]:.1f}  val {100 * key[0]:.1f}  test {100 * test.mean():.1f}",
                  flush=True)
        if kept is None or key < kept["key"]:  # type: ignore[operator]
            kept = {"key": key, "seed": seed, "val": val, "train": fit, "test": test}
    assert kept is not None
    kept["tests"] = tests
    return kept


def close_to(tasks: list[int], ours: list[float], paper: list[float], points: float = 3.0) -> list[int]:
    """The tasks whose error is at most ``points`` above the paper's."""
    return [t for t, e, p in zip(tasks, ours, paper, strict=True) if e <= p + points]


def with_flag(model: str, flag: str, on: bool) -> str:
    """``model`` with or without one of memn2n's flags (``tied``, ``empty``), its flags kept in their order."""
    name, *flags = model.split("-")
    size = flags.pop(0) if flags and "x" in flags[0] else "3x20"
    return "-".join([name, size, *sorted({*flags, flag} if on else set(flags) - {flag})])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--first-restart", type=int, default=0,
                        help="seed of the first restart (split the restarts of one table over processes)")
    parser.add_argument("--tasks", default=",".join(str(t) for t in range(1, 21)))
    parser.add_argument("--joint", action="store_true", help="also one model over all the tasks (d 50)")
    parser.add_argument("--only-joint", action="store_true", help="the joint model only")
    parser.add_argument("--recipe", choices=("paper", "adam"), default="paper")
    parser.add_argument("--answer-layer", choices=("preset", "tied", "linear"), default="preset",
                        help="the presets' answer layer, or tied to C^K (-tied), or the scenario's linear head")
    parser.add_argument("--empty-slots", choices=("preset", "softmax", "masked"), default="preset",
                        help="the presets' memory, or empty slots in the softmax with score 0 as the authors' code "
                             "(-empty), or empty slots without weight")
    parser.add_argument("--data-seed", type=int, default=0, help="seeds the story generator and the split")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="3 tasks, 2 restarts, 3+3 epochs: wiring only")
    args = parser.parse_args()
    tasks = [int(t) for t in args.tasks.split(",")]
    restarts = 2 if args.quick else args.restarts
    seeds = range(args.first_restart, args.first_restart + restarts)
    per_task, joint = load_preset(CONFIGS / "memn2n-paper.toml"), load_preset(CONFIGS / "memn2n-paper-joint.toml")
    quick = dict(epochs=3, linear_start_epochs=3, lr_step_epochs=2) if args.quick else {}
    if args.recipe == "adam":
        suited = lifelong.api.train_config("babi", {"threads": args.threads})
        plans = {"per task": ("memn2n", suited), "joint": ("memn2n", suited)}
    else:
        plans = {"per task": (per_task.model, dataclasses.replace(per_task.train, threads=args.threads, **quick)),
                 "joint": (joint.model, dataclasses.replace(joint.train, threads=args.threads, **quick))}
    if args.answer_layer != "preset":
        plans = {k: (with_flag(model, "tied", args.answer_layer == "tied"), tc) for k, (model, tc) in plans.items()}
    if args.empty_slots != "preset":
        plans = {k: (with_flag(model, "empty", args.empty_slots == "softmax"), tc) for k, (model, tc) in plans.items()}
    if args.quick:
        tasks = tasks[:3]
    print(f"# MemN2N, bAbI generated 1k (900 train / 100 validation / 1000 test per task), recipe {args.recipe}, "
          f"best of {restarts} (seeds {seeds.start}-{seeds.stop - 1}) on validation; {machine_line(args.threads)}"
          f"{'  QUICK (not comparable)' * args.quick}")
    ours: dict[str, list[float]] = {}
    if not args.only_joint:
        model, tc = plans["per task"]
        print(f"## each task alone: {model}, {tc.optimizer} lr {tc.lr}, {tc.linear_start_epochs} LS + {tc.epochs} "
              f"epochs, halved every {tc.lr_step_epochs}, clip {tc.clip_norm}")
        print(f"{'task':>4} {'kept':>4} {'train':>6} {'val':>6} {'test':>6} {'restarts: test min-max':>23} "
              f"{'PE LS RN':>9} {'PE':>6}   seconds")
        errors = []
        for t in tasks:
            start = time.perf_counter()
            stream, validation = hold_out(lifelong.streams.babi(tasks=(t,), seed=args.data_seed), 0.1, args.data_seed)
            kept = best_of(stream, validation, model, "finetune", tc, seeds)
            tests = [float(e[0]) for e in kept["tests"]]  # type: ignore[attr-defined]
            errors.append(100 * float(kept["test"][0]))  # type: ignore[index]
            train_error, val_error = 100 * kept["train"][0], 100 * kept["val"][0]  # type: ignore[index]
            print(f"{t:>4} {kept['seed']:>4} {train_error:>6.1f} {val_error:>6.1f} {errors[-1]:>6.1f} "
                  f"{100 * min(tests):>11.1f} - {100 * max(tests):<9.1f} {TABLE_1['PE LS RN'][t - 1]:>9.1f} "
                  f"{TABLE_1['PE'][t - 1]:>6.1f}   {time.perf_counter() - start:.0f}", flush=True)
        ours["per task"] = errors
        paper, plain = ([TABLE_1[column][t - 1] for t in tasks] for column in ("PE LS RN", "PE"))
        print(f"mean error over {len(tasks)} tasks: ours {statistics.mean(errors):.1f} %   Table 1 'PE LS RN' "
              f"{statistics.mean(paper):.1f} % (all 20: 13.9), 'PE' {statistics.mean(plain):.1f} %, LSTM {LSTM} %")
        print(f"failed tasks (error > 5 %): ours {sum(e > 5 for e in errors)}   Table 1 'PE LS RN' "
              f"{sum(e > 5 for e in paper)}")
        print(f"within 3 points of 'PE LS RN' or better: tasks {close_to(tasks, errors, paper)}")
    if args.joint or args.only_joint:
        model, tc = plans["joint"]
        start = time.perf_counter()
        stream, validation = hold_out(lifelong.streams.babi(tasks=tuple(tasks), seed=args.data_seed), 0.1,
                                      args.data_seed)
        kept = best_of(stream, validation, model, "joint", tc, seeds, verbose=True)
        errors = [100 * float(e) for e in kept["test"]]  # type: ignore[attr-defined]
        print(f"## all tasks jointly: {model}, {tc.linear_start_epochs} LS + {tc.epochs} epochs, halved every "
              f"{tc.lr_step_epochs}; kept restart {kept['seed']}, {time.perf_counter() - start:.0f} s")
        print(f"{'task':>4} {'val':>6} {'test':>6} {'PE LS RN joint':>15}")
        for i, t in enumerate(tasks):
            print(f"{t:>4} {100 * kept['val'][i]:>6.1f} {errors[i]:>6.1f} {TABLE_1['PE LS RN joint'][t - 1]:>15.1f}")  # type: ignore[index]
        paper = [TABLE_1["PE LS RN joint"][t - 1] for t in tasks]
        means = [100 * float(e.mean()) for e in kept["tests"]]  # type: ignore[attr-defined]
        print(f"mean error: ours {statistics.mean(errors):.1f} % (restarts: {min(means):.1f} - {max(means):.1f})   "
              f"Table 1 'PE LS RN joint' {statistics.mean(paper):.1f} %; failed: ours {sum(e > 5 for e in errors)}, "
              f"paper {sum(e > 5 for e in paper)}")
        print(f"within 3 points of 'PE LS RN joint' or better: tasks {close_to(tasks, errors, paper)}")


if __name__ == "__main__":
    main()
