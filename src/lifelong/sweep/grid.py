"""A grid file -> the runs it asks for: the preset format, where a list is an axis of the grid.

Layout (``lifelong sweep GRID.toml``)::

    seeds = [0, 1]            # or a count: seeds = 3 is [0, 1, 2]
    [stream]                  name = "split-mnist", builder parameters; a list is an axis
    [model]                   name = "mlp-400x2" or a list of backbones; init = "default"
    [train]                   TrainConfig fields; a list is an axis (lr = [0.01, 0.001])
    [methods.ewc]             hyperparameters; a list is an axis (lam = [10.0, 1000.0])

A field whose own type is a list or tuple (``betas``) is an axis only when given a list of lists.
Configurations are the product of the stream, model and training axes with each method's own axes;
runs are configurations × seeds. Every configuration is validated as a preset is, before any run,
so a typo fails in one line naming the file and the key, not after an hour. Run ids are the hashes
of the fully resolved configurations: a sweep run twice finds its runs in the store.
"""

from __future__ import annotations

import itertools
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong._registry import METHODS, STREAMS
from lifelong.api import build_method, build_stream, run_config
from lifelong.config import TrainConfig
from lifelong.errors import OptionError
from lifelong.options import options_of
from lifelong.presets import PresetError, preset_from_data, read_toml


@dataclass(frozen=True)
class RunSpec:
    """One run, in plain values a worker process (or a Ray node) rebuilds it from."""

    stream: str
    stream_params: dict[str, Any]
    model: str
    init: str
    method: str
    method_params: dict[str, Any]
    train: TrainConfig
    seed: int
    run_id: str = ""
    label: str = ""

    def config(self) -> dict[str, Any]:
        """The configuration without its seed: what runs of one configuration share."""
        return {"stream": self.stream, "stream_params": self.stream_params, "model": self.model, "init": self.init,
                "method": self.method, "method_params": self.method_params, "train": self.train}


@dataclass(frozen=True)
class Grid:
    """The configurations (in file order) and seeds of a grid file."""

    path: Path
    configurations: list[RunSpec]  # seed 0 placeholders: one per configuration
    seeds: list[int]
    axes: dict[str, list[Any]] = field(default_factory=dict)  # "train.lr" -> its values, for labels

    def runs(self, first_tasks: int | None = None) -> list[RunSpec]:
        """Every configuration × seed with its run id (building each stream once per seed for its params).

        ``first_tasks`` keeps only the stream's first K tasks (tuning runs, ``--tune-on K``).
        """
        return expand(self.configurations, self.seeds, first_tasks)


def expand(configurations: list[RunSpec], seeds: list[int], first_tasks: int | None = None) -> list[RunSpec]:
    """Runs of ``configurations`` × ``seeds``, configuration-major, with their run ids."""
    streams: dict[str, Any] = {}
    out = []
    for spec in configurations:
        for seed in seeds:
            params = dict(spec.stream_params)
            if first_tasks is not None:
                params["first_tasks"] = first_tasks
            key = repr((spec.stream, sorted(params.items()), seed))
            if key not in streams:
                streams[key] = build_stream(spec.stream, params, seed)
            stream = streams[key]
            method = build_method(spec.method, spec.method_params)
            run_id = run_config(stream, method, spec.model, seed, spec.train, spec.init).run_id
            out.append(RunSpec(spec.stream, params, spec.model, spec.init, spec.method, spec.method_params, spec.train,
                               seed, run_id, spec.label))
    return out


