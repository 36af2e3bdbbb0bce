"""Statistics over seeds, checked against scipy directly and against values worked by hand."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats as scipy_stats

from lifelong.errors import OptionError
from lifelong.report.tables import statistics_table
from lifelong.stats import compare, configuration_key, describe, labels, paired

T_975_3 = 3.182446305284263  # t_{0.975, 3}, from a printed t table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2)


def result(method: str, seed: int, acc: float | None, *, params: dict[str, Any] | None = None, lr: float = 0.001,
           seconds: float = 10.0, fwt: float | None = 0.0) -> dict[str, Any]:
    """A stored result as ``Result.to_dict()`` writes it, reduced to what statistics read."""
    config = {"stream": "split-mnist", "stream_params": {"scenario": "task", "examples": 500}, "model": "mlp-8x1",
              "method": method, "method_params": params or {}, "seed": seed, "init": "default",
              "train": {"epochs": 1, "lr": lr, "optimizer": "adam", "betas": (0.9, 0.999)}}
    config["run_id"] = f"{method}-{json.dumps(params, sort_keys=True)}-{lr}-{seed}"
    return {"config": config, "metrics": {"acc": acc, "bwt": -0.1, "fwt": fwt, "forgetting": 0.2},
            "total_seconds": seconds}


def test_describe_matches_hand_values_and_scipy() -> None:
    s = describe([1.0, 2.0, 3.0, 4.0])
    assert s.n == 4 and s.mean == pytest.approx(2.5)
    assert s.sd == pytest.approx(math.sqrt(5 / 3))  # sum of squares 5, over n - 1 = 3
    assert s.se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert s.ci95 is not None
    assert s.ci95[1] - s.ci95[0] == pytest.approx(2 * T_975_3 * math.sqrt(5 / 3) / 2, rel=1e-9)
    assert s.ci95 == pytest.approx(scipy_stats.t.interval(0.95, 3, loc=2.5, scale=scipy_stats.sem([1, 2, 3, 4])))
    sample = [0.71, 0.64, 0.69, 0.75, 0.70]
    s = describe(sample)
    assert s.se == pytest.approx(scipy_stats.sem(sample))
    assert s.ci95 == pytest.approx(scipy_stats.t.interval(0.95, 4, loc=np.mean(sample), scale=scipy_stats.sem(sample)))


def test_describe_leaves_out_undefined_values_and_says_when_nothing_can_be_said() -> None:
    assert describe([1.0, None, 2.0, math.nan, 3.0]) == describe([1.0, 2.0, 3.0])
    one = describe([0.5])
    assert (one.n, one.mean, one.sd, one.se, one.ci95) == (1, 0.5, None, None, None)
    assert describe([None]).to_dict() == {"n": 0, "mean": None, "sd": None, "se": None, "ci95": None}
    same = describe([0.3, 0.3, 0.3])
    assert same.se == 0 and same.ci95 == (pytest.approx(0.3), pytest.approx(0.3))


def test_paired_matches_scipy_and_hand_values() -> None:
    baseline = {s: 0.5 + 0.01 * s for s in range(6)}
    other = {s: baseline[s] + (s + 1) for s in range(6)}  # differences 1..6
    p = paired(baseline, other)
    assert p.n == 6 and p.seeds == (0, 1, 2, 3, 4, 5) and p.mean_difference == pytest.approx(3.5)
    base, comp = [baseline[s] for s in range(6)], [other[s] for s in range(6)]
    assert p.t_p == pytest.approx(scipy_stats.ttest_rel(comp, base).pvalue)
    # t = 3.5 / (sqrt(3.5) / sqrt(6)) = 4.58; the t table at df 5 has t_.995 = 4.03 and t_.9975 = 4.77
    assert p.t_p is not None and 0.005 < p.t_p < 0.01
    assert p.wilcoxon_p == pytest.approx(scipy_stats.wilcoxon(np.subtract(comp, base)).pvalue)
    assert p.wilcoxon_p == pytest.approx(2 / 2**6)  # all six signs alike: the exact two-sided tail is 2 / 2^n
    assert p.wilcoxon_min_p == pytest.approx(2 / 2**6)


def test_paired_uses_only_the_seeds_both_share() -> None:
    baseline = {0: 0.50, 1: 0.52, 2: 0.49, 3: 0.55}
    other = {1: 0.60, 2: 0.58, 3: 0.66, 7: 0.10}
    shared = paired({s: baseline[s] for s in (1, 2, 3)}, {s: other[s] for s in (1, 2, 3)})
    assert paired(baseline, other) == shared
    assert shared.n == 3 and shared.seeds == (1, 2, 3)
    assert shared.mean_difference == pytest.approx(np.mean([0.08, 0.09, 0.11]))
    assert paired({**baseline, 9: 0.0}, {**other, 8: 1.0}) == shared  # a seed on one side only changes nothing
    assert paired({**baseline, 1: None}, other).seeds == (2, 3)  # an undefined value cannot be paired


def test_paired_at_small_n_and_without_differences() -> None:
    differences = [0.01, 0.02, 0.015, 0.03, 0.012]
    p = paired(dict.fromkeys(range(5), 0.5), {s: 0.5 + d for s, d in enumerate(differences)})
    assert p.t_p is not None and p.t_p < 0.05  # the t-test can show this difference with 5 seeds ...
    assert p.wilcoxon_p == pytest.approx(0.0625) == p.wilcoxon_min_p  # ... the exact Wilcoxon test never can
    same = paired({0: 0.7, 1: 0.8, 2: 0.6}, {0: 0.7, 1: 0.8, 2: 0.6})
    assert (same.n, same.mean_difference, same.t_p, same.wilcoxon_p) == (3, 0.0, 1.0, 1.0)
    one = paired({0: 0.5, 1: 0.4}, {1: 0.6})
    assert (one.n, one.t_p, one.wilcoxon_p) == (1, None, None) and one.mean_difference == pytest.approx(0.2)
    none = paired({0: 0.5}, {1: 0.6})
    assert none.to_dict() == {"n": 0, "seeds": [], "mean_difference": None, "t_p": None, "wilcoxon_p": None,
                              "wilcoxon_min_p": None}


def test_configuration_key_groups_the_seeds_of_one_configuration() -> None:
    a0, a1 = result("ewc", 0, 0.7, params={"lam": 10.0}), result("ewc", 1, 0.8, params={"lam": 10.0})
    assert a0["config"]["run_id"] != a1["config"]["run_id"]
    assert configuration_key(a0) == configuration_key(a1)
    assert configuration_key(a0) != configuration_key(result("ewc", 0, 0.7, params={"lam": 1000.0}))
    read_back = json.loads(json.dumps(a0))  # the store hands back betas as a list, not a tuple
    assert configuration_key(read_back) == configuration_key(a0)


def test_labels_show_only_the_settings_that_vary() -> None:
    runs = [result(m, s, 0.5, params=p) for m, p in (("finetune", {}), ("ewc", {"lam": 10.0, "samples": 200}),
                                                     ("ewc", {"lam": 1000.0, "samples": 200})) for s in (0, 1)]
    assert list(labels(runs).values()) == ["finetune", "ewc lam=10.0", "ewc lam=1000.0"]
    runs.append(result("finetune", 0, 0.5, lr=0.01))
    assert list(labels(runs).values()) == ["finetune train.lr=0.001", "ewc lam=10.0 train.lr=0.001",
                                           "ewc lam=1000.0 train.lr=0.001", "finetune train.lr=0.01"]
    other_stream = result("finetune", 0, 0.5)
    other_stream["config"]["stream_params"]["examples"] = 1000
    assert list(labels([result("finetune", 0, 0.5), other_stream]).values()) == ["finetune stream.examples=500",
                                                                                 "finetune stream.examples=1000"]


def test_labels_stay_unique_when_values_print_alike() -> None:
    named = labels([result("ewc", 0, 0.5, params={"lam": 10}), result("ewc", 0, 0.5, params={"lam": "10"})])
    assert len(set(named.values())) == 2 and all(v.startswith("ewc lam=10") for v in named.values())


def test_compare_summarises_each_configuration_and_tests_it_against_the_baseline() -> None:
    runs = ([result("finetune", s, a, seconds=10 + s) for s, a in enumerate([0.50, 0.52, 0.47])]
            + [result("ewc", s, a, params={"lam": 10.0}) for s, a in enumerate([0.70, 0.74, 0.69, 0.72])])
    stats = compare(runs)
    assert stats["baseline"] == "finetune" and stats["metrics"] == ["acc", "bwt", "fwt", "forgetting", "seconds"]
    base, ewc = stats["configurations"]
    assert (base["label"], base["n"], base["seeds"], base["vs_baseline"]) == ("finetune", 3, [0, 1, 2], None)
    assert base["metrics"]["acc"] == describe([0.50, 0.52, 0.47]).to_dict()
    assert base["metrics"]["seconds"]["mean"] == pytest.approx(11.0)
    assert ewc["n"] == 4 and ewc["config"]["method_params"] == {"lam": 10.0} and "seed" not in ewc["config"]
    assert ewc["vs_baseline"]["acc"] == paired({0: 0.50, 1: 0.52, 2: 0.47}, {0: 0.70, 1: 0.74, 2: 0.69}).to_dict()
    assert ewc["label"] == "ewc"  # the only ewc configuration: its λ sets nothing apart
    assert ewc["vs_baseline"]["acc"]["n"] == 3  # seed 3 of ewc has no partner
    flipped = compare(runs, baseline="ewc")
    assert flipped["baseline"] == "ewc" and flipped["configurations"][1]["vs_baseline"] is None
    assert flipped["configurations"][0]["vs_baseline"]["acc"]["mean_difference"] < 0


def test_compare_finds_the_baseline_by_method_name_where_one_configuration_has_it() -> None:
    runs = [result("finetune", 0, 0.5), result("ewc", 0, 0.7, lr=0.01)]
    assert list(labels(runs).values()) == ["finetune train.lr=0.001", "ewc train.lr=0.01"]
    assert compare(runs, baseline="ewc")["baseline"] == "ewc train.lr=0.01"


def test_compare_refuses_an_unknown_or_ambiguous_baseline() -> None:
    runs = [result("finetune", 0, 0.5), result("ewc", 0, 0.7, params={"lam": 10.0}),
            result("ewc", 0, 0.7, params={"lam": 1000.0})]
    with pytest.raises(OptionError, match=r"^--baseline: 'si' is not one of: finetune, ewc lam=10.0, ewc lam=1000.0$"):
        compare(runs, baseline="si")
    with pytest.raises(OptionError, match=r"^--baseline: 'ewc' is the method of several configurations"):
        compare(runs, baseline="ewc")


def test_compare_is_json_safe() -> None:
    runs = [result("finetune", 0, 0.5, fwt=math.nan), result("joint", 0, math.nan, fwt=None),
            result("joint", 1, 0.9, fwt=None)]
    stats = compare(runs)
    text = json.dumps(stats, allow_nan=False)  # raises on NaN or infinity
    back = json.loads(text)
    assert back["configurations"][1]["metrics"]["acc"]["n"] == 1
    assert back["configurations"][1]["metrics"]["fwt"] == {"n": 0, "mean": None, "sd": None, "se": None, "ci95": None}


def test_statistics_table_prints_intervals_in_percent_and_the_paired_tests() -> None:
    runs = ([result("finetune", s, a) for s, a in enumerate([0.50, 0.51, 0.52])]
            + [result("ewc", s, a, params={"lam": 10.0}) for s, a in enumerate([0.70, 0.75, 0.71])])
    lines = statistics_table(compare(runs)).splitlines()
    acc = lines[lines.index(next(line for line in lines if line.startswith("ACC %"))) + 1:][:2]
    assert acc[0].split() == ["finetune", "3", "51.00", "±", "0.58", "[48.52,", "53.48]"]  # 51 ± 4.303 · 0.577
    assert acc[1].split() == ["ewc", "3", "72.00", "±", "1.53", "[65.43,", "78.57]"]
    block = lines[lines.index(next(line for line in lines if line.startswith("paired vs finetune"))):]
    p = paired({0: 0.50, 1: 0.51, 2: 0.52}, {0: 0.70, 1: 0.75, 2: 0.71})
    assert p.t_p is not None and 0.001 < p.t_p < 0.05
    assert block[1].split() == ["ewc", "3", "+21.00", f"{p.t_p:.3f}", "0.250"]
    assert "0.0625" in lines[-1]  # the footnote says why the Wilcoxon p cannot be small here


def test_a_stream_seed_filled_from_the_run_seed_groups_with_its_configuration() -> None:
    """`compare --seeds 3` builds each seed's stream with that seed: the seeds are one configuration, while
    a stream seed fixed apart from the run seed is a setting of its own."""
    runs = [result("ewc", seed, 0.5 + seed / 10) for seed in range(3)]
    for r in runs:
        r["config"]["stream_params"]["seed"] = r["config"]["seed"]
    assert len({configuration_key(r) for r in runs}) == 1
    assert list(labels(runs).values()) == ["ewc"]
    fixed = result("ewc", 1, 0.5)
    fixed["config"]["stream_params"]["seed"] = 7
    assert configuration_key(fixed) != configuration_key(runs[0])
