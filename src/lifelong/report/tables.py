"""Plain-text tables of accuracy matrices and metrics (pure functions of result dictionaries)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def _pct(value: float | None, width: int = 7) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{100 * value:>{width}.1f}"


def matrix_table(result: dict[str, Any]) -> str:
    """R as a table in percent: one row per evaluation (random init first), one column per task."""
    names = result.get("task_names") or [f"task {j + 1}" for j in range(len(result["matrix"][0]))]
    width = max(7, *(len(n) + 1 for n in names))
    labels = [row_label(after, names, result["rows_after"]) for after in result["rows_after"]]
    first = max(14, *(len(label) + 1 for label in labels))
    lines = [f"{'R (% correct)':<{first}}" + "".join(f"{n:>{width}}" for n in names)]
    for label, row in zip(labels, result["matrix"], strict=True):
        lines.append(f"{label:<{first}}" + "".join(_pct(v, width) for v in row))
    return "\n".join(lines)


def row_label(after: int, names: Sequence[str], rows_after: Sequence[int]) -> str:
    """"random init", "after perm-2", or "after all tasks" for a run whose one phase saw every task (joint)."""
    if after == 0:
        return "random init"
    if len(names) > 1 and list(rows_after) == [0, len(names)]:
        return "after all tasks"
    return f"after {names[after - 1]}"


def metrics_line(result: dict[str, Any]) -> str:
    """ACC, BWT, FWT, forgetting in percentage points, then time and peak memory."""
    m = result["metrics"]
    parts = [f"{k.upper() if k != 'forgetting' else k} {_pct(m.get(k), 0).strip()}" for k in ("acc", "bwt", "fwt",
                                                                                                  "forgetting")]
    params = result.get("parameters") or []
    grown = f", params {params[-1]['total']:,}" if params else ""
    line = "  ".join(parts) + f"   ({result['total_seconds']:.0f} s, peak {result['peak_rss_mb']:.0f} MB{grown})"
    if len({p["total"] for p in params}) > 1:  # the network grew: show it per row
        line += "\nparameters after each row: " + ", ".join(f"{p['total']:,}" for p in params)
    report = result.get("method_report") or {}
    if report:
        line += "\n" + "  ".join(f"{k.rstrip('_')}: {_short(v)}" for k, v in report.items())
    return line


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def header(result: dict[str, Any]) -> str:
    c = result["config"]
    sp = c.get("stream_params", {})
    scenario = sp.get("scenario", "")
    return (f"{c['method']} on {c['stream']} ({len(result['matrix'][0])} tasks"
            f"{', ' + scenario + '-incremental' if scenario else ''}), {c['model']}, seed {c['seed']}, "
            f"{c['train']['threads']} thread(s)")


def comparison_table(results: Sequence[dict[str, Any]]) -> str:
    """One line per run: method, seed and the four headline metrics."""
    lines = [f"{'method':<14}{'seed':>5}{'ACC':>8}{'BWT':>8}{'FWT':>8}{'forget':>8}{'sec':>7}"]
    for r in results:
        m = r["metrics"]
        lines.append(f"{r['config']['method']:<14}{r['config']['seed']:>5}" + "".join(
            _pct(m.get(k), 8) for k in ("acc", "bwt", "fwt", "forgetting")) + f"{r['total_seconds']:>7.0f}")
    return "\n".join(lines)


def summary_table(results: Sequence[dict[str, Any]]) -> str:
    """One line per method: mean ± std over its runs (seeds) of ACC, BWT, FWT, forgetting, in percent."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_method.setdefault(r["config"]["method"], []).append(r)
    keys = ("acc", "bwt", "fwt", "forgetting")
    lines = [f"{'method':<14}{'runs':>5}" + "".join(f"{k.upper() if k != 'forgetting' else k:>16}" for k in keys)]
    for method, runs in by_method.items():
        cells = []
        for k in keys:
            values = [100 * r["metrics"][k] for r in runs if r["metrics"].get(k) is not None
                      and not math.isnan(r["metrics"][k])]
            if not values:
                cells.append(f"{'-':>16}")
            else:
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                cells.append(f"{statistics.mean(values):>9.2f} ± {std:<4.2f}")
        lines.append(f"{method:<14}{len(runs):>5}" + "".join(cells))
    return "\n".join(lines)
