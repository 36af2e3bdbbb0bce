"""The lecture's noisy → clean MNIST example (reference-results.md H; issue 14 §1): search the noise and the regime.

The lecture (a 3-layer MLP of 50 units, task 1 noisy MNIST, task 2 clean MNIST): after task 1,
90 % noisy / 96 % clean; after task 2 (sequential), 80 % / 97 %; trained jointly, 89 % / 98 %.
Every setting below runs ``finetune`` and ``joint`` with ``mlp-50x3`` on full MNIST (domain-IL,
one 10-way head) and prints those six numbers; the first stage uses seed 0, the chosen settings
are re-run over 5 seeds (mean ± standard deviation over seeds). The closest setting (smallest
largest gap to the six numbers) is ``configs/lecture-noisy-mnist.toml``.

Searched: the noise kind (``noise_kind``: gaussian, salt-pepper, occlusion, blur) and level, Adam's
lr and epochs a task, examples a task. Not searched, and why: fresh noise per epoch (the stream
stores one noisy copy; new noise per epoch would need the sampler), biases / dropout in the MLP
(``mlp`` has neither option).

    python benchmarks/noisy_mnist_search.py [--quick] [--store noisy.db] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from _harness import add_store_flag, machine_line, open_store

import lifelong  # noqa: F401  (registers everything)
from lifelong.presets import preset_from_data
from lifelong.result import Result

LECTURE = (90.0, 96.0, 80.0, 97.0, 89.0, 98.0)
LABELS = ("T1 noisy", "T1 clean", "T2 noisy", "T2 clean", "joint noisy", "joint clean")
TOLERANCE = 2.0

Setting = tuple[str, dict[str, Any], dict[str, Any]]


def setting(kind: str, level: float, lr: float = 0.003, epochs: int = 5, examples: int | None = None,
            batch: int = 128, normalize: bool = False) -> Setting:
    name = (f"{kind} {level:g}, adam {lr:g}, {epochs} ep" + (f", batch {batch}" if batch != 128 else "")
            + (f", {examples} ex" if examples else "") + (", normalized" if normalize else ""))
    stream: dict[str, Any] = {"noise": level, "noise_kind": kind, "examples": examples, "normalize": normalize}
    return name, stream, {"optimizer": "adam", "lr": lr, "epochs": epochs, "batch_size": batch}


# Stage 1 (seed 0), coarse to fine, in the order tried; the table (gaussian, adam 1e-3) was the start.
SP = "salt-pepper"
SEARCH: list[Setting] = [
    # the kinds at 5 epochs (the stream's suited regime, adam 3e-3)
    setting("gaussian", 0.45), setting(SP, 0.5), setting("occlusion", 0.5), setting("occlusion", 0.6),
    setting("blur", 1.5), setting("blur", 2.0), setting(SP, 0.25), setting("gaussian", 0.4, epochs=10),
    # salt-and-pepper near 0.25: epochs, lr, batch
    setting(SP, 0.25, epochs=10), setting(SP, 0.3, epochs=10), setting(SP, 0.2), setting(SP, 0.25, 0.001, 10),
    setting(SP, 0.25, epochs=3), setting(SP, 0.25, epochs=2), setting(SP, 0.2, epochs=3),
    setting("gaussian", 0.4, epochs=3), setting(SP, 0.22, epochs=3), setting(SP, 0.25, 0.005, 3),
    setting(SP, 0.25, epochs=2, batch=64), setting(SP, 0.25, epochs=3, batch=256),
    # standardised inputs
    setting(SP, 0.25, epochs=3, normalize=True), setting(SP, 0.22, epochs=2), setting(SP, 0.25, epochs=4),
    setting(SP, 0.23, epochs=3, batch=64), setting(SP, 0.25, 0.001, 3, batch=32),
    setting(SP, 0.3, epochs=3, normalize=True), setting(SP, 0.35, epochs=3, normalize=True),
    setting(SP, 0.3, epochs=5, normalize=True), setting("gaussian", 0.5, normalize=True),
    setting("gaussian", 0.6, normalize=True), setting(SP, 0.3, epochs=8, normalize=True),
    setting(SP, 0.27, normalize=True), setting(SP, 0.3, 0.001, 5, batch=32, normalize=True),
    setting(SP, 0.3, 0.001, 10, normalize=True),
]
# Stage 2: the closest settings of stage 1 (max gap ≤ 2 on seed 0), over 5 seeds.
CONFIRM: list[Setting] = [
    setting(SP, 0.3, 0.001, 5, batch=32, normalize=True), setting(SP, 0.3, 0.001, 10, normalize=True),
    setting(SP, 0.3, epochs=8, normalize=True),
]


def base_preset() -> Any:
    data = {"stream": {"name": "noisy-mnist", "scenario": "domain"}, "model": {"name": "mlp-50x3"},
            "train": {"optimizer": "adam", "lr": 0.003, "epochs": 5}, "methods": {"finetune": {}, "joint": {}}}
    return preset_from_data(data, Path("noisy_mnist_search"))


def six(finetune: Result, joint: Result) -> list[float]:
    """After task 1 (noisy, clean), after task 2 (noisy, clean), joint (noisy, clean), in percent."""
    f, j = finetune.matrix.values, joint.matrix.values
    return [100 * float(v) for v in (f[1, 0], f[1, 1], f[2, 0], f[2, 1], j[-1, 0], j[-1, 1])]


def run_setting(preset: Any, s: Setting, seeds: int, threads: int, store: Any,
                quick: dict[str, Any]) -> list[list[float]]:
    _, stream, train = s
    out = []
    for seed in range(seeds):
        runs = [preset.run(m, seed, stream_overrides={**stream, **quick.get("stream", {})},
                           train_overrides={**train, **quick.get("train", {}), "threads": threads}, store=store)
                for m in ("finetune", "joint")]
        out.append(six(*runs))
    return out


def gap(means: list[float]) -> float:
    return max(abs(m - t) for m, t in zip(means, LECTURE, strict=True))


def cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f}±{statistics.stdev(values):.1f}"


def table(title: str, settings: list[Setting], seeds: int, args: argparse.Namespace, store: Any,
          quick: dict[str, Any]) -> list[tuple[float, Setting, list[float]]]:
    preset = base_preset()
    print(f"\n## {title} ({seeds} seed{'s' if seeds > 1 else ''}; mean±std over seeds)")
    print(f"{'setting':<56}" + "".join(f"{label:>13}" for label in LABELS) + f"{'max gap':>9}{'s':>6}")
    print(f"{'lecture':<56}" + "".join(f"{v:>13.0f}" for v in LECTURE))
    scored = []
    for s in settings:
        start = time.perf_counter()
        rows = run_setting(preset, s, seeds, args.threads, store, quick)
        columns = [[row[i] for row in rows] for i in range(6)]
        means = [statistics.mean(c) for c in columns]
        scored.append((gap(means), s, means))
        print(f"{s[0]:<56}" + "".join(f"{cell(c):>13}" for c in columns)
              + f"{gap(means):>9.1f}{time.perf_counter() - start:>6.0f}", flush=True)
    return scored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 settings, 500 examples, 1 epoch: wiring only")
    parser.add_argument("--threads", type=int, default=1)
    add_store_flag(parser)
    args = parser.parse_args()
    store = open_store(args)
    quick: dict[str, Any] = {}
    search, confirm, seeds = SEARCH, CONFIRM, 5
    if args.quick:
        quick = {"stream": {"examples": 500}, "train": {"epochs": 1}}
        search, confirm, seeds = SEARCH[:2], SEARCH[:1], 2
    print("# noisy → clean MNIST, mlp-50x3, domain-IL, finetune and joint; the lecture's six numbers")
    print(f"# {machine_line(args.threads)}{'  QUICK (not comparable)' if args.quick else ''}", flush=True)
    table("stage 1: search", search, 1, args, store, quick)
    scored = table("stage 2: the closest settings", confirm, seeds, args, store, quick)
    best_gap, best, means = min(scored, key=lambda x: x[0])
    print(f"\nclosest ({seeds} seeds): {best[0]}  (max gap {best_gap:.1f} points)")
    for label, m, t in zip(LABELS, means, LECTURE, strict=True):
        print(f"  {label:<12} ours {m:5.1f}  lecture {t:3.0f}  {m - t:+5.1f}  "
              f"{'met (within ±2)' if abs(m - t) <= TOLERANCE else 'NOT met'}")


if __name__ == "__main__":
    main()
