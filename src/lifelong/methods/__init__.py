"""Methods against forgetting, grouped by family; every class here is registered by name."""

from lifelong.methods import distillation, expansion, regularization, replay
from lifelong.methods.base import Method, Phase, ScenarioError, register
from lifelong.methods.baselines.cumulative import Cumulative
from lifelong.methods.baselines.finetune import Finetune
from lifelong.methods.baselines.independent import Independent
from lifelong.methods.baselines.joint import Joint
from lifelong.methods.regularization import EWC, L2, MAS, SCP, SI, OnlineEWC, RWalk

__all__ = [
    "EWC",
    "L2",
    "MAS",
    "SCP",
    "SI",
    "Cumulative",
    "Finetune",
    "Independent",
    "Joint",
    "Method",
    "OnlineEWC",
    "Phase",
    "RWalk",
    "ScenarioError",
    "distillation",
    "expansion",
    "register",
    "regularization",
    "replay",
]
