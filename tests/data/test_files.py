"""The safe ``.npz``, CSV and image readers and the ``files`` stream: every bad file stops with one line naming it.

Each bad file is built here byte by byte where numpy would not write it (an object array, a header
that lies about its size), so the reader is tried on what a corrupt or hostile file can hold. The
CSV and image readers are checked to give back exactly what was written, and to name the line or
the image at fault. (Task folders, class ids and holdouts: ``tests/streams/test_files_stream.py``.)
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lifelong
from conftest import one_line_error
from lifelong.data import mnist as mnist_module
from lifelong.data.files import format_bytes, read_csv, read_image_splits, read_npz
from lifelong.data.mnist import load_mnist, read_idx
from lifelong.errors import DataError
from lifelong.streams.files import files_stream

KEYS = ["x_train", "y_train", "x_test", "y_test"]


_message = partial(one_line_error, DataError)  # the DataError a call raises, checked to be one line


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_2_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _task_file(path: Path, n: int = 20, features: int = 5, **override: np.ndarray) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.normal(size=(n, features)).astype(np.float32), "y_train": np.arange(n) % 3,
              "x_test": rng.normal(size=(n, features)).astype(np.float32), "y_test": np.arange(n) % 3}
    np.savez(path, **{**arrays, **override})
    return path


# -- the reader ------------------------------------------------------------------------------------


def test_reads_what_np_load_reads(tmp_path: Path) -> None:
    arrays = {"a": np.arange(6, dtype=">i4").reshape(2, 3), "b": np.asfortranarray(np.ones((3, 2))),
              "c": np.array([True, False]), "d": np.zeros((0, 4), np.float16)}
    np.savez_compressed(tmp_path / "a.npz", **arrays)
    read = read_npz(tmp_path / "a.npz")
    assert list(read) == list(arrays)
    for name, array in arrays.items():
        assert np.array_equal(read[name], array) and read[name].dtype == array.dtype.newbyteorder("=")
        assert read[name].dtype.isnative
    assert list(read_npz(tmp_path / "a.npz", ["c"])) == ["c"]


def test_missing_directory_and_non_zip_files(tmp_path: Path) -> None:
    assert _message(lambda: read_npz(tmp_path / "none.npz")) == f"{tmp_path / 'none.npz'}: file does not exist"
    (tmp_path / "dir.npz").mkdir()
    assert _message(lambda: read_npz(tmp_path / "dir.npz")) == f"{tmp_path / 'dir.npz'}: is a directory, not a file"
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    assert _message(lambda: read_npz(garbage)) == f"{garbage}: not a readable .npz file (File is not a zip file)"


def test_a_path_that_cannot_be_looked_at(tmp_path: Path) -> None:
    path = tmp_path / "a\0b.npz"
    assert _message(lambda: read_npz(path)) == f"{path}: cannot be read (embedded null byte)"


def test_truncated_zip(tmp_path: Path) -> None:
    whole = (_task_file(tmp_path / "whole.npz")).read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole[: len(whole) // 2])
    assert _message(lambda: read_npz(cut)).startswith(f"{cut}: not a readable .npz file (")


@pytest.mark.parametrize(
    ("array", "holds"),
    [
        (np.array(["abc"]), "text (dtype <U3)"),
        (np.array([b"abc"]), "bytes (dtype |S3)"),
        (np.array([1 + 2j]), "complex numbers (dtype complex128)"),
        (np.zeros(2, dtype=[("a", "<i4")]), "structured records (dtype [('a', '<i4')])"),
        (np.array(["2020-01-01"], dtype="M8[D]"), "dates (dtype datetime64[D])"),
    ],
)
def test_non_numeric_arrays_are_refused(tmp_path: Path, array: np.ndarray, holds: str) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, x=array)
    assert _message(lambda: read_npz(path)) == (
        f"{path}: array 'x' holds {holds}; only bool, integer and float arrays are read"
    )


class _Exploit:
    """Unpickling this would create a file: the proof that a reader ran pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


def test_an_object_array_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = _zip(tmp_path / "a.npz", {"x.npy": _npy(np.array([_Exploit(marker)], dtype=object), allow_pickle=True)})
    assert _message(lambda: read_npz(path)) == (
        f"{path}: array 'x' holds Python objects, which only pickle can read and pickle can run code "
        "(dtype object); only bool, integer and float arrays are read"
    )
    assert not marker.exists()


