"""The order of tasks: how much it moves the metrics, the pairwise transfer matrix, and a proposed curriculum.

``lifelong order --stream S [--orders K] [--method M] [--json OUT]``:

(a) runs the stream in its given order and under K seeded random orders and reports how much ACC,
    BWT and FWT vary with the order (mean, range, best and worst order);
(b) measures the pairwise transfer matrix: a fresh network trained plainly on task i alone, evaluated on
    every task j (the taskonomy idea the lecture ends with). In the domain-incremental scenario the
    head is shared, so T[i, j] says how far learning i already solves j; with a head per task (task
    scenario) or masked classes (class scenario) an untrained head answers j, so off-diagonal
    entries are close to chance by construction and the proposal below is weakly informed;
(c) proposes a curriculum greedily from that matrix — first the task whose training helps the
    others most (the highest mean of its row off the diagonal), then, again and again, the remaining
    task the tasks chosen so far transfer to most (the highest mean of T[chosen, j]) — the rule
    "learn next what you are already best prepared for";
(d) runs the proposed order and reports its rank by ACC among the random orders (1 = best).

Every run (orders and single-task transfer runs) goes to the store when one is given; runs are
content-addressed, so a repeated study trains nothing again.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lifelong.api import build_learner, build_method, run_config
from lifelong.config import TrainConfig
from lifelong.device import describe_device, stream_on
from lifelong.environment import describe_environment
from lifelong.metrics import AccuracyMatrix
from lifelong.result import Result
from lifelong.store import Store
from lifelong.streams.stream import Stream
from lifelong.train import evaluate, learn_phase, peak_rss_mb

Runner = Callable[[Stream, str], Result]


def random_orders(tasks: int, k: int, seed: int) -> list[list[int]]:
    """``k`` distinct random permutations of ``range(tasks)`` other than the given order, drawn from ``seed``
    (fewer when fewer exist)."""
    generator = random.Random(seed)
    identity = list(range(tasks))
    possible = int(np.prod(range(1, tasks + 1))) - 1
    orders: list[list[int]] = []
    while len(orders) < min(k, possible):
        order = identity[:]
        generator.shuffle(order)
        if order != identity and order not in orders:
            orders.append(order)
    return orders


def propose(transfer: np.ndarray) -> list[int]:
    """The greedy curriculum of the module doc from a transfer matrix ``T[i, j]`` (train on i, test on j)."""
    t = len(transfer)
    off = transfer.copy()
    np.fill_diagonal(off, np.nan)
    first = int(np.nanargmax(np.nanmean(off, axis=1))) if t > 1 else 0
    order = [first]
    while len(order) < t:
        left = [j for j in range(t) if j not in order]
        order.append(max(left, key=lambda j: (float(np.mean(transfer[order, j])), -j)))
    return order


def transfer_row(stream: Stream, i: int, model: str, seed: int, train_config: TrainConfig,
                 init: str = "default", store: Store | None = None) -> Result:
    """A fresh network trained (plainly: ``finetune``) on task ``i`` alone and evaluated on every task.

    The stream is reordered to start with task i and only its first phase is trained (through
    :func:`learn_phase`, as every run's phases are), so the result's rows are the initial network and
    the network after task i; its columns are in the reordered stream's order (i first).
    """
    order = [i, *[j for j in range(len(stream)) if j != i]]
    reordered = stream.reordered(order)
    single = dataclasses.replace(reordered, params={**reordered.params, "transfer_from": i})
    method = build_method("finetune")
    config = run_config(single, method, model, seed, train_config, init)
    if store is not None and store.has(config.run_id):
        return store.get(config.run_id)
    device = torch.device(train_config.device)
    learner = build_learner(model, single, seed, init).to(device)
    single = stream_on(single, device)
    torch.set_num_threads(train_config.threads)
    torch.manual_seed(seed)
    method.attach(learner, seed, single.scenario)
    started = time.perf_counter()
    before = evaluate(learner, method, single, train_config.eval_batch_size, tc=train_config)
    t0 = time.perf_counter()
    learn_phase(0, method.phases(single)[0], learner, method, train_config, None,
                torch.Generator().manual_seed(seed), ())
    seconds = time.perf_counter() - t0
    after = evaluate(learner, method, single, train_config.eval_batch_size, tc=train_config)
    matrix = AccuracyMatrix(np.stack([before, after]), (0, 1), tuple(t.name for t in single))
    result = Result({**config.to_dict(), "run_id": config.run_id, "stream_params": single.params}, matrix,
                    [seconds], time.perf_counter() - started, [], 0, peak_rss_mb(),
                    {**describe_environment(train_config.threads), **describe_device(train_config.device)})
    if store is not None:
        store.put(result)
    return result


def study(stream: Stream, k: int, seed: int, run: Runner, transfer: Callable[[int], Result]) -> dict[str, Any]:
    """The four parts of the module doc; ``run(stream, label)`` trains (or reads back) one order."""
    t = len(stream)
    orders = [list(range(t)), *random_orders(t, k, seed)]
    measured = [_measured(order, run(stream.reordered(order), f"order {order}")) for order in orders]
    matrix = np.zeros((t, t))
    for i in range(t):
        row = transfer(i)
        values = row.matrix.values[-1]
        back = [i, *[j for j in range(t) if j != i]]  # the reordered stream's columns, in the original order
        for position, j in enumerate(back):
            matrix[i, j] = values[position]
    proposed = propose(matrix)
    existing = next((m for m in measured if m["order"] == proposed), None)
    if existing is None:
        existing = _measured(proposed, run(stream.reordered(proposed), f"proposed order {proposed}"))
    random_accs = [float(m["acc"]) for m in measured[1:] if m["acc"] is not None]
    rank = 1 + sum(a > float(existing["acc"] or 0.0) for a in random_accs)
    return {"orders": measured, "transfer": matrix.tolist(), "proposed": proposed, "proposed_result": existing,
            "proposed_rank": rank, "random_orders": len(random_accs),
            "rule": "first the task whose training helps the others most (highest off-diagonal row mean of T); "
                    "then the remaining task the chosen ones transfer to most (highest mean of T[chosen, j])"}


def _measured(order: list[int], result: Result) -> dict[str, Any]:
    """One order's metrics (None where undefined, so the JSON holds no NaN) and its run id."""
    metrics = {m: None if np.isnan(result.metrics[m]) else result.metrics[m] for m in ("acc", "bwt", "fwt",
                                                                                        "forgetting")}
    return {"order": order, **metrics, "run_id": result.run_id}


def spread(measured: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """Mean, range, best and worst order of one metric over the orders run (NaN-free values only)."""
    values = [(m[metric], m["order"]) for m in measured if m[metric] is not None]
    if not values:
        return {"mean": None, "min": None, "max": None, "best": None, "worst": None}
    best, worst = max(values), min(values)
    return {"mean": float(np.mean([v for v, _ in values])), "min": worst[0], "max": best[0], "best": best[1],
            "worst": worst[1]}
