"""Memory replay and gradient episodic memory: keep old tasks alive with stored or generated data.

Importing the package registers every method of the family; the one episodic-memory buffer they
share is ``_buffer``.
"""

from lifelong.methods.replay import agem, er, gem, generative
from lifelong.methods.replay.agem import AGEM
from lifelong.methods.replay.er import ER
from lifelong.methods.replay.gem import GEM
from lifelong.methods.replay.generative import GenerativeReplay

__all__ = ["AGEM", "ER", "GEM", "GenerativeReplay", "agem", "er", "gem", "generative"]
