"""The report: an HTML page with statistics, figures over seeds and settings, built from stored runs only."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifelong.cli import main
from lifelong.errors import OptionError
from lifelong.metrics import AccuracyMatrix
from lifelong.report import plots
from lifelong.report.html import write_report
from lifelong.result import Result

PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = shutil.which("chromium")


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
    assert len(pngs) == 5  # the comparison, the task-2 curve, the final bars, one mean heatmap per configuration
    assert all(p.read_bytes()[:8] == PNG and p.stat().st_size > 2000 for p in pngs)
    assert "wrote" in capsys.readouterr().out


def test_report_errors(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "none.db")]) == 2
    assert "none.db: results store does not exist" in capsys.readouterr().err
    assert main(["report", str(store), "--out", str(tmp_path / "r"), "--task", "9"]) == 2
    assert "--task: 9 is outside 1..3" in capsys.readouterr().err


ENVIRONMENT = {"lifelong": "0.1.0", "code": "c0ffee0123456789", "git": "abc123def456", "host": "lab-7",
               "torch": "2.13.0", "python": "3.11.9", "threads": 1}


def stored(method: str, seed: int, rows: list[list[float]], *, params: dict[str, Any] | None = None,
           rows_after: tuple[int, ...] = (0, 1, 2, 3), environment: dict[str, Any] | None = None,
           sizes: list[int] | None = None) -> dict[str, Any]:
    """A finished run as the store hands it back, with a hand-made matrix of three tasks."""
    config = {"stream": "synthetic", "stream_params": {"scenario": "task", "tasks": 3}, "model": "mlp-8x1",
              "method": method, "method_params": params or {}, "train": {"epochs": 3, "lr": 0.1, "threads": 1},
              "seed": seed, "init": "default", "run_id": f"{method}-{seed:02d}-0123456789"[:16]}
    matrix = AccuracyMatrix(np.array(rows), rows_after, ("t1", "t2", "t3"))
    parameters = [{"total": n, "trainable": n, "bytes": 4 * n} for n in sizes or []]
    return Result(config, matrix, [0.5] * (len(rows) - 1), 2.0 + seed, parameters, 0, 150.0,
                  environment or ENVIRONMENT).to_dict()


def forgetting(seed: int, keep: float) -> list[list[float]]:
    """R of a sequential run that keeps ``keep`` of what it learnt on earlier tasks; seeds shift it a little."""
    e = 0.01 * seed
    return [[0.50, 0.50, 0.50], [0.95 - e, 0.50, 0.50], [0.5 + keep * 0.45, 0.94, 0.50],
            [0.5 + keep * 0.4 + e, 0.5 + keep * 0.44, 0.93]]


@pytest.fixture
def results() -> list[dict[str, Any]]:
    """Finetune on three seeds, EWC on two (one computed by other code), joint on one."""
    other_code = {**ENVIRONMENT, "git": "fedcba987654"}
    return ([stored("finetune", s, forgetting(s, 0.1)) for s in (0, 1, 2)]
            + [stored("ewc", 0, forgetting(0, 0.8), params={"lam": 10.0}),
               stored("ewc", 1, forgetting(1, 0.85), params={"lam": 10.0}, environment=other_code)]
            + [stored("joint", 0, [[0.5, 0.5, 0.5], [0.92, 0.91, 0.93]], rows_after=(0, 3))])


OTHERS = [("a1b2c3d4e5f60718", "si", 0, "failed", "--method.c: diverged at step 3 (loss nan)"),
          ("0f1e2d3c4b5a6978", "ewc", 2, "running", None)]


def test_report_from_finished_failed_and_running_runs(results: list[dict[str, Any]], tmp_path: Path) -> None:
    index = write_report(results, tmp_path / "r", task=0, others=OTHERS)
    page = index.read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 6  # the comparison, the task-1 curve, the final bars, a heatmap for each of 3 configurations
    assert "1-synthetic-task-mlp-8x1-final.png" in images and not any("parameters" in i for i in images)
    assert sorted(images) == sorted(p.name for p in index.parent.glob("*.png"))
    assert all((index.parent / name).read_bytes()[:8] == PNG for name in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing is fetched from the network
    for text in ("paired vs finetune", "lam=10.0", "git abc123def456", "source c0ffee0123456789", "torch 2.13.0",
                 "<td>0, 1, 2</td>", "epochs=3, lr=0.1", "synthetic (scenario=task, tasks=3)"):
        assert text in page, text
    assert "git abc123def456 / fedcba987654 (differs between the 2 runs)" in page
    not_finished = page[page.index('id="not-finished"'):]
    for cell in ("a1b2c3d4e5f60718", "failed", OTHERS[0][4], "0f1e2d3c4b5a6978", "running"):
        assert f"<td>{cell}" in not_finished, cell
    assert "2 run(s) not finished" in page


def test_report_without_unfinished_runs_has_no_such_table(results: list[dict[str, Any]], tmp_path: Path) -> None:
    page = write_report(results[:3], tmp_path / "r").read_text()
    assert "not-finished" not in page and "<td>0, 1, 2</td>" in page


def test_report_refuses_a_task_outside_the_stream(results: list[dict[str, Any]], tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"^--task: 4 is outside 1\.\.3"):
        write_report(results, tmp_path / "r", task=3)
    with pytest.raises(OptionError, match="no finished runs"):
        write_report([], tmp_path / "r")


def test_final_bars_are_the_last_row_over_seeds(results: list[dict[str, Any]]) -> None:
    """Finetune's three seeds end at task 1 = 0.54 + 0.01·seed: mean 0.55, sd 0.01, so the 95% t interval
    is ± t(0.975, 2) · 0.01 / √3 = ± 0.02484; task 3 is 0.93 on every seed; joint's one seed has no interval."""
    finetune = plots.last_row(results[:3])
    assert finetune[0].mean == pytest.approx(0.55) and finetune[0].n == 3
    assert finetune[0].ci95 == pytest.approx((0.55 - 0.024841, 0.55 + 0.024841), abs=1e-6)
    assert finetune[1].mean == pytest.approx(0.544) and finetune[2].mean == pytest.approx(0.93)
    joint = plots.last_row(results[5:])
    assert [s.mean for s in joint] == pytest.approx([0.92, 0.91, 0.93]) and joint[0].ci95 is None


