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
           "(seed 0: 20.58 against our 20.90), so that is not the cause; the remaining ~4 points are not isolated",
    "dgr": "one seed at half the iterations was 1.3 points low, within one order's spread (the paper's ± is the "
           "standard error over 20 orders); the generator trains as long as the solver, so fewer iterations "
           "also mean a blurrier generator",
    "dgr-distill": "as DGR (0.9 points low in the reduced run)",
    "icarl": "no gap in the reduced run (94.60 against 94.57)",
}


def main() -> None:
    args = arguments(__doc__.splitlines()[0], default_seeds=1)
    reproduce("table-a-split-replay", args, QUICK, WHY)


if __name__ == "__main__":
    main()