def test_a_header_declaring_more_than_memory_is_refused_before_allocating(tmp_path: Path) -> None:
    path = _zip(tmp_path / "a.npz", {"x.npy": _header((2**40,)) + b"\0" * 16})
    message = _message(lambda: read_npz(path))
    assert re.fullmatch(re.escape(f"{path}: array 'x' declares shape (1099511627776,) float64 = 8.8 TB, more than "
                                  "this machine's ") + r"[\d.]+ [kMGTPE]?B of memory", message), message


@pytest.mark.parametrize(("data", "held"), [(40, "40 B"), (160, "160 B")])
def test_a_header_that_lies_about_the_size_is_refused(tmp_path: Path, data: int, held: str) -> None:
    path = _zip(tmp_path / "a.npz", {"x.npy": _header((10,)) + b"\0" * data})
    assert _message(lambda: read_npz(path)) == (
        f"{path}: array 'x' declares shape (10,) float64 = 80 B but holds {held} (truncated or corrupt)"
    )


def test_a_broken_header_and_a_negative_dimension(tmp_path: Path) -> None:
    path = _zip(tmp_path / "a.npz", {"x.npy": b"\x93NUMPY\x01\x00garbage"})
    assert _message(lambda: read_npz(path)).startswith(f"{path}: array 'x' has no valid .npy header (")
    path = _zip(tmp_path / "b.npz", {"x.npy": _header((-1, -8))})
    assert _message(lambda: read_npz(path)) == (
        f"{path}: array 'x' declares shape (-1, -8) float64, with a negative dimension"
    )


def test_missing_keys_name_what_the_caller_needs(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, x_train=np.zeros((2, 2)), y_train=np.zeros(2, int))
    assert _message(lambda: read_npz(path, KEYS, "a task file")) == (
        f"{path}: missing arrays ['x_test', 'y_test']; a task file needs {KEYS}"
    )


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (80, 1500, 23_900_000_000, 8 * 2**40)] == ["80 B", "1.5 kB", "24 GB", "8.8 TB"]


# -- the files stream ------------------------------------------------------------------------------


def test_a_good_stream_trains(tmp_path: Path) -> None:
    _task_file(tmp_path / "a.npz")
    _task_file(tmp_path / "b.npz", x_train=np.ones((20, 5), ">f8"), x_test=np.ones((20, 5), np.int16))
    stream = files_stream(str(tmp_path), scenario="task")
    assert [t.name for t in stream] == ["a", "b"] and stream.input_shape == (5,)
    assert stream.params == {"root": str(tmp_path), "scenario": "task"}
    assert lifelong.run(stream, "finetune", "mlp-8x1", epochs=1).matrix.values.shape == (3, 2)


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"x_train": np.array(1.0)}, "x_train is a single value (shape ()), expected one row per example"),
        ({"y_train": (np.arange(20) % 3).reshape(20, 1)},
         "y_train has shape (20, 1); labels must be a 1-D array, one per example"),
        ({"y_test": np.zeros(20, np.float32)}, "y_test has dtype float32; labels must be integers"),
        ({"y_test": np.full(20, -1)}, "y_test holds negative labels (min -1); labels are class ids from 0"),
        ({"x_train": np.full((20, 5), np.nan, np.float32)}, "x_train contains NaN or infinity"),
        ({"x_test": np.full((20, 5), np.inf)}, "x_test contains NaN or infinity"),
        ({"x_test": np.zeros((0, 5)), "y_test": np.zeros(0, int)}, "the task is empty (no test examples)"),
        ({"x_train": np.zeros((19, 5))}, "19 train inputs but 20 labels"),
        ({"x_train": np.zeros((20, 0))}, "x_train has shape (20, 0), no features per example"),
        ({"x_test": np.zeros((20, 6))}, "x_test has 6 features per example but x_train has 5"),
        ({"y_train": np.full(20, 2**40)}, "y_train holds label 1099511627776, but the stream has only 40 examples; "
                                          "labels are class ids 0..k-1"),
    ],
)
def test_bad_task_files_name_file_array_and_problem(tmp_path: Path, override: dict[str, np.ndarray],
                                                    problem: str) -> None:
    path = _task_file(tmp_path / "a.npz", **override)
    assert _message(lambda: files_stream(str(tmp_path))) == f"{path}: {problem}"


def test_the_root_must_be_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "none"
    assert _message(lambda: files_stream(str(missing))) == f"{missing}: data directory does not exist"
    path = _task_file(tmp_path / "a.npz")
    assert _message(lambda: files_stream(str(path))) == (
        f"{path}: is not a directory (the files stream reads a directory of task folders or .npz task files)"
    )


def test_a_task_file_without_an_array(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, x_train=np.zeros((2, 2)), y_train=np.zeros(2, int))
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{path}: missing arrays ['x_test', 'y_test']; a task file needs {KEYS}"
    )


