"""Why the same λ means different things: our importances against the reference codes' batch-level variants.

The homework (Tables F, G), Hsu et al. (Table B) and the A-GEM code (Table C) compute importances from
*batch-mean* gradients, which the papers do not; the papers (and we) use per-example gradients. Their
published λ were chosen for their scale. This script trains task 1 of a protocol, then prints, on that
task's training data, the total of each importance as we compute it and as the reference code does,
and their ratio: by how much the same λ guards more strongly here. It also prints max(F), the divisor
the A-GEM code's min-max normalisation applies.

``--code`` picks the reference code (default: ``hsu`` for the hsu-* presets, else ``hw14``). They differ:
Hsu et al.'s EWC multiplies each squared batch-mean gradient by the batch size, which restores the
per-example scale, and their MAS averages z² over the outputs as well as the batch; the homework does neither.

    LIFELONG_DATA_DIR=... python benchmarks/regularization_scales.py --preset hw14-permuted --epochs 1
    LIFELONG_DATA_DIR=... python benchmarks/regularization_scales.py --preset agem-permuted-mnist
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import torch
import torch.nn.functional as F
from _harness import CONFIGS, machine_line

from lifelong.api import build_stream
from lifelong.methods.regularization._importance import (
    fisher_diagonal,
    output_sensitivity,
    sliced_sensitivity,
    task_batches,
    trainable,
)
from lifelong.models.learner import Learner
from lifelong.presets import load_preset
from lifelong.streams.sampler import batches
from lifelong.streams.task import Task


def batch_level(learner: Learner, task: Task, kind: str, batch_size: int, slices: int,
                rng: torch.Generator, code: str) -> float:
    """Σ_i of the reference code's importance: a function of each batch's mean gradient (a loop over batches)."""
    params = list(trainable(learner).values())
    total, count = 0.0, 0
    for batch in task_batches(task, None, rng, batch_size):
        logits = learner(batch.x, batch.task_ids)
        if kind == "ewc":  # (∂/∂θ mean_b −log p(argmax))², averaged over batches; Hsu et al. then × batch size
            objective = F.cross_entropy(logits, logits.argmax(1))
        elif kind == "mas":  # HW14: |∂/∂θ mean_b ||z||²|; Hsu et al.: |∂/∂θ mean_{b,k} z_k²|
            objective = logits.square().mean() if code == "hsu" else logits.square().sum(1).mean()
        else:  # HW14's SCP: (∂/∂θ mean_l ξ_lᵀ φ̄_b)², the slices averaged before differentiating
            xi = F.normalize(torch.randn(slices, logits.shape[1], generator=rng), dim=1)
            objective = (xi.mean(0) * logits.mean(0)).sum()
        grads = torch.autograd.grad(objective, params, allow_unused=True)
        power = 1 if kind == "mas" else 2
        scale = len(batch.y) if code == "hsu" and kind == "ewc" else 1
        total += scale * sum(float(g.abs().pow(power).sum()) for g in grads if g is not None)
        count += 1
    return total / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="hw14-permuted")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs for task 1")
    parser.add_argument("--samples", type=int, default=10000, help="training examples the importances use")
    parser.add_argument("--code", choices=("hw14", "hsu"), help="the reference code (default: from the preset)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    code = args.code or ("hsu" if args.preset.startswith("hsu-") else "hw14")
    torch.set_num_threads(args.threads)
    preset = load_preset(CONFIGS / f"{args.preset}.toml")
    train = preset.train if args.epochs is None else replace(preset.train, epochs=args.epochs, iterations=None)
    stream = build_stream(preset.stream, preset.stream_params, 0)
    learner = Learner.build(preset.model, stream, 0)
    task = stream[0]
    print(f"# {args.preset}: task 1 trained with {train}; reference code {code}; {machine_line(args.threads)}")
    learner.begin_task(task)
    steps = batches([task], train.batch_size, torch.Generator().manual_seed(0),
                    epochs=None if train.iterations else train.epochs, iterations=train.iterations)
    learner.fit(trainable(learner).values(), steps, lambda b: learner.loss(learner(b.x, b.task_ids), b.y),
                lr=train.lr, optimizer=train.optimizer)
    if args.samples < len(task.train):  # the same examples for both estimates
        keep = torch.randperm(len(task.train), generator=torch.Generator().manual_seed(1))[: args.samples]
        task = replace(task, train=replace(task.train, x=task.train.x[keep], y=task.train.y[keep]))
    rng = torch.Generator().manual_seed(0)
    ours = {
        "ewc": fisher_diagonal(learner, task, "predicted", None, rng),
        "mas": output_sensitivity(learner, task, None, rng),
    }
    if code == "hw14":  # Hsu et al. have no SCP
        ours["scp"] = sliced_sensitivity(learner, task, 100, train.batch_size, None, rng)
    print(f"{'importance':<12}{'ours Σ':>14}{'reference Σ':>14}{'ours / ref':>12}{'ours max':>12}")
    for kind, values in ours.items():
        mine = sum(float(v.sum()) for v in values.values())
        theirs = batch_level(learner, task, kind, train.batch_size, 100, rng, code)
        peak = max(float(v.max()) for v in values.values())
        print(f"{kind:<12}{mine:>14.4g}{theirs:>14.4g}{mine / theirs:>12.1f}{peak:>12.4g}")


if __name__ == "__main__":
    main()
