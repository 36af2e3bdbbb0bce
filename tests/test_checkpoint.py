"""Checkpoints: any bad file or bad state stops with one line naming the checkpoint, and loading
never unpickles objects nor touches the file. (Round trips of every method: methods/test_contract.py.)"""

from __future__ import annotations

import io
import re
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import one_line_error
from lifelong import checkpoint
from lifelong.api import build_method
from lifelong.errors import CheckpointError
from lifelong.models.learner import Learner
from lifelong.streams.stream import Stream

MODEL = "mlp-8x1"


_message = partial(one_line_error, CheckpointError)  # the CheckpointError a call raises, checked to be one line


def _state(stream: Stream, method: str = "ewc") -> dict[str, Any]:
    learner = Learner.build(MODEL, stream, 0)
    built = build_method(method)
    built.attach(learner, 0, stream.scenario)
    return checkpoint.snapshot(learner, built, MODEL, seed=0)


def _saved(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _zip_without_torch() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


class _Exploit:
    """Unpickling this would create a file: the proof that a loader ran pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


NOT_READABLE = re.escape("not a readable checkpoint (")
BAD_FILES = {
    "random bytes": (b"not a checkpoint", NOT_READABLE + re.escape(
        "not a torch file, or a pickle the weights-only loader refuses: ") + r"[^)]+\)"),
    "empty": (b"", re.escape("not a readable checkpoint (the file ends early)")),
    "zip, not torch": (_zip_without_torch(), NOT_READABLE + r"[^)]+\)"),
    "truncated": (_saved({"w": torch.zeros(100)})[:300], NOT_READABLE + r"[^)]+\)"),
    "objects": (_saved({"where": Path("x")}), re.escape(
        "holds objects other than tensors and plain containers (pathlib.PosixPath); refusing to unpickle them")),
    "a list": (_saved([1, 2]), re.escape("not a lifelong checkpoint (holds a list, not a dict)")),
    "missing keys": (_saved({"format": 1, "model": MODEL}), re.escape(
        "not a lifelong checkpoint (missing ['init', 'seed', 'method', 'hyperparameters', 'method_state', "
        "'learner'])")),
    "another format": (_saved({"format": 2}), re.escape("checkpoint format 2; this lifelong reads format 1")),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_one_line_and_left_untouched(tmp_path: Path, case: str) -> None:
    content, problem = BAD_FILES[case]
    path = tmp_path / "ckpt.pt"
    path.write_bytes(content)
    message = _message(lambda: checkpoint.load(path))
    assert re.fullmatch(re.escape(f"{path}: ") + problem, message), message
    assert "weights_only" not in message and "trust" not in message
    assert path.read_bytes() == content


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "none.pt"
    assert _message(lambda: checkpoint.load(missing)) == f"{missing}: checkpoint does not exist"
    assert _message(lambda: checkpoint.load(tmp_path)) == f"{tmp_path}: is a directory, not a file"


def test_objects_are_never_unpickled(tmp_path: Path) -> None:
    marker, path = tmp_path / "pwned", tmp_path / "ckpt.pt"
    torch.save({"format": 1, "model": _Exploit(marker)}, path)
    content = path.read_bytes()
    message = _message(lambda: checkpoint.load(path))
    assert message.startswith(f"{path}: holds objects other than tensors and plain containers (")
    assert message.endswith("); refusing to unpickle them")
    assert not marker.exists() and path.read_bytes() == content


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"seed": "0"}, "'seed' is a str, expected int"),
        ({"seed": True}, "'seed' is a bool, expected int"),
        ({"hyperparameters": [1]}, "'hyperparameters' is a list, expected dict"),
        ({"method_state": {1: 2}}, "'method_state' has keys that are not strings"),
        ({"learner": {"w": [1.0]}}, "'learner' entries ['w'] are not tensors"),
    ],
)
def test_fields_of_the_wrong_type(tiny_stream: Stream, tmp_path: Path, change: dict[str, Any], problem: str) -> None:
    path = tmp_path / "ckpt.pt"
    checkpoint.save(path, {**_state(tiny_stream), **change})
    content = path.read_bytes()
    assert _message(lambda: checkpoint.load(path)) == f"{path}: {problem}"
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"method": "nope"}, "unknown method 'nope'; valid: "),
        ({"hyperparameters": {"nope": 1}}, "hyperparameters.nope: unknown option of method 'ewc'; valid: "),
        ({"hyperparameters": {"lam": "much"}}, "hyperparameters.lam: "),
        ({"model": "nope-8x1"}, "unknown model 'nope'; valid: "),
        ({"model": "mlp-16x1"}, "weights do not fit model 'mlp-16x1' (Error(s) in loading state_dict for Learner: "),
        ({"method_state": {"x": 1}}, "method state does not fit method 'ewc' ('x' is not method state"),
    ],
)
def test_states_that_do_not_fit_name_the_checkpoint(tiny_stream: Stream, tmp_path: Path, change: dict[str, Any],
                                                    problem: str) -> None:
    path = tmp_path / "ckpt.pt"
    checkpoint.save(path, {**_state(tiny_stream), **change})
    state = checkpoint.load(path)
    assert _message(lambda: checkpoint.restore(state, tiny_stream, path)).startswith(f"{path}: {problem}")
    assert _message(lambda: checkpoint.restore(state, tiny_stream)).startswith(f"checkpoint: {problem}")


def test_restore_checks_a_state_it_is_handed(tiny_stream: Stream) -> None:
    state = _state(tiny_stream)
    del state["learner"]
    assert _message(lambda: checkpoint.restore(state, tiny_stream)) == (
        "checkpoint: not a lifelong checkpoint (missing ['learner'])"
    )


def test_a_good_checkpoint_round_trips(tiny_stream: Stream, tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    checkpoint.save(path, _state(tiny_stream))
    learner, method = checkpoint.restore(checkpoint.load(path), tiny_stream, path)
    original = Learner.build(MODEL, tiny_stream, 0)
    assert method.name == "ewc"
    assert all(torch.equal(a, b) for a, b in zip(learner.state_dict().values(), original.state_dict().values(),
                                                 strict=True))
