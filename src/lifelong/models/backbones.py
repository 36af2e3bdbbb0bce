"""Backbones: input -> feature vector. Heads (``heads.py``) turn features into logits.

Models are named by a family and a size, e.g. ``mlp-400x2`` (two hidden layers of 400),
``mlp-1024-512-256`` or ``mlp-50x3``; the registry maps the family to a builder.
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


def parse_widths(size: str) -> tuple[int, ...]:
    """``"400x2"`` -> (400, 400); ``"1024-512-256"`` -> (1024, 512, 256); ``""`` -> () (a linear model)."""
    if not size:
        return ()
    if m := re.fullmatch(r"(\d+)x(\d+)", size):
        widths = (int(m[1]),) * int(m[2])
        if int(m[2]) < 1:
            raise ValueError(f"bad MLP size {size!r}: at least one layer (e.g. 400x2)")
    elif re.fullmatch(r"\d+(-\d+)*", size):
        widths = tuple(int(w) for w in size.split("-"))
    else:
        raise ValueError(f"bad MLP size {size!r}: use e.g. 400x2 or 1024-512-256")
    if min(widths) < 1:
        raise ValueError(f"bad MLP size {size!r}: every layer needs at least one unit")
    return widths


@MODELS.register("mlp", family="backbone", summary="fully connected ReLU network: mlp-400x2, mlp-1024-512-256")
def mlp(size: str, input_shape: tuple[int, ...], vocab: int = 0) -> MLP:
    return MLP(math.prod(input_shape), parse_widths(size))


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
