"""Errors a user can cause, one kind per boundary; the CLI prints each as one line.

``lifelong: error: <file or option>: <problem>`` with exit code 2 (a divergence: exit code 3), and a
traceback only with ``--debug``. Every message starts with the file or option it is about, so the
user knows what to fix without reading code. Inside the library, code trusts its inputs: these are
raised where data, options, stores and checkpoints come in.

Each kind also derives from ``ValueError``, so callers that caught ``ValueError`` keep working.
"""

from __future__ import annotations

from typing import Any


class LifelongError(ValueError):
    """Base of every user-facing error: the message is one line naming the file or option."""

    exit_code = 2


class OptionError(LifelongError):
    """An option (command line, preset, API argument) is unknown, of the wrong type or out of range."""


class DataError(LifelongError):
    """A data file is missing, corrupt or malformed; the message names the file and the problem."""


class StoreError(LifelongError):
    """A results store is unreadable, foreign, of an unknown version, or cannot be written."""


class CheckpointError(LifelongError):
    """A checkpoint is missing, corrupt, incomplete, or does not fit the model it is loaded into."""


class DivergedError(LifelongError):
    """Training produced a non-finite loss, parameter or importance; the run stopped at that step.

    Attributes:
        result: what was measured before the divergence (the finished rows of R), for ``--json``
            and the store; None when the run had not started.
    """

    exit_code = 3

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


def one_line(text: object) -> str:
    """A message reduced to its first line (library errors that span lines, e.g. torch's, are cut)."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(text).__name__
