"""Figures of stored results over seeds (matplotlib, imported only when a figure is drawn; Agg backend, PNG files).

Every figure is of a *configuration* (its runs over seeds), not of a single run: one seed's curve
is an anecdote, the mean with a 95% band is what a reader can weigh. Legends and annotations sit
outside the data area so they never hide a curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lifelong.errors import LifelongError
from lifelong.report.tables import p_value
from lifelong.stats import Summary, describe

LINES = ("-", "--", ":", "-.")
Runs = Sequence[dict[str, Any]]  # the finished runs (Result.to_dict()) of one configuration, one per seed


def _pyplot() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise LifelongError("report: matplotlib is not installed; install it with "
                            "`pip install 'matplotlib>=3.8'` (a default dependency of lifelong)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def mean_heatmap(label: str, runs: Runs, path: Path) -> Path:
    """The configuration's mean R over its seeds as a heatmap annotated with the means, in percent.

    Rows are evaluations (random init first), columns tasks, as in the text tables.
    """
    plt = _pyplot()
    first = runs[0]
    values = 100 * np.mean([np.asarray(r["matrix"], dtype=float) for r in runs], axis=0)
    names = first.get("task_names") or [str(j + 1) for j in range(values.shape[1])]
    joint = len(names) > 1 and list(first["rows_after"]) == [0, len(names)]
    rows = ["init" if a == 0 else "after all" if joint else f"after {a}" for a in first["rows_after"]]
    fig, ax = plt.subplots(figsize=(1.6 + 0.6 * len(names), 1.2 + 0.45 * len(rows)))
    image = ax.imshow(values, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    if len(names) <= 12:
        digits = 1 if len(names) <= 8 else 0
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.{digits}f}", ha="center", va="center", fontsize=7,
                    color="white" if v < 60 else "black")
    seeds = ", ".join(str(r["config"]["seed"]) for r in runs)
    ax.set_title(f"{label}: mean R over {len(runs)} seed(s) ({seeds})", fontsize=9)
    ax.set_xlabel("task evaluated")
    fig.colorbar(image, ax=ax, label="accuracy %")
    return _save(plt, fig, path)


def task_curves(configurations: Sequence[tuple[str, Runs]], task: int, path: Path) -> Path:
    """Accuracy on one task after each training phase: per configuration the mean over seeds and its
    95% t band (the lecture's "task 5 accuracy" figure, for any task).

    A configuration trained in one phase on every task (joint) has no curve, only its level after
    all tasks: it is drawn as a dashed reference line with its band.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    phases: set[int] = set()
    for k, (label, runs) in enumerate(configurations):
        xs = list(runs[0]["rows_after"])
        phases.update(xs)
        per_row = [describe(r["matrix"][row][task] for r in runs) for row in range(len(xs))]
        mean = np.array([100 * s.mean for s in per_row if s.mean is not None])
        low = np.array([100 * s.ci95[0] if s.ci95 else 100 * s.mean for s in per_row if s.mean is not None])
        high = np.array([100 * s.ci95[1] if s.ci95 else 100 * s.mean for s in per_row if s.mean is not None])
        name = f"{label} (n={len(runs)})"
        color = f"C{k % 10}"
        if len(xs) <= 2:  # joint training: one accuracy after all tasks, drawn as a reference level
            ax.axhline(mean[-1], ls="--", lw=1.2, color=color, label=f"{name}, after all tasks")
            ax.axhspan(low[-1], high[-1], color=color, alpha=0.12, lw=0)
        else:
            ax.plot(xs, mean, "o-", color=color, markersize=3, label=name)
            ax.fill_between(xs, low, high, color=color, alpha=0.2, lw=0)
    ax.axvline(task + 1, color="grey", lw=0.8, ls=":")
    ax.set_xticks(sorted(phases))
    ax.set_ylim(0, 100)
    ax.set_xlabel("after training task (0 = random init)")
    ax.set_ylabel(f"accuracy on task {task + 1} (%)")
    ax.set_title(f"task {task + 1}: mean over seeds, 95% t band", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False)
    return _save(plt, fig, path)


def last_row(runs: Runs) -> list[Summary]:
    """Per task, the accuracy after all tasks (the last row of R) over the configuration's seeds."""
    tasks = len(runs[0]["matrix"][-1])
    return [describe(r["matrix"][-1][j] for r in runs) for j in range(tasks)]


def final_accuracies(configurations: Sequence[tuple[str, Runs]], path: Path) -> Path:
    """Accuracy on every task after all tasks: per task one bar a configuration, the mean over seeds
    with its 95% t interval (the lecture's bar chart of joint training beside sequential training).

    Where the task curve follows one task through the phases, these bars show what is left of every
    task at the end: a sequential run's bars fall away from the last task, a joint run's do not.
    """
    plt = _pyplot()
    first = configurations[0][1][0]
    names = first.get("task_names") or [str(j + 1) for j in range(len(first["matrix"][-1]))]
    width = 0.8 / len(configurations)
    fig, ax = plt.subplots(figsize=(2.5 + len(names) * (0.25 + 0.12 * len(configurations)), 3.5))
    for k, (label, runs) in enumerate(configurations):
        bars = last_row(runs)
        xs = np.arange(len(names)) - 0.4 + width * (k + 0.5)
        means = [100 * s.mean if s.mean is not None else np.nan for s in bars]
        errors = np.array([[100 * (s.mean - s.ci95[0]), 100 * (s.ci95[1] - s.mean)] if s.ci95 and s.mean is not None
                           else [0.0, 0.0] for s in bars]).T if any(s.ci95 for s in bars) else None
        ax.bar(xs, means, width, yerr=errors, capsize=2, color=f"C{k % 10}", error_kw={"lw": 0.8},
               label=f"{label} (n={len(runs)}), ACC {np.nanmean(means):.1f}")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy after all tasks (%)")
    ax.set_title("every task after the last phase: mean over seeds, 95% t interval", fontsize=9)
    ax.grid(axis="y", lw=0.4, alpha=0.5)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False)
    return _save(plt, fig, path)


