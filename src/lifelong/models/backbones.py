"""Backbones: input -> feature vector. Heads (``heads.py``) turn features into logits.

Models are named by a family and a size, e.g. ``mlp-400x2`` (two hidden layers of 400),
``mlp-1024-512-256`` or ``mlp-50x3``; the registry maps the family to a builder. A ``cnn`` size
names its blocks' channels the same way: ``cnn-32-64`` (32 then 64 channels), ``cnn-32x2``.
"""

from __future__ import annotations

import math
import re

from torch import Tensor, nn

from lifelong._registry import MODELS


class MLP(nn.Module):
    """Fully connected ReLU network; ``out_features`` is the width of the last hidden layer."""

    def __init__(self, in_features: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.layers = nn.Sequential(*layers)
        self.hidden = hidden
        self.out_features = width

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x.flatten(1))


def parse_widths(
    size: str, family: str = "MLP", examples: tuple[str, str] = ("400x2", "1024-512-256")
) -> tuple[int, ...]:
    """``"400x2"`` -> (400, 400); ``"1024-512-256"`` -> (1024, 512, 256); ``""`` -> () (a linear model).

    ``family`` and ``examples`` word the error for the backbone whose size this is.
    """
    if not size:
        return ()
    if m := re.fullmatch(r"(\d+)x(\d+)", size):
        widths = (int(m[1]),) * int(m[2])
        if int(m[2]) < 1:
            raise ValueError(f"bad {family} size {size!r}: at least one layer (e.g. {examples[0]})")
    elif re.fullmatch(r"\d+(-\d+)*", size):
        widths = tuple(int(w) for w in size.split("-"))
    else:
        raise ValueError(f"bad {family} size {size!r}: use e.g. {examples[0]} or {examples[1]}")
    if min(widths) < 1:
        raise ValueError(f"bad {family} size {size!r}: every layer needs at least one unit")
    return widths


@MODELS.register("mlp", family="backbone", summary="fully connected ReLU network: mlp-400x2, mlp-1024-512-256")
def mlp(size: str, input_shape: tuple[int, ...], vocab: int = 0) -> MLP:
    return MLP(math.prod(input_shape), parse_widths(size))


class CNN(nn.Module):
    """Blocks of 3x3 convolution (padding 1), ReLU and 2x2 max-pooling, then the flattened feature map.

    Small on purpose: enough to beat an MLP on small images without a GPU. Streams hand model inputs
    flattened (the replay buffers and importance estimators of the methods expect a row per example),
    so the network reshapes them to the ``(channels, height, width)`` it was built for.
    """

    def __init__(self, input_shape: tuple[int, int, int], channels: tuple[int, ...]) -> None:
        super().__init__()
        depth, height, width = input_shape
        layers: list[nn.Module] = []
        for out in channels:
            layers += [nn.Conv2d(depth, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            depth, height, width = out, height // 2, width // 2
        self.layers = nn.Sequential(*layers)
        self.input_shape = input_shape
        self.out_features = depth * height * width

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x.reshape(len(x), *self.input_shape)).flatten(1)


@MODELS.register("cnn", family="backbone", summary="conv-ReLU-maxpool blocks for images (C, H, W): cnn-32-64, cnn-32x2")
def cnn(size: str, input_shape: tuple[int, ...], vocab: int = 0) -> CNN:
    if len(input_shape) == 2:  # (height, width): one channel
        input_shape = (1, *input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"a cnn needs image inputs (channels, height, width), but this stream's inputs have shape "
                         f"{input_shape}; use an mlp for flat features")
    channels = parse_widths(size, "CNN", ("32x2", "32-64"))
    if not channels:
        raise ValueError("name the channels of each block, e.g. cnn-32-64")
    depth, height, width = input_shape
    if min(height, width) < 2 ** len(channels):
        raise ValueError(f"{width}x{height} images are too small for {len(channels)} blocks, each halving the size")
    return CNN((depth, height, width), channels)


def build_backbone(name: str, input_shape: tuple[int, ...], vocab: int = 0) -> nn.Module:
    """``"mlp-400x2"`` -> the registered ``mlp`` builder called with size ``"400x2"``.

    ``vocab`` is the number of token ids for token inputs (0 for real-valued inputs).
    """
    family, _, size = name.partition("-")
    entry = MODELS.get(family)
    try:
        module: nn.Module = entry.factory(size, input_shape, vocab)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    return module
