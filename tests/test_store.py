"""The SQLite store: round trip, skipping stored runs, and a bad file refused without being touched."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import lifelong
from lifelong.cli import main
from lifelong.presets import load_preset
from lifelong.store import V1_COLUMNS, Store, StoreError


def test_round_trip_and_filters(tmp_path: Path) -> None:
    result = lifelong.run("synthetic", "finetune", "mlp-8x1", seed=3, epochs=1)
    with Store(tmp_path / "runs.db") as store:
        store.put(result)
        assert store.has(result.run_id) and not store.has("other")
        back = store.get(result.run_id)
        assert np.array_equal(back.matrix.values, result.matrix.values)
        assert back.metrics["acc"] == pytest.approx(result.metrics["acc"])
        assert [r["config"]["seed"] for r in store.results(method="finetune")] == [3]
        assert store.results(method="joint") == []
        with pytest.raises(KeyError, match="cannot filter on"):
            store.results(colour="red")


def test_compare_skips_stored_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", "--stream", "synthetic", "--method", "finetune,joint", "--seeds", "2", "--model", "mlp-8x1",
            "--quiet", "--store", str(tmp_path / "runs.db")]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "skipped" not in first and "± " in first
    before = (tmp_path / "runs.db").read_bytes()
    assert main(argv) == 0
    assert (tmp_path / "runs.db").read_bytes() == before  # all stored: reading them back writes nothing
    second = capsys.readouterr().out
    assert second.count("skipped") == 4
    assert first.splitlines()[-2:] == second.splitlines()[-2:]  # the same summary from stored rows


def test_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(b"precious notes, not sqlite" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"runs.db: not a lifelong results database \(not a SQLite file\)$"):
        Store(path)
    assert path.read_bytes() == before


def test_preset_reads_stored_runs_back_and_stores_new_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[stream]\nname = "synthetic"\ntasks = 2\n[model]\nname = "mlp-8x1"\n'
                    '[train]\nepochs = 1\n[methods.finetune]\n')
    preset = load_preset(path)
    with Store(tmp_path / "runs.db") as store:
        first = preset.run("finetune", 1, store=store)
        assert store.has(first.run_id)

        def no_training(*args: object, **kwargs: object) -> None:
            raise AssertionError("a stored run was trained again")

        monkeypatch.setattr(lifelong.api, "run", no_training)
        again = preset.run("finetune", 1, store=store)
        assert np.array_equal(again.matrix.values, first.matrix.values)
        with pytest.raises(AssertionError, match="trained again"):  # another seed is another run
            preset.run("finetune", 2, store=store)


SYN = ["run", "--stream", "synthetic", "--model", "mlp-8x1", "--epochs", "1", "--quiet"]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr("lifelong.cli.train_loop", refuse)


def test_a_foreign_sqlite_file_is_refused_and_left_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (id INTEGER, distance REAL)")  # someone else's "runs"
        db.execute("CREATE TABLE shoes (brand TEXT)")
        db.execute("INSERT INTO runs VALUES (1, 5.2)")
    db.close()
    before = _files(tmp_path)
    _no_training(monkeypatch)
    assert main([*SYN, "--store", str(path)]) == 2
    assert capsys.readouterr().err == (f"lifelong: error: {path}: not a lifelong results database (it holds other "
                                       "tables: shoes); refusing to touch it\n")
    assert main(["report", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "not a lifelong results database" in capsys.readouterr().err
    only_runs = tmp_path / "only-runs.db"
    with sqlite3.connect(only_runs) as db:
        db.execute("CREATE TABLE runs (id INTEGER, distance REAL)")
    db.close()
    with pytest.raises(StoreError, match=r"only-runs.db: not a lifelong results database \(its runs table has "
                                         r"columns id, distance\)"):
        Store(only_runs)
    assert _files(tmp_path) == {**before, "only-runs.db": only_runs.read_bytes()}


def test_a_store_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with Store(path) as store:
        store.put(lifelong.run("synthetic", "finetune", "mlp-8x1", epochs=1))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 7")
    db.close()
    before = path.read_bytes()
    for readonly in (False, True):
        with pytest.raises(StoreError, match=r"runs.db: store version 7 is newer than this lifelong knows \(2\); "
                                             "upgrade lifelong to read it"):
            Store(path, readonly=readonly)
    assert path.read_bytes() == before


def test_status_host_version_and_times_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    assert main([*SYN, "--store", str(path)]) == 0
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT status, message, started, ended, host, version FROM runs").fetchone()
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()
    status, message, started, ended, host, version = row
    assert status == "finished" and message is None and started <= ended and host and version == lifelong.__version__


def _v1_store(path: Path, result: lifelong.Result) -> None:
    """A store as version 1 wrote it: no status, no user_version."""
    data = result.to_dict()
    for key in ("status", "message"):
        data.pop(key)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, created TEXT NOT NULL, stream TEXT NOT NULL, "
                   "method TEXT NOT NULL, model TEXT NOT NULL, seed INTEGER NOT NULL, acc REAL, bwt REAL, fwt REAL, "
                   "forgetting REAL, seconds REAL, result TEXT NOT NULL)")
        db.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(V1_COLUMNS))})",
                   (result.run_id, "2026-11-01T00:00:00+00:00", "synthetic", "finetune", "mlp-8x1", 0,
                    0.5, 0.0, 0.0, 0.0, 1.0, json.dumps(data)))
    db.close()


def test_a_version_1_store_is_read_without_writing_and_migrated_on_the_first_write(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = lifelong.run("synthetic", "finetune", "mlp-8x1", epochs=1)
    _v1_store(path, old)
    before = _files(tmp_path)
    out = tmp_path / "report"
    assert main(["report", str(path), "--out", str(out)]) == 0  # a read command: nothing written to the store
    with Store(path) as store:  # opened for writing, but only read: still nothing written
        assert store.has(old.run_id) and store.version == 1
    assert _files(tmp_path) == before
    with Store(path) as store:
        store.put(lifelong.run("synthetic", "finetune", "mlp-8x1", epochs=1, seed=1))
        assert store.version == 2 and store.has(old.run_id) and store.counts() == {"finished": 2}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()


def test_a_truncated_result_is_one_line_naming_the_store_and_run(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.db"
    result = lifelong.run("synthetic", "finetune", "mlp-8x1", epochs=1)
    with Store(path) as store:
        store.put(result)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET result = substr(result, 1, 200)")
    db.close()
    before = path.read_bytes()
    assert main(["report", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lifelong: error: {path}: run {result.run_id}: the stored result is not valid JSON (")
    assert err.count("\n") == 1 and path.read_bytes() == before
    path.write_bytes(before[: len(before) // 2])  # the file itself cut short
    assert main(["report", str(path), "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.startswith(f"lifelong: error: {path}: ")


def test_a_read_only_store_is_refused_before_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.db"
    assert main([*SYN, "--store", str(path)]) == 0
    capsys.readouterr()
    before = path.read_bytes()
    os.chmod(path, 0o444)
    _no_training(monkeypatch)
    assert main([*SYN, "--seed", "1", "--store", str(path)]) == 2
    assert capsys.readouterr().err == f"lifelong: error: {path}: the results store is read-only\n"
    assert path.read_bytes() == before
    assert main(["report", str(path), "--out", str(tmp_path / "r")]) == 0  # reading needs no write permission


def test_a_missing_json_folder_is_refused_before_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _no_training(monkeypatch)
    target = tmp_path / "missing" / "out.json"
    assert main([*SYN, "--json", str(target)]) == 2
    assert capsys.readouterr().err == (f"lifelong: error: --json {target}: folder {target.parent} does not exist\n")
    assert main([*SYN, "--json", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"lifelong: error: --json {tmp_path}: is a folder, not a JSON file\n"


def test_a_final_store_write_that_fails_leaves_the_result_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.db"

    def disk_full(self: Store, *args: object, **kwargs: object) -> None:
        raise StoreError(f"{self.path}: cannot write the results store (database or disk is full)")

    monkeypatch.setattr(Store, "put", disk_full)
    assert main([*SYN, "--store", str(path)]) == 0
    err = capsys.readouterr().err.strip()
    saved = sorted(tmp_path.glob("runs.db.*.json"))
    assert len(saved) == 1
    assert err == (f"lifelong: warning: {path}: cannot write the results store (database or disk is full); the "
                   f"result of run {saved[0].name.split('.')[2]} is in {saved[0]}")
    assert json.loads(saved[0].read_text())["status"] == "finished"


def test_an_interrupted_run_is_stored_as_failed_and_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.db"

    class CtrlC(lifelong.observers.Observer):
        def step(self, index: int, loss: object) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr("lifelong.cli.Progress", lambda label: CtrlC())
    assert main(["run", "--stream", "synthetic", "--model", "mlp-8x1", "--epochs", "1", "--store", str(path)]) == 130
    assert capsys.readouterr().err == "lifelong: interrupted\n"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT status, message FROM runs").fetchall() == [("failed", "interrupted")]
    db.close()
    monkeypatch.undo()
    assert main([*SYN, "--store", str(path)]) == 0  # not a result: trained again, now finished
    assert "skipped" not in capsys.readouterr().out
    with Store(path, readonly=True) as store:
        assert store.counts() == {"finished": 1}


def test_an_early_version_2_store_is_migrated_with_code_git_and_owner(tmp_path: Path) -> None:
    """A version-2 store from before the code fingerprint was recorded: read as it is, columns added on
    the first write, its old rows counted stale (no code recorded)."""
    from lifelong.store import SCHEMA, V2_COLUMNS, V2_EARLY_COLUMNS

    path = tmp_path / "runs.db"
    old = lifelong.run("synthetic", "finetune", "mlp-8x1", epochs=1)
    early = SCHEMA.replace(",\n    code TEXT,\n    git TEXT,\n    owner TEXT", "")
    with sqlite3.connect(path) as db:
        db.execute(early)
        db.execute("PRAGMA user_version = 2")
        columns = ", ".join(V2_EARLY_COLUMNS)
        db.execute(f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' * len(V2_EARLY_COLUMNS))})",
                   (old.run_id, "2026-11-01T00:00:00+00:00", "synthetic", "finetune", "mlp-8x1", 0, 0.5, 0.0, 0.0,
                    0.0, 1.0, json.dumps(old.to_dict()), "finished", None, None, None, "h", "0.1.0"))
    db.close()
    before = path.read_bytes()
    with Store(path) as store:
        assert store.has(old.run_id) and store.stale() == [old.run_id]
    assert path.read_bytes() == before
    with Store(path) as store:
        store.put(lifelong.run("synthetic", "finetune", "mlp-8x1", epochs=1, seed=1))
    with sqlite3.connect(path) as db:
        assert tuple(r[1] for r in db.execute("PRAGMA table_info(runs)")) == V2_COLUMNS
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_runs_of_other_code_are_stale_and_redone_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lifelong import store as store_module

    result = lifelong.run("synthetic", "finetune", "mlp-8x1", epochs=1)
    with Store(tmp_path / "runs.db") as store:
        store.put(result)
        assert store.stale() == [] and store.has(result.run_id, rerun_stale=True)
        monkeypatch.setattr(store_module, "code_fingerprint", lambda: "another-code")
        assert store.stale() == [result.run_id] and store.stale(["x"]) == []
        assert store.has(result.run_id) and not store.has(result.run_id, rerun_stale=True)


def test_a_run_held_by_a_live_process_is_not_claimed_until_it_is_gone(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    config = {"stream": "synthetic", "method": "finetune", "model": "mlp-8x1", "seed": 0}
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with Store(tmp_path / "runs.db") as store:
            assert store.claim(config, "r1") == "claimed"
            assert store.claim(config, "r1") == "claimed"  # ours already: claiming again keeps it
            with sqlite3.connect(tmp_path / "runs.db") as db:
                db.execute("UPDATE runs SET owner = ?", (f"{socket.gethostname()}:{other.pid}",))
            db.close()
            assert store.claim(config, "r1") == "taken"
            other.kill()
            other.wait()
            assert store.claim(config, "r1") == "claimed"  # its owner died: the run is redone
            result = lifelong.run("synthetic", "finetune", "mlp-8x1", epochs=1)
            store.put(result)
            assert store.claim(config, result.run_id) == "finished"
    finally:
        other.kill()


def test_compare_counts_stale_runs_and_rerun_stale_redoes_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from lifelong import store as store_module

    argv = ["compare", "--stream", "synthetic", "--method", "finetune,joint", "--model", "mlp-8x1", "--epochs", "1",
            "--quiet", "--store", str(tmp_path / "runs.db")]
    assert main(argv) == 0
    capsys.readouterr()
    monkeypatch.setattr(store_module, "code_fingerprint", lambda: "another-code")  # as if the code changed
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("skipped") == 2 and f"2 of the 2 runs read from {tmp_path / 'runs.db'} are stale" in out
    assert main([*argv, "--rerun-stale"]) == 0
    assert "skipped" not in capsys.readouterr().out
