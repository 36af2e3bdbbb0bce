"""A self-contained HTML report of a store: statistics, figures over seeds, settings, and what did not finish.

The report is a folder: ``index.html`` and the PNG figures beside it, linked by relative paths. It
needs no network and opens from disk, a zip or a web server alike; the figures stay separate files
so they can go into a paper or slides as they are, and the page stays small enough to read as text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lifelong.errors import OptionError
from lifelong.report import plots
from lifelong.report.tables import header, matrix_table, metrics_line, statistics_table
from lifelong.stats import compare, configuration_key

NotFinished = tuple[str, str, int, str, str | None]  # run_id, method, seed, status, message

STYLE = ("body{font-family:sans-serif;max-width:72em;margin:auto;padding:0 1em}"
         "pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap}img{max-width:100%}"
         "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:.25em .5em;"
         "text-align:left;vertical-align:top}th{background:#eee}.figures{display:flex;flex-wrap:wrap;gap:1em}")


def write_report(results: Sequence[dict[str, Any]], out: Path, *, task: int = 0,
                 others: Sequence[NotFinished] | None = None) -> Path:
    """Write ``out/index.html`` and its PNG figures from finished results.

    Args:
        results: finished runs (``Result.to_dict()``); grouped by stream, scenario and model, and
            within a group by configuration (runs differing only in the seed).
        out: the folder to write; created if missing.
        task: 0-based task whose accuracy after each phase is drawn (``--task`` minus one).
        others: runs in the store that are not finished (running, failed), as (run_id, method, seed,
            status, message): listed in a table, since a figure that silently drops them misleads.

    Raises:
        OptionError: no finished results, or ``task`` outside a group's tasks.
    """
    if not results:
        raise OptionError("report: no finished runs to report")
    groups = _by_stream(results)
    for group_key, group in groups.items():
        n_tasks = len(group[0]["matrix"][0])
        if not 0 <= task < n_tasks:
            raise OptionError(f"--task: {task + 1} is outside 1..{n_tasks} (the tasks of {group_key})")
    out.mkdir(parents=True, exist_ok=True)
    sections = [_section(group_key, group, task, out, f"{k + 1}-{_slug(group_key)}")
                for k, (group_key, group) in enumerate(groups.items())]
    pending = list(others or ())
    summary = f"{len(results)} finished run(s) in {len(groups)} group(s)"
    if pending:
        summary += f"; {len(pending)} run(s) not finished are listed <a href=\"#not-finished\">below</a>"
    page = ("<!doctype html><html lang=en><meta charset=utf-8><title>lifelong report</title>"
            f"<style>{STYLE}</style><body><h1>lifelong report</h1><p>{summary}.</p>\n"
            + "\n".join(sections) + _not_finished(pending) + "</body></html>\n")
    index = out / "index.html"
    index.write_text(page)
    return index


def _section(group_key: str, group: list[dict[str, Any]], task: int, out: Path, slug: str) -> str:
    """One stream/scenario/model group: its statistics, figures, settings and per-configuration matrices.

    Its figures are ``out/<slug>-*.png``; the slug numbers the group, so two groups never share a file.
    """
    stats = compare(group)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in group:
        by_key.setdefault(configuration_key(r), []).append(r)
    configurations = [(c["label"], sorted(by_key[c["key"]], key=lambda r: r["config"]["seed"]))
                      for c in stats["configurations"]]
    figure = plots.comparison(stats, out / f"{slug}-comparison.png")
    curve = plots.task_curves(configurations, task, out / f"{slug}-task{task + 1}.png")
    final = plots.final_accuracies(configurations, out / f"{slug}-final.png")
    growth = plots.parameter_growth(configurations, out / f"{slug}-parameters.png")
    figures = [_img(figure, "ACC per configuration with 95% intervals and paired tests"),
               _img(curve, f"accuracy on task {task + 1} after each phase, mean and 95% band"),
               _img(final, "accuracy on every task after all tasks, mean and 95% interval")]
    if growth is not None:
        figures.append(_img(growth, "parameters after each phase"))
    parts = [f"<h2>{html.escape(group_key)}</h2>", '<div class="figures">' + "".join(figures) + "</div>",
             f"<pre>{html.escape(statistics_table(stats))}</pre>",
             "<h3>Settings</h3>", _settings_table(stats, by_key)]
    for k, (label, runs) in enumerate(configurations):
        heatmap = plots.mean_heatmap(label, runs, out / f"{slug}-config{k + 1}.png")
        details = "".join(f"<details><summary>{html.escape(header(r))} (run {html.escape(r['config']['run_id'])})"
                          f"</summary><pre>{html.escape(matrix_table(r))}\n{html.escape(metrics_line(r))}</pre>"
                          "</details>" for r in runs)
        parts.append(f"<h3>{html.escape(label)}</h3>{_img(heatmap, f'mean accuracy matrix of {label}')}{details}")
    return "\n".join(parts)


def _settings_table(stats: dict[str, Any], by_key: dict[str, list[dict[str, Any]]]) -> str:
    """Everything that defines each configuration, and the code and machine that computed it."""
    rows = ["<table><tr><th>configuration</th><th>stream</th><th>model</th><th>training</th><th>method</th>"
            "<th>seeds</th><th>code</th></tr>"]
    for c in stats["configurations"]:
        config = c["config"]
        cells = [c["label"],
                 _named(config["stream"], config.get("stream_params", {})),
                 f"{config['model']} (init {config.get('init', 'default')})",
                 _named("", config.get("train", {})),
                 _named(config["method"], config.get("method_params", {})),
                 ", ".join(str(s) for s in c["seeds"]),
                 _code([r.get("environment") or {} for r in by_key[c["key"]]])]
        rows.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    return "".join(rows) + "</table>"


def _named(name: str, params: dict[str, Any]) -> str:
    settings = ", ".join(f"{k}={_value(v)}" for k, v in params.items())
    return f"{name} ({settings})" if name and settings else name or settings or "-"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


CODE_FIELDS = (("lifelong", "lifelong {}"), ("git", "git {}"), ("code", "source {}"), ("torch", "torch {}"),
               ("python", "python {}"), ("host", "on {}"))


def _code(environments: list[dict[str, Any]]) -> str:
    """The library version, git revision, source fingerprint, torch and host of a configuration's runs;
    a field that differs between its seeds is shown with every value, since then the runs disagree."""
    parts = []
    for key, shown in CODE_FIELDS:
        values = list(dict.fromkeys(str(e[key]) for e in environments if e.get(key) is not None))
        if len(values) == 1:
            parts.append(shown.format(values[0]))
        elif values:
            parts.append(shown.format(" / ".join(values)) + f" (differs between the {len(environments)} runs)")
    return ", ".join(parts) or "not recorded"


def _not_finished(pending: list[NotFinished]) -> str:
    if not pending:
        return ""
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v) if v is not None else '')}</td>" for v in row) + "</tr>"
                   for row in pending)
    return ('<h2 id="not-finished">Runs not in the figures</h2><p>Running or failed: the figures and statistics '
            "above use finished runs only.</p><table><tr><th>run id</th><th>method</th><th>seed</th><th>status</th>"
            f"<th>message</th></tr>{rows}</table>\n")


def _img(path: Path, alt: str) -> str:
    return f'<img src="{html.escape(path.name)}" alt="{html.escape(alt)}">'


def _by_stream(results: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Results that can be compared: the same stream, scenario and model."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        c = r["config"]
        key = f"{c['stream']} {c.get('stream_params', {}).get('scenario', '')} {c['model']}".strip()
        groups.setdefault(key, []).append(r)
    return groups


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-")
