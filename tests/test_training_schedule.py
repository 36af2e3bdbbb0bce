"""Per-epoch training options: gradient clipping, the annealed rate, and a linear start (MemN2N's recipe)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import lifelong
from lifelong.api import build_learner, build_method, run_config
from lifelong.config import TrainConfig
from lifelong.errors import OptionError
from lifelong.models.memn2n import MemN2N
from lifelong.streams.stream import Stream
from lifelong.train import EpochSchedule, learn_phase, train


def test_clip_norm_bounds_the_step_of_plain_sgd(tiny_stream: Stream) -> None:
    """One SGD step at lr 1 moves the parameters by exactly the clipped gradient: its norm is clip_norm when
    the raw gradient is longer, and the raw gradient's when clipping is off."""
    moves = {}
    for clip in (None, 1e-3):
        tc = TrainConfig(optimizer="sgd", lr=1.0, iterations=1, clip_norm=clip)
        method = build_method("finetune")
        learner = build_learner("mlp-16x1", tiny_stream, seed=0)
        config = run_config(tiny_stream, method, "mlp-16x1", 0, tc)
        before = torch.cat([p.detach().flatten().clone() for p in learner.parameters()])
        train(dataclasses.replace(tiny_stream, tasks=tiny_stream.tasks[:1]), method, learner, config)
        after = torch.cat([p.detach().flatten() for p in learner.parameters()])
        moves[clip] = float((after - before).norm())
    assert moves[1e-3] == pytest.approx(1e-3, rel=1e-4)
    assert moves[None] > 0.01


def test_epoch_schedule_starts_linear_then_anneals_after_the_start() -> None:
    """2 linear epochs at lr, then the softmax back and the rate halved after every completed epoch:
    lr, lr, lr, lr/2, lr/4 over 5 epochs; the linear mode is off again when the phase ends."""
    stream = lifelong.streams.babi(tasks=(1,), examples=64, test_examples=8)
    learner = build_learner("memn2n-2x8", stream, seed=0)
    tc = TrainConfig(optimizer="sgd", lr=0.2, batch_size=32, epochs=3, lr_step_epochs=1, linear_start_epochs=2)
    optimizer = torch.optim.SGD(learner.parameters(), lr=tc.lr)
    schedule = EpochSchedule(tc, learner, stream.tasks)
    backbone = next(m for m in learner.modules() if isinstance(m, MemN2N))
    seen = []
    for step in range(5 * 2):  # 64 examples in batches of 32: two steps an epoch
        schedule.at(step, optimizer)
        seen.append((backbone.linear_start, optimizer.param_groups[0]["lr"]))
    assert seen[::2] == [(True, 0.2), (True, 0.2), (False, 0.2), (False, 0.1), (False, 0.05)]
    assert seen[1::2] == seen[::2]  # nothing changes within an epoch
    schedule.finish()
    assert backbone.linear_start is False


def test_a_phase_with_a_linear_start_trains_its_extra_epochs() -> None:
    """linear_start_epochs come before the epochs: 1 + 2 epochs of 2 steps are 6 optimizer steps."""
    stream = lifelong.streams.babi(tasks=(1,), examples=64, test_examples=8)
    tc = TrainConfig(optimizer="sgd", lr=0.1, batch_size=32, epochs=2, linear_start_epochs=1)
    learner = build_learner("memn2n-2x8", stream, seed=0)
    method = build_method("finetune")
    steps = []

    class Count(lifelong.observers.Observer):
        def step(self, index: int, loss: torch.Tensor) -> None:
            steps.append(index)

    phase = method.phases(stream)[0]
    learn_phase(0, phase, learner, method, tc, None, torch.Generator().manual_seed(0), [Count()])
    assert steps == list(range(6))


@pytest.mark.parametrize(("fields", "message"), [
    ({"iterations": 10, "lr_step_epochs": 5}, "--train.lr_step_epochs: counts epochs, but this run counts "
                                              "--train.iterations"),
    ({"iterations": 10, "linear_start_epochs": 5}, "--train.linear_start_epochs: counts epochs"),
    ({"clip_norm": 0.0}, "--train.clip_norm: must be a positive finite number or none, got 0.0"),
    ({"lr_step_factor": 1.5}, "--train.lr_step_factor: must be in (0, 1], got 1.5"),
    ({"linear_start_epochs": -1}, "--train.linear_start_epochs: must be a whole number of at least 0, got -1"),
])
def test_bad_schedule_options_are_one_line(fields: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError) as err:
        TrainConfig(**fields)  # type: ignore[arg-type]
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_linear_start_needs_a_model_that_has_one(tiny_stream: Stream) -> None:
    with pytest.raises(OptionError, match="--train.linear_start_epochs: model mlp-16x1 has no linear mode"):
        lifelong.run(tiny_stream, "finetune", model="mlp-16x1", linear_start_epochs=1, epochs=1)


def test_new_schedule_fields_at_their_defaults_keep_run_ids(tiny_stream: Stream) -> None:
    """A run id hashes only the fields that decide its numbers: the new fields at their defaults leave it as it
    was before they existed; set, they change it."""
    method = build_method("finetune")
    plain = run_config(tiny_stream, method, "mlp-16x1", 0, TrainConfig(epochs=1))
    settings = plain.to_dict()
    for name in ("clip_norm", "lr_step_epochs", "lr_step_factor", "linear_start_epochs"):
        assert name in settings["train"]
    import hashlib
    import json

    old = {k: v for k, v in settings["train"].items()
           if k not in ("clip_norm", "lr_step_epochs", "lr_step_factor", "linear_start_epochs", "input_cache_mb",
                        "device", "precision", "deterministic")}
    text = json.dumps({**settings, "train": old}, sort_keys=True, default=str)
    assert plain.run_id == hashlib.sha256(text.encode()).hexdigest()[:16]
    clipped = run_config(tiny_stream, method, "mlp-16x1", 0, TrainConfig(epochs=1, clip_norm=1.0))
    assert clipped.run_id != plain.run_id
