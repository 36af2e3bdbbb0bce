"""Where a result was measured: versions, threads, and how busy the machine was."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

import torch


def library_version() -> str:
    try:
        return metadata.version("lifelong")
    except metadata.PackageNotFoundError:
        return "unknown"


def describe_environment(threads: int) -> dict[str, Any]:
    """Versions, the torch thread count, and the 1-minute load average (other processes' load)."""
    return {
        "lifelong": library_version(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": threads,
        "cpus": os.cpu_count(),
        "load_1min": os.getloadavg()[0],
    }
