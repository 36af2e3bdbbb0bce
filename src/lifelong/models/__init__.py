"""Models: backbones (registered by family), scenario heads, and the learner that joins them."""

from lifelong.models.backbones import MLP, build_backbone
from lifelong.models.heads import MASKED, ClassHead, SharedHead, TaskHeads
from lifelong.models.learner import Learner, make_optimizer

__all__ = ["MASKED", "MLP", "ClassHead", "Learner", "SharedHead", "TaskHeads", "build_backbone", "make_optimizer"]
