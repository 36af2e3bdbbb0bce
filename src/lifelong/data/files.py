"""Reading user files safely: every problem becomes one :class:`DataError` line naming the file.

An ``.npz`` is a zip of ``.npy`` members. ``np.load`` trusts each member's header: a header can
declare an object dtype (which needs pickle), or a shape of 2**40 elements that numpy tries to
allocate before noticing the data are missing. So :func:`read_npz` opens the zip itself, reads
each header without touching the data, and only then loads an array whose dtype is numeric, whose
declared size matches the bytes the member holds, and which fits in this machine's memory.

CSV files (:func:`read_csv`) and image folders (:func:`read_image_splits`) are read with the same
promise: a bad value stops the read with the line (or the image) it is in, before any training.
"""

from __future__ import annotations

import csv
import math
import os
import stat
import sys
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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


# -- CSV tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """The examples of one CSV file: numeric features and each row's label text, with its line number.

    Labels stay text here: whether they are class ids or class names is decided for the whole
    stream (``streams/files.py``), which then needs each row's line to name a bad label.

    Attributes:
        columns: the feature columns' names, in file order (the label column left out).
        x: (rows, features) float32.
        labels: each row's label text, stripped.
        lines: each row's line number in the file (1 is the header), for messages.
    """

    columns: tuple[str, ...]
    x: np.ndarray
    labels: tuple[str, ...]
    lines: tuple[int, ...]


def read_csv(path: str | Path, label_column: str = "label") -> Table:
    """A CSV file with a header line, one label column and numeric feature columns.

    Values are parsed row by row so that the first bad value is reported with its line and column;
    a non-number, a missing value, NaN or infinity (also a number too large for float32) stops the
    read. Blank lines are skipped; the text is UTF-8 (a byte-order mark, as Excel writes, is dropped).

    Raises:
        DataError: ``"<path>: line <n>: <problem>"`` on one line.
    """
    p = Path(path)
    require_file(p)
    rows: list[list[float]] = []
    labels: list[str] = []
    lines: list[int] = []
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [name.strip() for name in next(reader, [])]
            label, features = _columns(p, header, label_column)
            for row in reader:
                if not row:
                    continue
                line = reader.line_num
                if len(row) != len(header):
                    raise DataError(f"{p}: line {line}: {len(row)} values but the header names {len(header)} columns")
                rows.append([_number_at(p, line, header[c], row[c]) for c in features])
                labels.append(row[label].strip())
                lines.append(line)
                if not labels[-1]:
                    raise DataError(f"{p}: line {line}: the label column {label_column!r} is empty")
    except UnicodeDecodeError as err:
        raise DataError(f"{p}: not UTF-8 text ({reason(err)})") from None
    except csv.Error as err:
        raise DataError(f"{p}: line {reader.line_num}: not valid CSV ({reason(err)})") from None
    except OSError as err:
        raise DataError(f"{p}: cannot be read ({reason(err)})") from None
    if not rows:
        raise DataError(f"{p}: no examples (a header and no rows); the task is empty")
    columns = tuple(header[c] for c in features)
    return Table(columns, _finite_float32(p, np.asarray(rows), columns, lines), tuple(labels), tuple(lines))


def _columns(path: Path, header: list[str], label_column: str) -> tuple[int, list[int]]:
    """The label column's index and the feature columns' indices; a header without them is refused."""
    if not any(header):
        raise DataError(f"{path}: empty, expected a header line naming the columns")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: line 1: column {name!r} appears twice in the header")
        seen.add(name)
    if label_column not in seen:
        raise DataError(f"{path}: line 1: no column {label_column!r} among {', '.join(header)}; "
                        "name the label column with --stream.label_column")
    label = header.index(label_column)
    features = [c for c in range(len(header)) if c != label]
    if not features:
        raise DataError(f"{path}: line 1: no feature columns besides {label_column!r}")
    return label, features


def _number_at(path: Path, line: int, column: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DataError(f"{path}: line {line}: column {column!r} holds {text.strip()!r}, not a number") from None


def _finite_float32(path: Path, x: np.ndarray, columns: tuple[str, ...], lines: list[int]) -> np.ndarray:
    """``x`` as float32, refusing NaN, infinity and numbers float32 cannot hold, at their line."""
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32)
    bad = ~np.isfinite(x32)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        value = float(x[row, col])
        problem = "is too large for float32" if np.isfinite(value) else "is not a finite number"
        raise DataError(f"{path}: line {lines[row]}: column {columns[col]!r} holds {value!r}, which {problem}")
    return x32


# -- image folders ---------------------------------------------------------------------------------

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Pillow modes that carry one grey level per pixel; any other mode (RGB, RGBA, CMYK, a palette) is colour.
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


@dataclass(frozen=True)
class ImageSplit:
    """One split's images, decoded: ``x`` (N, C, H, W) uint8 and each image's class (its folder name)."""

    folder: Path
    x: np.ndarray
    names: tuple[str, ...]


def list_images(folder: Path) -> list[tuple[str, list[Path]]]:
    """``folder/<class>/*.png|jpg|jpeg`` -> [(class name, sorted image paths)], classes sorted by name.

    Hidden entries and other files are skipped; a folder without class folders, or a class folder
    without images, is refused (it would silently become a class with no examples).
    """
    classes = sorted(p for p in _entries(folder) if p.is_dir())
    if not classes:
        raise DataError(f"{folder}: no class folders; images go in {folder}/<class>/*.png (or .jpg)")
    found = []
    for c in classes:
        images = sorted(p for p in _entries(c) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not images:
            raise DataError(f"{c}: empty class folder (no {', '.join(IMAGE_SUFFIXES)} images)")
        found.append((c.name, images))
    return found


def _entries(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if not p.name.startswith(".")]
    except OSError as err:
        raise DataError(f"{folder}: cannot be read ({reason(err)})") from None


def read_image_splits(
    folders: Sequence[Path], size: tuple[int, int] | None = None, channels: str = "auto"
) -> list[ImageSplit]:
    """Every image of every split folder, decoded once into uint8 arrays of one shape.

    All splits of a stream are read together because they must share one input shape: first each
    image's header is read (cheap: size and colour mode, no pixels), then the shape is fixed, the
    memory is checked, and each image is decoded straight into its slot.

    Args:
        folders: split folders, each ``<split>/<class>/<image>``.
        size: (width, height) every image is resized to; None requires every image to have one size.
        channels: ``"gray"`` (1 channel), ``"rgb"`` (3), or ``"auto"``: RGB when any image is in colour.

    Raises:
        DataError: naming the image (or folder) and the problem, on one line.
    """
    from PIL import Image  # Pillow comes with matplotlib; imported here so that importing lifelong stays light

    listed = [list_images(folder) for folder in folders]
    headers = {path: _image_header(Image, path) for classes in listed for _, paths in classes for path in paths}
    first = next(iter(headers))
    if size is None:
        size = headers[first][1]
        for path, (_, found) in headers.items():
            if found != size:
                raise DataError(f"{path}: image is {found[0]}x{found[1]} (width x height) but {first} is "
                                f"{size[0]}x{size[1]}; declare one size, e.g. --stream.image_size "
                                f"{size[0]}x{size[1]}, to resize every image")
    if channels == "auto":
        channels = "gray" if all(mode in _GRAY_MODES for mode, _ in headers.values()) else "rgb"
    mode, depth = ("L", 1) if channels == "gray" else ("RGB", 3)
    width, height = size
    require_memory(folders[0], f"{len(headers)} images of {depth}x{height}x{width} uint8 =",
                   len(headers) * depth * height * width)
    splits = []
    for folder, classes in zip(folders, listed, strict=True):
        paths = [path for _, class_paths in classes for path in class_paths]
        x = np.empty((len(paths), depth, height, width), np.uint8)
        for i, path in enumerate(paths):
            x[i] = _decode(Image, path, mode, size).reshape(height, width, depth).transpose(2, 0, 1)
        names = tuple(name for name, class_paths in classes for _ in class_paths)
        splits.append(ImageSplit(folder, x, names))
    return splits


def _image_header(image: Any, path: Path) -> tuple[str, tuple[int, int]]:
    """An image's colour mode and (width, height), read from its header without decoding the pixels."""
    try:
        with image.open(path) as im:
            return im.mode, im.size
    except (OSError, ValueError, SyntaxError, image.DecompressionBombError) as err:
        raise DataError(f"{path}: not a readable image ({reason(err)})") from None


def _decode(image: Any, path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """The pixels of one image in ``mode`` (``L`` or ``RGB``) at ``size``, resized bilinearly when needed."""
    try:
        with image.open(path) as im:
            converted = im.convert(mode)
            if converted.size != size:
                converted = converted.resize(size, image.Resampling.BILINEAR)
            return np.asarray(converted, np.uint8)
    except (OSError, ValueError, SyntaxError, image.DecompressionBombError) as err:
        raise DataError(f"{path}: not a readable image ({reason(err)})") from None
