"""Typed options generated from signatures and dataclass fields: listing, parsing, validation.

Streams are registered functions, methods dataclasses; both expose (name, type, default) triples,
so the CLI, ``lifelong list`` and TOML presets share one source of truth, and an unknown key is an
error naming it and listing the valid ones.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    name: str
    annotation: Any
    default: Any
    doc: str = ""

    @property
    def type_name(self) -> str:
        a = self.annotation
        return a if isinstance(a, str) else getattr(a, "__name__", str(a)).replace("typing.", "")


def options_of(target: Callable[..., Any] | type) -> list[Option]:
    """The configurable parameters of a stream builder (signature) or a method class (dataclass fields)."""
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        hints = typing.get_type_hints(target)
        return [Option(f.name, hints.get(f.name, Any), _field_default(f)) for f in dataclasses.fields(target)
                if f.init]
    hints = typing.get_type_hints(target)
    return [Option(p.name, hints.get(p.name, Any), p.default) for p in inspect.signature(target).parameters.values()]


def _field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return inspect.Parameter.empty


def resolve(target: Callable[..., Any] | type, given: dict[str, Any], where: str) -> dict[str, Any]:
    """Check ``given`` against the target's options and coerce strings to the declared types."""
    valid = {o.name: o for o in options_of(target)}
    out = {}
    for key, value in given.items():
        if key not in valid:
            raise ValueError(f"unknown option {where}.{key}; valid: {', '.join(sorted(valid)) or '(none)'}")
        out[key] = coerce(value, valid[key].annotation, f"{where}.{key}")
    return out


def coerce(value: Any, annotation: Any, name: str) -> Any:
    """A CLI/TOML value -> the annotated type (``int | None`` accepts "none"; tuples take "a,b,c")."""
    if not isinstance(value, str):
        if isinstance(value, list):
            return tuple(value)
        return value
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        if value.lower() == "none" and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0], name) if len(inner) == 1 else value
    try:
        if annotation is bool:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if annotation in (int, float):
            return annotation(value)
        if origin is tuple:
            return tuple(coerce(v.strip(), args[0], name) for v in value.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"option {name}: cannot read {value!r} as {getattr(annotation, '__name__', annotation)}") \
            from None
    return value
