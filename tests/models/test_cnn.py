"""The small conv backbone: its feature width, its refusals, and that it learns a tiny image task."""

from __future__ import annotations

import pytest
import torch

from lifelong.api import build_learner
from lifelong.errors import OptionError
from lifelong.models.backbones import CNN, build_backbone
from lifelong.streams import Scenario, Split, Stream, Task
from lifelong.streams.task import Batch


def test_blocks_halve_the_image_and_widths_follow_the_mlp_grammar() -> None:
    net = build_backbone("cnn-4-8", (3, 12, 10))
    assert isinstance(net, CNN) and net.out_features == 8 * 3 * 2
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 4), (4, 8)]
    x = torch.rand(5, 3, 12, 10)
    assert net(x).shape == (5, 48) and torch.equal(net(x), net(x.flatten(1)))  # flat rows are reshaped
    assert [m.out_channels for m in build_backbone("cnn-6x3", (16, 16)).modules()
            if isinstance(m, torch.nn.Conv2d)] == [6, 6, 6]  # (H, W): one channel


@pytest.mark.parametrize(
    ("model", "shape", "message"),
    [
        ("cnn-8", (5,), "--model cnn-8: a cnn needs image inputs (channels, height, width), but this stream's "
                        "inputs have shape (5,); use an mlp for flat features"),
        ("cnn", (1, 8, 8), "--model cnn: name the channels of each block, e.g. cnn-32-64"),
        ("cnn-4x4", (1, 8, 8), "--model cnn-4x4: 8x8 images are too small for 4 blocks, each halving the size"),
        ("cnn-a", (1, 8, 8), "--model cnn-a: bad CNN size 'a': use e.g. 32x2 or 32-64"),
    ],
)
def test_a_cnn_that_does_not_fit_is_one_option_error(model: str, shape: tuple[int, ...], message: str) -> None:
    stream = _stripes_stream(shape)
    with pytest.raises(OptionError) as raised:
        build_learner(model, stream, seed=0)
    assert str(raised.value) == message


def _stripes_stream(shape: tuple[int, ...] = (1, 8, 8), n: int = 32) -> Stream:
    """One task: horizontal (0) or vertical (1) bright lines at random rows/columns of 8x8 images."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    k = torch.randint(0, 8, (n,), generator=g)
    x = torch.zeros(n, 8, 8)
    for i in range(n):
        if y[i]:
            x[i, :, k[i]] = 1
        else:
            x[i, k[i], :] = 1
    x = x.reshape(n, -1)
    task = Task(0, "stripes", Split(x, y), Split(x, y), (0, 1))
    return Stream("stripes", (task,), Scenario.TASK, shape)


def test_it_trains_loss_falls_on_a_separable_image_task() -> None:
    stream = _stripes_stream()
    learner = build_learner("cnn-8-16", stream, seed=0)
    task = stream[0]
    batch = Batch(task.train.x, task.train.y, torch.zeros(len(task.train), dtype=torch.long))

    def loss(b: Batch) -> torch.Tensor:
        return learner.loss(learner(b.x, b.task_ids), b.y)

    before = float(loss(batch).detach())
    after = learner.fit(learner.parameters(), [batch] * 60, loss, lr=1e-2)
    assert after < before / 10, (before, after)
    assert (learner(batch.x, batch.task_ids).argmax(1) == batch.y).all()
