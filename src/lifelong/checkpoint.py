"""Save and restore a learner with its method's learned state, safely (``weights_only`` loading).

Restoring builds a fresh learner and method, lets the method load its state first (an expansion
method re-grows the network it had), then loads the network's weights. Files are written to a
temporary name and renamed, so an interrupted save never corrupts an earlier checkpoint.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from lifelong.api import build_method
from lifelong.data.files import reason, require_file, require_memory
from lifelong.errors import CheckpointError
from lifelong.methods.base import Method
from lifelong.models.learner import Learner
from lifelong.streams.stream import Stream

FORMAT = 1
# What restore reads from a checkpoint, and the type each field must have.
FIELDS: dict[str, type] = {
    "format": int,
    "model": str,
    "init": str,
    "seed": int,
    "method": str,
    "hyperparameters": dict,
    "method_state": dict,
    "learner": dict,
}


def snapshot(learner: Learner, method: Method, model: str, seed: int, init: str = "default") -> dict[str, Any]:
    """Everything needed to continue: the network's weights and the method's ``_`` state."""
    return {
        "format": FORMAT,
        "model": model,
        "init": init,
        "seed": seed,
        "method": method.name,
        "hyperparameters": method.hyperparameters(),
        "method_state": method.state_dict(),
        "learner": learner.state_dict(),
    }


def restore(state: dict[str, Any], stream: Stream, source: str | Path = "checkpoint") -> tuple[Learner, Method]:
    """A learner and method equal to the ones snapshotted (same predictions, same future updates).

    Args:
        state: what :func:`load` returned (or :func:`snapshot` made).
        stream: the stream the learner is rebuilt for.
        source: names the checkpoint in error messages (pass the path it was loaded from).

    Raises:
        CheckpointError: the state is incomplete, or its model, method, hyperparameters, method
            state or weights do not fit this version of lifelong or this stream.
    """
    where = str(source)
    check(state, where)
    try:
        learner = Learner.build(state["model"], stream, state["seed"], state["init"])
        method = build_method(state["method"], state["hyperparameters"], where="hyperparameters.")
        method.attach(learner, state["seed"], stream.scenario)
    except (KeyError, ValueError, TypeError, RuntimeError, MemoryError) as err:
        raise CheckpointError(f"{where}: {_flat(err)}") from None
    try:
        method.load_state_dict(state["method_state"])
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, RuntimeError) as err:
        raise CheckpointError(f"{where}: method state does not fit method {state['method']!r} ({_flat(err)})") from None
    try:
        learner.load_state_dict(state["learner"])
    except RuntimeError as err:
        raise CheckpointError(f"{where}: weights do not fit model {state['model']!r} ({_flat(err)})") from None
    return learner, method


def save(path: str | Path, state: dict[str, Any]) -> None:
    """Write atomically: a temporary file in the same directory, then a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(buffer.getvalue())
    os.replace(tmp, target)


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``: tensors and plain containers only, never code.

    Raises:
        CheckpointError: ``"<path>: <problem>"`` on one line for any file content: missing, a
            directory, not a torch file, objects beyond tensors, missing fields, another format.
    """
    p = Path(path)
    require_file(p, "checkpoint does not exist", CheckpointError)
    require_memory(p, "checkpoint holds", p.stat().st_size, CheckpointError)
    try:
        state = torch.load(p, weights_only=True, map_location="cpu")
    # torch.load raises nearly anything on foreign bytes (UnicodeDecodeError, miniz RuntimeErrors, ...).
    except Exception as err:
        raise CheckpointError(f"{p}: {_unreadable(err)}") from None
    check(state, str(p))
    return state


def check(state: object, source: str) -> None:
    """Refuse a state that lacks a field :func:`restore` reads, or holds one of the wrong type."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: not a lifelong checkpoint (holds a {type(state).__name__}, not a dict)")
    if "format" in state and state["format"] != FORMAT:
        raise CheckpointError(f"{source}: checkpoint format {_flat(repr(state['format']), 40)}; "
                              f"this lifelong reads format {FORMAT}")
    missing = [key for key in FIELDS if key not in state]
    if missing:
        raise CheckpointError(f"{source}: not a lifelong checkpoint (missing {missing})")
    for key, kind in FIELDS.items():
        value = state[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CheckpointError(f"{source}: {key!r} is a {type(value).__name__}, expected {kind.__name__}")
        if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
            raise CheckpointError(f"{source}: {key!r} has keys that are not strings")
    not_tensors = [k for k, v in state["learner"].items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(f"{source}: 'learner' entries {not_tensors[:3]} are not tensors")


def _unreadable(err: Exception) -> str:
    """Why torch could not load a file, in one line and without torch's advice to load unsafely."""
    text = str(err)
    if "Weights only load failed" in text:
        if found := re.search(r"GLOBAL ([\w.]+)", text):
            return f"holds objects other than tensors and plain containers ({found[1]}); refusing to unpickle them"
        detail = re.search(r"WeightsUnpickler error:\s*(.+)", text)
        refused = f": {detail.group(1).strip()}" if detail else ""
        return f"not a readable checkpoint (not a torch file, or a pickle the weights-only loader refuses{refused})"
    cause = re.sub(r"^\[[^\]]*\][\s.]*", "", reason(err))  # drop a C++ source location "[enforce fail at x.cc:1] ."
    return f"not a readable checkpoint ({cause.split('. ')[0]})"


def _flat(what: object, limit: int = 300) -> str:
    """An error's whole message (a KeyError's without quotes) or a text on one line, cut at ``limit`` characters."""
    text = str(what.args[0]) if isinstance(what, KeyError) and what.args else str(what)
    line = " ".join(text.split())
    return line if len(line) <= limit else f"{line[:limit]}..."
