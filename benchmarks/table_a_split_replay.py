"""Table A — split MNIST in the three scenarios (van de Ven & Tolias 2019, arXiv 1904.07734, Table 4): LwF, DGR,
DGR + distill and iCaRL, our mean ± std over seeds beside the published value (preset configs/table-a-split-
replay.toml: 2000 Adam iterations per task, random digit order per seed).

Full protocol (20 seeds; per seed and scenario about 2 min for LwF, 6-8 min for each DGR row, 3 min for iCaRL on
one thread of a quiet machine):

    LIFELONG_DATA_DIR=... python benchmarks/table_a_split_replay.py --seeds 20

Quick wiring check (seconds):  ... table_a_split_replay.py --quick
Reduced real run:              ... table_a_split_replay.py --iterations 500 --seeds 1 --scenarios class
"""

from __future__ import annotations

from replay_tables import arguments, reproduce

QUICK = {"stream": {"examples": 300}, "train": {"iterations": 15}}

WHY = {
    "lwf": "class-IL, 3 seeds: 19.93 ± 1.27 (the paper's ± is the standard error over 20 random digit orders, ours "
           "0.73). Ours keeps the first task (84-100 %) and learns under 1 % of each later task while training it: "
           "the distillation targets are zero on the new classes (as in their code) and outweigh the labels 1 : t−1. "
           "Their exact weighting (1/t)·CE + (1−1/t)·KD, which ours equals up to a factor t under Adam, gave the same "
           "(seed 0: 20.58 against our 20.90), so that is not the cause; the remaining ~4 points are not isolated. "
           "Domain-IL (1 seed, 66.74) shows the same imbalance: 66 % on each task right after training it",
    "dgr": "class-IL, 3 random digit orders: 91.39 ± 2.03, a standard error of 1.2 against the paper's ± (the "
           "standard error over 20 orders), so within ours; one seed at half the iterations was 1.3 points low "
           "(the generator trains as long as the solver: fewer iterations, a blurrier generator)",
    "dgr-distill": "class-IL, 3 random digit orders: 93.76 ± 1.49, +1.97 or about two combined standard errors "
                   "(ours 0.86, theirs 0.32); not isolated (the reduced run was 0.9 points low)",
    "icarl": "class-IL, 3 seeds: 94.76 ± 0.32 against 94.57 (no spread published)",
}


def main() -> None:
    args = arguments(__doc__.splitlines()[0], default_seeds=1)
    reproduce("table-a-split-replay", args, QUICK, WHY)


if __name__ == "__main__":
    main()
