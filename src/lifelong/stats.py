"""Statistics over seeds that settle arguments: standard errors, Student-t intervals, paired tests.

Results are the dictionaries of :meth:`lifelong.result.Result.to_dict`. The runs of one
*configuration* (everything in the config but the seed and run id) are its samples; two
configurations are compared over the seeds both ran, pairing run with run, because the seed fixes
the data order and initialisation and so removes most of the variance a comparison cares about.

Distributions come from ``scipy.stats`` (the t quantile, the paired t-test, the Wilcoxon signed-rank
test), never from hand-rolled tables. Every number that is undefined (an interval from one seed, a
metric a joint run lacks) is ``None``, so :func:`compare`'s dictionary goes to JSON as it is.

Which p-value to read: both tests are two-sided over the shared seeds. The paired t-test assumes
roughly normal differences; the Wilcoxon signed-rank test does not, but its exact p can never go
below ``2 / 2**n`` for n non-zero differences — with n ≤ 5 shared seeds never below 0.0625, so it
cannot reach 0.05 whatever the data. At such n the t-test's p is the one that can show a difference;
the Wilcoxon p is the check that the answer does not hinge on normality once n ≥ 6.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from lifelong.config import identity
from lifelong.errors import OptionError

METRICS = ("acc", "bwt", "fwt", "forgetting", "seconds")  # "seconds" is a result's total_seconds
CONFIDENCE = 0.95
NOTE = ("p: two-sided, over the seeds both share; at small n read the t-test p: with n <= 5 the exact Wilcoxon p "
        "cannot go below 0.0625 (2/2^n). Identical runs give p = 1.")


@dataclass(frozen=True)
class Summary:
    """A sample of one metric over seeds.

    Attributes:
        n: defined values (None and NaN, e.g. FWT of a joint run, are left out).
        mean: their mean; None when n = 0.
        sd: sample standard deviation (ddof 1); None when n < 2.
        se: standard error of the mean, sd / sqrt(n); None when n < 2.
        ci95: the 95% Student-t interval of the mean, mean ± t_{0.975, n-1} · se; None when n < 2
            (one seed says nothing about seed variance, and pretending otherwise is how arguments start).
    """

    n: int
    mean: float | None
    sd: float | None
    se: float | None
    ci95: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "sd": self.sd, "se": self.se,
                "ci95": list(self.ci95) if self.ci95 is not None else None}


@dataclass(frozen=True)
class Paired:
    """A paired comparison of ``other`` against ``baseline`` over the seeds both have.

    Attributes:
        n: shared seeds.
        seeds: the shared seeds, ascending.
        mean_difference: mean of other − baseline over the shared seeds; None when n = 0.
        t_p: two-sided p of the paired t-test (``scipy.stats.ttest_rel``); None when n < 2.
        wilcoxon_p: two-sided p of the Wilcoxon signed-rank test (``scipy.stats.wilcoxon``, zero
            differences dropped); None when n < 2.
        wilcoxon_min_p: the smallest p the exact Wilcoxon test can give with k non-zero differences,
            2 / 2**k; a Wilcoxon p at it is as strong as the test gets at this n. None when k = 0.

    When every shared seed gives exactly the same value (e.g. EWC with λ = 0 reproduces finetune),
    both p are 1.0: there is no evidence of a difference (scipy's t-test would answer NaN). The same
    non-zero difference on every seed has no spread, so the t statistic is infinite and t_p is 0.
    """

    n: int
    seeds: tuple[int, ...]
    mean_difference: float | None
    t_p: float | None
    wilcoxon_p: float | None
    wilcoxon_min_p: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "seeds": list(self.seeds), "mean_difference": self.mean_difference, "t_p": self.t_p,
                "wilcoxon_p": self.wilcoxon_p, "wilcoxon_min_p": self.wilcoxon_min_p}


def describe(values: Iterable[float | None]) -> Summary:
    """Mean, sample standard deviation, standard error and 95% t interval of the defined values."""
    sample = np.array([v for v in values if _defined(v)], dtype=float)
    n = len(sample)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = float(sample.mean())
    if n == 1:
        return Summary(1, mean, None, None, None)
    sd = float(sample.std(ddof=1))
    se = sd / math.sqrt(n)
    half = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * se
    return Summary(n, mean, sd, se, (mean - half, mean + half))


def paired(baseline: Mapping[int, float | None], other: Mapping[int, float | None]) -> Paired:
    """Paired t-test and Wilcoxon signed-rank test of ``other`` − ``baseline`` over their shared seeds.

    A seed that only one side has (or where either value is undefined) is left out: an unpaired run
    carries no information about the difference, and pairing by seed is what makes the test sharp.
    """
    seeds = tuple(sorted(s for s in baseline.keys() & other.keys() if _defined(baseline[s]) and _defined(other[s])))
    base = np.array([baseline[s] for s in seeds], dtype=float)
    compared = np.array([other[s] for s in seeds], dtype=float)
    differences = compared - base
    n = len(seeds)
    if n == 0:
        return Paired(0, seeds, None, None, None, None)
    mean_difference = float(differences.mean())
    nonzero = int(np.count_nonzero(differences))
    min_p = 2.0 / 2**nonzero if nonzero else None
    if n < 2:
        return Paired(n, seeds, mean_difference, None, None, min_p)
    if nonzero == 0:
        return Paired(n, seeds, mean_difference, 1.0, 1.0, None)
    with warnings.catch_warnings():  # equal non-zero differences: scipy warns of precision loss and answers p = 0
        warnings.simplefilter("ignore", RuntimeWarning)
        t_p = _p(scipy_stats.ttest_rel(compared, base).pvalue)
        wilcoxon_p = _p(scipy_stats.wilcoxon(differences, zero_method="wilcox").pvalue)
    return Paired(n, seeds, mean_difference, t_p, wilcoxon_p, min_p)


def configuration_key(result: Mapping[str, Any]) -> str:
    """The identity of a result's configuration: a hash of its config without seed and run id (and without
    the stream's own seed where the run's seed filled it, as ``compare --seeds`` and sweeps do)."""
    config = {k: v for k, v in _unseeded(result["config"]).items() if k not in ("seed", "run_id")}
    if isinstance(config.get("train"), dict):  # as the run id sees training: speed-only settings left out
        config["train"] = identity(config["train"])
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def labels(results: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A short, unique label per configuration: the method and only the settings that vary.

    A method's hyperparameter is shown where configurations of that method differ in it
    (``ewc lam=10.0``, ``ewc lam=1000.0`` beside a bare ``finetune``); a stream, model or training
    setting where any two configurations differ in it (``train.lr=0.01``, ``stream.examples=500``,
    ``model.name=mlp-8x1``). Names and values are written the way the sweep's grid labels write them,
    so the two agree where the configurations present are a grid's. Keys come in first-seen order.
    """
    configs: dict[str, Mapping[str, Any]] = {}
    for r in results:
        configs.setdefault(configuration_key(r), r["config"])
    shared = {key: _shared_settings(c) for key, c in configs.items()}
    varying_shared = _varying(shared.values())
    by_method: dict[str, list[str]] = {}
    for key, c in configs.items():
        by_method.setdefault(c["method"], []).append(key)
    varying_params = {m: _varying(configs[k].get("method_params", {}) for k in keys) for m, keys in by_method.items()}
    out: dict[str, str] = {}
    for key, c in configs.items():
        params = c.get("method_params", {})
        parts = [c["method"]]
        parts += [f"{name}={params[name]}" for name in varying_params[c["method"]] if name in params]
        parts += [f"{name}={shared[key][name]}" for name in varying_shared if name in shared[key]]
        out[key] = " ".join(parts)
    counts: dict[str, int] = {}
    for label in out.values():
        counts[label] = counts.get(label, 0) + 1
    # Two configurations can print alike only when values differ in type alone (10 and "10"): the key tells them apart.
    return {key: f"{label} #{key[:6]}" if counts[label] > 1 else label for key, label in out.items()}


