"""Figures of stored results (matplotlib, imported only when a figure is drawn; Agg backend, PNG files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lifelong.errors import LifelongError


def _pyplot() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise LifelongError("report: matplotlib is not installed; install it with "
                            "`pip install 'matplotlib>=3.8'` (a default dependency of lifelong)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def heatmap(result: dict[str, Any], path: Path) -> Path:
    """R as a heatmap: rows = evaluations (random init first), columns = tasks, cells in percent."""
    plt = _pyplot()
    values = [[100 * v for v in row] for row in result["matrix"]]
    names = result.get("task_names") or [str(j + 1) for j in range(len(values[0]))]
    joint = len(names) > 1 and list(result["rows_after"]) == [0, len(names)]
    rows = ["init" if a == 0 else "after all" if joint else f"after {a}" for a in result["rows_after"]]
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(names), 1.0 + 0.45 * len(rows)))
    image = ax.imshow(values, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    if len(names) <= 12:
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7, color="white" if v < 60 else "black")
    c = result["config"]
    ax.set_title(f"{c['method']} on {c['stream']} (seed {c['seed']})", fontsize=9)
    fig.colorbar(image, ax=ax, label="accuracy %")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def task_curves(results: Sequence[dict[str, Any]], task: int, path: Path) -> Path:
    """One task's accuracy after each training phase, one line per run (the lecture's forgetting figure)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for r in results:
        xs = list(r["rows_after"])
        ys = [100 * row[task] for row in r["matrix"]]
        label = f"{r['config']['method']} (seed {r['config']['seed']})"
        if len(xs) <= 2:  # joint training: one accuracy after all tasks, drawn as a reference level
            ax.axhline(ys[-1], ls="--", lw=1.2, label=f"{label}, after all tasks", color=f"C{len(ax.lines)}")
        else:
            ax.plot(xs, ys, "o-", label=label, markersize=3)
    ax.axvline(task + 1, color="grey", lw=0.8, ls=":")
    ax.set_xticks(sorted({a for r in results for a in r["rows_after"]}))
    ax.set_xlabel("after training task (0 = random init)")
    ax.set_ylabel(f"accuracy on task {task + 1} (%)")
    return _save_percent_plot(plt, fig, ax, path)


def final_accuracies(results: Sequence[dict[str, Any]], path: Path) -> Path:
    """Every task's accuracy after the last phase, one bar group per run (e.g. sequential vs joint)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(results[0]["matrix"][0]) * len(results)), 3.5))
    width = 0.8 / len(results)
    for k, r in enumerate(results):
        final = r["matrix"][-1]
        ax.bar([j + k * width for j in range(len(final))], [100 * v for v in final], width,
               label=r["config"]["method"])
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(results[0]["matrix"][0]))],
                  [str(j + 1) for j in range(len(results[0]["matrix"][0]))])
    ax.set_xlabel("task")
    ax.set_ylabel("final accuracy (%)")
    return _save_percent_plot(plt, fig, ax, path)


def _save_percent_plot(plt: Any, fig: Any, ax: Any, path: Path) -> Path:
    """Accuracy axes run 0-100 %, with a small legend; the figure is written and closed."""
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
