"""The Python entry point: build a stream and a method by name or pass your own, and run."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from lifelong._registry import METHODS, STREAMS
from lifelong.config import RunConfig, TrainConfig
from lifelong.methods.base import Method
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.options import resolve
from lifelong.result import Result
from lifelong.streams.stream import Stream
from lifelong.train import train as train_loop

TRAIN_FIELDS = {f for f in TrainConfig.__dataclass_fields__}


def build_stream(name: str, params: dict[str, Any] | None = None, seed: int | None = None) -> Stream:
    """A registered stream by name; ``seed`` fills the builder's own seed unless given in ``params``."""
    builder = STREAMS.get(name).factory
    kwargs = resolve(builder, dict(params or {}), f"stream.{name}")
    if seed is not None and "seed" in inspect.signature(builder).parameters:
        kwargs.setdefault("seed", seed)
    stream: Stream = builder(**kwargs)
    return stream


def build_method(name: str, params: dict[str, Any] | None = None) -> Method:
    """A registered method by name with hyperparameters checked against its dataclass fields."""
    cls = METHODS.get(name).factory
    method: Method = cls(**resolve(cls, dict(params or {}), f"method.{name}"))
    return method


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
        raise TypeError(f"unknown training option(s) {sorted(unknown)}; valid: {', '.join(sorted(TRAIN_FIELDS))}")
    if isinstance(stream, str):
        stream = build_stream(stream, stream_params, seed)
    suited = STREAMS.get(stream.name).defaults if stream.name in STREAMS.names() else {}
    if train is None:
        train = TrainConfig(**resolve(TrainConfig, {**suited.get("train", {}), **train_options}, "train"))
    elif train_options:
        raise TypeError("give either train=TrainConfig(...) or training keywords, not both")
    model = model or suited.get("model", "mlp-400x2")
    if isinstance(method, str):
        method = build_method(method, method_params)
    config = run_config(stream, method, model, seed, train, init)
    learner = Learner.build(model, stream, seed, init)
    return train_loop(stream, method, learner, config, observers)
