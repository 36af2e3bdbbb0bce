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
    "lwf": "class-IL, 3 seeds: 19.93 ± 1.27. The cause, found by running the authors' code "
           "(GMvandeVen/continual-learning, 9945f84, Dec 2019) beside ours on seeds 1-3: until their commit 26f00db "
           "(May 2019, after arXiv v1) the distillation loss was averaged over the active classes as well as the "
           "batch, which weighs distillation (t−1)/(2t) against the labels instead of t−1; the fix sums over classes, "
           "as the LwF paper and ours do. Their fixed code gives 20.46 here (seeds 1, 2: 20.90, 20.02), as ours; "
           "their earlier code 23.05 (3 seeds), and ours with distillation divided by the open logits 25.46 ± 0.80 "
           "(5 seeds): the paper's class-IL row fits the earlier loss. Domain-IL is no gap: one seed (66.74) was an "
           "unlucky digit order; over 8 seeds see the domain row (the spread over orders is about 7 points), and "
           "the earlier loss would overshoot it (78.0 over the same 8 seeds)",
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
