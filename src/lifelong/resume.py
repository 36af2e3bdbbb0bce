"""Checkpoints after every finished task, so a killed run resumes where it was and ends bit-identical.

A run's checkpoints live in ``<folder>/<run_id>/`` as ``after-<k>.ckpt`` (k finished phases). Each
file is a header line, the SHA-256 of the payload, and the payload: ``torch.save`` of plain
containers and tensors — the network (grown parts included), the optimizer, the method's ``_``
state, every random generator (data order, the method's own, torch's global), the rows of R so far
and the timings. It is written to a temporary name, flushed to disk and renamed, so a SIGKILL at any
moment leaves either the previous checkpoints or the new one, never a half file.

On resume the newest checkpoint whose checksum holds is used; a corrupt one is reported in one line,
set aside as ``.corrupt``, and the task it stood for is redone from the one before. Checkpoints made
by other code (another fingerprint of the package source) are not resumed: that run starts over.
The two newest are kept while a run goes on; a finished run's folder is removed unless kept.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lifelong.environment import code_fingerprint
from lifelong.errors import CheckpointError, one_line

MAGIC = b"lifelong-run-checkpoint 1\n"
NAME = re.compile(r"after-(\d+)\.ckpt")


def _warn(message: str) -> None:
    print(f"lifelong: warning: {message}", file=sys.stderr)


class RunCheckpoints:
    """The checkpoints of one run.

    Args:
        folder: where runs' checkpoint folders go (``runs.checkpoints`` beside a store ``runs.db``
            by default in the CLI, or ``--checkpoints DIR``); created on the first save.
        run_id: the run's id (the hash of its whole configuration): the same command finds them again.
        keep: keep every checkpoint, and the folder after the run finishes (``--keep-checkpoints``).
        warn: where one-line warnings go (a corrupt checkpoint, one from other code).
    """

    def __init__(self, folder: str | Path, run_id: str, *, keep: bool = False,
                 warn: Callable[[str], None] = _warn) -> None:
        self.folder = Path(folder) / run_id
        self.run_id = run_id
        self.keep = keep
        self.warn = warn

    def path(self, done: int) -> Path:
        return self.folder / f"after-{done:03d}.ckpt"

    def saved(self) -> list[int]:
        """The finished-phase counts that have a checkpoint file, newest first."""
        if not self.folder.is_dir():
            return []
        found = (NAME.fullmatch(p.name) for p in self.folder.iterdir())
        return sorted((int(m[1]) for m in found if m), reverse=True)

    def save(self, done: int, state: dict[str, Any]) -> None:
        """Write the checkpoint after ``done`` finished phases atomically, then drop all but the two newest."""
        target = self.path(done)
        write_checked(target, {**state, "code": code_fingerprint(), "run_id": self.run_id, "done": done}, MAGIC)
        if not self.keep:
            for old in self.saved()[2:]:
                self.path(old).unlink(missing_ok=True)

    def latest(self) -> dict[str, Any] | None:
        """The newest checkpoint that is whole and was made by this code, or None (start from task 1)."""
        for done in self.saved():
            path = self.path(done)
            try:
                state = read(path)
            except CheckpointError as err:
                earlier = f"the checkpoint after task {done - 1}" if done > 1 else "the start"
                self.warn(f"{err}; redoing task {done} from {earlier}")
                path.rename(path.with_name(path.name + ".corrupt"))
                continue
            if state.get("code") != code_fingerprint():
                self.warn(f"{path}: made by other code (source fingerprint {state.get('code')}, now "
                          f"{code_fingerprint()}); run {self.run_id} starts over")
                return None
            return state
        return None

    def finish(self) -> None:
        """The run finished and is stored: its checkpoints are no longer needed (unless kept)."""
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)


def read(path: Path) -> dict[str, Any]:
    """A run checkpoint's state, after checking its header and checksum (see :func:`read_checked`)."""
    state = read_checked(path, MAGIC, "lifelong run checkpoint")
    if "done" not in state:
        raise CheckpointError(f"{path}: not a lifelong run checkpoint")
    return state


def write_checked(target: Path, state: dict[str, Any], magic: bytes) -> None:
    """``magic``, the SHA-256 of the payload, and the payload (``torch.save`` of ``state``), written to a
    temporary name in the same folder, flushed to disk and renamed over ``target``: a kill at any moment
    leaves the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(magic + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


def read_checked(path: Path, magic: bytes, what: str) -> dict[str, Any]:
    """The state in a file :func:`write_checked` wrote; tensors and plain containers only.

    Raises:
        CheckpointError: one line naming the file: unreadable, not a ``what`` (another header),
            truncated or altered (checksum mismatch), or holding objects a weights-only load refuses.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read the {what.removeprefix('lifelong ')} ({err.strerror})") from None
    if not data.startswith(magic):
        raise CheckpointError(f"{path}: not a {what} (no header)")
    digest, _, payload = data[len(magic):].partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise CheckpointError(f"{path}: {what.removeprefix('lifelong ')} is corrupt (checksum mismatch: truncated or "
                              "altered)")
    try:
        state = torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    except Exception as err:  # the checksum held, so this is not damage but foreign content
        raise CheckpointError(f"{path}: holds what the weights-only loader refuses ({one_line(err)})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a {what}")
    return state
