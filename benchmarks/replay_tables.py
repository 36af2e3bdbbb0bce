"""Shared by the memory-family reproductions (Tables A, B, C): table rows read from a preset, our mean ± std over
seeds beside the published value, then every gap larger than the published spread with its explanation.

A preset's ``[benchmark.rows]`` names the rows: ``label = { method = "...", <hyperparameters>, scenarios = [...],
train = {...} }``: one method may give several rows (DGR and DGR + distill), and a row may train differently from
the rest (GEM's SGD in Table B). ``[reference.<label>]`` holds one value per scenario (or ``<label> = value`` for a
one-scenario table), ``[reference.std.<label>]`` the paper's spread where published.

Flags: --seeds, --quick (seconds: checks the wiring), --rows a,b, --scenarios task,domain,class, --threads, and
reductions of the protocol for a reduced real run (--iterations, --epochs, --tasks, --examples); a quick or
reduced run is labelled "not comparable".
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from _harness import (
    CONFIGS,
    add_reduction_flags,
    add_store_flag,
    machine_line,
    mean_std,
    open_store,
    protocol_overrides,
)

from lifelong.presets import Preset, load_preset
from lifelong.result import Result

SCENARIOS = ("task", "domain", "class")


@dataclass(frozen=True)
class Row:
    """One line of a published table: a method with its settings, in the scenarios it applies to."""

    label: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    scenarios: tuple[str, ...] = SCENARIOS


def arguments(description: str, default_seeds: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=default_seeds)
    parser.add_argument("--quick", action="store_true", help="shortened protocol: checks the wiring, not the number")
    parser.add_argument("--rows", help="comma-separated subset of the table's rows")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--threads", type=int, default=1)
    add_store_flag(parser)
    add_reduction_flags(parser)
    return parser.parse_args()


def rows_of(preset: Preset) -> list[Row]:
    out = []
    for label, spec in preset.benchmark["rows"].items():
        spec = dict(spec)
        method = spec.pop("method")
        train = spec.pop("train", {})
        scenarios = tuple(spec.pop("scenarios", SCENARIOS))
        out.append(Row(label, method, spec, train, scenarios))
    return out


def reproduce(
    preset_name: str,
    args: argparse.Namespace,
    quick: Mapping[str, Mapping[str, Any]],
    why: Mapping[str, str],
    *,
    per_scenario: bool = True,
    extra: Mapping[str, Callable[[Result], float]] | None = None,
) -> dict[tuple[str, str], list[float]]:
    """Run every row × scenario × seed of ``configs/<preset_name>.toml``; print ours beside the paper's.

    ``per_scenario``: the rows run in each of ``--scenarios`` (else in the preset's one scenario).
    ``extra`` adds columns (name -> metric of a result), compared with ``[reference.<name>]`` when present.
    ``why`` explains, per row label, the gaps larger than the paper's spread (1 point where none is published).
    """
    preset = load_preset(CONFIGS / f"{preset_name}.toml")
    rows = rows_of(preset)
    if args.rows:
        wanted = args.rows.split(",")
        unknown = set(wanted) - {r.label for r in rows}
        if unknown:
            raise SystemExit(f"unknown row(s) {sorted(unknown)}; valid: {', '.join(r.label for r in rows)}")
        rows = [r for r in rows if r.label in wanted]
    reduced = protocol_overrides(args, quick)
    comparable = not (reduced["stream"] or reduced["train"])
    scenarios = [s for s in args.scenarios.split(",") if s] if per_scenario else [""]
    print(f"# {preset_name}: {preset.stream} {preset.stream_params}, {preset.model}, {preset.train}")
    print(f"# {machine_line(args.threads)}  seeds={args.seeds}"
          + ("" if comparable else f"  REDUCED (not comparable): {reduced}"), flush=True)
    columns = dict(extra or {})
    print(f"{'row':<20}{'scenario':<9}{'ours':>16}{'paper':>16}{'gap':>8}" + "".join(f"{c:>22}" for c in columns))
    scores: dict[tuple[str, str], list[float]] = {}
    flagged = []
    store = open_store(args)
    for scenario in scenarios:
        for row in rows:
            if scenario and scenario not in row.scenarios:
                continue
            values: list[float] = []
            extras: dict[str, list[float]] = {c: [] for c in columns}
            for seed in range(args.seeds):
                stream = {**reduced["stream"], **({"scenario": scenario} if scenario else {})}
                train = {**row.train, **reduced["train"], "threads": args.threads}
                result = preset.run(row.method, seed, stream_overrides=stream, method_overrides=row.params,
                                    train_overrides=train, store=store)
                values.append(100 * result.metrics["acc"])
                for c, metric in columns.items():
                    extras[c].append(metric(result))
            scores[(row.label, scenario)] = values
            paper, spread = _reference(preset.reference, row.label, scenario)
            gap = statistics.mean(values) - paper if paper is not None else None
            line = (f"{row.label:<20}{scenario:<9}{mean_std(values):>16}"
                    f"{_paper_text(paper, spread):>16}{'' if gap is None else f'{gap:+.2f}':>8}")
            for c in columns:
                ref = preset.reference.get(c, {}).get(row.label)
                line += f"{mean_std(extras[c]):>12} ({'-' if ref is None else ref}){'':>4}"
            print(line, flush=True)
            if gap is not None and abs(gap) > (spread if spread is not None else 1.0):
                flagged.append((row.label, scenario, gap))
    if flagged and not args.quick:  # a quick run's numbers only show the wiring works
        print("\ngaps larger than the published spread (1 point where none is published):")
        for label, scenario, gap in flagged:
            note = why.get(f"{label}/{scenario}") or why.get(label, "no explanation recorded")
            print(f"  {label} {scenario} ({gap:+.2f}): {note}" + ("" if comparable else " [reduced run]"))
    return scores


def _reference(reference: Mapping[str, Any], label: str, scenario: str) -> tuple[float | None, float | None]:
    value = reference.get(label)
    spread = reference.get("std", {}).get(label)
    if isinstance(value, Mapping):
        value = value.get(scenario)
    if isinstance(spread, Mapping):
        spread = spread.get(scenario)
    return value, spread


def _paper_text(paper: float | None, spread: float | None) -> str:
    if paper is None:
        return "-"
    return f"{paper:.2f}" if spread is None else f"{paper:.2f} ± {spread:.2f}"
