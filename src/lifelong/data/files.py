"""Reading user files safely: every problem becomes one :class:`DataError` line naming the file.

An ``.npz`` is a zip of ``.npy`` members. ``np.load`` trusts each member's header: a header can
declare an object dtype (which needs pickle), or a shape of 2**40 elements that numpy tries to
allocate before noticing the data are missing. So :func:`read_npz` opens the zip itself, reads
each header without touching the data, and only then loads an array whose dtype is numeric, whose
declared size matches the bytes the member holds, and which fits in this machine's memory.
"""

from __future__ import annotations

import math
import os
import stat
import sys
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from lifelong.errors import DataError, LifelongError, one_line

# What zipfile and zlib raise for a file that is not a readable zip: EOFError when it is cut short,
# RuntimeError for an encrypted member (and its subclass NotImplementedError for an unknown compression).
_UNREADABLE_ZIP = (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError)
# Why a dtype is refused, by ``dtype.kind``; every other kind (bool, integers, floats) is read.
_REFUSED_KINDS = {
    "O": "Python objects, which only pickle can read and pickle can run code",
    "U": "text",
    "S": "bytes",
    "c": "complex numbers",
    "V": "structured records",
    "M": "dates",
    "m": "time spans",
}
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def read_npz(path: str | Path, keys: Sequence[str] | None = None, what: str = "the file") -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, in native byte order, never unpickling and never over-allocating.

    Args:
        path: the file.
        keys: the arrays to read (others are left unread); None reads every array.
        what: what the file is to the caller, for the missing-arrays message (``"a task file"``).

    Raises:
        DataError: ``"<path>: <problem>"`` on one line, for any file content.
    """
    p = Path(path)
    require_file(p)
    try:
        with zipfile.ZipFile(p) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()
                       if info.filename.endswith(".npy")}
            wanted = list(members) if keys is None else list(keys)
            missing = [k for k in wanted if k not in members]
            if missing:
                raise DataError(f"{p}: missing arrays {missing}; {what} needs {wanted}")
            return {k: _read_member(p, archive, k, members[k]) for k in wanted}
    except _UNREADABLE_ZIP as err:
        raise DataError(f"{p}: not a readable .npz file ({reason(err)})") from None


def _read_member(path: Path, archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> np.ndarray:
    """One member, loaded only after its header passed :func:`_check_header`."""
    with archive.open(info) as f:
        shape, dtype = _read_header(path, name, f)
        data_bytes = info.file_size - f.tell()
    _check_header(path, name, shape, dtype, data_bytes)
    with archive.open(info) as f:
        try:
            array = np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, MemoryError) as err:
            raise DataError(f"{path}: array {name!r} cannot be read ({reason(err)})") from None
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


def _read_header(path: Path, name: str, f: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a member's ``.npy`` header declares; the data are not read."""
    try:
        version = np.lib.format.read_magic(f)
        if version not in _HEADER_READERS:
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not 1.0 or 2.0")
        shape, _, dtype = _HEADER_READERS[version](f)
    except ValueError as err:
        raise DataError(f"{path}: array {name!r} has no valid .npy header ({reason(err)})") from None
    return shape, dtype


def _check_header(path: Path, name: str, shape: tuple[int, ...], dtype: np.dtype, data_bytes: int) -> None:
    """Refuse what is unsafe or untrue before allocating: a non-numeric dtype, a size the data lack."""
    declared = f"array {name!r} declares shape {shape} {dtype}"
    if dtype.kind in _REFUSED_KINDS:
        raise DataError(f"{path}: array {name!r} holds {_REFUSED_KINDS[dtype.kind]} (dtype {dtype}); "
                        "only bool, integer and float arrays are read")
    if dtype.itemsize > 8:
        raise DataError(f"{path}: array {name!r} has dtype {dtype}, wider than the float64 torch can hold")
    if any(d < 0 for d in shape):
        raise DataError(f"{path}: {declared}, with a negative dimension")
    nbytes = math.prod(shape) * dtype.itemsize
    require_memory(path, f"{declared} =", nbytes)
    if nbytes != data_bytes:
        raise DataError(f"{path}: {declared} = {format_bytes(nbytes)} but holds {format_bytes(data_bytes)} "
                        "(truncated or corrupt)")


def path_kind(path: Path, error: type[LifelongError] = DataError) -> str | None:
    """``"dir"``, ``"file"`` (a regular one), ``"other"`` (a FIFO, a device), or None when nothing is there.

    Unlike ``Path.exists``, a path that cannot even be looked at (a parent without permission, a
    NUL byte in the name) raises ``error`` naming it instead of an OSError.
    """
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as err:
        raise error(f"{path}: cannot be read ({reason(err)})") from None
    return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def require_file(path: Path, missing: str = "file does not exist", error: type[LifelongError] = DataError) -> None:
    """Refuse a path that is missing, a directory, or not a regular file (a FIFO would block a read)."""
    kind = path_kind(path, error)
    if kind is None:
        raise error(f"{path}: {missing}")
    if kind == "dir":
        raise error(f"{path}: is a directory, not a file")
    if kind == "other":
        raise error(f"{path}: is not a regular file")


def require_memory(path: Path, what: str, nbytes: int, error: type[LifelongError] = DataError) -> None:
    """Refuse to allocate ``nbytes`` a file declares when this machine could not hold them.

    Args:
        path: the file, named first in the message.
        what: the claim, e.g. ``"array 'x' declares shape (10,) float64 ="``; the size follows it.
        nbytes: the bytes the claim would allocate.
        error: the error kind raised.
    """
    available = available_memory()
    if nbytes > available:
        raise error(f"{path}: {what} {format_bytes(nbytes)}, more than this machine's "
                    f"{format_bytes(available)} of memory")


def available_memory() -> int:
    """Bytes this machine can allocate now: Linux's MemAvailable, else the physical memory, else no limit."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return sys.maxsize


def format_bytes(n: int) -> str:
    """``8796093022208`` -> ``"8.8 TB"``: decimal units, one decimal below 10, whole numbers above."""
    value, unit = float(n), "B"
    for bigger in ("kB", "MB", "GB", "TB", "PB", "EB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    if unit == "B":
        return f"{n} B"
    return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"


def reason(err: BaseException) -> str:
    """A short one-line cause: the OS's words for an OSError, else the first line of the message."""
    if isinstance(err, EOFError):
        return "the file ends early"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return one_line(err)
