"""The ``files`` stream over task folders: formats, task order, class ids across tasks, holdouts, errors.

Data are written here in each format a user may hand in, then read back through ``files_stream``:
what the tasks hold must equal what was written, a class named in two tasks must be one class, and
every bad folder must stop with one line naming the file (and the line or image).
"""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lifelong
from conftest import one_line_error
from lifelong.cli import main
from lifelong.errors import DataError, OptionError
from lifelong.streams.files import files_stream
from lifelong.streams.task import eval_batch

_message = partial(one_line_error, DataError)


def _csv(path: Path, rows: list[list[object]], header: tuple[str, ...] = ("f1", "f2", "label")) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _csv_task(folder: Path, classes: tuple[str, ...], n: int = 4, offset: float = 0.0, test: bool = True) -> None:
    """``n`` rows per class and split; row k of class c has features (offset + 10 c + k, -k)."""
    for split in ("train", "test") if test else ("train",):
        _csv(folder / f"{split}.csv", [[offset + 10 * c + k, -k, name] for c, name in enumerate(classes)
                                       for k in range(n)])


def _png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _stripes(vertical: bool, k: int, side: int = 8) -> np.ndarray:
    image = np.zeros((side, side), np.uint8)
    if vertical:
        image[:, k] = 255
    else:
        image[k, :] = 255
    return image


def _image_task(folder: Path, classes: dict[str, bool], n: int = 6) -> None:
    """Class name -> vertical (True) or horizontal stripes; ``n`` train and ``n`` test images per class."""
    for split in ("train", "test"):
        for name, vertical in classes.items():
            for k in range(n):
                _png(folder / split / name / f"{k}.png", _stripes(vertical, (k + (split == "test")) % 8))


# -- formats -----------------------------------------------------------------------------------------


def test_csv_tasks_read_what_was_written_with_one_id_per_class_name(tmp_path: Path) -> None:
    _csv_task(tmp_path / "t1", ("cat", "dog"))
    _csv_task(tmp_path / "t2", ("fox", "owl"))
    _csv_task(tmp_path / "t3", ("owl", "cat"))  # written in this order; names sort within a task
    stream = files_stream(str(tmp_path), scenario="class")
    assert [t.name for t in stream] == ["t1", "t2", "t3"] and stream.input_shape == (2,)
    assert [t.classes for t in stream] == [(0, 1), (2, 3), (0, 3)]  # cat 0, dog 1, fox 2, owl 3
    assert torch.equal(stream[2].train.y, torch.tensor([3] * 4 + [0] * 4))
    expected = torch.tensor([[10 * c + k, -k] for c in range(2) for k in range(4)], dtype=torch.float32)
    assert torch.equal(stream[0].train.x, expected) and torch.equal(stream[0].test.x, expected)
    task = files_stream(str(tmp_path), scenario="task")
    assert [t.classes for t in task] == [(0, 1), (2, 3), (0, 3)]
    assert torch.equal(task[2].train.y, torch.tensor([1] * 4 + [0] * 4))  # owl is the task's 2nd class (id 3 > 0)


def test_integer_csv_labels_are_class_ids_as_given(tmp_path: Path) -> None:
    _csv(tmp_path / "a" / "train.csv", [[1, 2, 2], [3, 4, 3], [5, 6, 2]])
    _csv(tmp_path / "a" / "test.csv", [[5, 6, 3], [7, 8, 2]])
    stream = files_stream(str(tmp_path), scenario="class")
    assert stream[0].classes == (2, 3) and torch.equal(stream[0].train.y, torch.tensor([2, 3, 2]))
    assert files_stream(str(tmp_path))[0].classes == (0, 1, 2, 3)  # task-incremental: ids are the task's targets