def parameter_growth(configurations: Sequence[tuple[str, Runs]], path: Path) -> Path | None:
    """Parameters of the network after each phase, per configuration (the price of additional neural
    resources: a progressive network's columns against PackNet's one network); None, and no figure,
    when every network of the group has one and the same size throughout: flat lines say nothing."""
    counts = [(label, runs[0]["rows_after"], [p["total"] for p in runs[0].get("parameters") or []])
              for label, runs in configurations]
    if len({n for _, _, totals in counts for n in totals}) < 2:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for k, (label, xs, totals) in enumerate(counts):
        if totals:
            ax.plot(xs, totals, color=f"C{k % 10}", ls=LINES[k % len(LINES)], marker="o", markersize=3,
                    label=f"{label}: {totals[-1]:,}")  # styles differ: equal sizes draw on top of each other
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    ax.set_xticks(sorted({x for _, xs, _ in counts for x in xs}))
    ax.set_xlabel("after training task (0 = random init)")
    ax.set_ylabel("parameters")
    ax.set_title("network size after each phase (the first seed's run)", fontsize=9)
    ax.grid(axis="y", lw=0.4, alpha=0.5)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False)
    return _save(plt, fig, path)


def comparison(stats: dict[str, Any], path: Path) -> Path:
    """ACC per configuration with its 95% t interval, and beside each the paired tests' p against the
    baseline (:func:`lifelong.stats.compare`'s dictionary), so the figure carries its own evidence."""
    plt = _pyplot()
    configurations = stats["configurations"]
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.42 * len(configurations)))
    for y, c in enumerate(configurations):
        s = c["metrics"]["acc"]
        if s["mean"] is None:
            continue
        mean = 100 * s["mean"]
        errors = [[mean - 100 * s["ci95"][0]], [100 * s["ci95"][1] - mean]] if s["ci95"] else None
        ax.errorbar(mean, y, xerr=errors, fmt="o", color=f"C{y % 10}", capsize=3, markersize=4)
        ax.annotate(_evidence(c), (1.02, y), xycoords=("axes fraction", "data"), va="center", fontsize=7)
    ax.set_yticks(range(len(configurations)), [c["label"] for c in configurations], fontsize=8)
    ax.set_ylim(len(configurations) - 0.5, -0.5)  # the first configuration on top, as in the tables
    ax.set_xlim(0, 100)
    ax.set_xlabel("ACC (%): mean over seeds, 95% t interval")
    ax.grid(axis="x", lw=0.4, alpha=0.5)
    ax.set_title(f"paired tests vs {stats['baseline']} over shared seeds (t-test p, Wilcoxon p)", fontsize=9)
    return _save(plt, fig, path)


def _evidence(configuration: dict[str, Any]) -> str:
    """"baseline", or the ACC difference and both p-values of the paired tests against it."""
    if configuration["vs_baseline"] is None:
        return f"baseline (n={configuration['metrics']['acc']['n']})"
    t = configuration["vs_baseline"]["acc"]
    if t["mean_difference"] is None:
        return "no shared seeds"
    p = "" if t["t_p"] is None else f", t p={p_value(t['t_p'])}, W p={p_value(t['wilcoxon_p'])}"
    return f"Δ {100 * t['mean_difference']:+.1f} pp{p} (n={t['n']})"


def _save(plt: Any, fig: Any, path: Path) -> Path:
    """Written with the outside legends and annotations included (tight bounding box), then closed."""
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