def test_feature_counts_must_agree_across_files(tmp_path: Path) -> None:
    first = _task_file(tmp_path / "a.npz")
    second = _task_file(tmp_path / "b.npz", features=6)
    assert _message(lambda: files_stream(str(tmp_path))) == (
        f"{second}: inputs have 6 features, but {first} has 5; every task file needs the same"
    )


def test_an_unsafe_task_file_stops_the_stream(tmp_path: Path) -> None:
    others = {f"{k}.npy": _npy(np.zeros(2)) for k in KEYS[1:]}
    path = _zip(tmp_path / "a.npz", {"x_train.npy": _header((2**40,)) + b"\0" * 16, **others})
    assert _message(lambda: files_stream(str(tmp_path))).startswith(f"{path}: array 'x_train' declares shape")


# -- CSV ------------------------------------------------------------------------------------------


def test_csv_values_read_equal_values_written(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("\ufeffa, label ,b\n1.5,cat,-2\n\n 3e-3 ,dog,4\n\"5\",\"cat\",6.25\n", encoding="utf-8")
    table = read_csv(path)
    assert table.columns == ("a", "b") and table.labels == ("cat", "dog", "cat") and table.lines == (2, 4, 5)
    assert table.x.dtype == np.float32
    assert np.array_equal(table.x, np.array([[1.5, -2], [3e-3, 4], [5, 6.25]], np.float32))


def test_another_label_column(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("x1,species,x2\n1,0,2\n3,1,4\n")
    table = read_csv(path, label_column="species")
    assert table.columns == ("x1", "x2") and table.labels == ("0", "1")
    assert np.array_equal(table.x, np.array([[1, 2], [3, 4]], np.float32))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a,label\n1,x\n2,y\nabc,z\n", "line 4: column 'a' holds 'abc', not a number"),
        ("a,label\n1,x\n,y\n", "line 3: column 'a' holds '', not a number"),
        ("a,b,label\n1,2,x\n3,nan,y\n", "line 3: column 'b' holds nan, which is not a finite number"),
        ("a,b,label\n1,-inf,x\n", "line 2: column 'b' holds -inf, which is not a finite number"),
        ("a,label\n1e39,x\n", "line 2: column 'a' holds 1e+39, which is too large for float32"),
        ("a,b,label\n1,2,x\n1,2\n", "line 3: 2 values but the header names 3 columns"),
        ("a,label\n1,\n", "line 2: the label column 'label' is empty"),
        ("a,b\n1,2\n", "line 1: no column 'label' among a, b; name the label column with --stream.label_column"),
        ("a,a,label\n1,2,x\n", "line 1: column 'a' appears twice in the header"),
        ("label\nx\n", "line 1: no feature columns besides 'label'"),
        ("a,label\n", "no examples (a header and no rows); the task is empty"),
        ("", "empty, expected a header line naming the columns"),
    ],
)
def test_csv_problems_name_the_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "train.csv"
    path.write_text(text)
    assert _message(lambda: read_csv(path)) == f"{path}: {problem}"


def test_csv_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(b"a,label\n\xff\xfe,1\n")
    assert _message(lambda: read_csv(path)).startswith(f"{path}: not UTF-8 text (")
    assert _message(lambda: read_csv(tmp_path / "none.csv")) == f"{tmp_path / 'none.csv'}: file does not exist"


# -- image folders ---------------------------------------------------------------------------------


def _png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def test_images_read_equal_images_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    gray = {name: rng.integers(0, 256, (3, 5), np.uint8) for name in ("cat/0.png", "cat/1.png", "dog/0.png")}
    for name, pixels in gray.items():
        _png(tmp_path / "train" / name, pixels)
    (tmp_path / "train" / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "train" / ".hidden").mkdir()
    [split] = read_image_splits([tmp_path / "train"])
    assert split.x.dtype == np.uint8 and split.x.shape == (3, 1, 3, 5)  # (N, C, H, W): 5 wide, 3 tall
    assert split.names == ("cat", "cat", "dog")
    assert np.array_equal(split.x[:, 0], np.stack(list(gray.values())))


def test_colour_images_give_three_channels_unless_gray_is_asked(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (4, 4, 3), np.uint8)
    _png(tmp_path / "train" / "a" / "0.png", rgb)
    _png(tmp_path / "test" / "a" / "0.png", rgb[..., 0])  # one gray image: the stream still becomes RGB
    train, test = read_image_splits([tmp_path / "train", tmp_path / "test"])
    assert np.array_equal(train.x[0], rgb.transpose(2, 0, 1))
    assert np.array_equal(test.x[0], np.stack([rgb[..., 0]] * 3))
    [gray] = read_image_splits([tmp_path / "train"], channels="gray")
    assert gray.x.shape == (1, 1, 4, 4)
    assert np.array_equal(gray.x[0, 0], np.asarray(Image.fromarray(rgb).convert("L")))


