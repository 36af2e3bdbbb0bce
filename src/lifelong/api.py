"""The Python entry point: build a stream and a method by name or pass your own, and run."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Sequence
from typing import Any

from lifelong._registry import METHODS, STREAMS
from lifelong.config import RunConfig, TrainConfig
from lifelong.errors import LifelongError, OptionError, one_line
from lifelong.methods.base import Method
from lifelong.models.init import INITS
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.options import coerce, resolve
from lifelong.result import Result
from lifelong.streams.stream import Stream
from lifelong.train import train as train_loop

TRAIN_FIELDS = {f for f in TrainConfig.__dataclass_fields__}
DEFAULT_MODEL = "mlp-400x2"


def suited_defaults(stream_name: str) -> dict[str, Any]:
    """The model and training settings a registered stream declares as suited (``{}`` for others)."""
    return STREAMS.get(stream_name).defaults if stream_name in STREAMS.names() else {}


def default_model(stream_name: str) -> str:
    """The backbone a run gets when none is named: the stream's suited one, else ``mlp-400x2``."""
    model: str = suited_defaults(stream_name).get("model", DEFAULT_MODEL)
    return model


def train_config(
    stream_name: str, overrides: dict[str, Any], base: TrainConfig | None = None, where: str = "--train."
) -> TrainConfig:
    """The one resolution of training settings, shared by ``ll.run`` and the CLI.

    ``TrainConfig``'s defaults < the stream's suited settings (or a preset's ``base``) < ``overrides``
    (strings from the command line or values from Python, checked and coerced, named by ``where``).
    """
    if base is None:
        base = TrainConfig(**resolve(TrainConfig, suited_defaults(stream_name).get("train", {}), where, "training"))
    return dataclasses.replace(base, **resolve(TrainConfig, overrides, where, "training"))


def build_stream(name: str, params: dict[str, Any] | None = None, seed: int | None = None,
                 where: str = "--stream.") -> Stream:
    """A registered stream by name; ``seed`` fills the builder's own seed unless given in ``params``.

    Any stream takes ``first_tasks = K``: only its first K tasks (``sweep --tune-on K`` tunes on
    them, so a configuration is never evaluated on a later task before it is chosen).
    """
    builder = STREAMS.get(name).factory
    given = dict(params or {})
    first = given.pop("first_tasks", None)
    kwargs = resolve(builder, given, where, f"stream {name!r}")
    if seed is not None and "seed" in inspect.signature(builder).parameters:
        kwargs.setdefault("seed", seed)
    stream: Stream = _construct(builder, kwargs, f"stream {name}")
    if first is None:
        return stream
    k = coerce(first, int, f"{where}first_tasks")
    if not 1 <= k < len(stream):
        raise OptionError(f"{where}first_tasks: must be between 1 and {len(stream) - 1} (stream {name} has "
                          f"{len(stream)} tasks), got {k}")
    return dataclasses.replace(stream, tasks=stream.tasks[:k], params={**stream.params, "first_tasks": k})


def build_method(name: str, params: dict[str, Any] | None = None, where: str = "--method.") -> Method:
    """A registered method by name with hyperparameters checked against its dataclass fields."""
    cls = METHODS.get(name).factory
    kwargs = resolve(cls, dict(params or {}), where, f"method {name!r}")
    method: Method = _construct(cls, kwargs, f"method {name}")
    method.validate()
    return method


def _construct(factory: Any, kwargs: dict[str, Any], owner: str) -> Any:
    """``factory(**kwargs)``, its own range checks (plain ValueErrors) turned into an OptionError naming ``owner``."""
    try:
        return factory(**kwargs)
    except LifelongError:
        raise
    except ValueError as err:
        raise OptionError(f"{owner}: {err}") from None


def run_config(
    stream: Stream, method: Method, model: str, seed: int, train: TrainConfig, init: str = "default"
) -> RunConfig:
    """The fully resolved configuration of a run (its hash is the run id), known before training."""
    return RunConfig(stream.name, dict(stream.params), model, method.name, method.hyperparameters(), train, seed,
                     init)


def run(
    stream: Stream | str,
    method: Method | str = "finetune",
    model: str | None = None,
    *,
    seed: int = 0,
    init: str = "default",
    stream_params: dict[str, Any] | None = None,
    method_params: dict[str, Any] | None = None,
    train: TrainConfig | None = None,
    observers: Sequence[Observer] = (),
    **train_options: Any,
) -> Result:
    """Train one model through a stream with one method and evaluate it by the lecture's protocol.

    Args:
        stream: a :class:`Stream` or a registered name (built with ``stream_params`` and ``seed``).
        method: a :class:`Method` instance or a registered name (built with ``method_params``).
        model: backbone name, e.g. ``"mlp-400x2"``; the head follows the stream's scenario. Default:
            the stream's suited model (``memn2n`` for ``babi``), else ``mlp-400x2``.
        seed: fixes the initial weights, the data order and the method's own sampling.
        init: weight initialisation scheme (``default`` or ``trunc-normal-0.1``, see models/init.py).
        train: a :class:`TrainConfig`; or give its fields as keywords (``epochs=1, lr=0.01``), which
            override the stream's suited training settings (e.g. Adam for ``babi``) field by field.
        observers: progress displays, loggers; they never change learning.

    Returns:
        The :class:`Result`: ``matrix`` (R, row 0 = random init), ``metrics``, costs, config.
    """
    unknown = set(train_options) - TRAIN_FIELDS
    if unknown:
        raise OptionError(f"{sorted(unknown)[0]}: unknown training option; valid: {', '.join(sorted(TRAIN_FIELDS))}")
    if isinstance(stream, str):
        stream = build_stream(stream, stream_params, seed, where="stream_params.")
    if train is None:
        train = train_config(stream.name, train_options, where="")
    elif train_options:
        raise TypeError("give either train=TrainConfig(...) or training keywords, not both")
    model = model or default_model(stream.name)
    if isinstance(method, str):
        method = build_method(method, method_params, where="method_params.")
    config = run_config(stream, method, model, seed, train, init)
    learner = build_learner(model, stream, seed, init)
    return train_loop(stream, method, learner, config, observers)


def build_learner(model: str, stream: Stream, seed: int, init: str = "default") -> Learner:
    """The initial network; a model or init that does not fit is an :class:`OptionError` naming the option."""
    if init not in INITS:
        raise OptionError(f"--init: unknown init {init!r}; valid: {', '.join(INITS)}")
    try:
        return Learner.build(model, stream, seed, init)
    except LifelongError:
        raise
    except (ValueError, KeyError) as err:
        raise OptionError(f"--model {one_line(err.args[0] if err.args else err)}") from None
