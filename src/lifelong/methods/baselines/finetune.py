"""Finetune: train on each task in turn with nothing against forgetting (the lower bound)."""

from __future__ import annotations

from dataclasses import dataclass

from lifelong.methods.base import Method, register


@register("finetune", family="baseline")
@dataclass
class Finetune(Method):
    """Plain sequential training: every hook is the default. Shows catastrophic forgetting."""

    paper = "McCloskey & Cohen 1989 (catastrophic interference); the lecture's baseline"
