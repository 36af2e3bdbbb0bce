"""Save and restore a learner with its method's learned state, safely (``weights_only`` loading).

Restoring builds a fresh learner and method, lets the method load its state first (an expansion
method re-grows the network it had), then loads the network's weights. Files are written to a
temporary name and renamed, so an interrupted save never corrupts an earlier checkpoint.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from lifelong.api import build_method
from lifelong.methods.base import Method
from lifelong.models.learner import Learner
from lifelong.streams.stream import Stream

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or does not fit the model it is loaded into."""


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


def restore(state: dict[str, Any], stream: Stream) -> tuple[Learner, Method]:
    """A learner and method equal to the ones snapshotted (same predictions, same future updates)."""
    learner = Learner.build(state["model"], stream, state["seed"], state.get("init", "default"))
    method = build_method(state["method"], state["hyperparameters"])
    method.attach(learner, state["seed"], stream.scenario)
    method.load_state_dict(state["method_state"])
    try:
        learner.load_state_dict(state["learner"])
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint does not fit model {state['model']!r}: {err}") from None
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
    """Read a checkpoint with ``weights_only=True``: tensors and plain containers only, never code."""
    p = Path(path)
    try:
        state: dict[str, Any] = torch.load(p, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{p}: checkpoint does not exist") from None
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError) as err:
        raise CheckpointError(f"{p}: not a readable checkpoint ({err})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a lifelong checkpoint (format {FORMAT})")
    return state
