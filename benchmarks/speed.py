"""Speed and memory on one protocol, as ratios measured in the same run: a minimal PyTorch loop, lifelong per
method, Avalanche where installed, and the matrix-product ceiling.

Protocol (issue 13): permuted MNIST, 5 tasks (task 1 the identity), 1 epoch a task, MLP 784-400-400-10, SGD lr
0.01 momentum 0.9 with the optimizer kept across tasks, batch 128, every task evaluated before training and
after each task. A-GEM keeps 256 samples per task with a reference batch of 256, GEM 256 per task.

Every measurement runs in a fresh child process (its peak resident memory is that measurement's; one-time
costs of a fresh process are paid on a tiny run first), rounds alternate the rows so a change in the shared
machine's load hits every row alike, and every ratio is taken within a round, then the median over rounds.

Columns:
    train s     seconds in the training steps and consolidation (``after_task``), evaluation excluded
    x minimal   train s over the minimal loop's, same round
    x finetune  train s over lifelong finetune's, same round
    eval s      seconds evaluating (6 rows of R over 5 test sets of 10,000), and its share of the run; the
                line under the table gives the share the arithmetic alone sets (forward passes over the
                test sets against forward and backward passes over the training sets), the same for bAbI
    peak MB     peak resident memory of the child, and its ratio to the minimal loop's
    ceiling     the share of the 1-thread matrix-product peak reached: 6·P FLOPs per training example
                (forward 2P, backward 4P) at the FLOP/s of a 2048x2048 fp32 product on the same threads,
                measured at the start of each round (it drifts by 10-15 % on a shared machine); median
                over rounds. The first layer needs no input gradient, so a loop of nothing but this
                protocol's matrix products reaches about 114 % of it (measured: 9.9 s against 11.2 s)
    flops x     the training steps' matrix-product FLOPs over finetune's (counted with
                torch.utils.flop_counter on 2000 examples a task): a method's time ratio cannot go far
                below it (A-GEM's reference batch of 256 and GEM's 256 per earlier task are arithmetic)

    python benchmarks/speed.py [--repeats 3] [--threads 1] [--methods finetune,ewc,si,agem,gem] [--quick]
    python benchmarks/speed.py --babi     # also: a one-epoch run over the 20 bAbI tasks, evaluation's share
    bash benchmarks/avalanche_env.sh /tmp/av && /tmp/av/bin/python benchmarks/speed.py --babi   # with Avalanche
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from _harness import machine_line
from memory_cost import TrainingFlops, matmul_peak

TASKS, EPOCHS, BATCH, LR, MOMENTUM = 5, 1, 128, 0.01, 0.9
TEST = 10_000  # test examples a task: MNIST's whole test split, permuted
WIDTHS = (784, 400, 400, 10)
METHODS: dict[str, tuple[str, dict[str, Any]]] = {  # row -> (method, hyperparameters beyond its defaults)
    "finetune": ("finetune", {}),
    "ewc": ("ewc", {}),
    "ewc-every-example": ("ewc", {"samples": None}),  # the exact Fisher over all 60,000: what the default saves
    "si": ("si", {}),
    "agem": ("agem", {"memory": 256, "reference": 256}),
    "gem": ("gem", {"memory": 256}),
}
FLOP_EXAMPLES = 2000  # examples a task in the FLOP count (the count's ratios do not depend on it: memories are fixed)
TARGETS = {"minimal": 1.05, "ewc": 1.5, "si": 1.5, "agem": 2.0, "gem": 4.0}  # lifelong finetune / minimal; x finetune
AVALANCHE = {"finetune": "Naive", "ewc": "EWC", "si": "SynapticIntelligence", "agem": "AGEM", "gem": "GEM"}


def parameters() -> int:
    return sum(a * b + b for a, b in itertools.pairwise(WIDTHS))


def minimal(seed: int, threads: int, examples: int | None) -> dict[str, Any]:
    """The protocol written directly in PyTorch, as one writes it by hand: MNIST as floats, each task's
    permuted copy made when the task starts (counted as training), batches gathered from it."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    import lifelong
    from lifelong.streams.permuted import permutations
    from lifelong.train import peak_rss_mb

    torch.set_num_threads(threads)
    stream = lifelong.streams.permuted_mnist(tasks=TASKS, seed=0, **({"examples": examples} if examples else {}))
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(WIDTHS):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    base = stream[0].train.x.reshape(len(stream[0].train), -1).float() / 255.0
    perms = permutations(TASKS, seed=0, first_identity=True)
    test = [(stream[0].test.x.reshape(len(stream[0].test), -1).float() / 255.0)[:, perms[k]] for k in range(TASKS)]
    test_y = [t.test.y for t in stream]
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    train_s = eval_s = 0.0

    @torch.no_grad()
    def evaluate() -> list[float]:
        return [float((model(x).argmax(1) == y).float().mean()) for x, y in zip(test, test_y, strict=True)]

    t = time.perf_counter()
    evaluate()
    eval_s += time.perf_counter() - t
    accuracies: list[float] = []
    for k, task in enumerate(stream):
        t = time.perf_counter()
        x, y = base[:, perms[k]], task.train.y
        for _ in range(EPOCHS):
            order = torch.randperm(len(y), generator=generator)
            for s in range(0, len(y), BATCH):
                index = order[s:s + BATCH]
                loss = F.cross_entropy(model(x[index]), y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        train_s += time.perf_counter() - t
        t = time.perf_counter()
        accuracies = evaluate()
        eval_s += time.perf_counter() - t
    examples_seen = EPOCHS * sum(len(task.train) for task in stream)
    return {"train": train_s, "eval": eval_s, "peak": peak_rss_mb(), "acc": 100 * statistics.mean(accuracies),
            "examples": examples_seen}


def ours(method: str, seed: int, threads: int, examples: int | None, flops: bool = False) -> dict[str, Any]:
    """lifelong's run of the protocol; with ``flops``, only the training steps' matrix-product FLOPs (counting
    slows a run, so it is never timed; consolidation after a task is not counted)."""
    import lifelong
    from lifelong.train import peak_rss_mb

    stream = lifelong.streams.permuted_mnist(tasks=TASKS, seed=0, **({"examples": examples} if examples else {}))
    train = {"epochs": EPOCHS, "batch_size": BATCH, "lr": LR, "optimizer": "sgd", "momentum": MOMENTUM,
             "reset_optimizer": False, "threads": threads}
    if flops:
        counter = TrainingFlops()
        name, params = METHODS[method]
        lifelong.run(stream, name, "mlp-400x2", seed=seed, method_params=params, observers=[counter], **train)
        return {"flops": counter.total}
    name, params = METHODS[method]
    result = lifelong.run(stream, name, "mlp-400x2", seed=seed, method_params=params, **train)
    return {"train": sum(result.seconds), "eval": result.total_seconds - sum(result.seconds), "peak": peak_rss_mb(),
            "acc": 100 * result.metrics["acc"]}


def avalanche(method: str, seed: int, threads: int, examples: int | None) -> dict[str, Any]:
    """The same protocol in Avalanche 0.6 (its strategies' own training loop, our data and network), run from
    the throwaway environment of ``benchmarks/avalanche_env.sh``."""
    import torch
    from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets  # type: ignore
    from avalanche.benchmarks.utils import as_classification_dataset  # type: ignore[import-not-found]
    from avalanche.training import supervised  # type: ignore[import-not-found]
    from torch import nn
    from torch.utils.data import TensorDataset

    import lifelong
    from lifelong.train import peak_rss_mb

    torch.set_num_threads(threads)
    stream = lifelong.streams.permuted_mnist(tasks=TASKS, seed=0, **({"examples": examples} if examples else {}))

    def dataset(task: Any, split: str) -> Any:
        part = getattr(task, split)
        data = TensorDataset(task.inputs(part.x), part.y)
        data.targets = part.y.tolist()  # type: ignore[attr-defined]
        return as_classification_dataset(data)

    bench = benchmark_from_datasets(train=[dataset(t, "train") for t in stream],
                                    test=[dataset(t, "test") for t in stream])
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(WIDTHS):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    extra = {"ewc": {"ewc_lambda": 100.0}, "si": {"si_lambda": 1.0},
             "agem": {"patterns_per_exp": 256, "sample_size": 256}, "gem": {"patterns_per_exp": 256}}.get(method, {})
    strategy = getattr(supervised, AVALANCHE[method])(model=model, optimizer=optimizer,
                                                       criterion=nn.CrossEntropyLoss(), train_mb_size=BATCH,
                                                       train_epochs=EPOCHS, eval_mb_size=10000,
                                                       **extra)
    train_s = 0.0
    for experience in bench.train_stream:
        t = time.perf_counter()
        strategy.train(experience)
        train_s += time.perf_counter() - t
    return {"train": train_s, "eval": 0.0, "peak": peak_rss_mb(), "acc": float("nan")}


def warm_up(threads: int) -> None:
    """A fresh process's one-time costs (kernel choice, allocator growth), paid before the measured run."""
    import lifelong

    lifelong.run("permuted-mnist", "finetune", "mlp-400x2", stream_params={"tasks": 1, "examples": 256}, epochs=1,
                 threads=threads)


def child(row: str, seed: int, threads: int, examples: int | None) -> dict[str, Any]:
    warm_up(threads)
    kind, _, method = row.partition(":")
    if kind == "minimal":
        return minimal(seed, threads, examples)
    if kind == "avalanche":
        return avalanche(method, seed, threads, examples)
    return ours(method, seed, threads, examples)


def babi_child(threads: int) -> dict[str, Any]:
    """One epoch over the 20 bAbI tasks with the stream's suited settings: training and evaluation seconds."""
    import lifelong

    result = lifelong.run("babi", "finetune", seed=0, epochs=1, threads=threads)
    params = result.config["stream_params"]
    rows, tasks = result.matrix.values.shape
    return {"train": sum(result.seconds), "eval": result.total_seconds - sum(result.seconds),
            "acc": 100 * result.metrics["acc"], "rows": rows, "tasks": tasks, "test": params["test_examples"],
            "trained": tasks * params["examples"]}


def arithmetic_share(rows: int, tasks: int, test: int, trained: int) -> float:
    """Evaluation's share of a run were its forward passes as fast per FLOP as the training steps: a test
    example costs one forward pass (2P FLOPs), a training example a forward and a backward pass (6P).

    Evaluation in large batches beats training's FLOP rate, so a measured share can fall below this, but
    not by a factor: a target far under it needs fewer rows of R or fewer test examples, not speed."""
    evaluated = rows * tasks * test
    return evaluated / (evaluated + 3 * trained)


def spawn(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def avalanche_missing() -> str | None:
    try:
        import avalanche  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as err:
        return (f"Avalanche not installed ({err}); it needs torchvision, so it lives in an environment of its own: "
                "bash benchmarks/avalanche_env.sh DIR, then run this script with DIR/bin/python")
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--quick", action="store_true", help="1000 examples a task, 1 round: checks the wiring")
    parser.add_argument("--babi", action="store_true", help="also time a one-epoch run over the 20 bAbI tasks")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=int, help="examples per task (default: all 60,000)")
    parser.add_argument("--flops", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "babi":
        print(json.dumps(babi_child(args.threads)))
        return
    if args.child and args.flops:
        print(json.dumps(ours(args.child.partition(":")[2], 0, args.threads, FLOP_EXAMPLES, flops=True)))
        return
    if args.child:
        print(json.dumps(child(args.child, args.seed, args.threads, args.examples)))
        return
    examples = 1000 if args.quick else args.examples
    repeats = 1 if args.quick else args.repeats
    methods = args.methods.split(",")
    rows = ["minimal", *(f"lifelong:{m}" for m in methods)]
    missing = avalanche_missing()
    if missing is None:
        rows += [f"avalanche:{m}" for m in methods if m in AVALANCHE]
    print(f"# speed: permuted MNIST {TASKS} tasks x {EPOCHS} epoch, {'-'.join(map(str, WIDTHS))}, batch {BATCH}, "
          f"SGD {LR} momentum {MOMENTUM} kept across tasks, {examples or 60000} examples a task, device cpu")
    print(f"# before: {machine_line(args.threads)}")
    measured: dict[str, list[dict[str, Any]]] = {row: [] for row in rows}
    width = max(map(len, rows)) + 2
    peaks: list[float] = []  # the matrix-product peak, measured in every round (it drifts with the machine)
    for r in range(repeats):
        peaks.append(matmul_peak(args.threads))
        for row in rows:
            flags = ["--child", row, "--seed", str(r), "--threads", str(args.threads)]
            measured[row].append(spawn(flags + (["--examples", str(examples)] if examples else [])))
            m = measured[row][-1]
            print(f"  round {r} {row:<{width}} train {m['train']:7.2f} s  eval {m['eval']:6.2f} s  "
                  f"peak {m['peak']:6.0f} MB", flush=True)
    arithmetic = {row: spawn(["--child", row, "--flops", "--threads", str(args.threads)])["flops"]
                  for row in rows if row.startswith("lifelong:")}
    work = 6 * parameters() * measured["minimal"][0]["examples"]
    ceiling = [work / peak for peak in peaks]

    def ratio(row: str, to: str, key: str = "train") -> float:
        return statistics.median(a[key] / b[key] for a, b in zip(measured[row], measured[to], strict=True))

    def median(row: str, key: str) -> float:
        return statistics.median(m[key] for m in measured[row])

    print(f"\n{'row':<{width}}{'train s':>9}{'x minimal':>10}{'x finetune':>11}{'target':>8}{'eval s':>8}{'eval %':>7}"
          f"{'peak MB':>9}{'x min':>7}{'ceiling':>9}{'ACC':>7}{'flops x':>9}")
    base = arithmetic.get("lifelong:finetune", 1.0)
    for row in rows:
        train, evaluation = median(row, "train"), median(row, "eval")
        versus_ft = ratio(row, "lifelong:finetune") if row != "minimal" and "lifelong:finetune" in measured else None
        method = row.partition(":")[2]
        target = TARGETS["minimal"] if row == "lifelong:finetune" else \
            TARGETS.get(method) if row.startswith("lifelong") else None
        share = 100 * evaluation / (train + evaluation) if evaluation else float("nan")
        reached = statistics.median(c / m["train"] for c, m in zip(ceiling, measured[row], strict=True))
        reach = f"{100 * reached:8.0f}%" if row in ("minimal", "lifelong:finetune") else f"{'':>9}"
        print(f"{row:<{width}}{train:9.2f}{ratio(row, 'minimal'):10.2f}"
              f"{'' if versus_ft is None else f'{versus_ft:.2f}':>11}{'' if target is None else f'<= {target}':>8}"
              f"{evaluation:8.2f}{share:7.1f}{median(row, 'peak'):9.0f}{ratio(row, 'minimal', 'peak'):7.2f}{reach}"
              f"{median(row, 'acc'):7.2f}{'' if row not in arithmetic else f'{arithmetic[row] / base:.2f}':>9}")
    if missing is not None:
        print(f"avalanche rows skipped: {missing}")
    else:
        def versus(m: str) -> str:  # Avalanche's EWC takes its Fisher over every example, as ewc-every-example
            exact = "lifelong:ewc-every-example"
            same_work = f" (against the same Fisher, {exact}: {ratio('avalanche:ewc', exact):.2f})" \
                if m == "ewc" and exact in measured else ""
            return f"{m} {ratio(f'avalanche:{m}', f'lifelong:{m}'):.2f}{same_work}"
        shared = [m for m in methods if f"avalanche:{m}" in measured and f"lifelong:{m}" in measured]
        print("Avalanche / lifelong, training time, same round (target >= 3): " + ", ".join(map(versus, shared)))
    ft = "lifelong:finetune"
    if ft in measured:
        print(f"\nlifelong finetune / minimal loop (training time): {ratio(ft, 'minimal'):.3f} (target <= 1.05); "
              f"ceiling = 6 x {parameters():,} FLOPs x {measured['minimal'][0]['examples']:,} examples at the "
              f"round's peak: {', '.join(f'{c:.2f} s ({work / c / 1e9:.0f} GFLOP/s)' for c in ceiling)}")
        examples = measured["minimal"][0]["examples"]
        print(f"evaluation's arithmetic: {100 * arithmetic_share(TASKS + 1, TASKS, TEST, examples):.1f}% "
              f"of the run at training's FLOP rate ({TASKS + 1} rows x {TASKS} tasks x {TEST:,} test examples, "
              f"forward only, against {examples:,} training examples, forward and backward; target <= 10%)")
    if args.babi:
        b = spawn(["--child", "babi", "--threads", str(args.threads)])
        print(f"bAbI, 20 tasks x 1 epoch (memn2n, suited settings): train {b['train']:.1f} s, "
              f"evaluation {b['eval']:.1f} s "
              f"= {100 * b['eval'] / (b['train'] + b['eval']):.1f}% of the run (target <= 10%); its arithmetic at "
              f"training's FLOP rate: {100 * arithmetic_share(b['rows'], b['tasks'], b['test'], b['trained']):.1f}% "
              f"({b['rows']} rows x {b['tasks']} tasks x {b['test']:,} test questions against {b['trained']:,} "
              "training questions)")
    print(f"# after: {machine_line(args.threads)}")


if __name__ == "__main__":
    main()
