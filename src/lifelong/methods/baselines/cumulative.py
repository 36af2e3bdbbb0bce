"""Cumulative: after each task, train on all data seen so far (a full accuracy matrix of upper bounds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lifelong.methods.base import Method, Phase, register
from lifelong.streams.stream import Stream


@register("cumulative", family="baseline")
@dataclass
class Cumulative(Method):
    """Phase i trains (continuing from phase i-1's weights) on tasks 0..i pooled together.

    Its diagonal is the reference a*_k of Chaudhry et al.'s intransigence (arXiv 1801.10112, eq. 9):
    the accuracy a model with access to all data so far reaches on task k.
    """

    paper = "arXiv 1801.10112 (reference model for intransigence)"

    def phases(self, stream: Stream) -> Sequence[Phase]:
        return [Phase(tuple(stream)[: i + 1]) for i in range(len(stream))]
