"""Plain-text tables of accuracy matrices and metrics (pure functions of result dictionaries)."""

from __future__ import annotations

import math
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


STAT_METRICS = (("acc", "ACC %"), ("bwt", "BWT %"), ("fwt", "FWT %"), ("forgetting", "forgetting %"),
                ("seconds", "seconds"))


def statistics_table(stats: dict[str, Any]) -> str:
    """What ``compare`` and ``sweep`` print: per metric and configuration n, mean ± se and the 95% t interval,
    then the paired tests of ACC against the baseline, and how to read their p at small n.

    Args:
        stats: the dictionary of :func:`lifelong.stats.compare` (fractions; shown here in percent).
    """
    configurations = stats["configurations"]
    width = max(14, *(len(c["label"]) + 4 for c in configurations))
    lines = ["mean ± standard error and 95% Student-t interval over seeds"]
    for metric, title in STAT_METRICS:
        scale = 1.0 if metric == "seconds" else 100.0
        lines.append(f"{title:<{width}}{'n':>3}{'mean':>10} ± se      95% CI")
        for c in configurations:
            s = c["metrics"][metric]
            if s["mean"] is None:  # no seed defines it (FWT of a joint run)
                lines.append(f"  {c['label']:<{width - 2}}{s['n']:>3}{'-':>10}")
                continue
            se = "-" if s["se"] is None else f"{scale * s['se']:.2f}"
            ci = "-" if s["ci95"] is None else f"[{scale * s['ci95'][0]:.2f}, {scale * s['ci95'][1]:.2f}]"
            lines.append(f"  {c['label']:<{width - 2}}{s['n']:>3}{scale * s['mean']:>10.2f} ± {se:<8}{ci}")
    lines.append(f"\n{'paired vs ' + stats['baseline']:<{width}}{'n':>3}{'Δ ACC (pp)':>12}{'t-test p':>10}"
                 f"{'Wilcoxon p':>12}")
    for c in configurations:
        if c["vs_baseline"] is None:
            continue
        t = c["vs_baseline"]["acc"]
        delta = "-" if t["mean_difference"] is None else f"{100 * t['mean_difference']:+.2f}"
        lines.append(f"  {c['label']:<{width - 2}}{t['n']:>3}{delta:>12}{p_value(t['t_p']):>10}"
                     f"{p_value(t['wilcoxon_p']):>12}")
    if len(configurations) == 1:
        lines.append("  (one configuration: nothing to compare)")
    lines.append(stats["note"])
    return "\n".join(lines)


def p_value(value: float | None) -> str:
    """A p-value to three places; below 0.001 in scientific notation, so a tiny p does not print as 0."""
    if value is None:
        return "-"
    return f"{value:.1e}" if 0 < value < 0.001 else f"{value:.3f}"
