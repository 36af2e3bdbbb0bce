"""Joint (multi-task) training on the union of all tasks: the lecture's upper bound."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lifelong.methods.base import Method, Phase, register
from lifelong.streams.stream import Stream


@register("joint", family="baseline")
@dataclass
class Joint(Method):
    """One phase over all tasks' training data, shuffled together.

    The accuracy matrix then has row 0 (random init) and one final row, so ACC is defined and
    BWT/FWT/forgetting are not (reported as NaN). With the training budget in epochs the joint model
    sees every example as often as a sequential learner does.
    """

    paper = "Caruana 1997 (multitask learning); upper bound in arXiv 1904.07734"

    def phases(self, stream: Stream) -> Sequence[Phase]:
        return [Phase(tuple(stream))]