def test_another_label_column(tmp_path: Path) -> None:
    header = ("species", "x")
    _csv(tmp_path / "a" / "train.csv", [["b", 1.0], ["a", 2.0]], header)
    _csv(tmp_path / "a" / "test.csv", [["a", 3.0]], header)
    stream = files_stream(str(tmp_path), scenario="class", label_column="species")
    assert torch.equal(stream[0].train.y, torch.tensor([1, 0])) and stream.input_shape == (1,)
    assert stream.params["label_column"] == "species"
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{tmp_path / 'a' / 'train.csv'}: line 1: no column 'label' among species, x; "
        "name the label column with --stream.label_column"
    )


def test_split_npz_files_and_a_single_npz_per_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(6, 2, 3)).astype(np.float32), rng.normal(size=(3, 2, 3)).astype(np.float32)
    (tmp_path / "a").mkdir()
    np.savez(tmp_path / "a" / "train.npz", x=x_train, y=np.array([0, 1, 2, 0, 1, 2]))
    np.savez(tmp_path / "a" / "test.npz", x=x_test, y=np.array([2, 1, 0]))
    (tmp_path / "b").mkdir()
    np.savez(tmp_path / "b" / "data.npz", x_train=x_train, y_train=np.zeros(6, int), x_test=x_test,
             y_test=np.ones(3, int))
    stream = files_stream(str(tmp_path))
    assert [t.name for t in stream] == ["a", "b"] and stream.input_shape == (2, 3)
    assert torch.equal(stream[0].train.x, torch.from_numpy(x_train).reshape(6, 6))
    assert torch.equal(stream[0].test.y, torch.tensor([2, 1, 0])) and torch.equal(stream[1].test.y, torch.ones(3))


def test_image_folders_store_uint8_and_share_class_ids(tmp_path: Path) -> None:
    _image_task(tmp_path / "t1", {"horizontal": False, "vertical": True})
    _image_task(tmp_path / "t2", {"vertical": True, "dot": False})
    stream = files_stream(str(tmp_path), scenario="class")
    assert stream.input_shape == (1, 8, 8)
    assert [t.classes for t in stream] == [(0, 1), (1, 2)]  # horizontal 0, vertical 1, dot 2
    first = stream[0]
    assert first.train.x.dtype == torch.uint8 and first.train.x.shape == (12, 1, 8, 8)
    assert torch.equal(first.train.x[6, 0], torch.from_numpy(_stripes(True, 0)))
    batch = eval_batch(first)
    assert batch.x.dtype == torch.float32 and batch.x.shape == (12, 64) and float(batch.x.max()) == 1.0


def test_tasks_toml_orders_the_tasks_and_declares_the_classes(tmp_path: Path) -> None:
    _csv_task(tmp_path / "b", ("dog", "cat"))
    _csv_task(tmp_path / "a", ("cat",))
    _image_task(tmp_path / "unused", {"x": True})  # not listed: not read
    (tmp_path / "tasks.toml").write_text('tasks = ["b", "a"]\nclasses = ["dog", "cat"]\n')
    stream = files_stream(str(tmp_path), scenario="class")
    assert [t.name for t in stream] == ["b", "a"] and [t.classes for t in stream] == [(0, 1), (1,)]
    overridden = files_stream(str(tmp_path), scenario="class", classes=("cat", "dog"))
    assert [t.classes for t in overridden] == [(0, 1), (0,)] and overridden.params["classes"] == ["cat", "dog"]


def test_a_holdout_is_seeded_and_disjoint(tmp_path: Path) -> None:
    _csv_task(tmp_path / "t1", ("a", "b"), n=10, test=False)
    _csv_task(tmp_path / "t2", ("a", "b"), n=10, offset=0.5, test=False)
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{tmp_path / 't1'}: no test split (test.npz, test.csv or test/); add one, or hold out a seeded fraction "
        "of the training examples with --stream.holdout 0.2"
    )
    stream = files_stream(str(tmp_path), holdout=0.25, seed=3)
    assert stream.params == {"root": str(tmp_path), "scenario": "task", "holdout": 0.25, "seed": 3}
    rows = {tuple(r) for r in stream[0].train.x.tolist()}, {tuple(r) for r in stream[0].test.x.tolist()}
    assert len(rows[0]) == 15 and len(rows[1]) == 5 and not rows[0] & rows[1]
    assert rows[0] | rows[1] == {(10.0 * c + k, -k) for c in range(2) for k in range(10)}

    def held_out(seed: int, t: int = 0) -> torch.Tensor:
        return files_stream(str(tmp_path), holdout=0.25, seed=seed)[t].test.x[:, 0] % 10

    assert torch.equal(held_out(3), held_out(3)) and not torch.equal(held_out(3), held_out(4))
    assert not torch.equal(held_out(3, 0), held_out(3, 1) - 0.5)  # each task draws its own
    with pytest.raises(OptionError, match="--stream.holdout: must be at least 0 and below 1, got 1.0"):
        files_stream(str(tmp_path), holdout=1.0)


