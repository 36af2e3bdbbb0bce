"""The commands of a deployed model: ``lifelong init | learn | evaluate | predict --state model.ll``.

    lifelong init --state s.ll --method ewc --model mlp-64 --scenario task --seed 0
    lifelong learn --state s.ll --task data/t1 [--json out.json]
    lifelong evaluate --state s.ll [--task data/t4 ...] [--json out.json]
    lifelong predict --state s.ll --input new.csv --out predictions.csv [--task-id 2]

A state file is only replaced once the new one is complete (the old one stays as ``s.ll.prev``);
any error — a bad row, a task whose features do not fit, a corrupt state — is one line, exit 2, and
leaves the state file byte for byte as it was.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from lifelong.data.files import read_npz, require_file
from lifelong.errors import DataError, OptionError
from lifelong.observers import Progress
from lifelong.report.tables import matrix_table, metrics_line
from lifelong.state import State
from lifelong.store import check_writable

TRAIN_SHORTCUTS = ("epochs", "iterations", "lr", "optimizer", "batch_size", "momentum", "threads", "device")


def add_deploy_parsers(sub: Any) -> None:
    init = sub.add_parser("init", help="a new deployed model: method, model, scenario, training (no data yet)",
                          description="Make a state file for a model that will learn task folders one at a time "
                                      "(lifelong learn). Takes run's options that do not depend on the data; "
                                      "--method.KEY and --train.KEY as in run; --stream.KEY for how task folders "
                                      "are read (label_column, image_size, channels, classes, holdout).")
    init.add_argument("--state", required=True, help="the state file to make (must not exist)")
    init.add_argument("--method", default="finetune", help="method name (default finetune)")
    init.add_argument("--model", default="mlp-400x2", help="backbone, e.g. mlp-64 or cnn-16-32 (default mlp-400x2)")
    init.add_argument("--scenario", default="task", choices=["task", "domain", "class"],
                      help="task-, domain- or class-incremental (default task)")
    init.add_argument("--seed", type=int, default=0, help="fixes the initial weights, data order, method sampling")
    init.add_argument("--init", default="default", help="weight initialisation {default,trunc-normal-0.1}")
    for flag in TRAIN_SHORTCUTS:
        init.add_argument(f"--{flag.replace('_', '-')}", dest=f"short_{flag}", metavar=flag.upper(),
                          help=f"= --train.{flag}")
    learn = sub.add_parser("learn", help="train a deployed model on one new task folder, evaluate, save",
                           description="Evaluate the model on the new task (R[i-1, i]), train on it, evaluate on "
                                       "every task learned so far, append the row to R and save the state.")
    learn.add_argument("--state", required=True, help="the state file (made by lifelong init)")
    learn.add_argument("--task", required=True, help="a task folder (train.csv/test.csv, train.npz/test.npz, or "
                                                    "train/<class>/ and test/<class>/ images)")
    learn.add_argument("--json", help="write the state's result (matrix with null where not measured, metrics, "
                                      "config) to this path")
    evaluate = sub.add_parser("evaluate", help="accuracy of a deployed model on its tasks (and others); no training")
    evaluate.add_argument("--state", required=True)
    evaluate.add_argument("--task", action="append", default=[], help="also a task folder not learned "
                                                                      "(domain/class scenarios); repeatable")
    evaluate.add_argument("--json", help="write the state's result and this evaluation to this path")
    predict = sub.add_parser("predict", help="a deployed model's predictions for new inputs; no training")
    predict.add_argument("--state", required=True)
    predict.add_argument("--input", required=True, help="a .csv of feature columns (a label column is ignored) or an "
                                                       ".npz with an array x")
    predict.add_argument("--out", required=True, help="CSV to write: one predicted class id per input row")
    predict.add_argument("--task-id", type=int, help="1-based task whose head predicts (task scenario; default the "
                                                     "last learned)")
    for command in (init, learn, evaluate, predict):
        command.add_argument("--quiet", action="store_true", help="no progress display")
        command.add_argument("--debug", action="store_true", help="show the traceback of an error")


def deploy_command(args: argparse.Namespace, extra: list[str], dotted: Any) -> int:
    if args.command == "init":
        return _init(args, dotted(extra))
    if extra:
        raise OptionError(f"unexpected arguments: {' '.join(extra)}")
    if getattr(args, "json", None):
        check_writable(args.json, "JSON file")
    state = State.load(args.state)
    if args.command == "learn":
        check_writable(args.state, "state file")
        result = state.learn(args.task, [] if args.quiet else [Progress(label=state.config["method"])]).to_dict()
        state.save(args.state)
        _print(result)
        _write_json(args.json, result)
        return 0
    if args.command == "evaluate":
        accuracies = state.evaluate(args.task)
        result = {**state.result().to_dict(), "evaluation": accuracies}
        width = max(len(n) for n in accuracies)
        print("\n".join(f"{name:<{width}}  {100 * a:6.1f} %" for name, a in accuracies.items()))
        _write_json(args.json, result)
        return 0
    check_writable(args.out, "predictions file")
    x = _inputs(Path(args.input), state.config["stream"].get("label_column", "label"))
    task = None if args.task_id is None else args.task_id - 1
    predicted = state.predict(x, task, source=args.input)
    with Path(args.out).open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "prediction"])
        writer.writerows((i + 1, int(p)) for i, p in enumerate(predicted))
    print(f"wrote {len(predicted)} predictions to {args.out}")
    return 0


def _init(args: argparse.Namespace, given: dict[str, dict[str, str]]) -> int:
    target = Path(args.state)
    if target.exists():
        raise OptionError(f"--state {target}: exists already; a new state needs a new file (learn continues one)")
    check_writable(target, "state file")
    for flag in TRAIN_SHORTCUTS:
        value = getattr(args, f"short_{flag}")
        if value is not None:
            given["train"][flag] = value
    if args.seed < 0:
        raise OptionError(f"--seed: must be at least 0, got {args.seed}")
    state = State.init(args.method, args.model, scenario=args.scenario, seed=args.seed, init=args.init,
                       method_params=given["method"], train=given["train"], stream_params=given["stream"])
    state.save(target)
    print(f"made {target}: {args.method} on {args.model}, {args.scenario}-incremental, seed {args.seed}; "
          f"no task learned yet (lifelong learn --state {target} --task DIR)")
    return 0


def _print(result: dict[str, Any]) -> None:
    print(f"{matrix_table(result)}\n{metrics_line(result)}")
    unknown = sum(1 for row in result["matrix"] for v in row if v is None or (isinstance(v, float) and math.isnan(v)))
    if unknown:
        print(f"('-': {unknown} entries R[i, j] with j > i + 1 are not measured when tasks arrive one by one)")


def _write_json(path: str | None, result: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(_nulls(result), indent=2, default=str) + "\n")


def _nulls(value: Any) -> Any:
    """NaN (not measured) as JSON null, everywhere."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nulls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nulls(v) for v in value]
    return value


def _inputs(path: Path, label_column: str) -> np.ndarray:
    """Model inputs from a ``.npz`` (array ``x``) or a CSV of feature columns (a label column is ignored)."""
    require_file(path)
    if path.suffix == ".npz":
        return read_npz(path, ["x"])["x"]
    if path.suffix != ".csv":
        raise DataError(f"{path}: inputs are a .csv of feature columns or an .npz with an array x")
    rows: list[list[float]] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: empty (expected a header line of feature column names)")
        keep = [i for i, name in enumerate(header) if name.strip() != label_column]
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataError(f"{path}: line {line}: {len(row)} values, the header names {len(header)} columns")
            values = []
            for i in keep:
                try:
                    value = float(row[i])
                except ValueError:
                    raise DataError(f"{path}: line {line}: column {header[i]!r} holds {row[i]!r}, not a number") \
                        from None
                if not math.isfinite(value):
                    raise DataError(f"{path}: line {line}: column {header[i]!r} holds {row[i]!r}, not a finite number")
                values.append(value)
            rows.append(values)
    if not rows:
        raise DataError(f"{path}: no rows to predict")
    return np.asarray(rows, dtype=np.float32)
