"""Episodic memory: the one buffer every memory-based method uses, held as a plain dict of tensors.

A memory stores *model-ready* inputs (the task's ``prepare`` already applied: a permuted task's
samples are stored permuted, so replaying them later needs no knowledge of the task), their targets
in the scenario's space, their task ids, and a grouping key (the task for GEM, the class for iCaRL,
the (task, label) pair for class-balanced replay). Being a ``dict[str, Tensor]`` in an attribute
ending in ``_``, it is saved and restored by the method contract with no extra code, and
``train.state_bytes`` counts exactly the bytes it holds (preallocated rows included).

Write policies (all draws from the method's own generator):

- :func:`reservoir_add`: Vitter's algorithm R (Chaudhry et al., arXiv 1902.10486, Alg. 3): after n
  samples, each of them is in memory with probability capacity / n.
- :func:`balanced_add`: the capacity is shared by the groups seen so far by water-filling (a group
  with fewer samples than its share keeps them all; the others split the rest equally, to within
  one), with reservoir sampling inside each group.
- :func:`add_task`: after a task, a uniform random subset of it; earlier tasks trimmed to a shared
  quota by keeping their first rows (GEM, A-GEM, Hsu et al.'s naive rehearsal). iCaRL appends its
  herding-ordered exemplars with :func:`append` and trims with :func:`trim_groups`, so "first"
  means "most representative" there.

Devices: the samples (``x``, ``y``, ``task_ids``) live where the data does (the run's device); the
bookkeeping (``key``, counts, sizes) and every draw stay on the CPU, where the method's generator is, and
index tensors move to the samples' device only to gather or write them. Reading a count is a host-side
read, so the memory's own bookkeeping never waits for the device.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lifelong.streams.task import Batch, Task, train_batch

Memory = dict[str, Tensor]
ROWS = ("x", "y", "task_ids", "key")
CPU = torch.device("cpu")


def empty() -> Memory:
    """A memory with nothing stored; ``size`` rows are valid, ``seen`` counts samples offered."""
    return {"size": torch.zeros((), dtype=torch.long, device=CPU),
            "seen": torch.zeros((), dtype=torch.long, device=CPU)}


def size(memory: Memory) -> int:
    return int(memory["size"])


def contents(memory: Memory, index: Tensor | None = None) -> Batch:
    """The stored samples (or those at ``index``) as a batch ready for the learner."""
    n = size(memory)
    x, y, ids = (memory[k][:n] for k in ("x", "y", "task_ids"))
    if index is None:
        return Batch(x, y, ids)
    index = index.to(x.device)
    return Batch(x[index], y[index], ids[index])


def keys(memory: Memory) -> Tensor:
    return memory["key"][: size(memory)] if "key" in memory else torch.zeros(0, dtype=torch.long, device=CPU)


def sample(memory: Memory, n: int, generator: torch.Generator) -> Batch | None:
    """``n`` stored samples drawn without replacement (all of them if fewer are stored), or None."""
    stored = size(memory)
    if stored == 0 or n <= 0:
        return None
    if stored <= n:
        return contents(memory)
    return contents(memory, torch.randperm(stored, generator=generator, device=CPU)[:n])


def reservoir_add(memory: Memory, batch: Batch, capacity: int, generator: torch.Generator) -> None:
    """Offer ``batch`` to a reservoir of ``capacity`` samples (in place)."""
    if capacity <= 0 or len(batch) == 0:
        memory["seen"] = memory["seen"] + len(batch)
        return
    _allocate(memory, batch, capacity)
    stored, seen = size(memory), int(memory["seen"])
    slots = _reservoir_slots(stored, seen, capacity, len(batch), generator)
    chosen = slots >= 0
    _write(memory, slots[chosen], batch, torch.zeros(len(batch), dtype=torch.long, device=CPU), chosen)
    memory["size"] = torch.tensor(min(capacity, stored + len(batch)), device=CPU)
    memory["seen"] = torch.tensor(seen + len(batch), device=CPU)


def balanced_add(memory: Memory, batch: Batch, group: Tensor, capacity: int, generator: torch.Generator) -> None:
    """Offer ``batch`` (sample i in group ``group[i]``) to a class-balanced memory (in place).

    Quotas come from the seen counts *after* this batch; groups over quota lose uniformly drawn rows
    first, then each group present in the batch runs reservoir sampling within its quota.
    """
    if capacity <= 0 or len(batch) == 0:
        return
    _allocate(memory, batch, capacity)
    group = group.to(CPU)  # the groups' bookkeeping is the host's
    present, counts = group.unique(return_counts=True)
    table = memory.get("groups", torch.zeros(0, dtype=torch.long, device=CPU))
    seen = memory.get("group_seen", torch.zeros(0, dtype=torch.long, device=CPU))
    new = present[~torch.isin(present, table)]
    table, seen = torch.cat([table, new]), torch.cat([seen, torch.zeros_like(new)])
    position = (table.unsqueeze(0) == present.unsqueeze(1)).long().argmax(1)
    seen_before = seen.clone()
    seen[position] += counts
    memory["groups"], memory["group_seen"] = table, seen
    quota = water_fill(seen, capacity)

    stored_keys = keys(memory)
    held = (stored_keys.unsqueeze(0) == table.unsqueeze(1)).sum(1)
    keep = torch.ones(len(stored_keys), dtype=torch.bool, device=CPU)
    for g in torch.nonzero(held > quota).squeeze(1).tolist():
        members = torch.nonzero(stored_keys == table[g]).squeeze(1)
        keep[members[torch.randperm(len(members), generator=generator, device=CPU)[: int(held[g] - quota[g])]]] = False
    if not bool(keep.all()):
        _compact(memory, torch.nonzero(keep).squeeze(1))

    for g, key in zip(position.tolist(), present.tolist(), strict=True):
        rows = group == key
        members = torch.nonzero(keys(memory) == key).squeeze(1)
        slots = _reservoir_slots(len(members), int(seen_before[g]), int(quota[g]), int(rows.sum()), generator)
        appended = slots >= len(members)
        replaced = (slots >= 0) & ~appended
        stored = size(memory)
        target = torch.full_like(slots, -1)
        target[replaced] = members[slots[replaced]]
        target[appended] = stored + slots[appended] - len(members)
        on_data = rows.to(batch.x.device)
        sub = Batch(batch.x[on_data], batch.y[on_data], batch.task_ids[on_data])
        chosen = target >= 0
        _write(memory, target[chosen], sub, torch.full((len(sub),), key, dtype=torch.long, device=CPU), chosen)
        memory["size"] = torch.tensor(stored + int(appended.sum()), device=CPU)
    memory["seen"] = memory["seen"] + len(batch)


def water_fill(counts: Tensor, capacity: int) -> Tensor:
    """Integer quotas with sum <= ``capacity``: min(count, L) for the largest such level L, and the
    leftover slots (fewer than the groups above L) one each to the earliest groups above L."""
    if int(counts.sum()) <= capacity:
        return counts.clone()
    lo, hi = 0, int(counts.max())
    while lo < hi:  # largest L with sum(min(counts, L)) <= capacity
        mid = (lo + hi + 1) // 2
        if int(counts.clamp(max=mid).sum()) <= capacity:
            lo = mid
        else:
            hi = mid - 1
    quota = counts.clamp(max=lo)
    above = torch.nonzero(counts > lo).squeeze(1)
    quota[above[: capacity - int(quota.sum())]] += 1
    return quota


def add_task(memory: Memory, task: Task, per_task: int | None, budget: int | None,
             generator: torch.Generator) -> None:
    """After training ``task``: keep ``per_task`` samples of every task, or an equal share of
    ``budget`` over the tasks seen when a budget is given; earlier tasks are cut to the new share
    (keeping their first rows, a uniform subset), then a uniform subset of ``task`` is stored."""
    tasks = len(keys(memory).unique()) + 1
    quota = budget // tasks if budget is not None else per_task or 0
    if per_task is not None:
        quota = min(quota, per_task)
    trim_groups(memory, quota)
    n = min(quota, len(task.train))
    if n > 0:
        index = torch.randperm(len(task.train), generator=generator, device=CPU)[:n].sort().values
        append(memory, train_batch(task, index), torch.full((n,), task.id, dtype=torch.long, device=CPU))


def append(memory: Memory, batch: Batch, key: Tensor) -> None:
    """Store ``batch`` after the current rows (task-end writes; the hot path uses preallocated rows)."""
    n = size(memory)
    new = {"x": batch.x, "y": batch.y, "task_ids": batch.task_ids, "key": key.to(CPU)}
    for name in ROWS:
        memory[name] = torch.cat([memory[name][:n], new[name]]) if name in memory else new[name].clone()
    memory["size"] = torch.tensor(n + len(batch), device=CPU)


def trim_groups(memory: Memory, quota: int) -> None:
    """Keep the first ``quota`` rows of every group, in stored order (in place)."""
    stored = keys(memory)
    if len(stored) == 0:
        return
    order = torch.argsort(stored, stable=True)
    sorted_keys = stored[order]
    starts = torch.searchsorted(sorted_keys, sorted_keys, side="left")
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order), device=CPU) - starts
    if bool((rank >= quota).any()):
        _compact(memory, torch.nonzero(rank < quota).squeeze(1))


def groups(memory: Memory) -> list[tuple[int, Tensor]]:
    """(key, row indices) of every group, keys ascending, rows in stored order."""
    stored = keys(memory)
    return [(int(k), torch.nonzero(stored == k).squeeze(1)) for k in stored.unique().tolist()]


def _reservoir_slots(stored: int, seen: int, capacity: int, n: int, generator: torch.Generator) -> Tensor:
    """Where each of ``n`` incoming samples goes (-1: dropped) in a reservoir of ``capacity``.

    The first ``capacity - stored`` fill free slots; sample i after that replaces slot
    floor(u * (seen + i + 1)) when that is below ``capacity``. Of several samples sent to one slot
    only the last is kept, exactly as if they had been offered one at a time.
    """
    i = torch.arange(n, device=CPU)
    free = max(0, capacity - stored)
    u = torch.rand(n, generator=generator, dtype=torch.float64, device=CPU)
    drawn = torch.floor(u * (seen + i + 1).double()).long()
    slots = torch.where(i < free, stored + i, torch.where(drawn < capacity, drawn, -1))
    valid = slots >= 0
    if not bool(valid.any()):
        return slots
    last = torch.full((max(capacity, stored + n),), -1, dtype=torch.long, device=CPU)
    last.scatter_reduce_(0, slots[valid], i[valid], reduce="amax")
    return torch.where(valid & (last[slots.clamp(min=0)] == i), slots, -1)


def _allocate(memory: Memory, batch: Batch, capacity: int) -> None:
    if "x" in memory:
        return
    memory["x"] = batch.x.new_zeros((capacity, *batch.x.shape[1:]))
    memory["y"] = batch.y.new_zeros(capacity)
    memory["task_ids"] = batch.task_ids.new_zeros(capacity)
    memory["key"] = torch.zeros(capacity, dtype=torch.long, device=CPU)
    memory["capacity"] = torch.tensor(capacity, device=CPU)


def _write(memory: Memory, slots: Tensor, batch: Batch, key: Tensor, chosen: Tensor) -> None:
    memory["key"][slots] = key[chosen]
    slots, chosen = slots.to(batch.x.device), chosen.to(batch.x.device)
    memory["x"][slots] = batch.x[chosen]
    memory["y"][slots] = batch.y[chosen]
    memory["task_ids"][slots] = batch.task_ids[chosen]


def _compact(memory: Memory, keep: Tensor) -> None:
    """Keep rows ``keep`` (ascending): moved to the front of a preallocated memory (the hot path
    reuses its rows), cut out of a task-end memory (so it never holds more than it keeps)."""
    n = len(keep)
    for name in ROWS:
        rows = keep.to(memory[name].device)
        if "capacity" in memory:
            memory[name][:n] = memory[name][rows]
        else:
            memory[name] = memory[name][rows]
    memory["size"] = torch.tensor(n, device=CPU)