# -- what is refused -----------------------------------------------------------------------------------


def test_feature_counts_and_columns_must_agree_across_tasks(tmp_path: Path) -> None:
    _csv_task(tmp_path / "t1", ("a",))
    third = _csv(tmp_path / "t2" / "train.csv", [[1, 2, 3, "a"]], ("f1", "f2", "f3", "label"))
    _csv(tmp_path / "t2" / "test.csv", [[1, 2, 3, "a"]], ("f1", "f2", "f3", "label"))
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{third}: inputs have 3 features, but {tmp_path / 't1' / 'train.csv'} has 2; every task file needs the same"
    )
    renamed = _csv(tmp_path / "t2" / "train.csv", [[1, 2, "a"]], ("f1", "g2", "label"))
    _csv(tmp_path / "t2" / "test.csv", [[1, 2, "a"]])
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{renamed}: line 1: feature column 2 is 'g2' but {tmp_path / 't1' / 'train.csv'} has 'f2'; "
        "every CSV needs the same columns"
    )


def test_labels_outside_the_declared_classes_name_the_line_or_folder(tmp_path: Path) -> None:
    declared = ("cat", "dog")
    _csv(tmp_path / "csv" / "t1" / "train.csv", [[1, 2, "cat"], [3, 4, "cta"]])
    _csv(tmp_path / "csv" / "t1" / "test.csv", [[1, 2, "cat"]])
    assert _message(lambda: files_stream(str(tmp_path / "csv"), classes=declared)) == (
        f"{tmp_path / 'csv' / 't1' / 'train.csv'}: line 3: column 'label' 'cta' is not one of the declared classes "
        "(cat, dog)"
    )
    _image_task(tmp_path / "images" / "t1", {"cat": True, "bird": False}, n=1)
    assert _message(lambda: files_stream(str(tmp_path / "images"), classes=declared)) == (
        f"{tmp_path / 'images' / 't1' / 'train' / 'bird'}: class 'bird' is not one of the declared classes (cat, dog)"
    )
    (tmp_path / "npz").mkdir()
    np.savez(tmp_path / "npz" / "t1.npz", x_train=np.zeros((2, 2)), y_train=np.array([0, 2]),
             x_test=np.zeros((1, 2)), y_test=np.array([0]))
    assert _message(lambda: files_stream(str(tmp_path / "npz"), classes=declared)) == (
        f"{tmp_path / 'npz' / 't1.npz'}: y_train holds label 2, outside the 2 declared classes (ids 0..1)"
    )


def test_labels_of_two_kinds_are_refused(tmp_path: Path) -> None:
    mixed = _csv(tmp_path / "t1" / "train.csv", [[1, 2, 0], [3, 4, 1], [5, 6, "l"]])
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{mixed}: line 4: column 'label' holds 'l', a class name, but most labels are integer class ids; to use "
        "names that look like numbers, declare the class names (classes = [...] in tasks.toml, or --stream.classes)"
    )
    _csv_task(tmp_path / "t1", ("0", "1"))
    _csv_task(tmp_path / "t2", ("cat", "dog"))
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{tmp_path / 't2' / 'train.csv'}: labels are class names, unlike those of {tmp_path / 't1' / 'train.csv'}; "
        "give every task the same kind of labels, or declare the class names (classes = [...] in tasks.toml, "
        "or --stream.classes)"
    )
    negative = _csv(tmp_path / "t2" / "train.csv", [[1, 2, 1], [3, 4, -1]])
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{negative}: line 3: column 'label' holds label -1; class ids start at 0"
    )