def compare(results: Sequence[Mapping[str, Any]], baseline: str | None = None) -> dict[str, Any]:
    """Per configuration: seeds, a :class:`Summary` of each metric, and paired tests against the baseline.

    Args:
        results: finished results (``Result.to_dict()``), at least one, any order; the runs of one
            configuration (same config but for the seed) are its samples.
        baseline: the configuration the others are tested against, by label (see :func:`labels`) or
            by method name where one configuration has that method; default the first configuration.

    Returns:
        ``{"baseline": label, "metrics": [...], "note": ..., "configurations": [...]}`` where each
        configuration (first-seen order) is ``{"key", "label", "method", "config" (without seed and
        run id), "n", "seeds", "run_ids", "metrics": {metric: Summary dict}, "vs_baseline": {metric:
        Paired dict} or None for the baseline itself}``. Metrics are fractions as stored (seconds in
        seconds); nothing in it is NaN, so it is valid JSON as it is.

    Raises:
        OptionError: ``baseline`` names no configuration, or a method name that several have.
    """
    names = labels(results)
    by_seed: dict[str, dict[int, Mapping[str, Any]]] = {key: {} for key in names}
    for r in results:  # one run per seed: a second copy of a run (same config and seed) is the same run
        by_seed[configuration_key(r)].setdefault(r["config"]["seed"], r)
    values = {key: {metric: {seed: _value(r, metric) for seed, r in runs.items()} for metric in METRICS}
              for key, runs in by_seed.items()}
    base = _baseline_key(names, by_seed, baseline)
    configurations = []
    for key, runs in by_seed.items():
        seeds = sorted(runs)
        config = {k: v for k, v in runs[seeds[0]]["config"].items() if k not in ("seed", "run_id")}
        vs = None if key == base else {m: paired(values[base][m], values[key][m]).to_dict() for m in METRICS}
        configurations.append({
            "key": key, "label": names[key], "method": config["method"], "config": config, "n": len(seeds),
            "seeds": seeds, "run_ids": [runs[s]["config"].get("run_id") for s in seeds],
            "metrics": {m: describe(values[key][m].values()).to_dict() for m in METRICS}, "vs_baseline": vs})
    return {"baseline": names[base], "metrics": list(METRICS), "note": NOTE, "configurations": configurations}


