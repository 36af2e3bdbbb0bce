"""New classes without forgetting: distil the previous model's outputs (LwF, iCaRL).

Importing the package registers every method of the family.
"""

from lifelong.methods.distillation import icarl, lwf
from lifelong.methods.distillation.icarl import ICaRL, herding
from lifelong.methods.distillation.lwf import LwF

__all__ = ["ICaRL", "LwF", "herding", "icarl", "lwf"]
