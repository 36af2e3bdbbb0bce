"""Models: backbones (registered by family), scenario heads, and the learner that joins them."""

from lifelong.models.backbones import MLP, build_backbone
from lifelong.models.heads import MASKED, ClassHead, SharedHead, TaskHeads
from lifelong.models.learner import Learner, make_optimizer
from lifelong.models.memn2n import MemN2N

__all__ = [
    "MASKED",
    "MLP",
    "ClassHead",
    "Learner",
    "MemN2N",
    "SharedHead",
    "TaskHeads",
    "build_backbone",
    "make_optimizer",
]
