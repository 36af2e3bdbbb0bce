"""The MNIST source: the real package data, IDX and npz directories, the cache, and bad files."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from lifelong.data import mnist as mnist_module
from lifelong.data.mnist import DataError, load_mnist, read_idx, read_mnist_pickle


@pytest.fixture(autouse=True)
def fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mnist_module, "_CACHE", {})
    monkeypatch.delenv("LIFELONG_MNIST_DIR", raising=False)


def test_real_mnist_from_the_package_is_cached_as_npz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFELONG_DATA_DIR", str(tmp_path))
    data = load_mnist()
    assert tuple(data.x_train.shape) == (60000, 28, 28) and tuple(data.x_test.shape) == (10000, 28, 28)
    assert data.y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the canonical first training labels
    assert np.bincount(data.y_test.numpy()).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert int(data.x_train.max()) == 255 or int(data.x_train.max()) == 254
    assert (tmp_path / "mnist.npz").exists()
    mnist_module._CACHE.clear()
    again = load_mnist()
    assert np.array_equal(again.x_test.numpy(), data.x_test.numpy())


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def test_idx_directory(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    y = np.arange(20) % 10
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", x)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", x[:5])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", y[:5])
    data = load_mnist(tmp_path)
    assert np.array_equal(data.x_train.numpy(), x) and data.y_test.tolist() == [0, 1, 2, 3, 4]


def test_truncated_idx_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">i", 10) + b"\x01\x02")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: header says \(10,\) but holds 2 bytes"):
        read_idx(path)


def test_missing_directory_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"{tmp_path / 'nope'}: MNIST directory does not exist"):
        load_mnist(tmp_path / "nope")


def test_directory_without_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="neither mnist.npz nor train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_corrupt_npz_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(DataError, match=r"mnist.npz: not a readable .npz file"):
        load_mnist(tmp_path)


def test_labels_out_of_range_are_refused(tmp_path: Path) -> None:
    x = np.zeros((4, 28, 28), np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=np.array([0, 1, 2, 11]), x_test=x, y_test=np.zeros(4, int))
    with pytest.raises(DataError, match=r"mnist.npz: y_train has labels outside 0..9"):
        load_mnist(tmp_path)


def test_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("echo pwned",))

    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(Exploit(), f)
    with pytest.raises(DataError, match="refusing to load posix.system"):
        read_mnist_pickle(path)


def test_cache_write_is_atomic(tmp_path: Path) -> None:
    arrays = {"a": np.arange(3)}
    mnist_module._write_npz_atomically(tmp_path / "c.npz", arrays)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]  # no temporary left behind
