"""The SQLite store: round trip, skipping stored runs, and a bad file refused without being touched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lifelong
from lifelong.cli import main
from lifelong.presets import load_preset
from lifelong.store import Store, StoreError


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
    assert main(argv) == 0
    second = capsys.readouterr().out
    assert second.count("skipped") == 4
    assert first.splitlines()[-2:] == second.splitlines()[-2:]  # the same summary from stored rows


def test_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(b"precious notes, not sqlite" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="runs.db: not a lifelong results database"):
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