def _baseline_key(names: dict[str, str], by_seed: dict[str, dict[int, Mapping[str, Any]]], baseline: str | None) -> str:
    if baseline is None:
        return next(iter(names))
    for key, label in names.items():
        if label == baseline:
            return key
    by_method = [key for key, runs in by_seed.items() if next(iter(runs.values()))["config"]["method"] == baseline]
    if len(by_method) == 1:
        return by_method[0]
    if by_method:
        raise OptionError(f"--baseline: {baseline!r} is the method of several configurations; name one of: "
                          + ", ".join(names[k] for k in by_method))
    raise OptionError(f"--baseline: {baseline!r} is not one of: {', '.join(names.values())}")


def _unseeded(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with ``stream_params.seed`` left out where it is the run's seed: seeds of one configuration."""
    params = dict(config.get("stream_params", {}))
    if params.get("seed") == config.get("seed"):
        params.pop("seed", None)
    return {**config, "stream_params": params}


def _shared_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """Everything but the method that sets a configuration apart, flat, named like the grid file's axes."""
    config = _unseeded(config)
    flat: dict[str, Any] = {"stream.name": config["stream"]}
    flat.update({f"stream.{k}": v for k, v in config.get("stream_params", {}).items()})
    flat.update({"model.name": config["model"], "model.init": config.get("init", "default")})
    flat.update({f"train.{k}": v for k, v in config.get("train", {}).items()})
    return flat


def _varying(settings: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names whose value (or presence) differs between the mappings, in first-seen order."""
    settings = list(settings)
    names = list(dict.fromkeys(name for s in settings for name in s))
    return [name for name in names
            if len({(name in s, _canonical(s[name]) if name in s else None) for s in settings}) > 1]


def _canonical(value: Any) -> str:
    """One text per value, so a tuple read back from JSON as a list equals itself."""
    return json.dumps(value, sort_keys=True, default=repr)


def _value(result: Mapping[str, Any], metric: str) -> float | None:
    value = result["total_seconds"] if metric == "seconds" else result["metrics"].get(metric)
    return float(value) if _defined(value) else None


def _defined(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _p(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
