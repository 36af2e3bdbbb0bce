"""Additional neural resources: give new tasks new capacity, efficiently.

Importing the package registers every method of the family.
"""

from lifelong.methods.expansion import cpg, expert_gate, net2net, packnet, progressive
from lifelong.methods.expansion.cpg import CPG
from lifelong.methods.expansion.expert_gate import ExpertGate
from lifelong.methods.expansion.net2net import Net2Net, net2wider
from lifelong.methods.expansion.packnet import PackNet
from lifelong.methods.expansion.progressive import Progressive

__all__ = ["CPG", "ExpertGate", "Net2Net", "PackNet", "Progressive", "cpg", "expert_gate", "net2net", "net2wider",
           "packnet", "progressive"]
