"""The loop's overhead: lifelong's finetune against a minimal plain-PyTorch loop, same protocol, same process.

Protocol: permuted MNIST, 5 tasks (task 1 the identity), 1 epoch per task, MLP 784-400-400-10, batch 128,
SGD lr 0.01, the full evaluation protocol (every task before training and after each task).
The plain loop converts MNIST to float once and permutes each batch with the task's permutation;
lifelong permutes per batch from one shared uint8 copy, through its sampler, heads and hooks.
Runs alternate, ``--repeats`` each; we print the median
times, their ratio (target <= 1.10) and both final accuracies (equal to within noise).

    python benchmarks/loop_overhead.py [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from _harness import machine_line
from torch import nn

import lifelong
from lifelong.streams.permuted import permutations
from lifelong.streams.task import eval_batch

TASKS, EPOCHS, BATCH, LR = 5, 1, 128, 0.01


def plain_loop(stream: lifelong.streams.Stream, seed: int) -> tuple[float, float]:
    """The same protocol written directly in PyTorch; returns (seconds, final mean accuracy)."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
    base = stream[0].train.x.reshape(-1, 784).float() / 255.0
    perms = permutations(TASKS, seed=0, first_identity=True)
    test = [eval_batch(t) for t in stream]
    generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def evaluate() -> list[float]:
        return [float((model(b.x).argmax(1) == b.y).float().mean()) for b in test]

    evaluate()
    accuracies: list[float] = []
    for k, task in enumerate(stream):
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        y = task.train.y
        for _ in range(EPOCHS):
            order = torch.randperm(len(y), generator=generator)
            for s in range(0, len(y), BATCH):
                index = order[s:s + BATCH]
                loss = F.cross_entropy(model(base[index][:, perms[k]]), y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        accuracies = evaluate()
    return time.perf_counter() - start, statistics.mean(accuracies)


def lifelong_loop(stream: lifelong.streams.Stream, seed: int) -> tuple[float, float]:
    start = time.perf_counter()
    result = lifelong.run(stream, "finetune", "mlp-400x2", seed=seed, epochs=EPOCHS, batch_size=BATCH, lr=LR,
                          optimizer="sgd")
    return time.perf_counter() - start, result.metrics["acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    stream = lifelong.streams.permuted_mnist(tasks=TASKS, seed=0)
    print(f"# loop overhead: permuted MNIST {TASKS} tasks, {EPOCHS} epoch, 784-400-400-10, batch {BATCH}, SGD {LR}")
    print(f"# {machine_line(args.threads)}")
    times: dict[str, list[float]] = {"plain": [], "lifelong": []}
    accs: dict[str, list[float]] = {"plain": [], "lifelong": []}
    for r in range(args.repeats):
        for name, fn in (("plain", plain_loop), ("lifelong", lifelong_loop)):
            seconds, acc = fn(stream, seed=r)
            times[name].append(seconds)
            accs[name].append(acc)
            print(f"repeat {r}: {name:<9} {seconds:6.1f} s  ACC {100 * acc:.2f}", flush=True)
    plain, ours = statistics.median(times["plain"]), statistics.median(times["lifelong"])
    print(f"median: plain {plain:.1f} s, lifelong {ours:.1f} s, ratio {ours / plain:.3f} (target <= 1.10)")
    plain_acc, ours_acc = (100 * statistics.mean(accs[k]) for k in ("plain", "lifelong"))
    print(f"ACC: plain {plain_acc:.2f}, lifelong {ours_acc:.2f}")
    print(f"# after: {machine_line(args.threads)}")


if __name__ == "__main__":
    main()
