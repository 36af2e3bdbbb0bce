"""Table G — NTU ML2022 HW14 (an outside reproduction): rotated MNIST, 5 tasks at 0/20/40/60/80°.

Same network and training as Table F, no input normalisation, importances on training data. Prints our
mean ± std over seeds beside the write-up's final accuracy (seed 0), the curve over tasks, and the reasons
for rows that differ by more than a point. Preset: configs/hw14-rotated.toml.

Full protocol (10 epochs per task, one seed; about 10-15 minutes per method on one thread):

    LIFELONG_DATA_DIR=... python benchmarks/regularization_table_g.py --seeds 1

Quick wiring check:   ... regularization_table_g.py --quick
Reduced real run:     ... regularization_table_g.py --epochs 2
"""

from __future__ import annotations

from collections import defaultdict

from _harness import CONFIGS, reproduce
from regularization_common import arguments, curve_table, gaps, overrides
from regularization_table_f import WHY as HOMEWORK_WHY

from lifelong.metrics import seen_so_far
from lifelong.presets import load_preset
from lifelong.result import Result

PRESET = "hw14-rotated"
QUICK = {"stream": {"angles": [0.0, 40.0], "examples": 2000}, "train": {"epochs": 1}}

COMMON = ("the reference is one run of an outside reproduction, read from a secondary transcription (s), "
          "whose strengths are unpublished except EWC λ = 1e4 (we use the homework's); at the full protocol "
          "finetune alone differs by about 2 points (one run each; a reduced run differs more: fewer epochs learn "
          "each rotation less), so gaps of that size are not separately explained. ")
EWC_SCALE = ("; the same write-up's EWC run at λ = 1e4 gives 80.75, and ours at λ = 100 (a Fisher about 114x "
             "larger on Table F's network, so close to their λ = 1.1e4) gives 79.97 at the full protocol (seed 0): "
             "the gap is the scale")
WHY = {**{m: COMMON + why for m, why in HOMEWORK_WHY.items()}, "finetune": COMMON.strip()}
WHY["ewc"] += EWC_SCALE

def main() -> None:
    args = arguments(__doc__.splitlines()[0], default_seeds=1)
    reduced = overrides(args, QUICK)
    if args.tasks is not None:  # rotated MNIST is sized by its angles
        reduced["stream"].pop("tasks")
        reduced["stream"]["angles"] = [0.0, 20.0, 40.0, 60.0, 80.0][: args.tasks]
    curves: dict[str, list[list[float]]] = defaultdict(list)

    def metric(result: Result) -> float:
        curves[result.config["method"]].append(seen_so_far(result.matrix))
        return 100 * result.metrics["acc"]

    scores = reproduce(PRESET, args, metric=metric, quick_overrides=reduced)
    print(curve_table(curves, {}))
    if not args.smoke:
        print(gaps(scores, load_preset(CONFIGS / f"{PRESET}.toml").reference, {}, WHY))


if __name__ == "__main__":
    main()
