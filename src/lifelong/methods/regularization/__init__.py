"""Selective synaptic plasticity: guard the parameters that matter to earlier tasks.

L'(θ) = L(θ) + λ Σ_i b_i (θ_i − θ_i^b)², one module per method; the shared maths (importance
estimates, the anchor penalty, path integrals) is in ``_importance``.
"""

from lifelong.methods.regularization.ewc import EWC
from lifelong.methods.regularization.l2 import L2
from lifelong.methods.regularization.mas import MAS
from lifelong.methods.regularization.online_ewc import OnlineEWC
from lifelong.methods.regularization.rwalk import RWalk
from lifelong.methods.regularization.scp import SCP
from lifelong.methods.regularization.si import SI

__all__ = ["EWC", "L2", "MAS", "SCP", "SI", "OnlineEWC", "RWalk"]
