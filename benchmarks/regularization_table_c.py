"""Table C — A-GEM's permuted MNIST (arXiv 1812.00420): 17 tasks, the whole split each, one pass, batch 10, SGD.

EWC, MAS and RWalk (finetune for reference) with the authors' per-method learning rates and strengths
(configs/agem-permuted-mnist.toml, [benchmark.lr]). Prints, per method, ACC and forgetting beside the
paper's ACC ± std and forgetting, and with --intransigence Chaudhry et al.'s intransigence (arXiv
1801.10112, eq. 9) against the ``cumulative`` baseline's diagonal (a model trained on all data so far:
phase k passes over k tasks, so it costs about 9x one method's run), then the reasons for the rows
further from the paper than its std.

Why ``tasks = 17``: the authors draw 20 permutations, use the first 3 only to choose learning rates and
strengths, and train and evaluate on the other 17. We take their choices as published, so our stream is
those 17 tasks; the 3 search tasks would not enter any number reported.

Full protocol (5 runs; 93,500 steps per run, a few minutes each on one thread):

    LIFELONG_DATA_DIR=... python benchmarks/regularization_table_c.py --seeds 5 --intransigence

Quick wiring check:   ... regularization_table_c.py --quick --intransigence
Reduced (fewer examples per task):  ... regularization_table_c.py --examples 1000
The authors' TensorFlow initialisation instead of PyTorch's:  ... --init trunc-normal-0.1
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

from _harness import CONFIGS, machine_line, mean_std
from regularization_common import arguments, gaps, overrides

from lifelong.metrics import intransigence
from lifelong.presets import load_preset
from lifelong.result import Result

PRESET = "agem-permuted-mnist"
QUICK = {"stream": {"tasks": 3, "examples": 200}}

WHY = {
    "finetune": "the authors' TensorFlow model starts from truncated-normal weights (std 0.1) and biases 0.1, "
                "PyTorch's default is about 5x smaller; in one pass of 100 SGD steps this decides how far each "
                "task is learned: after task 1 we reach 0.44-0.52 with PyTorch's init and 0.80-0.82 with theirs "
                "(--init authors), and ACC and forgetting follow; with their init finetune is 56-60, still above "
                "their 47.95, forgetting 0.22-0.25 against their 0.51",
    "ewc": "the authors' EWC is not the paper's: its Fisher is a moving average of squared mini-batch gradients "
           "during training, min-max scaled to [0, 1], replaced after each task under one anchor; ours is the "
           "paper's (per-task Fisher of per-example gradients, one anchor per task). With λ = 10 ours is more "
           "intransigent than finetune (see the column) while forgetting only a little less. Checked and "
           "ruled out: SGD instability (lr·2λ·max F stays below 2, about 1.2-1.3)",
    "mas": "mostly initialisation and seed: with the authors' init, seed 0 gives 69.7 (paper 69.85) and seed 1 "
           "58.2; MAS is strongly seed-dependent in this one-pass protocol. The authors' MAS also replaces Ω "
           "after each task; the MAS paper (and we) sum it",
    "rwalk": "unexplained: with the authors' initialisation we get 60-62 (paper 85.8). Checked: their score "
             "update s += (s + s_task)/2 instead of the paper's average (+1 point), their squared mini-batch "
             "Fisher instead of the per-example one (no change), SGD stability (fine)",
}


def main() -> None:
    args = arguments(__doc__.splitlines()[0], default_seeds=2, extra=[
        ("--init", {"help": "weight initialisation instead of the preset's (default | trunc-normal-0.1)"}),
        ("--intransigence", {"action": "store_true", "help": "also run the cumulative reference (slow)"}),
    ])
    reduced = overrides(args, QUICK)
    preset = load_preset(CONFIGS / f"{PRESET}.toml")
    if args.init:
        preset = replace(preset, init=args.init)
    lrs = preset.benchmark.get("lr", {})
    methods = args.methods.split(",") if args.methods else list(preset.methods)
    print(f"# {PRESET}: {preset.stream} {preset.stream_params}, {preset.model}, {preset.train}, lr per method {lrs}")
    print(f"# {machine_line(args.threads)}{'  REDUCED (not comparable)' if args.quick else ''}  init: {preset.init}",
          flush=True)

    def run(method: str, seed: int) -> Result:
        overrides = {**reduced["train"], "lr": lrs.get(method, preset.train.lr), "threads": args.threads}
        return preset.run(method, seed, stream_overrides=reduced["stream"], train_overrides=overrides)

    references = [list(run("cumulative", seed).matrix.values.diagonal(-1)) if args.intransigence else []
                  for seed in range(args.seeds)]
    reference = preset.reference
    print(f"{'method':<10}{'ACC % ours':>16}{'paper':>16}{'forgetting':>12}{'paper':>7}{'intransigence':>15}")
    scores: dict[str, list[float]] = {}
    for method in methods:
        results = [run(method, seed) for seed in range(args.seeds)]
        scores[method] = [100 * r.metrics["acc"] for r in results]
        forgetting = statistics.mean(r.metrics["forgetting"] for r in results)
        stiff = statistics.mean(intransigence(r.matrix, ref) if ref else math.nan
                                for r, ref in zip(results, references, strict=True))
        paper = f"{reference.get(method, float('nan')):.2f} ± {reference.get('std', {}).get(method, float('nan')):.2f}"
        print(f"{method:<10}{mean_std(scores[method]):>16}{paper:>16}{forgetting:>12.3f}"
              f"{reference.get('forgetting', {}).get(method, float('nan')):>7.2f}{stiff:>15.3f}", flush=True)
    if not args.smoke:
        print(gaps(scores, reference, reference.get("std", {}), WHY if preset.init == "default" else {}))


if __name__ == "__main__":
    main()
