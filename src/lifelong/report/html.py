"""A self-contained HTML report of a store: summary table, per-run matrices, heatmaps and curves."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lifelong.report import plots
from lifelong.report.tables import header, matrix_table, metrics_line, summary_table


def write_report(results: Sequence[dict[str, Any]], out: Path, *, task: int = 0) -> Path:
    """Write ``out/index.html`` and PNGs; ``task`` picks the task whose accuracy curve is drawn."""
    if not results:
        raise ValueError("no stored runs to report")
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    for group_key, group in _by_stream(results).items():
        n_tasks = len(group[0]["matrix"][0])
        if not 0 <= task < n_tasks:
            raise ValueError(f"--task {task + 1} is outside 1..{n_tasks} for {group_key}")
        slug = _slug(group_key)
        curve = plots.task_curves(group, task, out / f"{slug}-task{task + 1}.png")
        finals = plots.final_accuracies(group, out / f"{slug}-final.png")
        parts = [f"<h2>{html.escape(group_key)}</h2>", f"<pre>{html.escape(summary_table(group))}</pre>",
                 f'<img src="{curve.name}" alt="task {task + 1} accuracy"> <img src="{finals.name}" alt="final">']
        for r in group:
            image = plots.heatmap(r, out / f"{slug}-{r['config']['run_id']}.png")
            parts.append(f"<h3>{html.escape(header(r))}</h3><pre>{html.escape(matrix_table(r))}\n"
                         f"{html.escape(metrics_line(r))}</pre><img src=\"{image.name}\" alt=\"R heatmap\">")
        sections.append("\n".join(parts))
    page = ("<!doctype html><meta charset=utf-8><title>lifelong report</title>"
            "<style>body{font-family:sans-serif;max-width:70em;margin:auto}pre{background:#f6f6f6;padding:.5em}"
            "img{max-width:100%}</style><h1>lifelong report</h1>" + "\n".join(sections))
    index = out / "index.html"
    index.write_text(page)
    return index


def _by_stream(results: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        c = r["config"]
        key = f"{c['stream']} {c.get('stream_params', {}).get('scenario', '')} {c['model']}".strip()
        groups.setdefault(key, []).append(r)
    return groups


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-")
