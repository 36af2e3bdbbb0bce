"""Table F — the lecture's homework (NTU ML2021 HW14): permuted MNIST, 5 tasks, the regularization family.

Prints, per method, our mean ± std over seeds beside the homework's official output (final mean accuracy),
then the whole curve (mean accuracy over the tasks seen so far after each task), then the reasons for the
rows that differ by more than a point. Preset: configs/hw14-permuted.toml.

Full protocol (10 epochs per task, one seed as the homework; about 10-15 minutes per method on one thread):

    LIFELONG_DATA_DIR=... python benchmarks/regularization_table_f.py --seeds 1

Quick wiring check (2 tasks, 2000 examples, 1 epoch):   ... regularization_table_f.py --quick
Reduced real run (all 5 tasks, fewer epochs):           ... regularization_table_f.py --epochs 2
"""

from __future__ import annotations

from collections import defaultdict

from _harness import CONFIGS, reproduce
from regularization_common import arguments, curve_table, gaps, overrides

from lifelong.metrics import seen_so_far
from lifelong.presets import load_preset
from lifelong.result import Result

PRESET = "hw14-permuted"
QUICK = {"stream": {"tasks": 2, "examples": 2000}, "train": {"epochs": 1}}

# Why our numbers can differ from the homework's official outputs (found by reading its code; the ratios
# were measured with benchmarks/regularization_scales.py on task 1 after one epoch, 10,000 training examples).
WHY = {
    "ewc": "our Fisher averages squared per-example gradients; HW14 squares batch-mean gradients (batch 128): "
           "measured, ours is 114x larger on the same model, so λ = 100 guards far more strongly here; HW14 "
           "also sums the Fishers under one anchor where EWC keeps one anchor per task",
    "mas": "our Ω averages |per-example gradients|; HW14 takes |batch-mean gradient|: measured, ours is 2.1x "
           "larger, so λ = 0.1 guards more strongly here",
    "si": "Ω = ω/(Δ² + ξ) with Δ² << ξ = 0.1 under Adam at lr 1e-4, so Ω grows with the number of steps: a run "
          "with fewer epochs than 10 has proportionally weaker SI. Also HW14 puts the gradient of the "
          "regularised loss in ω and does not clip Ω at zero; we use the task-loss gradient and clip, as "
          "Zenke et al.'s code",
    "rwalk": "our path score is normalised per interval of 10 steps with a per-example Fisher (the paper); "
             "HW14 normalises the whole task's path by the task's displacement with squared batch gradients",
    "scp": "HW14 averages the slices before differentiating, (∇ mean_l ξ_lᵀφ̄)²; the paper's mean_l (∇ ξ_lᵀφ̄)², "
           "which we compute, measured 108x larger (about L = 100), so λ = 100 guards far more strongly here",
    "finetune": "fewer epochs forget less (a reduced run is above 83.72); one seed, our own permutations and "
                "initialisation, where HW14's number is one run too",
}

def main() -> None:
    args = arguments(__doc__.splitlines()[0], default_seeds=1)
    reduced = overrides(args, QUICK)
    curves: dict[str, list[list[float]]] = defaultdict(list)

    def metric(result: Result) -> float:
        curves[result.config["method"]].append(seen_so_far(result.matrix))
        return 100 * result.metrics["acc"]

    scores = reproduce(PRESET, args, metric=metric, quick_overrides=reduced)
    reference = load_preset(CONFIGS / f"{PRESET}.toml").reference
    print(curve_table(curves, reference.get("curve", {})))
    if not args.smoke:
        print(gaps(scores, reference, {}, WHY))


if __name__ == "__main__":
    main()
