"""A user's own data: one ``.npz`` file per task in a directory, learned in file-name order.

Each file holds ``x_train``, ``y_train``, ``x_test``, ``y_test`` (labels 0..k-1 within the task, or
global class ids for class-incremental streams). Files are read by :func:`lifelong.data.files.read_npz`
(numeric arrays only, never pickle), and checked here for what a task needs, so that a bad file stops
with one line naming it and the array at fault instead of failing later inside training.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from lifelong._registry import STREAMS
from lifelong.data.files import path_kind, read_npz
from lifelong.errors import DataError, OptionError
from lifelong.streams.scenario import Scenario, ScenarioName
from lifelong.streams.stream import Stream
from lifelong.streams.task import Split, Task

KEYS = ("x_train", "y_train", "x_test", "y_test")


def read_task_file(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of one task file, checked; problems raise :class:`DataError` naming the file."""
    arrays = read_npz(path, KEYS, "a task file")
    for split in ("train", "test"):
        _check_split(path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    train, test = _features(arrays["x_train"]), _features(arrays["x_test"])
    if train != test:
        raise DataError(f"{path}: x_test has {test} features per example but x_train has {train}")
    return arrays


def _features(x: np.ndarray) -> int:
    """Values per example: the product of an input array's dimensions after the first."""
    return math.prod(x.shape[1:])


def _check_split(path: Path, split: str, x: np.ndarray, y: np.ndarray) -> None:
    """One split's inputs and labels: an example per row, integer labels, finite inputs."""
    for name, array in ((f"x_{split}", x), (f"y_{split}", y)):
        if array.ndim == 0:
            raise DataError(f"{path}: {name} is a single value (shape ()), expected one row per example")
    if y.ndim != 1:
        raise DataError(f"{path}: y_{split} has shape {y.shape}; labels must be a 1-D array, one per example")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: y_{split} has dtype {y.dtype}; labels must be integers")
    if len(x) == 0 or len(y) == 0:
        raise DataError(f"{path}: the task is empty (no {split} examples)")
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} {split} inputs but {len(y)} labels")
    if y.min() < 0:
        raise DataError(f"{path}: y_{split} holds negative labels (min {y.min()}); labels are class ids from 0")
    if _features(x) == 0:
        raise DataError(f"{path}: x_{split} has shape {x.shape}, no features per example")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError(f"{path}: x_{split} contains NaN or infinity")


def _check_stream(files: dict[Path, dict[str, np.ndarray]]) -> None:
    """Across files: one feature count, and labels that could be class ids of this much data.

    A label far above the number of examples would make a head of that many outputs (a label of
    2**40 would not fit in memory), so it is refused as the data error it almost surely is.
    """
    first, *_ = files
    width = _features(files[first]["x_train"])
    examples = sum(len(a["y_train"]) + len(a["y_test"]) for a in files.values())
    for path, arrays in files.items():
        if _features(arrays["x_train"]) != width:
            raise DataError(f"{path}: inputs have {_features(arrays['x_train'])} features, but {first} has {width}; "
                            "every task file needs the same")
        for name in ("y_train", "y_test"):
            if int(arrays[name].max()) >= examples:
                raise DataError(f"{path}: {name} holds label {arrays[name].max()}, but the stream has only "
                                f"{examples} examples; labels are class ids 0..k-1")


@STREAMS.register("files", family="files")
def files_stream(root: str = "", scenario: ScenarioName = "task") -> Stream:
    """Every ``*.npz`` under ``root`` is a task, in sorted file-name order.

    Args:
        root: the directory.
        scenario: ``task``, ``domain`` or ``class`` (then labels are global class ids).
    """
    if not root:
        raise OptionError("--stream.root: the files stream needs the folder that holds one .npz file per task")
    directory = Path(root)
    kind = path_kind(directory)
    if kind is None:
        raise DataError(f"{directory}: data directory does not exist")
    if kind != "dir":
        raise DataError(f"{directory}: is not a directory (the files stream reads a directory of .npz task files)")
    paths = sorted(directory.glob("*.npz"))
    if not paths:
        raise DataError(f"{directory}: no .npz task files found")
    kind = Scenario.parse(scenario)
    files = {path: read_task_file(path) for path in paths}
    _check_stream(files)
    tasks = tuple(_task(t, path, a, kind) for t, (path, a) in enumerate(files.items()))
    params = {"root": str(directory), "scenario": kind.value}
    return Stream(f"files:{directory.name}", tasks, kind, (tasks[0].train.x.shape[1],), params)


def _task(t: int, path: Path, a: dict[str, np.ndarray], kind: Scenario) -> Task:
    """Task ``t`` from checked arrays: inputs flattened to float32, labels as int64."""
    x_train = torch.from_numpy(a["x_train"]).float().reshape(len(a["x_train"]), -1)
    x_test = torch.from_numpy(a["x_test"]).float().reshape(len(a["x_test"]), -1)
    y_train, y_test = torch.from_numpy(a["y_train"]).long(), torch.from_numpy(a["y_test"]).long()
    labels = sorted(set(y_train.tolist()) | set(y_test.tolist()))
    classes = tuple(labels) if kind is Scenario.CLASS else tuple(range(max(labels) + 1))
    return Task(t, path.stem, Split(x_train, y_train), Split(x_test, y_test), classes)
