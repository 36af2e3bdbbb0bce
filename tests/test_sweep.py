"""`lifelong sweep`: a grid file expands to content-addressed runs; a sweep run twice does the work once; a
failing configuration is stored as failed while the others finish; two sweeps on one store share the work;
Ray stores what the local pool stores; `--tune-on K` chooses without evaluating any later task."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lifelong
from conftest import one_line_error
from lifelong.api import build_method, build_stream, run_config, train_config
from lifelong.cli import main
from lifelong.errors import OptionError
from lifelong.presets import PresetError
from lifelong.store import Store
from lifelong.sweep.grid import load_grid

ISSUE_GRID = """seeds = [0, 1]
[stream]
name = "split-mnist"
scenario = "task"
examples = 500
[train]
optimizer = "adam"
lr = 0.001
epochs = 1
[methods.finetune]
[methods.ewc]
lam = [10.0, 1000.0]
"""
SMALL = """seeds = [0, 1]
[stream]
name = "synthetic"
tasks = 3
examples = 48
[model]
name = "mlp-8x1"
[train]
epochs = 1
batch_size = 16
[methods.finetune]
[methods.ewc]
lam = [10.0, 1000.0]
"""


def _grid(tmp_path: Path, text: str = SMALL, name: str = "grid.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(store: Path) -> list[tuple]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT run_id, method, seed, status, message, result FROM runs ORDER BY rowid").fetchall()
    db.close()
    return rows


def test_the_issue_grid_is_six_runs_with_the_run_ids_of_lifelong_run(tmp_path: Path, fake_mnist: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    grid = load_grid(_grid(tmp_path, ISSUE_GRID))
    runs = grid.runs()
    assert [(r.label, r.seed) for r in runs] == [("finetune", 0), ("finetune", 1), ("ewc lam=10.0", 0),
                                                 ("ewc lam=10.0", 1), ("ewc lam=1000.0", 0), ("ewc lam=1000.0", 1)]
    assert len({r.run_id for r in runs}) == 6
    # The id `lifelong run` computes for the same settings: the sweep's runs are the same runs.
    stream = build_stream("split-mnist", {"scenario": "task", "examples": "500"}, 1)
    train = train_config("split-mnist", {"optimizer": "adam", "lr": "0.001", "epochs": "1"})
    assert run_config(stream, build_method("ewc", {"lam": "1000"}), "mlp-400x2", 1, train).run_id == runs[5].run_id
    assert main(["sweep", str(tmp_path / "grid.toml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert all(r.run_id in out for r in runs)
    assert out.splitlines()[-1] == "6 runs (3 configurations x 2 seeds): 0 stored, 6 to run"


@pytest.mark.parametrize(("text", "problem"), [
    ("seeds = [0, 0]\n[stream]\nname = 'synthetic'\n[methods.finetune]\n", "seeds [0, 0] name a seed twice"),
    ("seeds = 'all'\n[stream]\nname = 'synthetic'\n[methods.finetune]\n", "seeds must be a list"),
    ("[stream]\nname = 'synthetic'\n", "[methods] is empty"),
    ("[stream]\nname = ['synthetic', 'split-mnist']\n[methods.finetune]\n", "[stream] needs one name"),
    ("[stream]\nname = 'synthetic'\n[methods.ewc]\nlam = []\n", "[methods.ewc] lam: an axis needs at least one"),
    ("[stream]\nname = 'synthetic'\n[methods.ewc]\nlamda = [1.0, 2.0]\n", "lamda: unknown option of method 'ewc'"),
    ("[stream]\nname = 'synthetic'\n[train]\nlr = [0.1, 'fast']\n[methods.finetune]\n", "lr: cannot read"),
])
def test_a_bad_grid_is_one_line_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = _grid(tmp_path, text)
    message = one_line_error(PresetError, lambda: load_grid(path))
    assert message.startswith(f"{path}: ") and problem in message


def test_a_tuple_field_is_an_axis_only_as_a_list_of_lists(tmp_path: Path) -> None:
    fixed = load_grid(_grid(tmp_path, "[stream]\nname = 'synthetic'\n[train]\nbetas = [0.9, 0.99]\n"
                                      "[methods.finetune]\n"))
    assert [c.train.betas for c in fixed.configurations] == [(0.9, 0.99)]
    axis = load_grid(_grid(tmp_path, "[stream]\nname = 'synthetic'\n[train]\nbetas = [[0.9, 0.99], [0.5, 0.9]]\n"
                                     "[methods.finetune]\n"))
    assert [c.train.betas for c in axis.configurations] == [(0.9, 0.99), (0.5, 0.9)]
    assert [c.label for c in axis.configurations] == ["finetune train.betas=(0.9, 0.99)",
                                                      "finetune train.betas=(0.5, 0.9)"]


def test_a_sweep_run_twice_does_the_work_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "runs.db"
    argv = ["sweep", str(_grid(tmp_path)), "--store", str(store), "--workers", "2", "--quiet",
            "--json", str(tmp_path / "s.json")]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "sweep: 6 runs, 0 stored, 6 to run" in first
    payload = json.loads((tmp_path / "s.json").read_text())
    assert len(payload["trained"]) == 6 and len(payload["runs"]) == 6
    assert [r[3] for r in _rows(store)] == ["finished"] * 6
    assert not (tmp_path / "runs.checkpoints").exists(), "finished runs leave no checkpoints"
    assert main(argv) == 0
    assert "sweep: 6 runs, 6 stored, 0 to run" in capsys.readouterr().out
    assert json.loads((tmp_path / "s.json").read_text())["trained"] == []
    # What the sweep stored equals a plain in-process run of the same configuration.
    direct = lifelong.run("synthetic", "ewc", "mlp-8x1", seed=1, stream_params={"tasks": 3, "examples": 48},
                          method_params={"lam": 1000.0}, epochs=1, batch_size=16)
    with Store(store) as s:
        assert s.get(direct.run_id).matrix.to_list() == direct.matrix.to_list()


def test_a_failing_configuration_is_stored_as_failed_and_the_others_finish(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "runs.db"
    grid = _grid(tmp_path, SMALL.replace("lam = [10.0, 1000.0]", "lam = [10.0, 1e300]").replace("[train]",
                                         "[train]\noptimizer = 'sgd'\nlr = 10.0"))
    assert main(["sweep", str(grid), "--store", str(store), "--workers", "2", "--quiet"]) == 3
    err = capsys.readouterr().err
    statuses = {(r[1], json.loads(r[5])["config"]["method_params"].get("lam"), r[2]): (r[3], r[4])
                for r in _rows(store)}
    assert len(statuses) == 6
    assert all(status == "finished" for (method, lam, _), (status, _) in statuses.items() if lam != 1e300)
    failed = [message for (_, lam, _), (status, message) in statuses.items() if lam == 1e300]
    assert len(failed) == 2 and all("training diverged: method ewc" in m for m in failed)
    assert err.count("failed: training diverged") == 2


def test_two_sweeps_on_one_store_at_once_lose_nothing_and_train_nothing_twice(tmp_path: Path) -> None:
    grid = _grid(tmp_path, SMALL.replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3]"))
    store = tmp_path / "runs.db"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    sweeps = [subprocess.Popen([sys.executable, "-m", "lifelong.cli", "sweep", str(grid), "--store", str(store),
                                "--workers", "1", "--quiet", "--json", str(tmp_path / f"{k}.json")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(2)]
    for p in sweeps:
        assert p.wait(timeout=300) == 0, p.stderr.read() if p.stderr else ""
    trained = [json.loads((tmp_path / f"{k}.json").read_text())["trained"] for k in range(2)]
    rows = _rows(store)
    assert len(rows) == 12 and all(r[3] == "finished" for r in rows)
    assert not set(trained[0]) & set(trained[1]), "a run was trained by both sweeps"
    assert sorted(trained[0] + trained[1]) == sorted(r[0] for r in rows)
    assert all(len(json.loads((tmp_path / f"{k}.json").read_text())["runs"]) == 12 for k in range(2))


def test_ctrl_c_stops_cleanly_and_the_next_call_finishes(tmp_path: Path) -> None:
    grid = _grid(tmp_path, SMALL.replace("examples = 48", "examples = 20000\nfeatures = 64").replace(
        "mlp-8x1", "mlp-256x2").replace("seeds = [0, 1]", "seeds = [0]"))
    store = tmp_path / "runs.db"
    argv = [sys.executable, "-m", "lifelong.cli", "sweep", str(grid), "--store", str(store), "--workers", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    sweep = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "runs.checkpoints").glob("*/after-001.ckpt")):
        assert sweep.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(sweep.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole process group
    assert sweep.wait(timeout=60) == 130
    assert "sweep interrupted" in (sweep.stderr.read() if sweep.stderr else "")
    assert "interrupted" in {r[4] for r in _rows(store)}
    again = subprocess.run([*argv, "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert all(r[3] == "finished" for r in _rows(store)) and len(_rows(store)) == 3


def test_tune_on_chooses_on_the_first_k_tasks_without_evaluating_later_ones(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "runs.db"
    grid = _grid(tmp_path, SMALL.replace("lam = [10.0, 1000.0]", "lam = [0.0, 1e6]"))
    assert main(["sweep", str(grid), "--store", str(store), "--workers", "2", "--quiet", "--tune-on", "2",
                 "--json", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    payload = json.loads((tmp_path / "t.json").read_text())
    record = payload["tuning"]["ewc"]
    assert "finetune" not in payload["tuning"]  # one configuration: nothing to choose
    assert [c["label"] for c in record["candidates"]] == ["ewc lam=0.0", "ewc lam=1000000.0"]
    best = max(record["candidates"], key=lambda c: c["acc"])
    assert record["chosen"] == best["label"] and "<- chosen" in out
    rows = [json.loads(r[5]) for r in _rows(store)]
    tuning = [r for r in rows if r["config"]["stream_params"].get("first_tasks") == 2]
    full = [r for r in rows if "first_tasks" not in r["config"]["stream_params"]]
    assert len(tuning) == 4 and all(len(r["matrix"][0]) == 2 for r in tuning)  # never saw task 3
    assert rows[:4] == tuning, "every tuning run ended before any run over all tasks began"
    chosen_lam = 0.0 if best["label"] == "ewc lam=0.0" else 1e6
    assert sorted((r["config"]["method"], r["config"]["method_params"].get("lam")) for r in full) == \
        sorted([("finetune", None)] * 2 + [("ewc", chosen_lam)] * 2)
    assert all(len(r["matrix"][0]) == 3 for r in full)


def test_tune_on_k_must_leave_tasks_to_run(tmp_path: Path) -> None:
    argv = ["sweep", str(_grid(tmp_path)), "--store", str(tmp_path / "runs.db"), "--tune-on", "3", "--dry-run"]
    message = one_line_error(OptionError, lambda: _raise_from(argv))
    assert message == "--stream.first_tasks: must be between 1 and 2 (stream synthetic has 3 tasks), got 3"


def _raise_from(argv: list[str]) -> None:
    from lifelong.cli import _parser
    from lifelong.sweep.command import sweep_command

    args, extra = _parser().parse_known_args(argv)
    sweep_command(args, extra)


def test_engine_ray_without_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["sweep", str(_grid(tmp_path)), "--store", str(tmp_path / "r.db"), "--engine", "ray"]) == 2
    assert capsys.readouterr().err == ('lifelong: error: --engine ray: Ray is not installed; install the extra with '
                                       'pip install -e ".[ray]" (or pip install "lifelong[ray]")\n')
    assert not (tmp_path / "r.db").exists()


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install -e '.[ray]')")
def test_engine_ray_stores_the_matrices_of_the_local_engine(tmp_path: Path) -> None:
    grid = _grid(tmp_path)
    assert main(["sweep", str(grid), "--store", str(tmp_path / "local.db"), "--workers", "2", "--quiet"]) == 0
    assert main(["sweep", str(grid), "--store", str(tmp_path / "ray.db"), "--engine", "ray", "--workers", "2",
                 "--quiet"]) == 0
    local = {r[0]: json.loads(r[5])["matrix"] for r in _rows(tmp_path / "local.db")}
    ray = {r[0]: json.loads(r[5])["matrix"] for r in _rows(tmp_path / "ray.db")}
    assert len(local) == 6 and local == ray


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the worker process")
def test_a_worker_killed_fails_its_run_the_others_finish_and_the_next_call_resumes(tmp_path: Path) -> None:
    grid = _grid(tmp_path, SMALL.replace("examples = 48", "examples = 20000\nfeatures = 64").replace(
        "mlp-8x1", "mlp-256x2").replace("[methods.ewc]\nlam = [10.0, 1000.0]\n", ""))
    store = tmp_path / "runs.db"
    argv = [sys.executable, "-m", "lifelong.cli", "sweep", str(grid), "--store", str(store), "--workers", "1",
            "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    sweep = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "runs.checkpoints").glob("*/after-001.ckpt")):
        assert sweep.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    workers = [c for c in _children(sweep.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer would
    assert sweep.wait(timeout=120) == 3
    rows = {r[2]: (r[3], r[4]) for r in _rows(store)}
    assert rows[0] == ("failed", "its worker process died (killed, or out of memory); the next sweep redoes it "
                                 "from its last checkpoint") and rows[1][0] == "finished"
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert all(r[3] == "finished" for r in _rows(store))


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install -e '.[ray]')")
def test_an_address_where_no_ray_cluster_answers_is_one_line_and_claims_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = tmp_path / "runs.db"
    assert main(["sweep", str(_grid(tmp_path)), "--store", str(store), "--engine", "ray", "--address",
                 f"127.0.0.1:{port}", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(f"lifelong: error: --address 127.0.0.1:{port}: no Ray cluster answers")
    assert not store.exists() or _rows(store) == []
