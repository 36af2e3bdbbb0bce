"""`lifelong order`: order sensitivity, the transfer matrix (checked against plain runs), the greedy curriculum
(checked on a hand-made matrix), and everything stored so that a repeated study trains nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import lifelong
from lifelong.cli import main
from lifelong.order import propose, random_orders

SMALL = ["--stream", "synthetic", "--stream.tasks", "3", "--scenario", "domain", "--model", "mlp-16", "--epochs", "1"]


def test_the_proposal_follows_its_rule_on_a_hand_made_matrix() -> None:
    transfer = np.array([[0.9, 0.2, 0.3],    # task 0 helps the others: mean 0.25
                         [0.6, 0.9, 0.7],    # task 1 helps most: mean 0.65 -> first
                         [0.1, 0.4, 0.9]])   # then the task 1 transfers to most: 2 (0.7 > 0.6), then 0
    assert propose(transfer) == [1, 2, 0]


def test_random_orders_are_seeded_distinct_and_not_the_given_one() -> None:
    orders = random_orders(4, 5, seed=3)
    assert orders == random_orders(4, 5, seed=3) != random_orders(4, 5, seed=4)
    assert len({tuple(o) for o in orders}) == 5 and [0, 1, 2, 3] not in orders
    assert random_orders(2, 9, seed=0) == [[1, 0]]  # only one other order exists


def test_the_study_matches_plain_runs_and_is_stored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, store = tmp_path / "o.json", tmp_path / "runs.db"
    assert main(["order", *SMALL, "--method", "ewc", "--orders", "2", "--json", str(out), "--store", str(store)]) == 0
    found = json.loads(out.read_text())
    assert {"orders", "transfer", "proposed", "proposed_rank"} <= set(found)
    assert found["orders"][0]["order"] == [0, 1, 2] and len(found["orders"]) == 3
    stream = lifelong.build_stream("synthetic", {"tasks": 3, "scenario": "domain"}, 0)
    given = lifelong.run(stream, "ewc", "mlp-16", epochs=1)
    assert found["orders"][0]["acc"] == given.metrics["acc"]
    for i in range(3):  # T[i, :] is row 1 of a finetune run that starts with task i
        order = [i, *[j for j in range(3) if j != i]]
        first = lifelong.run(stream.reordered(order), "finetune", "mlp-16", epochs=1).matrix.values[1]
        assert [found["transfer"][i][j] for j in order] == first.tolist()
    assert sorted(found["proposed"]) == [0, 1, 2] and 1 <= found["proposed_rank"] <= 3
    with sqlite3.connect(store) as db:
        stored = db.execute("SELECT COUNT(*) FROM runs WHERE status = 'finished'").fetchone()[0]
    db.close()
    assert stored == 3 + 3 + (0 if found["proposed"] in [o["order"] for o in found["orders"]] else 1)
    first_print = capsys.readouterr().out
    assert main(["order", *SMALL, "--method", "ewc", "--orders", "2", "--store", str(store)]) == 0
    assert capsys.readouterr().out == first_print  # read back: the same study, nothing trained again
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == stored
    db.close()


def test_the_issue_command_on_split_mnist(tmp_path: Path, fake_mnist: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    assert main(["order", "--stream", "split-mnist", "--scenario", "task", "--orders", "4", "--epochs", "1",
                 "--quiet", "--json", str(out)]) == 0
    found = json.loads(out.read_text())
    assert len(found["orders"]) == 5 and np.asarray(found["transfer"]).shape == (5, 5)
    assert all(o["acc"] is not None for o in found["orders"])
    printed = capsys.readouterr().out.splitlines()
    header = printed.index(next(line for line in printed if line.startswith("transfer T"))) + 1
    assert printed[header].endswith(" digits 6,7 digits 8,9")  # whole names, not "digits " five times
    last = printed[header + 5].rsplit(maxsplit=5)
    assert last[0] == "digits 8,9" and float(last[5]) == pytest.approx(100 * found["transfer"][4][4], abs=0.05)
