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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong._registry import METHODS
from lifelong.api import DEFAULT_MODEL, build_method, build_stream, train_config
from lifelong.config import TrainConfig
from lifelong.errors import OptionError, one_line
from lifelong.observers import Observer
from lifelong.options import resolve
from lifelong.result import Result
from lifelong.store import Store

SECTIONS = {"stream", "model", "train", "methods", "reference", "benchmark"}


class PresetError(OptionError):
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
        train = train_config(self.stream, train_overrides or {}, base=self.train)
        run_id = run_config(stream, built, self.model, seed, train, self.init).run_id
        if store is not None and store.has(run_id):
            return store.get(run_id)
        result = run(stream, built, self.model, seed=seed, init=self.init, train=train, observers=observers or [])
        if store is not None:
            store.put(result)
        return result


def load_preset(path: str | Path) -> Preset:
    """Read and validate a preset; every problem is one line naming the file."""
    p = Path(path)
    return preset_from_data(read_toml(p, "preset"), p)


def read_toml(p: Path, what: str) -> dict[str, Any]:
    """A TOML file's tables; a missing, unreadable or malformed file is one line naming it."""
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PresetError(f"{p}: {what} file does not exist") from None
    except IsADirectoryError:
        raise PresetError(f"{p}: is a folder, not a {what} file") from None
    except OSError as err:
        raise PresetError(f"{p}: cannot read the {what} ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise PresetError(f"{p}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except tomllib.TOMLDecodeError as err:
        raise PresetError(f"{p}: not valid TOML ({one_line(err)})") from None


def preset_from_data(data: dict[str, Any], p: Path) -> Preset:
    """Validate a preset's tables (read from ``p``, which every message names)."""
    unknown = set(data) - SECTIONS
    if unknown:
        raise PresetError(f"{p}: unknown section(s) {sorted(unknown)}; valid: {sorted(SECTIONS)}")
    for section, value in data.items():
        if not isinstance(value, dict):
            raise PresetError(f"{p}: [{section}] must be a table of keys (e.g. [{section}] on its own line), "
                              f"got {section} = {value!r}")
    try:
        stream = dict(data.get("stream", {}))
        if "name" not in stream:
            raise OptionError("[stream] needs a name, e.g. name = \"permuted-mnist\"")
        stream_name = stream.pop("name")
        model_section = dict(data.get("model", {}))
        model = model_section.pop("name", DEFAULT_MODEL)
        init = model_section.pop("init", "default")
        if model_section:
            raise OptionError(f"[model] unknown key(s) {sorted(model_section)}; valid: name, init")
        if not isinstance(model, str) or not isinstance(init, str):
            raise OptionError(f"[model] name and init must be text, got {model!r}, {init!r}")
        train = train_config(stream_name, dict(data.get("train", {})), base=TrainConfig(), where="[train] ")
        methods = {}
        for name, params in data.get("methods", {}).items():
            if not isinstance(params, dict):
                raise OptionError(f"[methods.{name}] must be a table, got {name} = {params!r}")
            methods[name] = dict(params)
        registered = set(METHODS.names())
        for name, params in methods.items():
            if name in registered:  # a method from an unmerged family fails when run, by name
                build_method(name, params, where=f"[methods.{name}] ")  # keys checked now, not after an hour
        build_stream_check(stream_name, stream)
    except (KeyError, ValueError, TypeError) as err:
        raise PresetError(f"{p}: {one_line(err.args[0] if err.args else err)}") from None
    return Preset(p, stream_name, stream, model, init, train, methods, data.get("reference", {}),
                  data.get("benchmark", {}))


def build_stream_check(name: str, params: dict[str, Any]) -> None:
    """Validate stream name and parameter names without loading data."""
    from lifelong._registry import STREAMS

    if not isinstance(name, str):
        raise OptionError(f"[stream] name must be text, got {name!r}")
    resolve(STREAMS.get(name).factory, params, "[stream] ", f"stream {name!r}")
