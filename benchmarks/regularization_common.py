"""Shared by the regularization benchmarks (Tables A, B, C, F, G): protocol reductions and extra columns.

Every script takes the harness's flags (--seeds, --quick, --methods, --threads) plus reductions of the
protocol (--epochs, --iterations, --tasks, --examples) for a *reduced* real run on a shared machine. A
reduced or quick run is labelled "not comparable" in the table header and lists what was reduced.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from _harness import add_reduction_flags, add_store_flag, protocol_overrides


def arguments(
    description: str, default_seeds: int, extra: Sequence[tuple[str, dict[str, Any]]] = ()
) -> argparse.Namespace:
    """The harness's flags plus protocol reductions; ``extra`` adds script-specific flags."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=default_seeds)
    parser.add_argument("--quick", action="store_true", help="shortened protocol: checks the wiring, not the number")
    parser.add_argument("--methods", help="comma-separated subset of the preset's methods")
    parser.add_argument("--threads", type=int, default=1)
    add_reduction_flags(parser)
    add_store_flag(parser)
    for flag, options in extra:
        parser.add_argument(flag, **options)
    return parser.parse_args()


def overrides(args: argparse.Namespace, quick: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stream/train overrides from --quick and the reduction flags; sets ``args.quick`` when there are any.

    The harness applies overrides only to quick runs and labels them "not comparable": a reduced run is
    exactly that, so it goes through the same path. ``args.smoke`` keeps whether --quick itself was given
    (a wiring check, whose numbers mean nothing), as opposed to a reduced real run.
    """
    args.smoke = args.quick
    out = protocol_overrides(args, quick)
    args.quick = bool(out["stream"] or out["train"])
    if args.quick:
        print(f"# protocol reduced: {out}")
    return out


def curve_table(curves: Mapping[str, list[list[float]]], reference: Mapping[str, Sequence[float]]) -> str:
    """Mean accuracy over the tasks seen so far, after each task: ours (mean over seeds) above the paper's."""
    lines = ["", "mean accuracy over the tasks seen so far, after each task (%): ours / paper"]
    for method, runs in curves.items():
        ours = [100 * statistics.mean(values) for values in zip(*runs, strict=True)]
        paper = reference.get(method, ())
        lines.append(f"{method:<10} ours  " + " ".join(f"{v:6.2f}" for v in ours))
        if paper:
            lines.append(f"{'':<10} paper " + " ".join(f"{v:6.2f}" for v in paper))
    return "\n".join(lines)


def gaps(scores: Mapping[str, list[float]], reference: Mapping[str, Any], spread: Mapping[str, float],
         why: Mapping[str, str], default_spread: float = 1.0, standard_error: bool = False) -> str:
    """For every row further from the paper than the two spreads allow, the reason we found (or 'unexplained').

    Allowed: the paper's spread (``default_spread`` where it publishes none) plus ours: the std over our
    seeds, or with ``standard_error`` the std / √seeds, to match a paper whose ± is the standard error of
    its mean (van de Ven & Tolias); a std would hide a consistent shift of the mean behind the spread of
    single runs. With one seed a single run's noise is of the order of the paper's spread, which the header says.
    """
    lines = []
    for method, values in scores.items():
        paper = reference.get(method)
        if not isinstance(paper, int | float) or not values:
            continue
        gap = statistics.mean(values) - paper
        ours = statistics.stdev(values) if len(values) > 1 else 0.0
        if standard_error:
            ours /= len(values) ** 0.5
        allowed = spread.get(method, default_spread) + ours
        if abs(gap) > allowed:
            reason = why.get(method, "unexplained")
            lines.append(f"- {method}: {gap:+.2f} points (allowed {allowed:.2f}): {reason}")
    seeds = max((len(v) for v in scores.values()), default=0)
    note = " (one seed: a single run varies by about the paper's spread)" if seeds == 1 else ""
    note += " (standard errors of the means)" if standard_error and seeds > 1 else ""
    if not lines:
        return f"\nevery row is within the paper's spread plus ours{note}"
    return f"\nrows further from the paper than its spread plus ours{note}, and why:\n" + "\n".join(lines)