def test_folders_that_are_not_tasks(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{tmp_path / 'empty'}: no task data (train.npz, train.csv, train/<class>/ images, or one .npz with "
        "x_train, y_train, x_test, y_test)"
    )
    _csv_task(tmp_path / "empty", ("a",))
    _image_task(tmp_path / "empty", {"a": True}, n=1)
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{tmp_path / 'empty'}: holds train.csv and train; a task folder holds one format"
    )
    (tmp_path / "empty" / "train.csv").unlink()
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{tmp_path / 'empty' / 'test.csv'}: the task's training split is train; both splits need one format"
    )
    (tmp_path / "tasks.toml").write_text('tasks = ["nope"]\n')
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{tmp_path / 'nope'}: task does not exist (listed in {tmp_path / 'tasks.toml'})"
    )
    (tmp_path / "tasks.toml").write_text('task = ["nope"]\n')
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{tmp_path / 'tasks.toml'}: unknown key 'task'; valid: classes, tasks"
    )
    (tmp_path / "tasks.toml").write_text("tasks = [\n")
    assert _message(lambda: files_stream(str(tmp_path))).startswith(f"{tmp_path / 'tasks.toml'}: not valid TOML (")


def test_images_of_differing_sizes_need_a_declared_size(tmp_path: Path) -> None:
    _image_task(tmp_path / "t1", {"a": True, "b": False}, n=2)
    odd = tmp_path / "t1" / "test" / "b" / "9.png"
    _png(odd, np.zeros((4, 6), np.uint8))
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{odd}: image is 6x4 (width x height) but {tmp_path / 't1' / 'train' / 'a' / '0.png'} is 8x8; declare one "
        "size, e.g. --stream.image_size 8x8, to resize every image"
    )
    stream = files_stream(str(tmp_path), image_size="5x3")
    assert stream.input_shape == (1, 3, 5) and stream.params["image_size"] == "5x3"
    assert files_stream(str(tmp_path), image_size=4, channels="rgb").input_shape == (3, 4, 4)
    with pytest.raises(OptionError, match="--stream.image_size: expected WIDTHxHEIGHT"):
        files_stream(str(tmp_path), image_size="big")


# -- from the command line ------------------------------------------------------------------------------


def test_the_command_line_runs_a_csv_stream_and_names_a_bad_row(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for t, classes in enumerate((("a", "b"), ("c", "d"), ("e", "f"))):
        _csv_task(tmp_path / f"t{t + 1}", classes, offset=t)
    run = ["run", "--stream", "files", "--stream.root", str(tmp_path), "--method", "ewc", "--model", "mlp-8",
           "--epochs", "1", "--quiet", "--json", str(tmp_path.parent / "out.json")]
    assert main([*run, "--scenario", "class"]) == 0
    capsys.readouterr()
    bad = _csv(tmp_path / "t2" / "test.csv", [[1, 2, "c"], [3, "x9", "d"]])
    assert main(run) == 2
    assert capsys.readouterr().err == f"lifelong: error: {bad}: line 3: column 'f2' holds 'x9', not a number\n"


def test_a_cnn_learns_an_image_folder_stream(tmp_path: Path) -> None:
    _image_task(tmp_path / "t1", {"horizontal": False, "vertical": True}, n=8)
    _image_task(tmp_path / "t2", {"horizontal": False, "vertical": True}, n=8)
    stream = files_stream(str(tmp_path), scenario="domain")
    result = lifelong.run(stream, "finetune", "cnn-8-16", epochs=8, batch_size=4, seed=0)
    assert result.matrix.values[-1].min() >= 0.9  # stripes are told apart after training, on both tasks
