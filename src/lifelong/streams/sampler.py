"""Mini-batches over one or more tasks, drawn with a generator of their own.

Several tasks (joint and cumulative training) are sampled as one shuffled pool; a batch is
assembled per task present, so each task's on-the-fly transform is applied to its own samples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from lifelong.streams.task import Batch, Task, train_batch


def steps_per_epoch(tasks: Sequence[Task], batch_size: int) -> int:
    return -(-sum(len(t.train) for t in tasks) // batch_size)


def batches(
    tasks: Sequence[Task],
    batch_size: int,
    generator: torch.Generator,
    *,
    epochs: int | None = None,
    iterations: int | None = None,
) -> Iterator[Batch]:
    """Shuffled batches over the pooled training examples of ``tasks``, on the device of their data.

    The order is drawn on the CPU by ``generator`` (a CPU generator), so every device sees the same batches.

    Either ``epochs`` full passes (the last batch of a pass may be smaller) or exactly ``iterations``
    batches (reshuffling at each pass, as in iteration-based protocols).
    """
    if (epochs is None) == (iterations is None):
        raise ValueError("give exactly one of epochs or iterations")
    sizes = torch.tensor([len(t.train) for t in tasks], device="cpu")
    offsets = torch.cumsum(sizes, 0)
    total = int(offsets[-1])
    remaining = iterations if iterations is not None else None
    passes = 0
    while (epochs is not None and passes < epochs) or (remaining is not None and remaining > 0):
        order = torch.randperm(total, generator=generator, device="cpu")
        if len(tasks) == 1:  # one copy to the data's device per pass, not one per batch
            order = order.to(tasks[0].train.y.device)
        for start in range(0, total, batch_size):
            if remaining is not None:
                if remaining == 0:
                    return
                remaining -= 1
            index = order[start:start + batch_size]
            yield _assemble(tasks, offsets, index)
        passes += 1


def _assemble(tasks: Sequence[Task], offsets: torch.Tensor, index: torch.Tensor) -> Batch:
    if len(tasks) == 1:
        return train_batch(tasks[0], index)
    which = torch.bucketize(index, offsets, right=True)
    parts = []
    for k in which.unique().tolist():
        local = index[which == k] - (offsets[k - 1] if k else 0)
        parts.append(train_batch(tasks[k], local))
    return Batch.concat(parts)