def test_parameter_figure_only_where_a_network_grew(tmp_path: Path) -> None:
    flat = [stored("finetune", 0, forgetting(0, 0.1), sizes=[100, 100, 100, 100])]
    grown = [*flat, stored("progressive", 0, forgetting(0, 1.0), sizes=[100, 100, 250, 450])]
    assert plots.parameter_growth([("finetune", flat)], tmp_path / "flat.png") is None
    assert not (tmp_path / "flat.png").exists()
    index = write_report(grown, tmp_path / "r")
    figure = index.parent / "1-synthetic-task-mlp-8x1-parameters.png"
    assert figure.read_bytes()[:8] == PNG and f'<img src="{figure.name}" alt="parameters after each phase">' in \
        index.read_text()
    assert "parameters after each row: 100, 100, 250, 450" in index.read_text()


CHECK_IMAGES = ('<img src="missing-on-purpose.png" alt="">'
                "<script>window.addEventListener('load', () => {"
                "for (const i of document.images) "
                "i.setAttribute('data-loaded', String(i.complete && i.naturalWidth > 0));"
                "document.body.setAttribute('data-images-checked', String(document.images.length));});</script>")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium); "
                                             "the page is checked in a real browser only where one exists")
def test_every_image_loads_in_headless_chromium(results: list[dict[str, Any]], tmp_path: Path) -> None:
    """The page as a browser renders it: every figure loads. A check page beside it adds a script that marks each
    image after the load event, and one missing image, so the test sees that a broken image is caught."""
    assert CHROMIUM is not None
    index = write_report(results, tmp_path / "r", others=OTHERS)
    check = index.with_name("check.html")
    check.write_text(index.read_text().replace("</body>", CHECK_IMAGES + "</body>"))
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", check.as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'data-images-checked="7"' in dom  # the script ran, over the report's six figures and the missing one
    marks = dict(re.findall(r'<img src="([^"]+)"[^>]*data-loaded="(true|false)"', dom))
    assert marks.pop("missing-on-purpose.png") == "false"
    assert len(marks) == 6 and set(marks.values()) == {"true"}, marks


def test_report_from_a_store_holding_finished_failed_and_running_runs(store: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI path: the store's unfinished rows reach the page's "not in the figures" table, nothing else."""
    from lifelong.store import Store

    config = {"stream": "synthetic", "method": "ewc", "model": "mlp-8x1", "seed": 4}
    with Store(store) as s:
        s.start(config, "running-run")
        s.start({**config, "seed": 5}, "failed-run")
        s.fail("failed-run", "training diverged: method ewc, task 2/2")
    before = store.read_bytes()
    out = tmp_path / "report"
    assert main(["report", str(store), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "not shown:" in printed and "1 running" in printed and "1 failed" in printed
    page = (out / "index.html").read_text()
    assert "running-run" in page and "failed-run" in page and "training diverged: method ewc, task 2/2" in page
    assert store.read_bytes() == before
