"""Where a result was measured: versions, the code that produced it, threads, and how busy the machine was."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

PACKAGE = Path(__file__).parent
SOURCE_SUFFIXES = (".py", ".toml")  # the code and the package data that change what a run computes


def library_version() -> str:
    try:
        return metadata.version("lifelong")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def code_fingerprint() -> str:
    """A hash of the installed package's source (every ``.py`` and ``.toml`` file, by path and content).

    The library version alone does not change between commits; two results with the same fingerprint
    were computed by the same code, so a store can tell which of its runs another code produced (stale).
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.rglob("*") if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def git_revision() -> str | None:
    """The project's git commit (with ``-dirty`` if the package's files differ from it), where the
    package runs from a git work tree; None for an installed wheel or without git."""
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(PACKAGE), *args], capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()

        revision = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{revision}-dirty" if dirty else revision


def describe_environment(threads: int) -> dict[str, Any]:
    """Versions, the code's fingerprint and git revision, the host, the torch thread count, and the
    1-minute load average (other processes' load)."""
    return {
        "lifelong": library_version(),
        "code": code_fingerprint(),
        "git": git_revision(),
        "host": socket.gethostname(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": threads,
        "cpus": os.cpu_count(),
        "load_1min": os.getloadavg()[0],
    }
