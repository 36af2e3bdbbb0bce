"""A user's own data: one ``.npz`` file per task in a directory, learned in file-name order.

Each file holds ``x_train``, ``y_train``, ``x_test``, ``y_test`` (labels 0..k-1 within the task, or
global class ids for class-incremental streams). Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from lifelong._registry import STREAMS
from lifelong.data.mnist import DataError
from lifelong.streams.scenario import Scenario
from lifelong.streams.stream import Stream
from lifelong.streams.task import Split, Task

KEYS = ("x_train", "y_train", "x_test", "y_test")


def read_task_file(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of one task file, checked; problems raise :class:`DataError` naming the file."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing}; a task file needs {list(KEYS)}")
            arrays = {k: npz[k] for k in KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({err})") from err
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) == 0:
            raise DataError(f"{path}: the task is empty (no {split} examples)")
        if len(x) != len(y):
            raise DataError(f"{path}: {len(x)} {split} inputs but {len(y)} labels")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise DataError(f"{path}: y_{split} must hold non-negative integer labels")
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise DataError(f"{path}: x_{split} contains NaN or infinity")
    return arrays


@STREAMS.register("files", family="files")
def files_stream(root: str = "", scenario: str = "task") -> Stream:
    """Every ``*.npz`` under ``root`` is a task, in sorted file-name order.

    Args:
        root: the directory.
        scenario: ``task``, ``domain`` or ``class`` (then labels are global class ids).
    """
    directory = Path(root)
    if not directory.is_dir():
        raise DataError(f"{directory}: data directory does not exist")
    paths = sorted(directory.glob("*.npz"))
    if not paths:
        raise DataError(f"{directory}: no .npz task files found")
    kind = Scenario.parse(scenario)
    tasks = []
    shape: tuple[int, ...] | None = None
    for t, path in enumerate(paths):
        a = read_task_file(path)
        x_train = torch.from_numpy(a["x_train"]).float().reshape(len(a["x_train"]), -1)
        x_test = torch.from_numpy(a["x_test"]).float().reshape(len(a["x_test"]), -1)
        if shape is None:
            shape = tuple(x_train.shape[1:])
        if tuple(x_train.shape[1:]) != shape or tuple(x_test.shape[1:]) != shape:
            raise DataError(f"{path}: inputs have {x_train.shape[1]} features, earlier tasks {shape[0]}")
        y_train, y_test = torch.from_numpy(a["y_train"]).long(), torch.from_numpy(a["y_test"]).long()
        labels = sorted(set(y_train.tolist()) | set(y_test.tolist()))
        classes = tuple(labels) if kind is Scenario.CLASS else tuple(range(max(labels) + 1))
        tasks.append(Task(t, path.stem, Split(x_train, y_train), Split(x_test, y_test), classes))
    assert shape is not None
    params = {"root": str(directory), "scenario": kind.value}
    return Stream(f"files:{directory.name}", tuple(tasks), kind, shape, params)
