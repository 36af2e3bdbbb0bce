"""Streams: permutations are bijections, splits hold their digits, rotation by 0 is the identity,
heads mask what their scenario demands, and bad data are refused with the file/task named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import lifelong
from lifelong.models.heads import MASKED, ClassHead
from lifelong.models.learner import Learner
from lifelong.streams import Scenario, StreamError
from lifelong.streams._mnist_tasks import padded_stats
from lifelong.streams.permuted import permutations
from lifelong.streams.rotated import rotation_map
from lifelong.streams.sampler import batches
from lifelong.streams.task import eval_batch


def test_permutations_are_bijections_and_first_is_identity() -> None:
    perms = permutations(4, seed=3, first_identity=True)
    assert torch.equal(perms[0], torch.arange(784))
    for p in perms:
        assert torch.equal(p.sort().values, torch.arange(784))
    assert not torch.equal(perms[1], perms[2])
    assert not torch.equal(permutations(2, 3, first_identity=False)[0], torch.arange(784))


def test_permuted_stream_shares_storage_and_permutes_on_the_fly(fake_mnist: Path) -> None:
    stream = lifelong.streams.permuted_mnist(tasks=3, seed=1)
    t0, t2 = stream[0], stream[2]
    assert t0.train.x.data_ptr() == t2.train.x.data_ptr()  # no copy per task
    x0, x2 = eval_batch(t0).x, eval_batch(t2).x
    perm = permutations(3, 1, True)[2]
    assert torch.equal(x2, x0[:, perm])
    assert float(x0.max()) <= 1.0 and float(x0.min()) >= 0.0


def test_permuted_examples_per_task_and_normalisation(fake_mnist: Path) -> None:
    stream = lifelong.streams.permuted_mnist(tasks=2, examples=50, normalize=True)
    assert [len(t.train) for t in stream] == [50, 50]
    x = eval_batch(stream[0]).x
    background = x[x < 0]
    assert background.numel() > 0 and float(background.max()) < 0  # 0-pixels standardised below zero


def test_split_tasks_hold_exactly_their_digits(fake_mnist: Path, fake_mnist_dir: Path) -> None:
    raw = np.load(fake_mnist_dir / "mnist.npz")
    for scenario in ("task", "domain", "class"):
        stream = lifelong.streams.split_mnist(scenario=scenario)
        assert [t.classes for t in stream] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
        for task in stream:
            if scenario == "class":
                assert set(task.test.y.tolist()) == set(task.classes)
            else:
                assert set(task.test.y.tolist()) == {0, 1}
            assert len(task.test) == int(np.isin(raw["y_test"], task.classes).sum())


def test_split_random_class_order_is_seeded(fake_mnist: Path) -> None:
    a = [t.classes for t in lifelong.streams.split_mnist(class_order="random", seed=4)]
    b = [t.classes for t in lifelong.streams.split_mnist(class_order="random", seed=4)]
    c = [t.classes for t in lifelong.streams.split_mnist(class_order="random", seed=5)]
    assert a == b and a != c
    assert sorted(d for pair in a for d in pair) == list(range(10))


def test_padded_stats_are_those_of_the_padded_image() -> None:
    """The closed form equals the statistics of images with their border actually added."""
    images = torch.rand(50, 28, 28) * (torch.rand(50, 28, 28) > 0.8)
    mean, std = float(images.mean()), float(images.std(unbiased=False))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    got = padded_stats(2, mean, std)
    assert got == pytest.approx((float(padded.mean()), float(padded.std(unbiased=False))), rel=1e-5)
    assert padded_stats(2) == pytest.approx((0.1000, 0.2752), abs=1e-4)  # Hsu et al.'s 32x32 constants


def test_split_pad_gives_32x32_inputs_with_a_standardised_black_border(fake_mnist: Path) -> None:
    plain = lifelong.streams.split_mnist(normalize=True)
    padded = lifelong.streams.split_mnist(normalize=True, pad=2)
    assert padded.input_shape == (1024,) and "pad" not in plain.params and padded.params["pad"] == 2
    x = eval_batch(padded[0]).x.reshape(-1, 32, 32)
    border = torch.cat([x[:, :2].flatten(), x[:, -2:].flatten(), x[:, :, :2].flatten(), x[:, :, -2:].flatten()])
    assert torch.allclose(border, torch.tensor(-0.1000 / 0.2752), atol=1e-3)  # (0 - mean) / std of 32x32
    inside = (x[:, 2:-2, 2:-2] * 0.2752 + 0.1000).flatten(1)
    original = eval_batch(plain[0]).x * 0.3081 + 0.1307  # both back in [0, 1]
    assert torch.allclose(inside, original, atol=1e-3)
    with pytest.raises(ValueError, match="pad"):
        lifelong.streams.split_mnist(pad=-1)


def test_rotation_by_zero_is_identity_and_by_90_turns_the_image() -> None:
    assert rotation_map(0.0) is None
    image = torch.zeros(1, 28, 28)
    image[0, 2, 10:18] = 1.0  # a horizontal bar near the top
    turned = rotation_map(90.0)(image.reshape(1, -1)).reshape(28, 28)  # type: ignore[misc]
    assert torch.allclose(turned, torch.rot90(image[0], 1), atol=1e-5)
    back = rotation_map(-90.0)(turned.reshape(1, -1)).reshape(28, 28)  # type: ignore[misc]
    assert torch.allclose(back, image[0], atol=1e-5)


def test_rotated_stream(fake_mnist: Path) -> None:
    stream = lifelong.streams.rotated_mnist(angles=(0.0, 45.0))
    x0, x1 = eval_batch(stream[0]).x, eval_batch(stream[1]).x
    assert not torch.allclose(x0, x1)
    assert x1.sum() < x0.sum() * 1.01  # interpolation and cropped corners never add ink


def test_noisy_pair_is_noisy_then_clean(fake_mnist: Path) -> None:
    stream = lifelong.streams.noisy_mnist(noise=0.4)
    assert [t.name for t in stream] == ["noisy", "clean"]
    noisy, clean = eval_batch(stream[0]).x, eval_batch(stream[1]).x
    assert float((noisy - clean).abs().mean()) > 0.1
    assert torch.equal(stream[0].test.y, stream[1].test.y)


def test_class_head_masks_unseen_classes_and_opens_them_per_task() -> None:
    stream = lifelong.streams.synthetic(tasks=3, classes_per_task=2, scenario="class")
    learner = Learner.build("mlp-8x1", stream, seed=0)
    x = eval_batch(stream[0]).x[:4]
    ids = torch.zeros(4, dtype=torch.long)
    logits = learner(x, ids)
    assert torch.all(logits[:, 2:] == MASKED) and torch.all(logits[:, :2] != MASKED)
    learner.begin_task(stream[0])
    learner.begin_task(stream[1])
    logits = learner(x, ids)
    assert torch.all(logits[:, :4] != MASKED) and torch.all(logits[:, 4:] == MASKED)
    assert isinstance(learner.head, ClassHead)


def test_task_heads_pick_the_head_by_task_id() -> None:
    stream = lifelong.streams.synthetic(tasks=2, classes_per_task=3, scenario="task")
    learner = Learner.build("mlp-8x1", stream, seed=0)
    x = eval_batch(stream[0]).x[:6]
    mixed = learner(x, torch.tensor([0, 1, 0, 1, 0, 1]))
    only0 = learner(x, torch.zeros(6, dtype=torch.long))
    only1 = learner(x, torch.ones(6, dtype=torch.long))
    assert torch.allclose(mixed[0::2], only0[0::2]) and torch.allclose(mixed[1::2], only1[1::2])
    assert not torch.allclose(only0, only1)


def test_sampler_epochs_and_iterations() -> None:
    stream = lifelong.streams.synthetic(tasks=2, examples=30)
    g = torch.Generator().manual_seed(0)
    sizes = [len(b) for b in batches(stream.tasks[:1], 8, g, epochs=2)]
    assert sizes == [8, 8, 8, 6] * 2
    assert sum(1 for _ in batches(stream.tasks, 8, g, iterations=11)) == 11
    pooled = list(batches(stream.tasks, 60, g, epochs=1))
    assert len(pooled) == 1 and sorted(pooled[0].task_ids.tolist()) == [0] * 30 + [1] * 30


def test_empty_task_and_out_of_range_labels_are_refused() -> None:
    stream = lifelong.streams.synthetic(tasks=2)
    task = stream[1]
    empty = lifelong.streams.Task(1, "empty", lifelong.streams.Split(task.train.x[:0], task.train.y[:0]), task.test,
                                  task.classes)
    with pytest.raises(StreamError, match=r"task 1 \(empty\), train: the task is empty"):
        lifelong.streams.Stream("s", (stream[0], empty), Scenario.TASK, (8,))
    bad = lifelong.streams.Task(1, "bad", lifelong.streams.Split(task.train.x, task.train.y + 5), task.test,
                                task.classes)
    with pytest.raises(StreamError, match="outside 0..1"):
        lifelong.streams.Stream("s", (stream[0], bad), Scenario.TASK, (8,))


def test_reordered_stream_renumbers_tasks() -> None:
    stream = lifelong.streams.synthetic(tasks=3)
    r = stream.reordered([2, 0, 1])
    assert [t.name for t in r] == ["blobs-3", "blobs-1", "blobs-2"] and [t.id for t in r] == [0, 1, 2]
    with pytest.raises(StreamError, match="not a permutation"):
        stream.reordered([0, 0, 1])


def test_unknown_scenario_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'tasky'; valid: task, domain, class"):
        Scenario.parse("tasky")
    assert Scenario.parse("class-il") is Scenario.CLASS