def load_grid(path: str | Path) -> Grid:
    """Read a grid file and validate every configuration it expands to; errors are one line naming it."""
    p = Path(path)
    data = read_toml(p, "grid")
    seeds = _seeds(data.pop("seeds", [0]), p)
    try:
        for section in ("stream", "model", "train", "methods"):
            if section in data and not isinstance(data[section], dict):
                raise OptionError(f"[{section}] must be a table of keys, got {section} = {data[section]!r}")
        stream = dict(data.get("stream", {}))
        name = stream.get("name")
        if not isinstance(name, str):
            raise OptionError("[stream] needs one name, e.g. name = \"split-mnist\" (streams are not an axis)")
        stream_axes = _axes("stream", {k: v for k, v in stream.items() if k != "name"}, STREAMS.get(name).factory)
        model_axes = _axes("model", dict(data.get("model", {})), None)
        train_axes = _axes("train", dict(data.get("train", {})), TrainConfig)
        methods = dict(data.get("methods", {}))
        if not methods:
            raise OptionError("[methods] is empty: name at least one, e.g. [methods.finetune]")
        method_axes = {}
        for method, params in methods.items():
            if not isinstance(params, dict):
                raise OptionError(f"[methods.{method}] must be a table, got {method} = {params!r}")
            method_axes[method] = _axes(f"methods.{method}", params, METHODS.get(method).factory)
    except (KeyError, ValueError, TypeError) as err:
        raise PresetError(f"{p}: {err.args[0] if err.args else err}") from None
    shared = {**stream_axes, **model_axes, **train_axes}
    configurations = []
    for combo in _product(shared):
        for method, axes in method_axes.items():
            for params in _product(axes):
                concrete = {**{k: v for k, v in data.items() if k not in ("stream", "model", "train", "methods")},
                            "stream": {"name": name, **_section(combo, "stream")},
                            "model": _section(combo, "model"), "train": _section(combo, "train"),
                            "methods": {method: _section(params, f"methods.{method}")}}
                preset = preset_from_data(concrete, p)
                configurations.append(RunSpec(name, preset.stream_params, preset.model, preset.init, method,
                                              preset.methods[method], preset.train, 0))
    axes = {k: v for k, v in {**shared, **{a: v for m in method_axes.values() for a, v in m.items()}}.items()
            if len(v) > 1}
    labelled = [_labelled(c, axes) for c in configurations]
    _check_unique(labelled, p)
    return Grid(p, labelled, seeds, axes)


def _seeds(value: Any, p: Path) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = list(range(value))
    if (not isinstance(value, list) or not value
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)):
        raise PresetError(f"{p}: seeds must be a list of whole numbers ≥ 0 (seeds = [0, 1, 2]) or a count, "
                          f"got {value!r}")
    if len(set(value)) != len(value):
        raise PresetError(f"{p}: seeds {value} name a seed twice")
    return list(value)


def _axes(section: str, table: dict[str, Any], target: Any) -> dict[str, list[Any]]:
    """``section.key`` -> its values (one for a fixed field, several for an axis)."""
    annotations = {o.name: o.annotation for o in options_of(target)} if target is not None else {}
    out = {}
    for key, value in table.items():
        is_sequence_field = _takes_a_list(annotations.get(key))
        if isinstance(value, list) and (not is_sequence_field or (value and all(isinstance(v, list) for v in value))):
            if not value:
                raise OptionError(f"[{section}] {key}: an axis needs at least one value, got []")
            out[f"{section}.{key}"] = list(value)
        else:
            out[f"{section}.{key}"] = [value]
    return out


def _takes_a_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (tuple, list):
        return True
    return any(_takes_a_list(a) for a in typing.get_args(annotation)) if origin is not None else False


def _product(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(axes)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(axes[k] for k in keys))]


def _section(combo: dict[str, Any], section: str) -> dict[str, Any]:
    prefix = f"{section}."
    return {k[len(prefix):]: v for k, v in combo.items() if k.startswith(prefix)}


def _labelled(spec: RunSpec, axes: dict[str, list[Any]]) -> RunSpec:
    """The method's name and the settings of this configuration on the grid's axes (``ewc lam=10.0``)."""
    values = {"stream": spec.stream_params, "model": {"name": spec.model, "init": spec.init},
              "train": vars(spec.train), f"methods.{spec.method}": spec.method_params}
    parts = [spec.method]
    for axis in axes:
        section, _, key = axis.rpartition(".")
        if section in values and key in values[section]:
            shown = key if section.startswith("methods.") else axis
            parts.append(f"{shown}={values[section][key]}")
    return RunSpec(**{**vars(spec), "label": " ".join(parts)})


def _check_unique(configurations: list[RunSpec], p: Path) -> None:
    seen: dict[str, str] = {}
    for c in configurations:
        key = repr(sorted((k, repr(v)) for k, v in c.config().items()))
        if key in seen:
            raise PresetError(f"{p}: configuration {c.label!r} appears twice (an axis repeats a value)")
        seen[key] = c.label
