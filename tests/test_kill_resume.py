"""SIGKILL a real `lifelong run --store` process mid-run, run the same command again: it resumes from the
last finished task and ends with the matrix and metrics of an uninterrupted run, bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# EWC (its importances and anchors are state), SGD with momentum kept across tasks (optimizer state).
COMMAND = ["run", "--stream", "synthetic", "--stream.tasks", "3", "--stream.examples", "20000",
           "--stream.features", "64", "--model", "mlp-256x2", "--epochs", "2", "--method", "ewc",
           "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--train.reset_optimizer", "false"]
# Runs the CLI, killing itself with SIGKILL just before the checkpoint after task 2 is renamed into
# place: the bytes are written and flushed, the rename never happens.
DIE_IN_WRITE = """
import os, signal, sys
import lifelong.resume as resume
from lifelong.cli import main
real = os.replace
def replace(src, dst):
    if str(dst).endswith("after-002.ckpt"):
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
resume.os.replace = replace
sys.exit(main(sys.argv[1:]))
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lifelong.cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("straight") / "r.json"
    subprocess.run(_cli(*COMMAND, "--quiet", "--json", str(out)), check=True, env=_env(), capture_output=True)
    return json.loads(out.read_text())


def _resume(tmp_path: Path) -> tuple[dict, str]:
    out = tmp_path / "r.json"
    done = subprocess.run(_cli(*COMMAND, "--store", str(tmp_path / "runs.db"), "--json", str(out)), env=_env(),
                          capture_output=True, text=True, check=True)
    return json.loads(out.read_text()), done.stderr


def test_killed_during_task_2_resumes_bit_identical(tmp_path: Path, uninterrupted: dict) -> None:
    folder = tmp_path / "runs.checkpoints"
    process = subprocess.Popen(_cli(*COMMAND, "--quiet", "--store", str(tmp_path / "runs.db")), env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(folder.glob("*/after-001.ckpt")):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.02)
    time.sleep(0.3)  # well into task 2 (about a second of training)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert [p.name for p in folder.glob("*/*.ckpt")] == ["after-001.ckpt"]
    resumed, stderr = _resume(tmp_path)
    assert "resumed from its checkpoint after task 1 of 3" in stderr
    assert resumed["matrix"] == uninterrupted["matrix"]
    assert resumed["metrics"] == uninterrupted["metrics"]
    assert not list(folder.glob("*/*.ckpt")), "a finished run keeps no checkpoints"


def test_killed_while_writing_a_checkpoint_resumes_bit_identical(tmp_path: Path, uninterrupted: dict) -> None:
    killed = subprocess.run([sys.executable, "-c", DIE_IN_WRITE, *COMMAND, "--quiet", "--store",
                             str(tmp_path / "runs.db")], env=_env(), capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    names = sorted(p.name for p in (tmp_path / "runs.checkpoints").glob("*/*"))
    assert names[0] == ".after-002.ckpt." + names[0].split(".")[-2] + ".tmp" and names[1:] == ["after-001.ckpt"]
    resumed, stderr = _resume(tmp_path)
    assert "resumed from its checkpoint after task 1 of 3" in stderr
    assert resumed["matrix"] == uninterrupted["matrix"]
    assert resumed["metrics"] == uninterrupted["metrics"]
