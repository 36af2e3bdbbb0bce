"""TOML presets of published protocols (``configs/*.toml``): stream, model, training, per-method settings.

A preset layers between the signatures' defaults and command-line overrides. Layout::

    # the paper and table it reproduces, in a comment
    [stream]            name = "permuted-mnist", then the builder's parameters
    [model]             name = "mlp-1024-512-256", init = "default" | "trunc-normal-0.1"
    [train]             TrainConfig fields
    [methods.ewc]       hyperparameters for each method the protocol names (may be empty)
    [reference]         published numbers: ewc = 91.09, or [reference.ewc] task = 98.6 ...
    [benchmark]         seeds = 3, metric = "acc" (what the benchmark reports)

Unknown sections and keys are errors naming them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lifelong._registry import METHODS
from lifelong.api import build_method, build_stream
from lifelong.config import TrainConfig
from lifelong.observers import Observer
from lifelong.options import resolve
from lifelong.result import Result
from lifelong.store import Store

SECTIONS = {"stream", "model", "train", "methods", "reference", "benchmark"}


class PresetError(ValueError):
    """A preset file is unreadable or names something that does not exist."""


@dataclass(frozen=True)
class Preset:
    """A published protocol, ready to run for any of its methods and seeds."""

    path: Path
    stream: str
    stream_params: dict[str, Any]
    model: str
    init: str
    train: TrainConfig
    methods: dict[str, dict[str, Any]]
    reference: dict[str, Any] = field(default_factory=dict)
    benchmark: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        method: str,
        seed: int = 0,
        *,
        stream_overrides: dict[str, Any] | None = None,
        method_overrides: dict[str, Any] | None = None,
        train_overrides: dict[str, Any] | None = None,
        observers: list[Observer] | None = None,
        store: Store | None = None,
    ) -> Result:
        """Run ``method`` under this protocol; overrides win over the preset.

        With a ``store``, a run whose id (the hash of its whole configuration) is already stored is
        read back instead of trained, and a new run is stored: benchmarks split over processes (one
        per core) or interrupted pick up where they are, and one last call prints the whole table.
        """
        from lifelong.api import run, run_config

        stream = build_stream(self.stream, {**self.stream_params, **(stream_overrides or {})}, seed)
        built = build_method(method, {**self.methods.get(method, {}), **(method_overrides or {})})
        train = replace(self.train, **resolve(TrainConfig, train_overrides or {}, "train"))
        run_id = run_config(stream, built, self.model, seed, train, self.init).run_id
        if store is not None and store.has(run_id):
            return store.get(run_id)
        result = run(stream, built, self.model, seed=seed, init=self.init, train=train, observers=observers or [])
        if store is not None:
            store.put(result)
        return result


def load_preset(path: str | Path) -> Preset:
    """Read and validate a preset; every problem names the file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise PresetError(f"{p}: preset file does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise PresetError(f"{p}: not valid TOML ({err})") from None
    unknown = set(data) - SECTIONS
    if unknown:
        raise PresetError(f"{p}: unknown section(s) {sorted(unknown)}; valid: {sorted(SECTIONS)}")
    try:
        stream = dict(data.get("stream", {}))
        stream_name = stream.pop("name")
        model_section = dict(data.get("model", {}))
        model = model_section.pop("name", "mlp-400x2")
        init = model_section.pop("init", "default")
        if model_section:
            raise KeyError(f"unknown key(s) {sorted(model_section)} in [model]; valid: name, init")
        train = TrainConfig(**resolve(TrainConfig, data.get("train", {}), "train"))
        methods = {name: dict(v) for name, v in data.get("methods", {}).items()}
        registered = set(METHODS.names())
        for name, params in methods.items():
            if name in registered:  # a method from an unmerged family fails when run, by name
                build_method(name, params)  # validates keys now, not after an hour of training
        build_stream_check(stream_name, stream)
    except (KeyError, ValueError, TypeError) as err:
        raise PresetError(f"{p}: {err}") from None
    return Preset(p, stream_name, stream, model, init, train, methods, data.get("reference", {}),
                  data.get("benchmark", {}))


def build_stream_check(name: str, params: dict[str, Any]) -> None:
    """Validate stream name and parameter names without loading data."""
    from lifelong._registry import STREAMS

    resolve(STREAMS.get(name).factory, params, f"stream.{name}")