def test_sizes_must_agree_unless_one_is_declared(tmp_path: Path) -> None:
    first = _png(tmp_path / "train" / "a" / "0.png", np.zeros((4, 4), np.uint8))
    odd = _png(tmp_path / "train" / "b" / "0.png", np.full((6, 8), 200, np.uint8))
    assert _message(lambda: read_image_splits([tmp_path / "train"])) == (
        f"{odd}: image is 8x6 (width x height) but {first} is 4x4; declare one size, e.g. --stream.image_size 4x4, "
        "to resize every image"
    )
    [split] = read_image_splits([tmp_path / "train"], size=(5, 3))
    assert split.x.shape == (2, 1, 3, 5) and (split.x[0] == 0).all() and (split.x[1] == 200).all()


def test_image_folder_problems_name_the_folder_or_image(tmp_path: Path) -> None:
    train = tmp_path / "train"
    train.mkdir()
    (train / "stray.png").write_bytes(b"")
    assert _message(lambda: read_image_splits([train])) == (
        f"{train}: no class folders; images go in {train}/<class>/*.png (or .jpg)"
    )
    _png(train / "a" / "0.png", np.zeros((2, 2), np.uint8))
    (train / "b").mkdir()
    (train / "b" / "readme.txt").write_text("no images here")
    assert _message(lambda: read_image_splits([train])) == (
        f"{train / 'b'}: empty class folder (no .png, .jpg, .jpeg images)"
    )
    broken = train / "b" / "0.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    assert _message(lambda: read_image_splits([train])).startswith(f"{broken}: not a readable image (")
    noise = np.random.default_rng(0).integers(0, 256, (16, 16), np.uint8)
    whole = _png(tmp_path / "whole.png", noise).read_bytes()
    broken.unlink()
    cut = train / "b" / "0.png"
    cut.write_bytes(whole[: len(whole) // 2])  # the header reads; the pixels end early
    assert _message(lambda: read_image_splits([train], size=(2, 2))).startswith(f"{cut}: not a readable image (")


# -- MNIST reads through the same guards ------------------------------------------------------------


def test_mnist_npz_is_read_safely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mnist_module, "_CACHE", {})
    x = np.zeros((4, 28, 28), np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=np.zeros(4, int), x_test=x, y_test=np.array(["a"] * 4))
    assert _message(lambda: load_mnist(tmp_path)) == (
        f"{tmp_path / 'mnist.npz'}: array 'y_test' holds text (dtype <U1); only bool, integer and float arrays are read"
    )
    np.savez(tmp_path / "mnist.npz", x_train=x.astype(float), y_train=np.zeros(4, int), x_test=x, y_test=np.zeros(4))
    assert _message(lambda: load_mnist(tmp_path)) == (
        f"{tmp_path / 'mnist.npz'}: x_train has dtype float64; MNIST stores integer pixels and labels"
    )


def test_idx_headers_are_checked_before_allocating(tmp_path: Path) -> None:
    huge = tmp_path / "huge-idx3-ubyte"
    huge.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3i", 2**31 - 1, 2**31 - 1, 2**31 - 1) + b"\0" * 8)
    expected = re.escape(f"{huge}: header declares shape (2147483647, 2147483647, 2147483647) uint8 = ")
    expected += r"[\d.]+ EB, more than this machine's [\d.]+ [kMGTPE]?B of memory"
    assert re.fullmatch(expected, _message(lambda: read_idx(huge)))
    short = tmp_path / "short-idx3-ubyte"
    short.write_bytes(bytes([0, 0, 8, 3]) + b"\0\0")
    assert _message(lambda: read_idx(short)) == (
        f"{short}: header declares 3 dimensions but the file ends inside the header"
    )
    longer = tmp_path / "long-idx1-ubyte"
    longer.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">i", 2) + b"\1\2\3")
    assert _message(lambda: read_idx(longer)) == f"{longer}: header says (2,) (2 bytes) but the file holds more"
    folder = tmp_path / "dir-idx1-ubyte"
    folder.mkdir()
    assert _message(lambda: read_idx(folder)) == f"{folder}: is a directory, not a file"
    bad_gzip = tmp_path / "bad-idx1-ubyte.gz"
    bad_gzip.write_bytes(b"not gzip")
    assert _message(lambda: read_idx(bad_gzip)).startswith(f"{bad_gzip}: not a valid gzip file (")
