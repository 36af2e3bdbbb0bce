"""The report: an HTML page with the matrices and PNG figures, built from stored runs only."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifelong.cli import main


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    assert main(["compare", "--stream", "synthetic", "--method", "finetune,joint", "--model", "mlp-8x1",
                 "--epochs", "3", "--lr", "0.1", "--quiet", "--store", str(path)]) == 0
    return path


def test_report_writes_page_and_figures(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    assert main(["report", str(store), "--out", str(out), "--task", "2"]) == 0
    page = (out / "index.html").read_text()
    assert page.count("random init") == 2 and "finetune on synthetic" in page and "joint on synthetic" in page
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 4  # two heatmaps, the task-2 curve, the final accuracies
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2000 for p in pngs)
    assert "wrote" in capsys.readouterr().out


def test_report_errors(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "none.db")]) == 2
    assert "none.db: results store does not exist" in capsys.readouterr().err
    assert main(["report", str(store), "--out", str(tmp_path / "r"), "--task", "9"]) == 2
    assert "--task 9 is outside 1..3" in capsys.readouterr().err
