"""A user's own data: a folder per task under one root (or one ``.npz`` file per task), no code needed.

A task is a folder ``root/<task>/`` holding one of these formats (test split optional, see ``holdout``):

- ``train.npz`` and ``test.npz``, each with arrays ``x`` (examples first) and ``y`` (integer labels);
- one ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (also directly as ``root/<task>.npz``);
- ``train.csv`` and ``test.csv``: a header line, a label column (``label``, or ``label_column``) and
  numeric feature columns;
- ``train/<class>/*.png|jpg`` and ``test/<class>/...``: the folder name is the class.

Tasks are learned in sorted name order, or in the order ``root/tasks.toml`` lists them::

    tasks = ["spring", "summer", "autumn"]   # folders (or .npz files) under root
    classes = ["cat", "dog", "fox"]          # optional: every valid class name, in id order

Labels: integer labels (``y`` arrays, a CSV label column of integers only) are class ids, kept as
given. Class names (image folders, CSV labels that are text) get one id per name for the whole
stream, so a class named in task 1 and in task 3 is one class to a class-incremental head: its
position among the declared ``classes``, else the order names first appear (tasks in order, names
sorted within a task). Task- and domain-incremental targets of named classes are their index within
the task. Ids and names in one stream are refused as a likely mistake, unless classes are declared:
then every CSV label is a name that must be among them, and ``y`` ids must be below their number.

Inputs: npz and CSV inputs are stored as float32, as given; images are stored once as uint8
``(N, C, H, W)`` and scaled to [0, 1] as each batch is drawn. Model inputs are flat vectors either
way; the stream's ``input_shape`` keeps an example's shape (``(C, H, W)`` for images), which a
``cnn`` backbone needs.

Every file is read through :mod:`lifelong.data.files` (numeric arrays only, never pickle) and checked
here for what a stream needs, so a bad file stops with one line naming it (and the line or image)
instead of failing later inside training.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from lifelong._registry import STREAMS
from lifelong.data.files import ImageSplit, path_kind, read_csv, read_image_splits, read_npz, reason, require_file
from lifelong.errors import DataError, OptionError
from lifelong.streams.scenario import Scenario, ScenarioName
from lifelong.streams.stream import Stream
from lifelong.streams.task import ImagePipeline, Split, Task

KEYS = ("x_train", "y_train", "x_test", "y_test")
Channels = Literal["auto", "gray", "rgb"]
_FORMATS = {"npz": ("train.npz", "test.npz"), "csv": ("train.csv", "test.csv"), "images": ("train", "test")}
_INTEGER = re.compile(r"[+-]?\d+")
_DECLARE = "declare the class names (classes = [...] in tasks.toml, or --stream.classes)"


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


def _check_split(path: Path, split: str, x: np.ndarray, y: np.ndarray, names: tuple[str, str] | None = None) -> None:
    """One split's inputs and labels: an example per row, integer labels, finite inputs.

    ``names`` are the arrays' names in the file (``("x", "y")`` in ``train.npz``), ``x_<split>`` and
    ``y_<split>`` by default.
    """
    xn, yn = names or (f"x_{split}", f"y_{split}")
    for name, array in ((xn, x), (yn, y)):
        if array.ndim == 0:
            raise DataError(f"{path}: {name} is a single value (shape ()), expected one row per example")
    if y.ndim != 1:
        raise DataError(f"{path}: {yn} has shape {y.shape}; labels must be a 1-D array, one per example")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: {yn} has dtype {y.dtype}; labels must be integers")
    if len(x) == 0 or len(y) == 0:
        raise DataError(f"{path}: the task is empty (no {split} examples)")
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} {split} inputs but {len(y)} labels")
    if y.min() < 0:
        raise DataError(f"{path}: {yn} holds negative labels (min {y.min()}); labels are class ids from 0")
    if _features(x) == 0:
        raise DataError(f"{path}: {xn} has shape {x.shape}, no features per example")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError(f"{path}: {xn} contains NaN or infinity")


@dataclass(frozen=True)
class _Split:
    """One split as read: inputs, and labels either as integer class ids or as class names.

    Attributes:
        source: the file or folder it came from, named first in messages.
        x: the inputs, examples first (uint8 ``(N, C, H, W)`` for images).
        ids: integer class ids as given, or None when the labels are names.
        names: each example's class name, or None when the labels are ids.
        label: how messages name the labels (``"y_train"``, ``"column 'label'"``).
        lines: for a CSV, each example's line in the file, so a bad label is named by its line.
        columns: for a CSV, the feature columns' names.
        images: whether ``x`` holds uint8 pixels (scaled to [0, 1] when drawn) rather than features.
    """

    source: Path
    x: np.ndarray
    ids: np.ndarray | None
    names: tuple[str, ...] | None
    label: str
    lines: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()
    images: bool = False

    def where(self, i: int) -> str:
        """``"<file>: line 7: column 'label'"`` for a CSV row, ``"<file>: y"`` for an array."""
        return f"{self.source}: line {self.lines[i]}: {self.label}" if self.lines else f"{self.source}: {self.label}"

    def take(self, index: np.ndarray) -> _Split:
        """The examples at ``index`` (a seeded holdout's part), same source."""
        pick = index.tolist()
        return dataclasses.replace(
            self, x=self.x[index], ids=None if self.ids is None else self.ids[index],
            names=None if self.names is None else tuple(self.names[i] for i in pick),
            lines=tuple(self.lines[i] for i in pick) if self.lines else ())


@dataclass(frozen=True)
class _Raw:
    """A task as read from its folder or file, before labels are mapped to the scenario's targets."""

    name: str
    path: Path
    train: _Split
    test: _Split | None


@STREAMS.register("files", family="files")
def files_stream(
    root: str = "",
    scenario: ScenarioName = "task",
    label_column: str = "label",
    image_size: str | int = "",
    channels: Channels = "auto",
    classes: tuple[str, ...] = (),
    holdout: float = 0.0,
    seed: int = 0,
) -> Stream:
    """Your own tasks: a folder per task under root, in npz, CSV or image-folder form (see the module doc).

    Args:
        root: the directory of task folders (or ``.npz`` task files), optionally with ``tasks.toml``.
        scenario: ``task``, ``domain`` or ``class`` (one head over the global class ids).
        label_column: the CSV column that holds the labels; every other column is a feature.
        image_size: ``WIDTHxHEIGHT`` or one number for squares; every image is resized to it. Empty:
            every image must already have one size.
        channels: ``gray`` (1 channel), ``rgb`` (3), or ``auto``: RGB when any image is in colour.
        classes: every valid class name, in id order (overrides ``classes`` in ``tasks.toml``); a
            label outside them is refused.
        holdout: the fraction of a task's training examples held out as its test split when the task
            has none (0: a task without a test split is refused).
        seed: draws the holdout (the run's seed, when the stream is built by ``run``).
    """
    if not root:
        raise OptionError("--stream.root: the files stream needs the folder that holds a folder (or .npz) per task")
    scenario_kind = Scenario.parse(scenario)
    size = _parse_size(image_size)
    if channels not in ("auto", "gray", "rgb"):
        raise OptionError(f"--stream.channels: {channels!r} is not one of auto, gray, rgb")
    if not label_column:
        raise OptionError("--stream.label_column: must name a column")
    if not 0 <= holdout < 1:
        raise OptionError(f"--stream.holdout: must be at least 0 and below 1, got {holdout}")
    directory = Path(root)
    kind = path_kind(directory)
    if kind is None:
        raise DataError(f"{directory}: data directory does not exist")
    if kind != "dir":
        raise DataError(f"{directory}: is not a directory (the files stream reads a directory of task folders or "
                        ".npz task files)")
    paths, listed_classes = _task_paths(directory)
    declared = _declared(classes or listed_classes)
    # Options left at their defaults stay out of the recorded parameters, so run ids made before they existed hold.
    params: dict[str, object] = {"root": str(directory), "scenario": scenario_kind.value}
    if label_column != "label":
        params["label_column"] = label_column
    if size is not None:
        params["image_size"] = f"{size[0]}x{size[1]}"
    if channels != "auto":
        params["channels"] = channels
    if classes:
        params["classes"] = list(classes)
    if holdout:
        params |= {"holdout": holdout, "seed": seed}
    return task_folders_stream(paths, scenario_kind, label_column=label_column, size=size, channels=channels,
                               declared=declared, holdout=holdout, seed=seed, name=f"files:{directory.name}",
                               params=params)


def task_folders_stream(
    paths: list[Path], scenario: Scenario, *, label_column: str = "label", size: tuple[int, int] | None = None,
    channels: str = "auto", declared: tuple[str, ...] = (), holdout: float = 0.0, seed: int = 0,
    name: str = "files", params: dict[str, object] | None = None,
) -> Stream:
    """The stream of these task folders (or ``.npz`` task files) in this order, read and checked as
    :func:`files_stream` reads a root's. Every rule is one a prefix keeps (class ids by first
    appearance, a holdout drawn from the seed and the task's position), so the first k tasks of a
    stream are the tasks of its first k folders: a deployed model that learns folder after folder
    (``lifelong learn``) meets exactly the tasks ``lifelong run`` meets."""
    raws = _read_tasks(paths, label_column, declared, size, channels)
    pairs = [_with_test(raw, t, holdout, seed) for t, raw in enumerate(raws)]
    splits = [split for pair in pairs for split in pair]
    _check_stream(splits, declared)
    ids_of = _class_ids(pairs, declared)
    tasks = tuple(_task(t, raw.name, train, test, scenario, ids_of)
                  for t, (raw, (train, test)) in enumerate(zip(raws, pairs, strict=True)))
    return Stream(name, tasks, scenario, _input_shape(splits), dict(params or {}), label_space=len(declared))


def _parse_size(image_size: str | int) -> tuple[int, int] | None:
    """``"32x28"`` -> (32, 28) (width, height); ``"28"`` or 28 -> (28, 28); ``""`` -> None."""
    text = str(image_size).strip().lower()
    if not text:
        return None
    m = re.fullmatch(r"(\d+)(?:x(\d+))?", text)
    if not m or int(m[1]) < 1 or int(m[2] or m[1]) < 1:
        raise OptionError(f"--stream.image_size: expected WIDTHxHEIGHT or one number for squares (e.g. 28x28 or 28), "
                          f"got {image_size!r}")
    return int(m[1]), int(m[2] or m[1])


def _declared(classes: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for name in classes:
        if name in seen:
            raise OptionError(f"--stream.classes: class {name!r} is declared twice")
        seen.add(name)
    return classes


def _task_paths(root: Path) -> tuple[list[Path], tuple[str, ...]]:
    """The tasks in order and the classes ``tasks.toml`` declares; without it, folders and .npz by name."""
    listing = root / "tasks.toml"
    if path_kind(listing) is None:
        return _folder_tasks(root), ()
    require_file(listing)
    try:
        table = tomllib.loads(listing.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise DataError(f"{listing}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except (tomllib.TOMLDecodeError, OSError) as err:
        raise DataError(f"{listing}: not valid TOML ({reason(err)})") from None
    unknown = sorted(set(table) - {"tasks", "classes"})
    if unknown:
        raise DataError(f"{listing}: unknown key {unknown[0]!r}; valid: classes, tasks")
    for key, value in table.items():
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise DataError(f"{listing}: {key} must be a non-empty list of names, e.g. {key} = [\"a\", \"b\"]")
    if "tasks" not in table:
        return _folder_tasks(root), _listed_classes(listing, table)
    paths: list[Path] = []
    for name in table["tasks"]:
        path = root / name
        if path in paths:
            raise DataError(f"{listing}: task {name!r} is listed twice")
        if path_kind(path) is None:
            raise DataError(f"{path}: task does not exist (listed in {listing})")
        paths.append(path)
    return paths, _listed_classes(listing, table)


def _folder_tasks(root: Path) -> list[Path]:
    """Without a list: every folder and ``.npz`` file under ``root`` (hidden ones aside), sorted by name."""
    paths = sorted(p for p in root.iterdir()
                   if not p.name.startswith(".") and (p.is_dir() or (p.suffix == ".npz" and p.is_file())))
    if not paths:
        raise DataError(f"{root}: no tasks found (expected a folder per task, or .npz task files)")
    return paths


def _listed_classes(listing: Path, table: dict[str, list[str]]) -> tuple[str, ...]:
    try:
        return _declared(tuple(table.get("classes", ())))
    except OptionError as err:
        raise DataError(f"{listing}: {str(err).removeprefix('--stream.')}") from None


def _layout(path: Path) -> tuple[str, Path, Path | None]:
    """A task's format (``npz``, ``csv``, ``images`` or ``task-npz``), its train source and its test source."""
    if path_kind(path) == "file":
        if path.suffix != ".npz":
            raise DataError(f"{path}: a task is a folder or an .npz file")
        return "task-npz", path, None
    try:
        entries = {p.name: p for p in path.iterdir() if not p.name.startswith(".")}
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({reason(err)})") from None
    single = sorted(p.name for p in entries.values() if p.suffix == ".npz" and p.name not in ("train.npz", "test.npz"))
    if len(single) > 1:
        raise DataError(f"{path}: holds several .npz task files ({', '.join(single)}); a task folder holds one")
    found = [(fmt, train) for fmt, (train, _) in _FORMATS.items() if train in entries]
    found += [("task-npz", name) for name in single]
    if len(found) > 1:
        raise DataError(f"{path}: holds {' and '.join(name for _, name in found)}; a task folder holds one format")
    if not found:
        raise DataError(f"{path}: no task data (train.npz, train.csv, train/<class>/ images, or one .npz with "
                        "x_train, y_train, x_test, y_test)")
    fmt, train = found[0]
    if fmt == "task-npz":
        return fmt, entries[train], None
    test = _FORMATS[fmt][1]
    other = [name for f, (_, name) in _FORMATS.items() if f != fmt and name in entries]
    if other:
        raise DataError(f"{entries[other[0]]}: the task's training split is {train}; both splits need one format")
    return fmt, entries[train], entries.get(test)


def _read_tasks(paths: list[Path], label_column: str, declared: tuple[str, ...], size: tuple[int, int] | None,
                channels: str) -> list[_Raw]:
    """Every task's splits; image folders of all tasks are read together, as they share one shape."""
    layouts = [(path, *_layout(path)) for path in paths]
    folders = [s for _, fmt, train, test in layouts if fmt == "images" for s in (train, test) if s is not None]
    images = dict(zip(folders, read_image_splits(folders, size, channels), strict=True)) if folders else {}
    raws = []
    for path, fmt, train, test in layouts:
        if fmt == "task-npz":
            a = read_task_file(train)
            raws.append(_Raw(path.stem if train == path else path.name, path,
                             _Split(train, a["x_train"], a["y_train"], None, "y_train"),
                             _Split(train, a["x_test"], a["y_test"], None, "y_test")))
        elif fmt == "images":
            raws.append(_Raw(path.name, path, _image_split(images[train]),
                             None if test is None else _image_split(images[test])))
        elif fmt == "csv":
            raws.append(_Raw(path.name, path, _read_csv_split(train, label_column, declared),
                             None if test is None else _read_csv_split(test, label_column, declared)))
        else:
            raws.append(_Raw(path.name, path, _read_npz_split(train, "train"),
                             None if test is None else _read_npz_split(test, "test")))
    return raws


def _read_npz_split(path: Path, split: str) -> _Split:
    """``train.npz`` or ``test.npz``: arrays ``x`` and ``y``, checked like a task file's."""
    arrays = read_npz(path, ("x", "y"), "a split file")
    _check_split(path, split, arrays["x"], arrays["y"], ("x", "y"))
    return _Split(path, arrays["x"], arrays["y"], None, "y")


def _read_csv_split(path: Path, label_column: str, declared: tuple[str, ...]) -> _Split:
    """A CSV split; its labels are class ids when all are integers (and no names are declared), else names."""
    table = read_csv(path, label_column)
    split = _Split(path, table.x, None, table.labels, f"column {label_column!r}", table.lines, table.columns)
    if declared:
        return split
    integer = [bool(_INTEGER.fullmatch(label)) for label in table.labels]
    if not any(integer):
        return split
    if not all(integer):
        odd = integer.index(sum(integer) < len(integer) / 2)  # the first label of the rarer kind
        kinds = ("an integer", "class names") if integer[odd] else ("a class name", "integer class ids")
        raise DataError(f"{split.where(odd)} holds {table.labels[odd]!r}, {kinds[0]}, but most labels are {kinds[1]}; "
                        f"to use names that look like numbers, {_DECLARE}")
    ids = np.array([int(label) for label in table.labels], np.int64)
    if ids.min() < 0:
        i = int(ids.argmin())
        raise DataError(f"{split.where(i)} holds label {ids[i]}; class ids start at 0")
    return dataclasses.replace(split, ids=ids, names=None)


def _image_split(images: ImageSplit) -> _Split:
    return _Split(images.folder, images.x, None, images.names, "class", images=True)


def _with_test(raw: _Raw, t: int, holdout: float, seed: int) -> tuple[_Split, _Split]:
    """The task's training and test splits: its own test split, or a seeded ``holdout`` fraction of its training
    examples (drawn by the seed and the task's position, so tasks differ and the same seed gives the same split)."""
    if raw.test is not None:
        return raw.train, raw.test
    if not holdout:
        raise DataError(f"{raw.path}: no test split (test.npz, test.csv or test/); add one, or hold out a seeded "
                        "fraction of the training examples with --stream.holdout 0.2")
    n = len(raw.train.x)
    n_test = round(holdout * n)
    if not 0 < n_test < n:
        raise DataError(f"{raw.train.source}: holding out {holdout} of {n} examples leaves {n - n_test} to train and "
                        f"{n_test} to test; each needs at least one")
    order = np.random.default_rng([seed, t]).permutation(n)
    return raw.train.take(np.sort(order[n_test:])), raw.train.take(np.sort(order[:n_test]))


def _check_stream(splits: list[_Split], declared: tuple[str, ...]) -> None:
    """Across tasks: one feature count (and one set of CSV columns), one kind of label, labels in range.

    A label far above the number of examples would make a head of that many outputs (a label of
    2**40 would not fit in memory), so it is refused as the data error it almost surely is.
    """
    first = splits[0]
    width = _features(first.x)
    csv_first = next((s for s in splits if s.columns), None)
    for split in splits:
        if _features(split.x) != width:
            raise DataError(f"{split.source}: inputs have {_features(split.x)} features, but {first.source} has "
                            f"{width}; every task file needs the same")
        if csv_first is not None and split.columns and split.columns != csv_first.columns:
            c = next(i for i, (a, b) in enumerate(zip(split.columns, csv_first.columns, strict=True)) if a != b)
            raise DataError(f"{split.source}: line 1: feature column {c + 1} is {split.columns[c]!r} but "
                            f"{csv_first.source} has {csv_first.columns[c]!r}; every CSV needs the same columns")
    if declared:
        _check_declared(splits, declared)
        return
    named = next((s for s in splits if s.names is not None), None)
    numbered = next((s for s in splits if s.ids is not None), None)
    if named is not None and numbered is not None:
        later = max(named, numbered, key=splits.index)
        kind = "class names" if later is named else "integer class ids"
        earlier = numbered if later is named else named
        raise DataError(f"{later.source}: labels are {kind}, unlike those of {earlier.source}; give every task "
                        f"the same kind of labels, or {_DECLARE}")
    examples = sum(len(s.x) for s in splits)
    for split in splits:
        if split.ids is not None and int(split.ids.max()) >= examples:
            i = int(split.ids.argmax())
            raise DataError(f"{split.where(i)} holds label {split.ids[i]}, but the stream has only {examples} "
                            "examples; labels are class ids 0..k-1")


def _check_declared(splits: list[_Split], declared: tuple[str, ...]) -> None:
    """Every label is one of the declared classes: a name among them, or an id below their number."""
    valid = set(declared)
    for split in splits:
        if split.names is not None:
            i = next((i for i, name in enumerate(split.names) if name not in valid), None)
            if i is not None:
                where = split.where(i) if split.lines else f"{split.source / split.names[i]}: class"
                raise DataError(f"{where} {split.names[i]!r} is not one of the declared classes "
                                f"({', '.join(declared)})")
        elif split.ids is not None and int(split.ids.max()) >= len(declared):
            i = int(split.ids.argmax())
            raise DataError(f"{split.where(i)} holds label {split.ids[i]}, outside the {len(declared)} declared "
                            f"classes (ids 0..{len(declared) - 1})")


def _class_ids(pairs: list[tuple[_Split, _Split]], declared: tuple[str, ...]) -> dict[str, int]:
    """One id per class name for the whole stream: the declared order, else first appearance.

    First appearance walks the tasks in order and each task's names sorted, so a class-incremental
    head meets ids 0, 1, 2, ... in the order it learns them.
    """
    if declared:
        return {name: i for i, name in enumerate(declared)}
    ids: dict[str, int] = {}
    for pair in pairs:
        for name in sorted({name for split in pair for name in split.names or ()}):
            ids.setdefault(name, len(ids))
    return ids


def _input_shape(splits: list[_Split]) -> tuple[int, ...]:
    """One example's shape when every split agrees on it (``(C, H, W)`` for images), else the feature count."""
    shapes = {s.x.shape[1:] for s in splits}
    return shapes.pop() if len(shapes) == 1 else (_features(splits[0].x),)


def _task(t: int, name: str, train: _Split, test: _Split, kind: Scenario, ids_of: dict[str, int]) -> Task:
    """Task ``t`` from checked splits: targets in the scenario's space, inputs stored once."""
    if train.ids is not None and test.ids is not None:  # class ids as given, as the single .npz always had
        y_train, y_test = torch.from_numpy(train.ids).long(), torch.from_numpy(test.ids).long()
        labels = sorted(set(y_train.tolist()) | set(y_test.tolist()))
        classes = tuple(labels) if kind is Scenario.CLASS else tuple(range(max(labels) + 1))
    else:
        g_train, g_test = _global_ids(train, ids_of), _global_ids(test, ids_of)
        classes = tuple(sorted(set(g_train.tolist()) | set(g_test.tolist())))
        if kind is not Scenario.CLASS:  # a named class's target is its index among the task's classes
            g_train, g_test = np.searchsorted(classes, g_train), np.searchsorted(classes, g_test)
        y_train, y_test = torch.from_numpy(g_train).long(), torch.from_numpy(g_test).long()
    if train.images:
        x_train, x_test = torch.from_numpy(train.x), torch.from_numpy(test.x)
        return Task(t, name, Split(x_train, y_train), Split(x_test, y_test), classes, ImagePipeline())
    x_train = torch.from_numpy(train.x).float().reshape(len(train.x), -1)
    x_test = torch.from_numpy(test.x).float().reshape(len(test.x), -1)
    return Task(t, name, Split(x_train, y_train), Split(x_test, y_test), classes)


def _global_ids(split: _Split, ids_of: dict[str, int]) -> np.ndarray:
    """A split's labels as global class ids: names looked up, ids (declared classes present) as given."""
    if split.ids is not None:
        return split.ids.astype(np.int64)
    return np.array([ids_of[name] for name in split.names or ()], np.int64)
